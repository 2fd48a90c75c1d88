// Package register loads the register, rampart.yaml: the platform's
// resources written as code, with the settings of a scan and the extra
// catalog files. It checks everything a person can get wrong in it (types,
// unknown fields, unknown kinds, duplicate ids, periodicities, literal
// credentials) and reports all of it at once, each problem with its file,
// line, column and field. It also generates the register's JSON Schema for
// editors and holds the starter that `rampart init` writes.
package register

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	// Time zones must resolve in a static binary on a host (or a scratch
	// container) without /usr/share/zoneinfo.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

// Version is the register format this package reads.
const Version = 1

// Defaults of the settings.
const (
	DefaultStore       = "rampart.db"
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
	DefaultTimeZone    = "UTC"
)

// Config is a loaded, valid register. Treat it as read-only: Resource
// looks resources up in an index built when it was parsed.
type Config struct {
	// Path is the register's absolute path; Dir its directory, against
	// which relative paths in it are resolved.
	Path      string
	Dir       string
	Version   int
	Settings  Settings
	Catalog   CatalogFiles
	Resources []*rampart.Resource
	// Schedule says how `rampart serve` schedules due work; Notify where
	// notifications go.
	Schedule Schedule
	Notify   rampart.NotifyConfig

	byID map[string]*rampart.Resource
	// overrides keeps where each periodicity override is written, for
	// CheckControlIDs.
	overrides map[*rampart.Resource]map[string]override
	// catalogPos keeps where each catalog file is named, for Load.
	catalogPos map[string]catalogRef
}

type override struct {
	pos   rampart.Position
	field string
}

type catalogRef struct {
	pos   rampart.Position
	field string
}

// Settings are the register's scan settings, with defaults applied.
type Settings struct {
	// Store is where results are kept: an absolute file path (SQLite), a
	// postgres:// DSN, or an env:NAME reference to a DSN (see StoreRef).
	Store string
	// Concurrency is how many resources are collected at once.
	Concurrency int
	// Timeout bounds the collection of one resource.
	Timeout time.Duration
	// TimeZone is where periodicities start (local midnight, Mondays);
	// TimeZoneName is the name it was written as.
	TimeZone     *time.Location
	TimeZoneName string
}

// StoreRef reports whether Store names an environment variable holding
// the DSN (so that a database password stays out of the file), and which.
func (s Settings) StoreRef() (rampart.SecretRef, bool) {
	if strings.HasPrefix(s.Store, "env:") {
		return rampart.SecretRef(s.Store), true
	}
	return "", false
}

// CatalogFiles are extra catalog files, as absolute paths.
type CatalogFiles struct {
	// Controls add controls to the embedded catalog or override them by id.
	Controls []string
	// Checks hold user-written CEL checks.
	Checks []string
}

// Kinds is what the register accepts as a resource's kind: the
// integrations (whose typed spec it decodes and validates) and the
// inventory kinds (rampart.InventoryKinds: listed and reviewed, with a
// free-form spec). An integration wins over an inventory kind of the same
// name.
//
// A resource's Spec is then the integration's decoded, validated spec (the
// pointer NewSpec returned); for an inventory kind, a map[string]any of
// JSON-compatible values, or nil without a spec; nil for an integration
// without NewSpec.
type Kinds struct {
	Integrations []*rampart.Integration
	Inventory    []rampart.Kind
}

// Resource returns the resource with the given id, or nil.
func (c *Config) Resource(id string) *rampart.Resource {
	return c.byID[id]
}

// CheckControlIDs reports periodicity overrides that name a control known
// does not recognise, at the place each is written. It returns an
// ErrorList, or nil.
func (c *Config) CheckControlIDs(known func(id string) bool) error {
	var errs ErrorList
	for _, r := range c.Resources {
		ids := make([]string, 0, len(r.Periodicity))
		for id := range r.Periodicity {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if known(id) {
				continue
			}
			o, ok := c.overrides[r][id]
			if !ok {
				o = override{pos: r.Source, field: "resources." + r.ID + ".periodicity"}
			}
			msg := fmt.Sprintf("unknown control %q", id)
			if s := controlIDVariant(id, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, &Error{Pos: o.pos, Field: o.field, Msg: msg})
		}
	}
	return errs.Err()
}

var lettersDigits = regexp.MustCompile(`^([A-Z]+)([0-9]+)$`)

// controlIDVariant tries the usual slips in a control id (case, a missing
// leading zero, a space or underscore for the dash) against known, since
// known can only answer yes or no.
func controlIDVariant(id string, known func(string) bool) string {
	up := strings.ToUpper(strings.NewReplacer(" ", "-", "_", "-").Replace(strings.TrimSpace(id)))
	cands := []string{up}
	if i := strings.LastIndexByte(up, '-'); i >= 0 {
		prefix, num := up[:i+1], strings.TrimLeft(up[i+1:], "0")
		cands = append(cands, prefix+num, prefix+"0"+num, prefix+"00"+num)
	} else if m := lettersDigits.FindStringSubmatch(up); m != nil {
		cands = append(cands, m[1]+"-"+m[2], m[1]+"-0"+m[2])
	}
	for _, c := range cands {
		if c != id && known(c) {
			return c
		}
	}
	return ""
}

// Load reads and validates the register at path. Problems in the file come
// back as an ErrorList naming path as written; a missing file is a
// KindNotFound error.
func Load(path string, kinds Kinds) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, rampart.Errorf(rampart.KindNotFound, "register %s does not exist (rampart init writes a starter)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read register: %w", err)
	}
	c, err := Parse(path, data, kinds)
	if err != nil {
		return nil, err
	}
	var errs ErrorList
	for _, f := range slices.Concat(c.Catalog.Controls, c.Catalog.Checks) {
		if _, err := os.Stat(f); err != nil {
			ref := c.catalogPos[f]
			msg := fmt.Sprintf("catalog file %s does not exist", f)
			if !errors.Is(err, os.ErrNotExist) {
				msg = fmt.Sprintf("catalog file %s: %v", f, errors.Unwrap(err))
			}
			errs = append(errs, &Error{Pos: ref.pos, Field: ref.field, Msg: msg})
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse validates data as the register named filename (used in messages
// and to resolve relative paths). It reads no other file.
func Parse(filename string, data []byte, kinds Kinds) (*Config, error) {
	p := newParser(filename, kinds)
	root := p.document(data)
	if root == nil {
		return nil, p.finish()
	}
	p.scanSecrets(root, "", false)
	c := p.config(root)
	if err := p.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

type parser struct {
	file  string
	dir   string                                // the register's directory, for specs' relative paths
	kinds map[rampart.Kind]*rampart.Integration // nil for inventory kinds
	names []string                              // sorted kind names
	errs  ErrorList
	// secrets are the literal credentials seen, kept only to scrub them
	// from messages.
	secrets []string
	// withheld counts values str left out because they looked like
	// credentials, so that a spec missing one is not validated as if the
	// field were empty.
	withheld int
}

func newParser(filename string, kinds Kinds) *parser {
	p := &parser{file: filename, kinds: map[rampart.Kind]*rampart.Integration{}}
	for _, k := range kinds.Inventory {
		p.kinds[k] = nil
	}
	for _, in := range kinds.Integrations {
		if in != nil {
			p.kinds[in.Kind] = in
		}
	}
	for k := range p.kinds {
		p.names = append(p.names, string(k))
	}
	slices.Sort(p.names)
	return p
}

func (p *parser) pos(n *yaml.Node) rampart.Position {
	return rampart.Position{File: p.file, Line: max(n.Line, 1), Column: n.Column}
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: p.pos(n), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) finish() error {
	for _, e := range p.errs {
		e.Field = p.redact(e.Field)
		e.Msg = p.redact(e.Msg)
	}
	return p.errs.Err()
}

// document parses data into a single YAML document with its aliases
// expanded, or reports why it cannot and returns nil.
func (p *parser) document(data []byte) (root *yaml.Node) {
	if line, col, msg := badBytes(data); msg != "" {
		p.errs = append(p.errs, &Error{Pos: rampart.Position{File: p.file, Line: line, Column: col}, Msg: msg})
		return nil
	}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a register is
		// outside input, so a panic becomes an error on the first line.
		if r := recover(); r != nil {
			p.errs = append(p.errs, &Error{Pos: rampart.Position{File: p.file, Line: 1}, Msg: fmt.Sprintf("not valid YAML (the parser gave up: %v)", r)})
			root = nil
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errs = append(p.errs, &Error{Pos: rampart.Position{File: p.file, Line: 1}, Msg: "the register is empty; start it with version: 1"})
			return nil
		}
		p.yamlError(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errorf(&next, "", "a second YAML document; the register is one document (remove the ---)")
		return nil
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errs = append(p.errs, &Error{Pos: rampart.Position{File: p.file, Line: 1}, Msg: "the register is empty; start it with version: 1"})
		return nil
	}
	x := expander{limit: 10*countNodes(doc.Content[0]) + 10000, active: map[*yaml.Node]bool{}}
	root, err := x.expand(doc.Content[0])
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Pos.File = p.file
			p.errs = append(p.errs, e)
		}
		return nil
	}
	return root
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// yamlError turns a yaml.v3 syntax error into a positioned one. yaml.v3
// leaves the line out of errors on the first line.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			line = n
		}
		msg = msg[len(m[0]):]
	}
	p.errs = append(p.errs, &Error{Pos: rampart.Position{File: p.file, Line: line}, Msg: "not valid YAML: " + msg})
}

// badBytes finds what the YAML reader would refuse without saying where:
// invalid UTF-8 and control characters.
func badBytes(data []byte) (line, col int, msg string) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, "not valid UTF-8"
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == '\uFEFF' || r == 0x85:
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0xFFFE || r == 0xFFFF:
			return line, col, fmt.Sprintf("control character U+%04X is not allowed in YAML", r)
		}
		i += size
		col++
	}
	return 0, 0, ""
}

// expander copies a YAML tree with every alias replaced by (a copy of) its
// anchor's content, so that the checks below walk plain trees. It stops at
// aliases that contain themselves and at expansions that grow the tree
// beyond limit nodes (the "billion laughs").
type expander struct {
	limit, count int
	active       map[*yaml.Node]bool
	// outer is the alias being expanded that was written outside any
	// other alias's anchor: where a person sees the blow-up start.
	outer *yaml.Node
}

func (x *expander) expand(n *yaml.Node) (*yaml.Node, error) {
	x.count++
	if x.count > x.limit {
		at := n
		if x.outer != nil {
			at = x.outer
		}
		return nil, &Error{Pos: rampart.Position{Line: max(at.Line, 1), Column: at.Column}, Msg: "aliases expand to too large a document"}
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || x.active[n.Alias] {
			return nil, &Error{Pos: rampart.Position{Line: max(n.Line, 1), Column: n.Column}, Msg: fmt.Sprintf("alias *%s refers to the node that contains it", n.Value)}
		}
		if x.outer == nil {
			x.outer = n
			defer func() { x.outer = nil }()
		}
		return x.expand(n.Alias)
	}
	x.active[n] = true
	defer delete(x.active, n)
	c := *n
	c.Anchor, c.Alias = "", nil
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		e, err := x.expand(child)
		if err != nil {
			return nil, err
		}
		c.Content[i] = e
	}
	return &c, nil
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, child := range n.Content {
		if child.Kind != yaml.AliasNode {
			c += countNodes(child)
		}
	}
	return c
}

// Names of the register's fields, in the order the docs present them.
var (
	topFields      = []string{"version", "settings", "schedule", "notify", "catalog", "resources"}
	settingsFields = []string{"store", "concurrency", "timeout", "timezone"}
	catalogFields  = []string{"controls", "checks"}
	resourceFields = []string{"id", "kind", "name", "owner", "criticality", "environment", "tags", "periodicity", "spec"}
	requiredFields = []string{"id", "kind", "name", "owner"}
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

const maxIDLen = 128

func (p *parser) config(root *yaml.Node) *Config {
	abs, err := filepath.Abs(p.file)
	if err != nil {
		abs = filepath.Clean(p.file)
	}
	c := &Config{
		Path: abs,
		Dir:  filepath.Dir(abs),
		Settings: Settings{
			Store:        filepath.Join(filepath.Dir(abs), DefaultStore),
			Concurrency:  DefaultConcurrency,
			Timeout:      DefaultTimeout,
			TimeZone:     time.UTC,
			TimeZoneName: DefaultTimeZone,
		},
		Schedule:   Schedule{Jitter: DefaultJitter, ReviewGrace: DefaultReviewGrace},
		Notify:     rampart.NotifyConfig{ResendInterval: DefaultResendInterval},
		byID:       map[string]*rampart.Resource{},
		overrides:  map[*rampart.Resource]map[string]override{},
		catalogPos: map[string]catalogRef{},
	}
	p.dir = c.Dir
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "the register is a mapping with version, settings, catalog and resources, not %s", describe(root))
		return c
	}
	fields := p.fields(root, "", topFields, true)
	if v, ok := fields["version"]; !ok {
		p.errorf(root, "version", "missing; start the register with version: %d", Version)
	} else if n, ok := p.integer(v.val, "version"); ok {
		if n != Version {
			p.errorf(v.val, "version", "unsupported version %d (this Rampart reads version %d)", n, Version)
		}
		c.Version = n
	}
	if e, ok := fields["settings"]; ok {
		p.settings(e.val, c)
	}
	if e, ok := fields["schedule"]; ok {
		p.schedule(e.val, c)
	}
	if c.Schedule.TimeZone == nil {
		c.Schedule.TimeZone, c.Schedule.TimeZoneName = c.Settings.TimeZone, c.Settings.TimeZoneName
	}
	if e, ok := fields["notify"]; ok {
		p.notify(e.val, c)
	}
	if e, ok := fields["catalog"]; ok {
		p.catalog(e.val, c)
	}
	if e, ok := fields["resources"]; ok && !isNull(e.val) {
		if e.val.Kind != yaml.SequenceNode {
			p.errorf(e.val, "resources", "want a list of resources, got %s", describe(e.val))
		} else {
			first := map[string]*yaml.Node{}
			for i, n := range e.val.Content {
				if r := p.resource(n, index("resources", i), first, c); r != nil {
					c.Resources = append(c.Resources, r)
				}
			}
		}
	}
	return c
}

func (p *parser) settings(n *yaml.Node, c *Config) {
	if isNull(n) {
		return
	}
	fields := p.fields(n, "settings", settingsFields, false)
	if e, ok := fields["store"]; ok {
		if s, ok := p.nonEmpty(e.val, "settings.store"); ok {
			switch {
			case strings.HasPrefix(s, "env:"):
				if isReference(s) {
					c.Settings.Store = s
				} else {
					p.errorf(e.val, "settings.store", "env: needs a variable name, as in env:RAMPART_DSN")
				}
			case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
				c.Settings.Store = s
			case strings.Contains(s, "://") || strings.HasPrefix(s, "file:"):
				p.errorf(e.val, "settings.store", "want a file path, a postgres:// DSN or env:NAME")
			default:
				if !filepath.IsAbs(s) {
					s = filepath.Join(c.Dir, s)
				}
				c.Settings.Store = filepath.Clean(s)
			}
		}
	}
	if e, ok := fields["concurrency"]; ok {
		if v, ok := p.integer(e.val, "settings.concurrency"); ok {
			if v < 1 || v > 1024 {
				p.errorf(e.val, "settings.concurrency", "want between 1 and 1024, got %d", v)
			} else {
				c.Settings.Concurrency = v
			}
		}
	}
	if e, ok := fields["timeout"]; ok {
		if d, ok := p.duration(e.val, "settings.timeout"); ok {
			if d <= 0 {
				p.errorf(e.val, "settings.timeout", "want a positive duration such as 30s")
			} else {
				c.Settings.Timeout = d
			}
		}
	}
	if e, ok := fields["timezone"]; ok {
		if s, ok := p.nonEmpty(e.val, "settings.timezone"); ok {
			loc, err := time.LoadLocation(s)
			if err != nil {
				shown, _ := display(s)
				p.errorf(e.val, "settings.timezone", "unknown time zone %s (want an IANA name such as Europe/Madrid, or UTC)", shown)
			} else {
				c.Settings.TimeZone, c.Settings.TimeZoneName = loc, s
			}
		}
	}
}

func (p *parser) catalog(n *yaml.Node, c *Config) {
	if isNull(n) {
		return
	}
	fields := p.fields(n, "catalog", catalogFields, false)
	for _, name := range catalogFields {
		e, ok := fields[name]
		if !ok {
			continue
		}
		field := "catalog." + name
		for i, it := range p.stringList(e.val, field) {
			s := it.s
			if !it.ok {
				continue
			}
			if strings.TrimSpace(s) == "" {
				p.errorf(it.node, index(field, i), "empty path")
				continue
			}
			if !filepath.IsAbs(s) {
				s = filepath.Join(c.Dir, s)
			}
			s = filepath.Clean(s)
			c.catalogPos[s] = catalogRef{pos: p.pos(it.node), field: index(field, i)}
			if name == "controls" {
				c.Catalog.Controls = append(c.Catalog.Controls, s)
			} else {
				c.Catalog.Checks = append(c.Catalog.Checks, s)
			}
		}
	}
}

func (p *parser) resource(n *yaml.Node, path string, first map[string]*yaml.Node, c *Config) *rampart.Resource {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a resource (a mapping with id, kind, name and owner), got %s", describe(n))
		return nil
	}
	r := &rampart.Resource{Criticality: rampart.CriticalityMedium, Source: p.pos(n)}
	fields := p.fields(n, path, resourceFields, false)
	for _, f := range requiredFields {
		if _, ok := fields[f]; !ok {
			p.errorf(n, path+"."+f, "missing (every resource needs %s)", strings.Join(requiredFields, ", "))
		}
	}
	valid := true
	if e, ok := fields["id"]; ok {
		id, ok := p.nonEmpty(e.val, path+".id")
		switch {
		case !ok:
			valid = false
		case len(id) > maxIDLen:
			p.errorf(e.val, path+".id", "longer than %d characters", maxIDLen)
			valid = false
		case !idPattern.MatchString(id):
			shown, _ := display(id)
			msg := fmt.Sprintf("id %s must be lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", shown)
			if s := idSuggestion(id); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errorf(e.val, path+".id", "%s", msg)
			valid = false
		default:
			if prev, dup := first[id]; dup {
				p.errorf(e.val, path+".id", "duplicate id %q (first defined at line %d)", id, prev.Line)
				valid = false
			} else {
				first[id] = e.val
			}
		}
		r.ID = id
	}
	var integration *rampart.Integration
	kindKnown := false
	if e, ok := fields["kind"]; ok {
		if k, ok := p.nonEmpty(e.val, path+".kind"); ok {
			r.Kind = rampart.Kind(k)
			integration, kindKnown = p.kinds[r.Kind]
			if !kindKnown {
				p.errorf(e.val, path+".kind", "%s", unknown("kind", "kinds", k, p.names))
			}
		}
	}
	if e, ok := fields["name"]; ok {
		r.Name, _ = p.nonEmpty(e.val, path+".name")
	}
	if e, ok := fields["owner"]; ok {
		r.Owner, _ = p.nonEmpty(e.val, path+".owner")
	}
	if e, ok := fields["criticality"]; ok {
		if s, ok := p.nonEmpty(e.val, path+".criticality"); ok {
			if cr, err := rampart.ParseCriticality(s); err == nil {
				r.Criticality = cr
			} else {
				p.errorf(e.val, path+".criticality", "%s", unknown("criticality", "criticalities", s, rampart.CriticalityNames()))
			}
		}
	}
	if e, ok := fields["environment"]; ok {
		r.Environment, _ = p.str(e.val, path+".environment")
	}
	if e, ok := fields["tags"]; ok {
		for i, t := range p.stringList(e.val, path+".tags") {
			switch {
			case !t.ok:
			case strings.TrimSpace(t.s) == "":
				p.errorf(t.node, index(path+".tags", i), "empty tag")
			case !slices.Contains(r.Tags, t.s):
				r.Tags = append(r.Tags, t.s)
			}
		}
	}
	if e, ok := fields["periodicity"]; ok {
		p.periodicities(e.val, path+".periodicity", r, c)
	}
	spec, hasSpec := fields["spec"]
	switch {
	case !kindKnown:
	case integration == nil: // inventory kind: free-form
		if hasSpec && !isNull(spec.val) {
			if spec.val.Kind != yaml.MappingNode {
				p.errorf(spec.val, path+".spec", "want a mapping, got %s", describe(spec.val))
			} else {
				r.Spec = p.freeform(spec.val, path+".spec")
			}
		}
	case integration.NewSpec == nil:
		if hasSpec && !isNull(spec.val) {
			p.errorf(spec.key, path+".spec", "kind %s takes no spec", r.Kind)
		}
	default:
		at := n
		if hasSpec {
			at = spec.val
		}
		r.Spec = p.spec(integration, spec.val, at, path+".spec")
	}
	if valid && r.ID != "" {
		c.byID[r.ID] = r
	}
	return r
}

var notIDChars = regexp.MustCompile(`[^a-z0-9._-]+`)

// idSuggestion proposes a valid id close to a rejected one.
func idSuggestion(id string) string {
	s := strings.ToLower(strings.TrimSpace(id))
	s = notIDChars.ReplaceAllString(s, "-")
	s = strings.TrimLeft(s, "._-")
	if s == "" || s == id || !idPattern.MatchString(s) || len(s) > maxIDLen {
		return ""
	}
	return s
}

func (p *parser) periodicities(n *yaml.Node, path string, r *rampart.Resource, c *Config) {
	if isNull(n) {
		return
	}
	entries, ok := p.mapping(n, path)
	if !ok {
		return
	}
	for _, e := range entries {
		field := join(path, e.name)
		if strings.TrimSpace(e.name) == "" {
			p.errorf(e.key, field, "empty control id")
			continue
		}
		var text string
		switch v := e.val; {
		case v.Kind == yaml.ScalarNode && !isNull(v):
			s, ok := p.str(v, field)
			if !ok {
				continue
			}
			text = s
		case v.Kind == yaml.MappingNode:
			// {cron: "0 6 * * 1"} reads better in YAML than a quoted "cron: ...".
			fs := p.fields(v, field, []string{"cron"}, false)
			cron, ok := fs["cron"]
			if !ok {
				if len(v.Content) == 0 {
					p.errorf(v, field, "want a periodicity or {cron: EXPRESSION}")
				}
				continue
			}
			s, ok := p.nonEmpty(cron.val, join(field, "cron"))
			if !ok {
				continue
			}
			text = "cron: " + s
		default:
			p.errorf(v, field, "want a periodicity (%s, or a cron expression), got %s",
				strings.Join(rampart.PeriodicityNames(), ", "), describe(v))
			continue
		}
		per, err := rampart.ParsePeriodicity(text)
		if err != nil {
			p.errorf(e.val, field, "%s", errMessage(err))
			continue
		}
		if r.Periodicity == nil {
			r.Periodicity = map[string]rampart.Periodicity{}
		}
		r.Periodicity[e.name] = per
		if c.overrides[r] == nil {
			c.overrides[r] = map[string]override{}
		}
		c.overrides[r][e.name] = override{pos: p.pos(e.key), field: field}
	}
}

// errMessage is an error's text for a person: a domain error's message
// without any wrapping.
func errMessage(err error) string {
	var e *rampart.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// --- small node helpers -------------------------------------------------

type entry struct {
	key, val *yaml.Node
	name     string
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// describe names a node's YAML type for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "an alias"
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// join appends a key to a field path, quoting keys that are not plain
// words and hiding keys that look like credentials.
func join(path, key string) string {
	seg := "." + key
	switch {
	case looksLikeCredential(key):
		seg = "[redacted]"
	case !plainKey.MatchString(key):
		seg = fmt.Sprintf("[%q]", key)
	}
	if path == "" {
		return strings.TrimPrefix(seg, ".")
	}
	return path + seg
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// mapping returns a mapping's entries with merge keys (<<) applied, in the
// order written, reporting non-string and duplicate keys.
func (p *parser) mapping(n *yaml.Node, path string) ([]entry, bool) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a mapping, got %s", describe(n))
		return nil, false
	}
	var out, merged []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, path, "a key must be a string, not %s", describe(k))
			continue
		}
		if isMerge(k) {
			merged = append(merged, p.merge(v, path)...)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.errorf(k, join(path, k.Value), "duplicate key (first at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{key: k, val: v, name: k.Value})
	}
	for _, e := range merged {
		if _, ok := seen[e.name]; !ok {
			seen[e.name] = e.key
			out = append(out, e)
		}
	}
	return out, true
}

// merge returns the entries a merge key brings in: one mapping, or a list
// of mappings where earlier ones win.
func (p *parser) merge(v *yaml.Node, path string) []entry {
	switch v.Kind {
	case yaml.MappingNode:
		es, _ := p.mapping(v, path)
		return es
	case yaml.SequenceNode:
		var out []entry
		seen := map[string]bool{}
		for _, m := range v.Content {
			if m.Kind != yaml.MappingNode {
				p.errorf(m, path, "<< merges mappings, not %s", describe(m))
				continue
			}
			es, _ := p.mapping(m, path)
			for _, e := range es {
				if !seen[e.name] {
					seen[e.name] = true
					out = append(out, e)
				}
			}
		}
		return out
	}
	p.errorf(v, path, "<< merges a mapping or a list of mappings, not %s", describe(v))
	return nil
}

// fields returns a mapping's entries by name, reporting the names that
// are not among known. With extensions, names starting with "x-" are
// allowed and ignored: a place to keep anchors.
func (p *parser) fields(n *yaml.Node, path string, known []string, extensions bool) map[string]entry {
	entries, _ := p.mapping(n, path)
	out := make(map[string]entry, len(entries))
	for _, e := range entries {
		switch {
		case slices.Contains(known, e.name):
			out[e.name] = e
		case extensions && strings.HasPrefix(e.name, "x-"):
		default:
			p.errorf(e.key, join(path, e.name), "%s", unknown("field", "fields", e.name, known))
		}
	}
	return out
}

// str reads a scalar as a string. It returns false, silently, for values
// that look like credentials: the secret scan has reported them and no
// other message may repeat them.
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, field, "want a string, got %s", describe(n))
		return "", false
	}
	if looksLikeCredential(n.Value) {
		p.withheld++
		return "", false
	}
	return n.Value, true
}

func (p *parser) nonEmpty(n *yaml.Node, field string) (string, bool) {
	s, ok := p.str(n, field)
	if ok && strings.TrimSpace(s) == "" {
		p.errorf(n, field, "empty")
		return "", false
	}
	return s, ok
}

func (p *parser) integer(n *yaml.Node, field string) (int, bool) {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, field, "want a whole number, got %s", describe(n))
		return 0, false
	}
	return v, true
}

func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		p.errorf(n, field, "a duration needs a unit, as in %ss", n.Value)
		return 0, false
	}
	s, ok := p.str(n, field)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		shown, _ := display(s)
		p.errorf(n, field, "%s is not a duration (write it as 30s, 5m or 1h30m)", shown)
		return 0, false
	}
	return d, true
}

// item is one string of a list, with its node; ok is false when the
// element was not a usable string (already reported).
type item struct {
	s    string
	node *yaml.Node
	ok   bool
}

func (p *parser) stringList(n *yaml.Node, field string) []item {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list of strings, got %s", describe(n))
		return nil
	}
	out := make([]item, len(n.Content))
	for i, c := range n.Content {
		s, ok := p.str(c, index(field, i))
		out[i] = item{s: s, node: c, ok: ok}
	}
	return out
}
