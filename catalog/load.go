package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

//go:embed data/*.yaml
var data embed.FS

// The embedded files, in the order they are read. Positions name them by
// their path in the repository so that a developer can open them.
var (
	frameworkFiles = []string{"soc2.yaml", "iso27001.yaml"}
	controlFiles   = []string{"areas.yaml", "controls.yaml"}
)

const embeddedDir = "catalog/data/"

// Source is a control file's name and content, for callers that do not
// read it from disk (an upload, a test).
type Source struct {
	Name string
	Data []byte
}

// Embedded loads the embedded catalog without checks, for tools that only
// need frameworks, areas and controls.
func Embedded() (*Catalog, error) { return Load(nil) }

// Load returns the embedded catalog with the user's control files merged
// over it in order, and the checks wired to the controls they name. A
// control with a new id is added; a known id has the fields the file sets
// replaced, and keeps the others. The result is validated as a whole.
func Load(checks []*rampart.Check, userFiles ...string) (*Catalog, error) {
	srcs := make([]Source, 0, len(userFiles))
	for _, name := range userFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read control file: %w", err)
		}
		srcs = append(srcs, Source{Name: name, Data: b})
	}
	return LoadSources(checks, srcs...)
}

// LoadSources is Load over control files already in memory.
func LoadSources(checks []*rampart.Check, sources ...Source) (*Catalog, error) {
	base, err := embeddedBase()
	if err != nil {
		return nil, err
	}
	b := newBuilder(base)
	for _, f := range base.files {
		b.apply(f)
	}
	for _, src := range sources {
		f, err := parseControlFile(src.Name, src.Data)
		if err != nil {
			return nil, err
		}
		b.apply(f)
	}
	return b.finish(checks)
}

// base is the parsed embedded data, shared by every Load: nothing in it is
// handed out without a copy.
type base struct {
	frameworks []*rampart.Framework
	groups     []Group
	files      []*controlFile
}

var embeddedBase = sync.OnceValues(func() (*base, error) {
	b := &base{}
	for _, name := range frameworkFiles {
		raw, err := data.ReadFile("data/" + name)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", name, err)
		}
		fw, groups, err := parseFramework(embeddedDir+name, raw)
		if err != nil {
			return nil, err
		}
		b.frameworks = append(b.frameworks, fw)
		b.groups = append(b.groups, groups...)
	}
	for _, name := range controlFiles {
		raw, err := data.ReadFile("data/" + name)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", name, err)
		}
		f, err := parseControlFile(embeddedDir+name, raw)
		if err != nil {
			return nil, err
		}
		b.files = append(b.files, f)
	}
	return b, nil
})

// frameworkDoc is the shape of soc2.yaml and iso27001.yaml. Criteria sit
// in groups and take the group's category.
type frameworkDoc struct {
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Groups []struct {
		ID       string `yaml:"id"`
		Title    string `yaml:"title"`
		Category string `yaml:"category"`
		Criteria []struct {
			ID    string `yaml:"id"`
			Title string `yaml:"title"`
		} `yaml:"criteria"`
	} `yaml:"groups"`
}

func parseFramework(name string, raw []byte) (*rampart.Framework, []Group, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var doc frameworkDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, yamlError(name, err)
	}
	fw := &rampart.Framework{ID: doc.ID, Name: doc.Name}
	var groups []Group
	for _, g := range doc.Groups {
		grp := Group{Framework: doc.ID, ID: g.ID, Title: g.Title, Category: g.Category}
		for _, c := range g.Criteria {
			fw.Criteria = append(fw.Criteria, rampart.Criterion{
				Framework: doc.ID, ID: c.ID, Category: g.Category, Title: c.Title,
			})
			grp.Criteria = append(grp.Criteria, c.ID)
		}
		groups = append(groups, grp)
	}
	return fw, groups, nil
}

// controlFile is one parsed areas or controls file: what it sets, where.
type controlFile struct {
	areas    []patch
	controls []patch
}

// patch is one mapping of a control file: the fields it sets, each with
// its value and position. Only the fields present are applied.
type patch struct {
	id     string
	pos    rampart.Position // of the mapping
	fields map[string]field
}

type field struct {
	pos     rampart.Position
	str     string
	list    []string
	listPos []rampart.Position
}

// The fields of a control and of an area. Lists are the fields whose value
// is a sequence.
var (
	controlFields = []string{"id", "title", "statement", "area", "criteria", "periodicity", "owner", "procedure", "kinds"}
	areaFields    = []string{"id", "title"}
	listFields    = map[string]bool{"criteria": true, "kinds": true}
)

// problems collects positioned errors so that one run reports all of them.
type problems []error

const maxProblems = 50

func (ps *problems) add(pos rampart.Position, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s := pos.String(); s != "" {
		msg = s + ": " + msg
	}
	*ps = append(*ps, rampart.Errorf(rampart.KindInvalid, "%s", msg))
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	if len(ps) > maxProblems {
		rest := len(ps) - maxProblems
		ps = append(ps[:maxProblems:maxProblems],
			rampart.Errorf(rampart.KindInvalid, "and %d more problems", rest))
	}
	return errors.Join(ps...)
}

// parseControlFile reads a file of `areas` and `controls`, reporting every
// structural problem (syntax, unknown fields, wrong types, duplicate ids)
// with its line and column. What the fields mean is checked after merging.
func parseControlFile(name string, raw []byte) (*controlFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &controlFile{}, nil
		}
		return nil, yamlError(name, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, rampart.Errorf(rampart.KindInvalid, "%s:%d: a control file holds one YAML document; remove the second one",
			name, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, yamlError(name, err)
	}

	var ps problems
	f := &controlFile{}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = resolve(root.Content[0])
	}
	if isNull(root) {
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		ps.add(posOf(name, root), "want a mapping with `controls` (and optionally `areas`), got %s", describe(root))
		return nil, ps.err()
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if seen[k.Value] {
			ps.add(posOf(name, k), "%q is set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "controls":
			f.controls = parseList(name, "control", v, controlFields, &ps)
		case "areas":
			f.areas = parseList(name, "area", v, areaFields, &ps)
		default:
			if strings.HasPrefix(k.Value, "x-") {
				// Extension fields, as in Compose files: a place to keep
				// anchors that controls refer to.
				continue
			}
			ps.add(posOf(name, k), "unknown field %q (want controls, areas, or x-… for anchors)", k.Value)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return f, nil
}

func parseList(file, what string, n *yaml.Node, known []string, ps *problems) []patch {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.add(posOf(file, n), "want a list of %ss, got %s", what, describe(n))
		return nil
	}
	var out []patch
	first := map[string]rampart.Position{}
	for _, item := range n.Content {
		item = resolve(item)
		p, ok := parsePatch(file, what, item, known, ps)
		if !ok {
			continue
		}
		if at, dup := first[p.id]; dup {
			ps.add(p.fields["id"].pos, "%s %s is defined twice in this file (first at line %d)", what, p.id, at.Line)
			continue
		}
		first[p.id] = p.pos
		out = append(out, p)
	}
	return out
}

func parsePatch(file, what string, n *yaml.Node, known []string, ps *problems) (patch, bool) {
	p := patch{pos: posOf(file, n), fields: map[string]field{}}
	if n.Kind != yaml.MappingNode {
		ps.add(p.pos, "want a %s (a mapping with id, title, …), got %s", what, describe(n))
		return p, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		key := k.Value
		switch {
		case !slices.Contains(known, key):
			hint := "known fields: " + strings.Join(known, ", ")
			if what == "control" && key == "checks" {
				hint = "a control does not list its checks: each check names the controls it evidences"
			}
			ps.add(posOf(file, k), "%s: unknown field %q (%s)", what, key, hint)
			ok = false
			continue
		case hasKey(p.fields, key):
			ps.add(posOf(file, k), "%s: %q is set twice", what, key)
			ok = false
			continue
		}
		fv, good := parseField(file, what, key, v, ps)
		ok = ok && good
		p.fields[key] = fv
	}
	id, has := p.fields["id"]
	switch {
	case !has || id.str == "":
		ps.add(p.pos, "%s without an id", what)
		return p, false
	case !validID(id.str):
		ps.add(id.pos, "%s id %q: use letters, digits, '.', '_', '-' and '/' only", what, id.str)
		return p, false
	}
	p.id = id.str
	return p, ok
}

func hasKey(m map[string]field, k string) bool { _, ok := m[k]; return ok }

func parseField(file, what, key string, v *yaml.Node, ps *problems) (field, bool) {
	f := field{pos: posOf(file, v)}
	if listFields[key] {
		if isNull(v) {
			return f, true
		}
		if v.Kind != yaml.SequenceNode {
			ps.add(f.pos, "%s: %s: want a list, got %s", what, key, describe(v))
			return f, false
		}
		ok := true
		for _, item := range v.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				ps.add(posOf(file, item), "%s: %s: want a string item, got %s", what, key, describe(item))
				ok = false
				continue
			}
			f.list = append(f.list, strings.TrimSpace(item.Value))
			f.listPos = append(f.listPos, posOf(file, item))
		}
		return f, ok
	}
	if isNull(v) {
		return f, true
	}
	if v.Kind != yaml.ScalarNode {
		ps.add(f.pos, "%s: %s: want a string, got %s", what, key, describe(v))
		return f, false
	}
	f.str = strings.TrimSpace(v.Value)
	if key == "periodicity" {
		if _, err := rampart.ParsePeriodicity(f.str); err != nil {
			ps.add(f.pos, "%s: periodicity: %v", what, err)
			return f, false
		}
	}
	return f, true
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

func validID(s string) bool { return idPattern.MatchString(s) }

func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func posOf(file string, n *yaml.Node) rampart.Position {
	return rampart.Position{File: file, Line: n.Line, Column: n.Column}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError puts the file name in front of a YAML error in the file:line
// form editors understand.
func yamlError(name string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return rampart.Errorf(rampart.KindInvalid, "%s:%d: %s", name, line, m[2])
	}
	return rampart.Errorf(rampart.KindInvalid, "%s: %s", name, strings.TrimPrefix(msg, "yaml: "))
}
