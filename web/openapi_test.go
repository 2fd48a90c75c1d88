package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

var refPattern = regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([^"]+)"`)

// TestOpenAPIMatchesRoutes proves the document served at
// /api/v1/openapi.json and the handlers agree: every API route is
// documented, every documented operation is served (a request reaches a
// handler, not the not-found answer), and every schema it names exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("GET", "/api/v1/openapi.json", "viewer", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("%d", w.Code)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			var o struct {
				OperationID string                     `json:"operationId"`
				Summary     string                     `json:"summary"`
				Responses   map[string]json.RawMessage `json:"responses"`
				Security    []any                      `json:"security"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatal(err)
			}
			if o.OperationID == "" || o.Summary == "" || len(o.Responses) < 2 || o.Security == nil {
				t.Errorf("%s %s: incomplete operation %s", method, path, op)
			}
			// Served: fill the path's parameters and ask the server.
			concrete := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "1")
			r := f.do(strings.ToUpper(method), concrete, "admin", nil)
			if r.Code == http.StatusNotFound && strings.Contains(r.Body.String(), "no such page") {
				t.Errorf("documented %s %s is not served", strings.ToUpper(method), path)
			}
		}
	}
	for _, rt := range f.srv.Routes() {
		api := strings.HasPrefix(rt.Path, "/api/")
		if api && !documented[rt.Method+" "+rt.Path] {
			t.Errorf("API route %s is not in the OpenAPI document", rt.Pattern())
		}
		if !api && documented[rt.Method+" "+rt.Path] && rt.Path != "/healthz" && rt.Path != "/readyz" {
			t.Errorf("page route %s is in the OpenAPI document", rt.Pattern())
		}
	}
	var missing []string
	for _, m := range refPattern.FindAllStringSubmatch(w.Body.String(), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			missing = append(missing, m[1])
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("schemas referred to but not defined: %v", missing)
	}
	// The schemas come from the types the handlers encode.
	var task struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["TaskView"], &task); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"id", "priority", "priority_score", "status", "severity", "due_by", "fingerprint"} {
		if _, ok := task.Properties[p]; !ok {
			t.Errorf("TaskView lacks %s: %v", p, task.Properties)
		}
	}
}
