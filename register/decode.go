package register

import (
	"encoding"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

var (
	secretRefType       = reflect.TypeFor[rampart.SecretRef]()
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// spec decodes a resource's spec into the integration's typed
// configuration and validates it. node is nil when the resource has no
// spec: the defaults are validated then, at the resource's position.
//
// The decoder is ours rather than yaml.v3's Node.Decode because that one
// accepts unknown fields, reports only lines, and quotes the offending
// value, which may be a credential.
func (p *parser) spec(in *rampart.Integration, node, at *yaml.Node, path string) rampart.Spec {
	spec := in.NewSpec()
	v := reflect.ValueOf(spec)
	if spec == nil || v.Kind() != reflect.Pointer || v.IsNil() {
		p.errorf(at, path, "integration %s returned no spec to decode into (a defect in Rampart)", in.Kind)
		return nil
	}
	before, withheld := len(p.errs), p.withheld
	if node != nil && !isNull(node) {
		if node.Kind != yaml.MappingNode && v.Elem().Kind() == reflect.Struct {
			p.errorf(node, path, "want a mapping, got %s", describe(node))
			return nil
		}
		p.decode(node, v.Elem(), path)
	}
	if len(p.errs) > before || p.withheld > withheld {
		// Validate would only repeat what the decoder said, less exactly.
		return nil
	}
	if b, ok := spec.(BaseDirSetter); ok {
		b.SetBaseDir(p.dir)
	}
	if err := spec.Validate(); err != nil {
		for _, e := range splitErrors(err) {
			p.validationError(v.Elem().Type(), node, at, path, errMessage(e))
		}
		return nil
	}
	return spec
}

// BaseDirSetter is implemented by specs that hold paths: the register
// calls SetBaseDir with its own directory after decoding and before
// Validate, so that relative paths are relative to rampart.yaml.
type BaseDirSetter interface {
	SetBaseDir(dir string)
}

// validationError places a message from Spec.Validate. One that starts
// with a spec field's name and ": " ("address: required") goes to that
// field, where it is written, or where it is missing.
func (p *parser) validationError(t reflect.Type, node, at *yaml.Node, path, msg string) {
	name, rest, ok := strings.Cut(msg, ": ")
	if ok && t.Kind() == reflect.Struct {
		fields, _ := structFields(t)
		if slices.ContainsFunc(fields, func(f field) bool { return f.name == name }) {
			if node != nil && node.Kind == yaml.MappingNode {
				// A parser of its own: the spec's keys were reported once already.
				entries, _ := (&parser{file: p.file}).mapping(node, path)
				for _, e := range entries {
					if e.name == name {
						at = e.val
					}
				}
			}
			p.errorf(at, join(path, name), "%s", rest)
			return
		}
	}
	p.errorf(at, path, "%s", msg)
}

// splitErrors unpacks errors.Join, so that each problem is its own line.
func splitErrors(err error) []error {
	// Only a join at the top: one wrapped inside another error is that
	// error's business.
	if multi, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // see above

		var out []error
		for _, e := range multi.Unwrap() {
			if e != nil {
				out = append(out, splitErrors(e)...)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return []error{err}
}

// decode sets v (addressable) from n. A null leaves v as it was: the
// default NewSpec set.
func (p *parser) decode(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		p.decode(n, v.Elem(), path)
		return
	}
	if reflect.PointerTo(t).Implements(yamlUnmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			p.errorf(n, path, "%s", errMessage(err))
		}
		return
	}
	switch {
	case t == secretRefType:
		if s, ok := p.str(n, path); ok {
			ref, err := rampart.ParseSecretRef(s)
			if err != nil {
				p.secret(n, path, s)
				return
			}
			v.Set(reflect.ValueOf(ref))
		}
		return
	case t == durationType:
		if d, ok := p.duration(n, path); ok {
			v.SetInt(int64(d))
		}
		return
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		if s, ok := p.str(n, path); ok {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				p.errorf(n, path, "%s", errMessage(err))
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		if s, ok := p.str(n, path); ok {
			v.SetString(s)
		}
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		p.scalar(n, v, path)
	case reflect.Struct:
		p.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.errorf(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			p.decode(c, s.Index(i), index(path, i))
		}
		v.Set(s)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			p.errorf(n, path, "cannot decode into Go type %s (a defect in the integration)", t)
			return
		}
		entries, ok := p.mapping(n, path)
		if !ok {
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, len(entries)))
		}
		for _, e := range entries {
			elem := reflect.New(t.Elem()).Elem()
			p.decode(e.val, elem, join(path, e.name))
			v.SetMapIndex(reflect.ValueOf(e.name).Convert(t.Key()), elem)
		}
	case reflect.Interface:
		if x := p.freeform(n, path); x != nil {
			if reflect.TypeOf(x).AssignableTo(t) {
				v.Set(reflect.ValueOf(x))
			} else {
				p.errorf(n, path, "cannot decode into Go type %s (a defect in the integration)", t)
			}
		}
	default:
		p.errorf(n, path, "cannot decode into Go type %s (a defect in the integration)", t)
	}
}

// scalar decodes booleans and numbers with YAML's own rules, but words the
// error itself: yaml.v3's would quote the value.
func (p *parser) scalar(n *yaml.Node, v reflect.Value, path string) {
	want := "a number"
	switch v.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		want = "a whole number, zero or more"
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, path, "want %s, got %s", want, describe(n))
		return
	}
	if looksLikeCredential(n.Value) {
		p.withheld++
		return
	}
	tmp := reflect.New(v.Type())
	if err := n.Decode(tmp.Interface()); err != nil {
		switch k := v.Kind(); {
		case n.ShortTag() != "!!int" || k == reflect.Bool || k == reflect.Float32 || k == reflect.Float64:
			p.errorf(n, path, "want %s, got %s", want, describe(n))
		case k >= reflect.Uint && k <= reflect.Uintptr:
			p.errorf(n, path, "want a whole number from 0 to %d, got %s", uint64(math.MaxUint64)>>(64-v.Type().Bits()), n.Value)
		default:
			bits := v.Type().Bits()
			p.errorf(n, path, "want a whole number from %d to %d, got %s", int64(-1)<<(bits-1), int64(math.MaxInt64)>>(64-bits), n.Value)
		}
		return
	}
	v.Set(tmp.Elem())
}

// field is one YAML-visible field of a struct.
type field struct {
	name  string
	index []int
	typ   reflect.Type
	doc   string
}

// structFields lists the fields of t the way yaml.v3 names them: the yaml
// tag's name, or the Go name lower-cased; "-" skips; ",inline" merges an
// embedded struct's fields, or names a map that takes the other keys.
func structFields(t reflect.Type) (fields []field, rest *field) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				inner, innerRest := structFields(ft)
				for _, in := range inner {
					in.index = append([]int{i}, in.index...)
					fields = append(fields, in)
				}
				if innerRest != nil && rest == nil {
					innerRest.index = append([]int{i}, innerRest.index...)
					rest = innerRest
				}
			case reflect.Map:
				rest = &field{index: []int{i}, typ: f.Type}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, field{name: name, index: []int{i}, typ: f.Type, doc: f.Tag.Get("doc")})
	}
	return fields, rest
}

func (p *parser) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	entries, ok := p.mapping(n, path)
	if !ok {
		return
	}
	fields, rest := structFields(v.Type())
	byName := make(map[string]field, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		byName[f.name] = f
		names[i] = f.name
	}
	for _, e := range entries {
		f, ok := byName[e.name]
		switch {
		case ok:
			p.decode(e.val, fieldByIndex(v, f.index), join(path, e.name))
		case rest != nil:
			m := fieldByIndex(v, rest.index)
			if m.Kind() == reflect.Pointer {
				if m.IsNil() {
					m.Set(reflect.New(m.Type().Elem()))
				}
				m = m.Elem()
			}
			if m.Type().Key().Kind() != reflect.String {
				p.errorf(e.key, path, "cannot decode into Go type %s (a defect in the integration)", m.Type())
				return
			}
			if m.IsNil() {
				m.Set(reflect.MakeMap(m.Type()))
			}
			elem := reflect.New(m.Type().Elem()).Elem()
			p.decode(e.val, elem, join(path, e.name))
			m.SetMapIndex(reflect.ValueOf(e.name).Convert(m.Type().Key()), elem)
		default:
			p.errorf(e.key, join(path, e.name), "%s", unknown("field", "fields", e.name, names))
		}
	}
}

// fieldByIndex is reflect.Value.FieldByIndex allocating nil embedded
// pointers on the way.
func fieldByIndex(v reflect.Value, idx []int) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// freeform decodes a node into plain JSON-compatible values (maps with
// string keys, slices, strings, numbers, booleans), as kept for inventory
// kinds' specs.
func (p *parser) freeform(n *yaml.Node, path string) any {
	switch n.Kind {
	case yaml.MappingNode:
		entries, _ := p.mapping(n, path)
		m := make(map[string]any, len(entries))
		for _, e := range entries {
			m[e.name] = p.freeform(e.val, join(path, e.name))
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = p.freeform(c, index(path, i))
		}
		return s
	case yaml.ScalarNode:
		if isNull(n) {
			return nil
		}
		var x any
		if err := n.Decode(&x); err != nil {
			p.errorf(n, path, "not a valid %s", strings.TrimPrefix(n.ShortTag(), "!!"))
			return nil
		}
		switch v := x.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				// JSON, where facts and resources end up, has no NaN.
				return n.Value
			}
		case time.Time:
			return n.Value
		case []byte:
			return n.Value
		}
		return x
	}
	return nil
}
