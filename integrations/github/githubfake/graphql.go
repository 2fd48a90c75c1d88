package githubfake

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A small GraphQL executor: enough of the language (operations with
// variables, fields with aliases and arguments, inline fragments, named
// fragments) to answer the queries a client of GitHub's API sends, and
// the cost arithmetic GitHub documents.

type gqlDoc struct {
	op        *gqlOp
	fragments map[string]*gqlFragment
}

type gqlOp struct {
	vars map[string]gqlValue // defaults, by name
	sel  []*gqlSelection
}

type gqlFragment struct {
	on  string
	sel []*gqlSelection
}

// gqlSelection is a field, an inline fragment (on set, name empty) or a
// fragment spread (spread set).
type gqlSelection struct {
	alias, name string
	args        map[string]gqlValue
	sel         []*gqlSelection
	on          string
	spread      string
	line, col   int
}

func (s *gqlSelection) key() string {
	if s.alias != "" {
		return s.alias
	}
	return s.name
}

// gqlValue is a literal, a variable reference, a list or an object.
type gqlValue struct {
	variable string
	literal  any // string, int64, float64, bool, nil, enum (gqlEnum)
	list     []gqlValue
	object   map[string]gqlValue
	kind     byte // 'v' variable, 'l' literal, '[' list, '{' object
}

type gqlEnum string

func (v gqlValue) resolve(vars map[string]any) any {
	switch v.kind {
	case 'v':
		return vars[v.variable]
	case '[':
		out := make([]any, len(v.list))
		for i, e := range v.list {
			out[i] = e.resolve(vars)
		}
		return out
	case '{':
		out := map[string]any{}
		for k, e := range v.object {
			out[k] = e.resolve(vars)
		}
		return out
	}
	if e, ok := v.literal.(gqlEnum); ok {
		return string(e)
	}
	return v.literal
}

// --- lexer and parser ---

type gqlParser struct {
	src       string
	pos       int
	line, col int
	tok       string // current token; "" at the end
	tokKind   byte   // 'n' name, 'p' punctuator, 's' string, 'i' int, 'f' float
	tokLine   int
	tokCol    int
}

type syntaxError struct {
	msg       string
	line, col int
}

func (e *syntaxError) Error() string { return e.msg }

func parseGraphQL(src string) (doc *gqlDoc, err error) {
	p := &gqlParser{src: src, line: 1, col: 1}
	defer func() {
		if v := recover(); v != nil {
			se, ok := v.(*syntaxError)
			if !ok {
				panic(v)
			}
			doc, err = nil, se
		}
	}()
	p.next()
	doc = &gqlDoc{fragments: map[string]*gqlFragment{}}
	for p.tok != "" {
		switch p.tok {
		case "{":
			if doc.op != nil {
				p.fail("only one operation per document is supported")
			}
			doc.op = &gqlOp{vars: map[string]gqlValue{}, sel: p.selectionSet()}
		case "query":
			if doc.op != nil {
				p.fail("only one operation per document is supported")
			}
			p.next()
			op := &gqlOp{vars: map[string]gqlValue{}}
			if p.tokKind == 'n' {
				p.next()
			}
			if p.tok == "(" {
				p.next()
				for p.tok != ")" {
					p.expect("$")
					name := p.name()
					p.expect(":")
					p.typeRef()
					if p.tok == "=" {
						p.next()
						op.vars[name] = p.value(true)
					} else {
						op.vars[name] = gqlValue{kind: 'l'}
					}
					if p.tok == "," {
						p.next()
					}
				}
				p.next()
			}
			op.sel = p.selectionSet()
			doc.op = op
		case "fragment":
			p.next()
			name := p.name()
			if p.tok != "on" {
				p.fail("Expected on, actual: " + p.describe())
			}
			p.next()
			on := p.name()
			doc.fragments[name] = &gqlFragment{on: on, sel: p.selectionSet()}
		case "mutation", "subscription":
			p.fail("the fake answers queries only")
		default:
			p.fail("Parse error on " + p.describe())
		}
	}
	if doc.op == nil {
		p.fail("the document has no query")
	}
	return doc, nil
}

func (p *gqlParser) fail(msg string) {
	panic(&syntaxError{msg: msg, line: p.tokLine, col: p.tokCol})
}

func (p *gqlParser) describe() string {
	if p.tok == "" {
		return "end of file"
	}
	return strconv.Quote(p.tok)
}

func (p *gqlParser) expect(t string) {
	if p.tok != t {
		p.fail(fmt.Sprintf("Expected %s, actual: %s", t, p.describe()))
	}
	p.next()
}

func (p *gqlParser) name() string {
	if p.tokKind != 'n' {
		p.fail("Expected NAME, actual: " + p.describe())
	}
	n := p.tok
	p.next()
	return n
}

func (p *gqlParser) typeRef() {
	if p.tok == "[" {
		p.next()
		p.typeRef()
		p.expect("]")
	} else {
		p.name()
	}
	if p.tok == "!" {
		p.next()
	}
}

func (p *gqlParser) selectionSet() []*gqlSelection {
	p.expect("{")
	var out []*gqlSelection
	for p.tok != "}" {
		if p.tok == "" {
			p.fail("Expected }, actual: end of file")
		}
		line, col := p.tokLine, p.tokCol
		if p.tok == "..." {
			p.next()
			if p.tok == "on" {
				p.next()
				on := p.name()
				out = append(out, &gqlSelection{on: on, sel: p.selectionSet(), line: line, col: col})
				continue
			}
			out = append(out, &gqlSelection{spread: p.name(), line: line, col: col})
			continue
		}
		s := &gqlSelection{name: p.name(), line: line, col: col}
		if p.tok == ":" {
			p.next()
			s.alias, s.name = s.name, p.name()
		}
		if p.tok == "(" {
			p.next()
			s.args = map[string]gqlValue{}
			for p.tok != ")" {
				n := p.name()
				p.expect(":")
				s.args[n] = p.value(false)
				if p.tok == "," {
					p.next()
				}
			}
			p.next()
		}
		if p.tok == "{" {
			s.sel = p.selectionSet()
		}
		out = append(out, s)
		if p.tok == "," {
			p.next()
		}
	}
	p.next()
	return out
}

func (p *gqlParser) value(constant bool) gqlValue {
	switch {
	case p.tok == "$":
		if constant {
			p.fail("a default value cannot be a variable")
		}
		p.next()
		return gqlValue{kind: 'v', variable: p.name()}
	case p.tok == "[":
		p.next()
		v := gqlValue{kind: '['}
		for p.tok != "]" {
			if p.tok == "" {
				p.fail("Expected ], actual: end of file")
			}
			v.list = append(v.list, p.value(constant))
			if p.tok == "," {
				p.next()
			}
		}
		p.next()
		return v
	case p.tok == "{":
		p.next()
		v := gqlValue{kind: '{', object: map[string]gqlValue{}}
		for p.tok != "}" {
			n := p.name()
			p.expect(":")
			v.object[n] = p.value(constant)
			if p.tok == "," {
				p.next()
			}
		}
		p.next()
		return v
	case p.tokKind == 's':
		s := p.tok
		p.next()
		return gqlValue{kind: 'l', literal: s}
	case p.tokKind == 'i':
		n, err := strconv.ParseInt(p.tok, 10, 64)
		if err != nil {
			p.fail("bad integer " + p.tok)
		}
		p.next()
		return gqlValue{kind: 'l', literal: n}
	case p.tokKind == 'f':
		f, err := strconv.ParseFloat(p.tok, 64)
		if err != nil {
			p.fail("bad number " + p.tok)
		}
		p.next()
		return gqlValue{kind: 'l', literal: f}
	case p.tokKind == 'n':
		n := p.tok
		p.next()
		switch n {
		case "true":
			return gqlValue{kind: 'l', literal: true}
		case "false":
			return gqlValue{kind: 'l', literal: false}
		case "null":
			return gqlValue{kind: 'l'}
		}
		return gqlValue{kind: 'l', literal: gqlEnum(n)}
	}
	p.fail("Expected value, actual: " + p.describe())
	return gqlValue{}
}

// next reads the following token, skipping white space, commas' absence
// and comments.
func (p *gqlParser) next() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\n':
			p.line++
			p.col = 1
			p.pos++
		case ' ', '\t', '\r':
			p.pos++
			p.col++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			goto token
		}
	}
	p.tok, p.tokKind = "", 0
	return
token:
	p.tokLine, p.tokCol = p.line, p.col
	start := p.pos
	c := p.src[p.pos]
	switch {
	case strings.HasPrefix(p.src[p.pos:], "..."):
		p.advance(3)
		p.tok, p.tokKind = "...", 'p'
	case strings.IndexByte("{}()[]:!=$@|&,", c) >= 0:
		p.advance(1)
		p.tok, p.tokKind = string(c), 'p'
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for p.pos < len(p.src) {
			d := p.src[p.pos]
			if d != '_' && (d < 'a' || d > 'z') && (d < 'A' || d > 'Z') && (d < '0' || d > '9') {
				break
			}
			p.advance(1)
		}
		p.tok, p.tokKind = p.src[start:p.pos], 'n'
	case c == '-' || c >= '0' && c <= '9':
		p.advance(1)
		kind := byte('i')
		for p.pos < len(p.src) {
			d := p.src[p.pos]
			if d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-' {
				kind = 'f'
			} else if d < '0' || d > '9' {
				break
			}
			p.advance(1)
		}
		p.tok, p.tokKind = p.src[start:p.pos], kind
	case c == '"':
		p.advance(1)
		var b strings.Builder
		for {
			if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
				p.fail("Unterminated string")
			}
			d := p.src[p.pos]
			if d == '"' {
				p.advance(1)
				break
			}
			if d == '\\' && p.pos+1 < len(p.src) {
				e := p.src[p.pos+1]
				p.advance(2)
				switch e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case 'b':
					b.WriteByte('\b')
				case 'f':
					b.WriteByte('\f')
				case 'u':
					if p.pos+4 > len(p.src) {
						p.fail("bad unicode escape")
					}
					r, err := strconv.ParseUint(p.src[p.pos:p.pos+4], 16, 32)
					if err != nil {
						p.fail("bad unicode escape")
					}
					b.WriteRune(rune(r)) //nolint:gosec // four hex digits: at most 0xFFFF
					p.advance(4)
				default:
					b.WriteByte(e)
				}
				continue
			}
			b.WriteByte(d)
			p.advance(1)
		}
		p.tok, p.tokKind = b.String(), 's'
	default:
		p.fail(fmt.Sprintf("Parse error on %q", string(c)))
	}
}

func (p *gqlParser) advance(n int) {
	p.pos += n
	p.col += n
}

// --- execution ---

// gqlObject is a value with fields.
type gqlObject interface {
	typeName() string
	field(x *gqlExec, name string, args map[string]any) (any, error)
}

// fieldError is a field GitHub refuses. nonNull propagates the null to
// the enclosing object, as GraphQL does for a non-null field.
type fieldError struct {
	typ, msg string
	nonNull  bool
}

func (e *fieldError) Error() string { return e.msg }

type undefinedField struct{ typ, name string }

func (e *undefinedField) Error() string {
	return fmt.Sprintf("Field '%s' doesn't exist on type '%s'", e.name, e.typ)
}

type gqlExec struct {
	doc    *gqlDoc
	vars   map[string]any
	errors []map[string]any
	s      *Server
	tok    *Token
	// undefined collects schema errors, which GitHub reports without data.
	undefined []map[string]any
}

var errPropagate = errors.New("null propagates")

func (x *gqlExec) object(obj gqlObject, sel []*gqlSelection, path []any) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range x.flatten(obj.typeName(), sel) {
		args := map[string]any{}
		for k, v := range s.args {
			args[k] = v.resolve(x.vars)
		}
		p := append(append([]any{}, path...), s.key())
		var v any
		var err error
		if s.name == "__typename" {
			v = obj.typeName()
		} else {
			v, err = obj.field(x, s.name, args)
		}
		if err != nil {
			var ud *undefinedField
			if errors.As(err, &ud) {
				x.undefined = append(x.undefined, map[string]any{
					"path": p, "message": ud.Error(),
					"extensions": map[string]any{"code": "undefinedField", "typeName": ud.typ, "fieldName": ud.name},
					"locations":  []any{map[string]any{"line": s.line, "column": s.col}},
				})
				continue
			}
			var fe *fieldError
			if errors.As(err, &fe) {
				x.errors = append(x.errors, map[string]any{
					"type": fe.typ, "path": p, "message": fe.msg,
					"locations": []any{map[string]any{"line": s.line, "column": s.col}},
				})
				if fe.nonNull {
					return nil, errPropagate
				}
				out[s.key()] = nil
				continue
			}
			return nil, err
		}
		rv, err := x.value(v, s, p)
		if err != nil {
			return nil, err
		}
		out[s.key()] = rv
	}
	return out, nil
}

func (x *gqlExec) value(v any, s *gqlSelection, path []any) (any, error) {
	switch t := v.(type) {
	case gqlObject:
		if t == nil {
			return nil, nil
		}
		if len(s.sel) == 0 {
			return nil, fmt.Errorf("field %s of an object needs a selection", s.name)
		}
		m, err := x.object(t, s.sel, path)
		if errors.Is(err, errPropagate) {
			return nil, nil
		}
		return m, err
	case []gqlObject:
		out := make([]any, len(t))
		for i, o := range t {
			m, err := x.object(o, s.sel, append(append([]any{}, path...), i))
			if errors.Is(err, errPropagate) {
				out[i] = nil
				continue
			}
			if err != nil {
				return nil, err
			}
			out[i] = m
		}
		return out, nil
	}
	return v, nil
}

// flatten expands fragments that apply to the type.
func (x *gqlExec) flatten(typ string, sel []*gqlSelection) []*gqlSelection {
	var out []*gqlSelection
	for _, s := range sel {
		switch {
		case s.spread != "":
			if f := x.doc.fragments[s.spread]; f != nil && f.on == typ {
				out = append(out, x.flatten(typ, f.sel)...)
			}
		case s.name == "" && s.on != "":
			if s.on == typ {
				out = append(out, x.flatten(typ, s.sel)...)
			}
		default:
			out = append(out, s)
		}
	}
	return out
}

// cost is GitHub's documented arithmetic: each connection (a field with
// first or last) needs as many requests as its parent connections can
// return; the sum over 100, rounded, at least 1.
func (x *gqlExec) cost() int {
	var walk func(sel []*gqlSelection, mult float64, depth int) float64
	walk = func(sel []*gqlSelection, mult float64, depth int) float64 {
		if depth > 20 {
			return 0
		}
		total := 0.0
		for _, s := range sel {
			switch {
			case s.spread != "":
				if f := x.doc.fragments[s.spread]; f != nil {
					total += walk(f.sel, mult, depth+1)
				}
				continue
			case s.name == "":
				total += walk(s.sel, mult, depth+1)
				continue
			}
			child := mult
			for _, a := range []string{"first", "last"} {
				if v, ok := s.args[a]; ok {
					if n, ok := v.resolve(x.vars).(int64); ok {
						total += mult
						child = mult * float64(n)
					}
				}
			}
			total += walk(s.sel, child, depth+1)
		}
		return total
	}
	return max(1, int(math.Round(walk(x.doc.op.sel, 1, 0)/100)))
}

// checkLimits enforces GitHub's connection bounds: first or last on every
// connection, 1 to 100.
func (x *gqlExec) checkLimits(sel []*gqlSelection, depth int) error {
	if depth > 20 {
		return nil
	}
	for _, s := range sel {
		if s.spread != "" {
			if f := x.doc.fragments[s.spread]; f != nil {
				if err := x.checkLimits(f.sel, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		for _, a := range []string{"first", "last"} {
			if v, ok := s.args[a]; ok {
				n, ok := v.resolve(x.vars).(int64)
				if !ok || n < 1 || n > 100 {
					// GitHub's own words, period included.
					return errors.New(fmt.Sprintf("Requesting %v records on the `%s` connection exceeds the `%s` limit of 100 records.", v.resolve(x.vars), s.name, a)) //nolint:staticcheck // GitHub's message, verbatim
				}
			}
		}
		if err := x.checkLimits(s.sel, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// normalizeVars turns JSON numbers into int64, as GraphQL Int wants.
func normalizeVars(v map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range v {
		out[k] = normalize(val)
	}
	return out
}

func normalize(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case float64:
		if t == math.Trunc(t) {
			return int64(t)
		}
	case []any:
		for i := range t {
			t[i] = normalize(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = normalize(t[k])
		}
	}
	return v
}
