// Package celcheck loads user-written checks from YAML files and evaluates
// them with CEL (the Common Expression Language of Kubernetes admission
// policies) over a resource's facts in their JSON form.
//
// A file holds a list of checks; each names its metadata (id, title,
// severity, kind, controls, remediation, doc) and up to three expressions:
// expr (true means pass), items (a list of failing items; non-empty means
// fail) and when (false means not applicable). Expressions are compiled once
// when the file is loaded; every mistake is reported with the file, line,
// column and field.
package celcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

// Load reads and compiles the checks of one YAML file.
func Load(path string) ([]*rampart.Check, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load checks: %w", err)
	}
	return Parse(path, data)
}

// Parse reads and compiles the checks of one YAML document; filename is
// used in error messages only. Errors are *rampart.Error of kind invalid,
// joined when there are several, each starting with file:line:col.
func Parse(filename string, data []byte) ([]*rampart.Check, error) {
	p := &parser{file: filename, src: data}
	root, err := p.document()
	if err != nil {
		return nil, err
	}
	var checks []*rampart.Check
	if root != nil {
		checks = p.checksFile(root)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return checks, nil
}

// maxErrors bounds the errors reported for one file, so that a file of
// garbage gives a readable answer.
const maxErrors = 20

type parser struct {
	file string
	src  []byte
	errs []error
	// erred holds the nodes an error was reported at, so that a bad value
	// is not reported as missing too.
	erred map[*yaml.Node]bool
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
		if p.erred == nil {
			p.erred = map[*yaml.Node]bool{}
		}
		p.erred[n] = true
	}
	p.errorAt(line, col, format, args...)
}

func (p *parser) errorAt(line, col int, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	pos := rampart.Position{File: p.file, Line: line, Column: col}
	p.errs = append(p.errs, rampart.Errorf(rampart.KindInvalid, "%s: %s", pos, fmt.Sprintf(format, args...)))
}

// document decodes the single YAML document of the file; nil means empty.
func (p *parser) document() (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(p.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, p.yamlError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, p.yamlError(err)
	default:
		return nil, rampart.Errorf(rampart.KindInvalid, "%s:%d: a checks file holds one YAML document; put the others in files of their own", p.file, extra.Line)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
		return nil, nil
	}
	return &doc, nil
}

// yamlLine matches the "yaml: line N: " that yaml.v3 starts its syntax
// errors with, to put the line after the file name as every other error does.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (p *parser) yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return rampart.Errorf(rampart.KindInvalid, "%s:%s: %s", p.file, m[1], msg[len(m[0]):])
	}
	return rampart.Errorf(rampart.KindInvalid, "%s: %s", p.file, strings.TrimPrefix(msg, "yaml: "))
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// pairs walks a mapping, reporting duplicate keys and keys not in allowed.
func (p *parser) pairs(m *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: a key must be a plain name", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "%s: %s is given twice (first at line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		if !contains(allowed, k.Value) {
			p.errorf(k, "%s: unknown field %q (want one of %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		fn(k.Value, k, v)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checksFile reads the top level: a mapping with one key, checks.
func (p *parser) checksFile(doc *yaml.Node) []*rampart.Check {
	top := doc
	if top.Kind == yaml.DocumentNode {
		top = resolve(top.Content[0])
	}
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "a checks file is a mapping with a checks list (checks: [...])")
		return nil
	}
	var list *yaml.Node
	p.pairs(top, "file", []string{"checks"}, func(_ string, _, v *yaml.Node) { list = v })
	if list == nil {
		if len(p.errs) == 0 {
			p.errorf(top, "checks is missing")
		}
		return nil
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		p.errorf(list, "checks: want a list of checks")
		return nil
	}
	var out []*rampart.Check
	ids := map[string]int{}
	for i, item := range list.Content {
		item = resolve(item)
		c, idNode := p.check(i, item)
		if c == nil {
			continue
		}
		if line, dup := ids[c.ID]; dup {
			p.errorf(idNode, "check %s: id: defined twice (first at line %d)", c.ID, line)
			continue
		}
		ids[c.ID] = idNode.Line
		out = append(out, c)
	}
	return out
}

var checkFields = []string{
	"id", "version", "title", "severity", "kind", "controls",
	"remediation", "doc", "expr", "items", "when",
}

// idPattern keeps ids usable in URLs, file names and command lines, like the
// built-in ones (TLS-EXPIRED, SRV-SSH-ROOT-LOGIN).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// source is one check as written, before compilation.
type source struct {
	nodes             map[string]*yaml.Node
	id, title, kind   string
	remediation, doc  string
	severity          rampart.Severity
	version           int
	controls          []string
	expr, items, when *yaml.Node
}

func (p *parser) check(i int, n *yaml.Node) (*rampart.Check, *yaml.Node) {
	where := fmt.Sprintf("checks[%d]", i)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping with id, title, severity, kind, controls, remediation, doc and expr or items", where)
		return nil, nil
	}
	// Name the check by its id in messages as soon as it has one.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if k, v := resolve(n.Content[j]), resolve(n.Content[j+1]); k.Value == "id" && v.Kind == yaml.ScalarNode && idPattern.MatchString(v.Value) {
			where = "check " + v.Value
			break
		}
	}
	before := len(p.errs)
	s := source{nodes: map[string]*yaml.Node{}, version: 1}
	p.pairs(n, where, checkFields, func(key string, k, v *yaml.Node) {
		s.nodes[key] = v
		field := where + ": " + key
		switch key {
		case "id":
			s.id = p.scalar(field, v)
		case "title":
			s.title = p.scalar(field, v)
		case "kind":
			s.kind = p.scalar(field, v)
		case "remediation":
			s.remediation = p.scalar(field, v)
		case "doc":
			s.doc = p.scalar(field, v)
		case "severity":
			if txt := p.scalar(field, v); txt != "" {
				sev, err := rampart.ParseSeverity(txt)
				if err != nil {
					p.errorf(v, "%s: %v", field, err)
				}
				s.severity = sev
			}
		case "version":
			if txt := p.scalar(field, v); txt != "" {
				ver, err := strconv.Atoi(txt)
				if err != nil || ver < 1 {
					p.errorf(v, "%s: want a whole number from 1, not %q", field, txt)
				}
				s.version = ver
			}
		case "controls":
			s.controls = p.strings(field, v)
		case "expr":
			s.expr = v
		case "items":
			s.items = v
		case "when":
			s.when = v
		}
	})
	if s.id != "" && !idPattern.MatchString(s.id) {
		p.errorf(s.nodes["id"], "%s: id: %q is not a valid id (letters, digits, '.', '_' and '-', starting with a letter or digit)", where, s.id)
	}
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"id", s.id != ""},
		{"title", s.title != ""},
		{"severity", s.nodes["severity"] != nil},
		{"kind", s.kind != ""},
		{"controls", len(s.controls) > 0},
		{"remediation", s.remediation != ""},
		{"doc", s.doc != ""},
	} {
		if !f.ok && !p.erred[s.nodes[f.name]] {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		p.errorf(n, "%s: missing %s", where, strings.Join(missing, ", "))
	}
	if s.expr == nil && s.items == nil {
		p.errorf(n, "%s: give expr (true passes) or items (a list of failing items), or both", where)
	}
	// Compile even after a metadata error, so one pass reports every
	// mistake of the check.
	c, ok := p.compile(where, &s)
	if !ok || len(p.errs) > before {
		return nil, nil
	}
	return c, s.nodes["id"]
}

// scalar reads a string value; mappings and lists are refused.
func (p *parser) scalar(field string, v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "%s: want a single value, not a %s", field, nodeKind(v))
		return ""
	}
	if v.Tag == "!!null" {
		return ""
	}
	return strings.TrimSpace(v.Value)
}

// strings reads a list of strings; a single value is taken as a list of one.
func (p *parser) strings(field string, v *yaml.Node) []string {
	if v.Kind == yaml.ScalarNode {
		if s := p.scalar(field, v); s != "" {
			return []string{s}
		}
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "%s: want a list of names, not a %s", field, nodeKind(v))
		return nil
	}
	var out []string
	for j, e := range v.Content {
		e = resolve(e)
		s := p.scalar(fmt.Sprintf("%s[%d]", field, j), e)
		if s == "" {
			if e.Kind == yaml.ScalarNode {
				p.errorf(e, "%s[%d]: empty name", field, j)
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}
