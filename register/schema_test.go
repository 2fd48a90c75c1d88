package register_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart/register"
)

func loadSchema(t *testing.T, kinds register.Kinds) map[string]any {
	t.Helper()
	b, err := register.Schema(kinds)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

func TestSchemaShape(t *testing.T) {
	t.Parallel()
	s := loadSchema(t, testKinds())
	if s["$schema"] != register.SchemaDraft || s["additionalProperties"] != false {
		t.Errorf("$schema = %v, additionalProperties = %v", s["$schema"], s["additionalProperties"])
	}
	defs := s["$defs"].(map[string]any)
	res := defs["resource"].(map[string]any)
	if res["additionalProperties"] != false {
		t.Errorf("resource allows unknown fields")
	}
	kind := res["properties"].(map[string]any)["kind"].(map[string]any)
	var want []string
	for _, k := range testInventory() {
		want = append(want, string(k))
	}
	want = append(want, "tls-endpoint", "server", "http-api", "heartbeat")
	slices.Sort(want)
	if got := fmt.Sprint(kind["enum"]); got != fmt.Sprint(want) {
		t.Errorf("kind enum = %v, want %v", got, want)
	}
	if got := fmt.Sprint(defs["criticality"].(map[string]any)["enum"]); got != "[low medium high critical]" {
		t.Errorf("criticality enum = %v", got)
	}

	tls := defs["spec-tls-endpoint"].(map[string]any)
	props := tls["properties"].(map[string]any)
	var names []string
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	if fmt.Sprint(names) != "[address caBundle serverName timeout]" || tls["additionalProperties"] != false {
		t.Errorf("tls-endpoint spec properties = %v, additionalProperties = %v", names, tls["additionalProperties"])
	}
	if d := props["timeout"].(map[string]any)["default"]; d != "10s" {
		t.Errorf("timeout default = %v, want 10s (from NewSpec)", d)
	}
	if d := props["address"].(map[string]any)["description"]; d != "Host and port to connect to." {
		t.Errorf("address description = %v, want the doc tag", d)
	}
	if d := defs["spec-server"].(map[string]any)["properties"].(map[string]any)["mode"].(map[string]any)["default"]; d != "local" {
		t.Errorf("server mode default = %v", d)
	}
	api := defs["spec-http-api"].(map[string]any)["properties"].(map[string]any)
	if _, ok := api["region"]; !ok {
		t.Errorf("inline struct fields missing from http-api spec: %v", api)
	}
	if _, ok := api["ignored"]; ok {
		t.Errorf(`yaml:"-" field described`)
	}
	if api["token"].(map[string]any)["$ref"] != "#/$defs/secretRef" {
		t.Errorf("SecretRef field = %v", api["token"])
	}
}

// TestSchemaAgreesWithParser validates testdata with the schema: what
// the parser accepts, the schema accepts, and registers with structural
// mistakes fail both.
func TestSchemaAgreesWithParser(t *testing.T) {
	t.Parallel()
	s := loadSchema(t, starterKinds())
	tests := []struct {
		file  string
		valid bool
	}{
		{"testdata/valid.yaml", true},
		{"testdata/three-errors.yaml", false},
		{"testdata/resources.yaml", false},
		{"testdata/spec.yaml", false},
		{"testdata/aliases.yaml", false},
		{"testdata/settings.yaml", false},
		{"testdata/settings2.yaml", false},
		{"testdata/not-mapping.yaml", false},
		{"testdata/notify-valid.yaml", true},
		{"testdata/notify.yaml", false},
		{"starter", true},
		{"starter, uncommented", true},
	}
	for _, tt := range tests {
		var data []byte
		switch tt.file {
		case "starter":
			data = register.Starter()
		case "starter, uncommented":
			data = uncomment(register.Starter())
		default:
			var err error
			if data, err = os.ReadFile(tt.file); err != nil {
				t.Fatal(err)
			}
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			// Refused before any schema applies, as an editor would.
			if tt.valid {
				t.Errorf("%s: %v", tt.file, err)
			}
			continue
		}
		// Through JSON, as an editor sees the document.
		b, err := json.Marshal(jsonable(doc))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		doc = nil
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		v := &validator{root: s}
		v.validate(s, doc, "")
		if tt.valid && len(v.errs) > 0 {
			t.Errorf("%s: the schema rejects a valid register:\n%s", tt.file, strings.Join(v.errs, "\n"))
		}
		if !tt.valid && len(v.errs) == 0 {
			t.Errorf("%s: the schema accepts an invalid register", tt.file)
		}
	}
}

// jsonable replaces what JSON cannot hold (YAML's .nan and .inf) with
// strings.
func jsonable(x any) any {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			x[k] = jsonable(v)
		}
	case []any:
		for i, v := range x {
			x[i] = jsonable(v)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
	}
	return x
}

// validator checks the JSON Schema keywords Schema writes; enough to hold
// the schema to the parser without a new module.
type validator struct {
	root map[string]any
	errs []string
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) ok(s any, x any) bool {
	sub := &validator{root: v.root}
	sub.validate(s, x, "")
	return len(sub.errs) == 0
}

func jsonType(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (v *validator) validate(schema any, x any, path string) {
	switch schema {
	case true:
		return
	case false:
		v.fail(path, "not allowed")
		return
	}
	s := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		def := v.root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")]
		if def == nil {
			v.fail(path, "dangling $ref %s", ref)
			return
		}
		v.validate(def, x, path)
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, e := range t {
				types = append(types, e.(string))
			}
		}
		jt := jsonType(x)
		if !slices.Contains(types, jt) && !(jt == "integer" && slices.Contains(types, "number")) {
			v.fail(path, "%s is not %v", jt, types)
			return
		}
	}
	if e, ok := s["enum"].([]any); ok && !slices.Contains(e, x) {
		v.fail(path, "%v not in enum", x)
	}
	if c, ok := s["const"]; ok && c != x {
		v.fail(path, "%v is not %v", x, c)
	}
	if str, ok := x.(string); ok {
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			v.fail(path, "%q does not match %s", str, p)
		}
		if n, ok := s["minLength"].(float64); ok && float64(len([]rune(str))) < n {
			v.fail(path, "too short")
		}
		if n, ok := s["maxLength"].(float64); ok && float64(len([]rune(str))) > n {
			v.fail(path, "too long")
		}
	}
	if n, ok := x.(float64); ok {
		if m, ok := s["minimum"].(float64); ok && n < m {
			v.fail(path, "%v < %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			v.fail(path, "%v > %v", n, m)
		}
	}
	if m, ok := x.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		patterns, _ := s["patternProperties"].(map[string]any)
		required, _ := s["required"].([]any)
		for _, r := range required {
			if _, ok := m[r.(string)]; !ok {
				v.fail(path, "missing %s", r)
			}
		}
		for k, val := range m {
			matched := false
			if ps, ok := props[k]; ok {
				v.validate(ps, val, path+"/"+k)
				matched = true
			}
			for p, ps := range patterns {
				if regexp.MustCompile(p).MatchString(k) {
					v.validate(ps, val, path+"/"+k)
					matched = true
				}
			}
			if ap, ok := s["additionalProperties"]; ok && !matched {
				v.validate(ap, val, path+"/"+k)
			}
		}
	}
	if a, ok := x.([]any); ok {
		if items, ok := s["items"]; ok {
			for i, e := range a {
				v.validate(items, e, fmt.Sprintf("%s/%d", path, i))
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			v.validate(sub, x, path)
		}
	}
	if any_, ok := s["anyOf"].([]any); ok {
		if !slices.ContainsFunc(any_, func(sub any) bool { return v.ok(sub, x) }) {
			v.fail(path, "matches none of anyOf")
		}
	}
	if not, ok := s["not"]; ok && v.ok(not, x) {
		v.fail(path, "matches not")
	}
	if cond, ok := s["if"]; ok && v.ok(cond, x) {
		if then, ok := s["then"]; ok {
			v.validate(then, x, path)
		}
	}
}
