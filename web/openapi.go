package web

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/rampart-dev/rampart"
)

// documented reports whether a route belongs in the OpenAPI document:
// the API and the health probes, not the pages or the assets.
func documented(rt Route) bool {
	return (strings.HasPrefix(rt.Path, "/api/") || rt.Path == "/healthz" || rt.Path == "/readyz") && rt.Summary != ""
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z0-9_]+)\}`)

// openAPIDocument builds the OpenAPI 3.1 document from the route table,
// the same table that registers the handlers, with schemas derived from
// the Go types the handlers decode and encode.
func openAPIDocument(routes []Route, version string) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	g.defs["Error"] = g.schema(reflect.TypeOf(errorBody{}))
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		if !documented(rt) {
			continue
		}
		op := map[string]any{
			"operationId": operationID(rt),
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range rt.Query {
			params = append(params, map[string]any{"name": p.Name, "in": "query", "description": p.Doc, "schema": map[string]any{"type": p.Type}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Body))},
			}}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		switch {
		case rt.Produces != "":
			ok["content"] = map[string]any{rt.Produces: map[string]any{"schema": map[string]any{"type": "string"}}}
		case rt.Response != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Response))}}
		}
		op["responses"] = map[string]any{
			fmt.Sprint(status): ok,
			"default": map[string]any{
				"description": "An error, with a stable code",
				"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
			},
		}
		if rt.Public {
			op["security"] = []any{}
			op["description"] = "Public: no sign-in needed."
		} else {
			op["security"] = []any{map[string]any{"bearerAuth": []string{}}, map[string]any{"cookieAuth": []string{}}}
			op["description"] = fmt.Sprintf("Needs the %s permission (roles: %s).", rt.Perm, strings.Join(rolesWith(rt.Perm), ", "))
			op["x-rampart-permission"] = string(rt.Perm)
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Rampart API",
			"version":     version,
			"description": "Rampart's JSON API: readiness, resources, controls, results, evidence, tasks, exceptions, scans and the audit log. Send an API token as Authorization: Bearer, or use the session of a signed-in browser with the X-CSRF-Token header on changes. Errors are {\"error\":{\"code\",\"message\"}}.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "description": "An API token from `rampart token create`"},
				"cookieAuth": map[string]any{"type": "apiKey", "in": "cookie", "name": "rampart_session", "description": "A signed-in browser's session (__Host-rampart_session under TLS); changes also need the X-CSRF-Token header"},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func rolesWith(p rampart.Permission) []string {
	var out []string
	for _, r := range rampart.Roles() {
		if r.Allows(p) {
			out = append(out, string(r))
		}
	}
	return out
}

// operationID names an operation from its method and path:
// GET /api/v1/tasks/{id} is getTasksById.
func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, seg := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(rt.Path, "/api/v1"), "/"), "/") {
		seg = strings.Trim(seg, "{}")
		if seg == "" {
			continue
		}
		if strings.HasPrefix(rt.Path, "/api/v1") && strings.Contains(rt.Path, "{"+seg+"}") {
			b.WriteString("By")
		}
		for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
			rs := []rune(part)
			rs[0] = unicode.ToUpper(rs[0])
			b.WriteString(string(rs))
		}
	}
	return b.String()
}

// schemaGen derives JSON Schemas (the 2020-12 dialect OpenAPI 3.1 uses)
// from Go types as encoding/json encodes them.
type schemaGen struct {
	defs map[string]any
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	rawType       = reflect.TypeOf(json.RawMessage{})
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "any JSON value"}
	case t.Implements(textMarshaler) && t.Kind() != reflect.Struct:
		return map[string]any{"type": "string"}
	case t.Implements(textMarshaler):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // a placeholder breaks recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return "Anonymous"
	}
	rs := []rune(n)
	rs[0] = unicode.ToUpper(rs[0])
	return string(rs)
}

// object lists a struct's JSON properties, embedded structs flattened as
// encoding/json does; fields without omitempty or omitzero are required.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	obj := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		obj["required"] = dedupe(required)
	}
	return obj
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
