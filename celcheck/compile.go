package celcheck

import (
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

// CostLimit bounds the work one expression may do on one resource (CEL's
// runtime cost: roughly one unit per operation, more for string and list
// work). It is far above what a check over a facts document needs and stops
// a pathological expression long before it could stall a scan.
const CostLimit = 1_000_000

// maxExprLen bounds the source of one expression.
const maxExprLen = 16 << 10

// resourceFields are the keys of the resource variable; a reference to
// another one is a mistake worth catching when the file is loaded rather
// than as an error on every resource.
var resourceFields = []string{"id", "kind", "name", "owner", "environment", "criticality", "tags"}

// environment is built once: building a CEL environment costs milliseconds,
// and it is safe for concurrent use.
var environment = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("facts", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("resource", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		// Facts arrive as JSON, where 2048 and 2048.0 are the same number:
		// let them compare whichever CEL type they decoded to.
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.OptionalTypes(),
		cel.ExtendedValidations(),
		cel.ParserExpressionSizeLimit(maxExprLen),
		ext.Strings(),
		ext.Lists(ext.ListsMaxRangeSize(10_000)),
		ext.Sets(),
		ext.Math(),
		ext.Network(),
		ext.Regex(),
		ext.Bindings(),
		ext.TwoVarComprehensions(),
		// cannotTell lets a check say it could not decide, so that a
		// part of the facts the collector could not read gives an error
		// result instead of a guess.
		cel.Function("cannotTell",
			cel.Overload("cannotTell_string", []*cel.Type{cel.StringType}, cel.DynType,
				cel.UnaryBinding(func(reason ref.Val) ref.Val {
					return types.NewErr("cannot tell: %v", reason.Value())
				}))),
	)
})

// want is the result type an expression must have.
type want int

const (
	wantBool want = iota
	wantStrings
)

func (w want) String() string {
	if w == wantStrings {
		return "a list of strings"
	}
	return "a bool"
}

// accepts reports whether an expression's checked type can give w. Dyn is
// accepted because fields of facts are dyn; the value is checked again when
// evaluated.
func (w want) accepts(t *types.Type) bool {
	switch w {
	case wantBool:
		return t.Kind() == types.BoolKind || t.Kind() == types.DynKind
	case wantStrings:
		if t.Kind() == types.DynKind {
			return true
		}
		if t.Kind() != types.ListKind || len(t.Parameters()) != 1 {
			return false
		}
		k := t.Parameters()[0].Kind()
		return k == types.StringKind || k == types.DynKind
	}
	return false
}

// program is one compiled expression of a check.
type program struct {
	field string // "expr", "items", "when"
	text  string
	prg   cel.Program
}

func (p *parser) compile(where string, s *source) (*rampart.Check, bool) {
	env, err := environment()
	if err != nil {
		// The environment is fixed; failing to build it is a bug here.
		p.errorAt(0, 0, "build the CEL environment: %v", err)
		return nil, false
	}
	c := &celCheck{id: s.id, title: s.title}
	ok := true
	for _, e := range []struct {
		field string
		node  *yaml.Node
		want  want
		dst   **program
	}{
		{"when", s.when, wantBool, &c.when},
		{"expr", s.expr, wantBool, &c.expr},
		{"items", s.items, wantStrings, &c.items},
	} {
		if e.node == nil {
			continue
		}
		prg := p.compileExpr(env, where, e.field, e.node, e.want)
		if prg == nil {
			ok = false
			continue
		}
		*e.dst = prg
	}
	if !ok {
		return nil, false
	}
	return &rampart.Check{
		ID:          s.id,
		Version:     s.version,
		Title:       s.title,
		Severity:    s.severity,
		Kind:        rampart.Kind(s.kind),
		Controls:    s.controls,
		Remediation: s.remediation,
		Doc:         s.doc,
		Run:         c.run,
	}, true
}

func (p *parser) compileExpr(env *cel.Env, where, field string, n *yaml.Node, w want) *program {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s: %s: want a CEL expression as a string", where, field)
		return nil
	}
	text := n.Value
	if strings.TrimSpace(text) == "" {
		p.errorf(n, "%s: %s: the expression is empty", where, field)
		return nil
	}
	a, iss := env.Compile(text)
	if iss != nil && iss.Err() != nil {
		for _, e := range iss.Errors() {
			p.exprError(n, e.Location, where, field, e.Message)
		}
		return nil
	}
	if !w.accepts(a.OutputType()) {
		p.errorf(n, "%s: %s: the expression gives %s, want %s", where, field, cel.FormatCELType(a.OutputType()), w)
		return nil
	}
	bad := false
	native := a.NativeRep()
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind {
			return
		}
		sel := e.AsSelect()
		op := sel.Operand()
		if op.Kind() != ast.IdentKind || op.AsIdent() != "resource" || contains(resourceFields, sel.FieldName()) {
			return
		}
		bad = true
		p.exprError(n, native.SourceInfo().GetStartLocation(e.ID()), where, field,
			fmt.Sprintf("resource has no field %q (it has %s)", sel.FieldName(), strings.Join(resourceFields, ", ")))
	}))
	if bad {
		return nil
	}
	prg, err := env.Program(a,
		cel.CostLimit(CostLimit),
		cel.InterruptCheckFrequency(100),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		p.errorf(n, "%s: %s: %v", where, field, err)
		return nil
	}
	return &program{field: field, text: strings.TrimSpace(text), prg: prg}
}

// exprError reports a problem at a position within an expression, mapped to
// the file where the scalar's style allows it exactly: a single-line plain
// or quoted scalar, or a literal block (|). Otherwise the error points at the
// scalar and names the position within the expression.
func (p *parser) exprError(n *yaml.Node, loc common.Location, where, field, msg string) {
	msg = strings.TrimSuffix(msg, " (in container '')")
	if loc == nil || loc.Line() < 1 {
		p.errorf(n, "%s: %s: %s", where, field, msg)
		return
	}
	line, col := loc.Line(), loc.Column()
	switch n.Style {
	case 0, yaml.TaggedStyle, yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if line == 1 {
			quote := 0
			if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
				quote = 1
			}
			p.errorAt(n.Line, n.Column+quote+col, "%s: %s: %s", where, field, msg)
			return
		}
	case yaml.LiteralStyle:
		if indent, ok := p.blockIndent(n.Line); ok {
			p.errorAt(n.Line+line, indent+col+1, "%s: %s: %s", where, field, msg)
			return
		}
	}
	p.errorAt(n.Line, n.Column, "%s: %s: at %d:%d of the expression: %s", where, field, line, col+1, msg)
}

// blockIndent finds the indentation of a block scalar whose indicator is on
// line (1-based): that of its first non-blank line.
func (p *parser) blockIndent(line int) (int, bool) {
	lines := strings.Split(string(p.src), "\n")
	for i := line; i < len(lines); i++ { // lines[line] is the line after the indicator
		l := strings.TrimRight(lines[i], "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		return len(l) - len(strings.TrimLeft(l, " ")), true
	}
	return 0, false
}
