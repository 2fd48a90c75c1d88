package celcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/rampart-dev/rampart"
)

// JSONFacts is facts already encoded as JSON. A CEL check given JSONFacts
// decodes them as they are instead of encoding a typed value first.
type JSONFacts []byte

// WithSubject returns a context that tells the CEL checks evaluated under it
// which resource they judge, the facts' JSON as the caller already encoded
// it (nil: encode the facts given to Run), and the time that the variable
// now holds (zero: the clock). The facts are decoded once however many CEL
// checks run under the context, so the engine makes one per resource.
func WithSubject(ctx context.Context, r *rampart.Resource, factsJSON []byte, now time.Time) context.Context {
	return context.WithValue(ctx, subjectKey{}, &subject{resource: r, json: factsJSON, now: now})
}

type subjectKey struct{}

// subject is what a resource's CEL checks share: its variables, built once.
type subject struct {
	resource *rampart.Resource
	json     []byte
	now      time.Time

	once sync.Once
	vars interpreter.Activation
	err  error
}

func (s *subject) activation(facts rampart.Facts) (interpreter.Activation, error) {
	s.once.Do(func() {
		s.vars, s.err = s.build(facts)
	})
	return s.vars, s.err
}

func (s *subject) build(facts rampart.Facts) (interpreter.Activation, error) {
	data := s.json
	if data == nil {
		switch f := facts.(type) {
		case JSONFacts:
			data = f
		case json.RawMessage:
			data = f
		case nil:
			return nil, errors.New("no facts")
		default:
			b, err := rampart.FactsJSON(f)
			if err != nil {
				return nil, err
			}
			data = b
		}
	}
	doc, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("decode facts: %w", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("facts are a JSON %s, not an object", jsonKind(doc))
	}
	now := s.now
	if now.IsZero() {
		now = time.Now()
	}
	return cel.NewActivation(map[string]any{
		"facts":    m,
		"resource": resourceVar(s.resource),
		"now":      now.UTC(),
	})
}

func resourceVar(r *rampart.Resource) map[string]any {
	if r == nil {
		return map[string]any{}
	}
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id":          r.ID,
		"kind":        string(r.Kind),
		"name":        r.Name,
		"owner":       r.Owner,
		"environment": r.Environment,
		"criticality": r.Criticality.String(),
		"tags":        tags,
	}
}

// decodeJSON decodes facts, keeping whole numbers as integers: JSON does not
// tell 2048 from 2048.0, and ports, key sizes and counts are far more common
// in facts than fractions, so `facts.keyBits * 2` works as people expect.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("extra data after the JSON value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "number"
}

// celCheck is a compiled user check.
type celCheck struct {
	id, title         string
	expr, items, when *program
}

func (c *celCheck) run(ctx context.Context, facts rampart.Facts) rampart.Evaluation {
	s, _ := ctx.Value(subjectKey{}).(*subject)
	if s == nil {
		s = &subject{}
	}
	vars, err := s.activation(facts)
	if err != nil {
		return rampart.Errored(fmt.Errorf("facts: %w", err))
	}
	if c.when != nil {
		ok, err := c.when.bool(ctx, vars)
		if err != nil {
			return rampart.Errored(err)
		}
		if !ok {
			return rampart.NotApplicable("when is false: " + short(c.when.text))
		}
	}
	var findings []rampart.Finding
	if c.expr != nil {
		ok, err := c.expr.bool(ctx, vars)
		if err != nil {
			return rampart.Errored(err)
		}
		if !ok {
			findings = append(findings, rampart.Finding{Item: c.id, Message: "expr is false: " + short(c.expr.text)})
		}
	}
	if c.items != nil {
		items, err := c.items.strings(ctx, vars)
		if err != nil {
			return rampart.Errored(err)
		}
		for _, it := range items {
			findings = append(findings, rampart.Finding{Item: it, Message: it})
		}
	}
	if len(findings) > 0 {
		return rampart.Failed(findings...)
	}
	switch {
	case c.expr != nil && c.items != nil:
		return rampart.Pass("expr holds and no item fails")
	case c.expr != nil:
		return rampart.Pass("expr holds: " + short(c.expr.text))
	}
	return rampart.Pass("no item fails")
}

func (p *program) eval(ctx context.Context, vars interpreter.Activation) (ref.Val, error) {
	out, _, err := p.prg.ContextEval(ctx, vars)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.field, err)
	}
	return out, nil
}

func (p *program) bool(ctx context.Context, vars interpreter.Activation) (bool, error) {
	out, err := p.eval(ctx, vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("%s: the expression gave %s, want a bool", p.field, out.Type().TypeName())
	}
	return bool(b), nil
}

// strings reads a list of non-empty strings, sorted and without duplicates
// so that findings come in a stable order.
func (p *program) strings(ctx context.Context, vars interpreter.Activation) ([]string, error) {
	out, err := p.eval(ctx, vars)
	if err != nil {
		return nil, err
	}
	list, ok := out.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("%s: the expression gave %s, want a list of strings", p.field, out.Type().TypeName())
	}
	var items []string
	i := 0
	for it := list.Iterator(); it.HasNext() == types.True; i++ {
		e := it.Next()
		s, ok := e.(types.String)
		if !ok {
			return nil, fmt.Errorf("%s: element %d is %s, want a string", p.field, i, e.Type().TypeName())
		}
		if s == "" {
			return nil, fmt.Errorf("%s: element %d is an empty string, which cannot name a failing item", p.field, i)
		}
		items = append(items, string(s))
	}
	slices.Sort(items)
	return slices.Compact(items), nil
}

// short keeps an expression readable in a one-line reason.
func short(s string) string {
	const limit = 120
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}
