package register

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/rampart-dev/rampart"
)

// SchemaDraft is the JSON Schema dialect Schema writes.
const SchemaDraft = "https://json-schema.org/draft/2020-12/schema"

var (
	periodicityType = reflect.TypeFor[rampart.Periodicity]()
	criticalityType = reflect.TypeFor[rampart.Criticality]()
	severityType    = reflect.TypeFor[rampart.Severity]()
)

// Schema returns a JSON Schema (draft 2020-12) of the register with the
// given kinds, for editors: point yaml-language-server at it with a
// "# yaml-language-server: $schema=PATH" comment on the first line. Each
// integration's spec is described by reflecting over its typed spec the
// way the decoder reads it (yaml tags, a doc tag for the description,
// defaults from NewSpec); it applies when kind names the integration.
func Schema(kinds Kinds) ([]byte, error) {
	p := newParser("", kinds)
	var kindDocs, inventory []string
	for _, k := range p.names {
		in := p.kinds[rampart.Kind(k)]
		switch {
		case in == nil:
			inventory = append(inventory, k)
			kindDocs = append(kindDocs, "Inventory kind: listed and reviewed; free-form spec.")
		default:
			kindDocs = append(kindDocs, strings.TrimSpace(in.Title+". "+firstSentence(in.Doc)))
		}
	}

	g := &schemaGen{defs: map[string]any{}, seen: map[reflect.Type]bool{}}
	g.defs["secretRef"] = obj{
		"type":        "string",
		"pattern":     `^(env|file):.+$`,
		"description": "Where a credential comes from: env:NAME (an environment variable) or file:PATH. Never the credential itself.",
	}
	g.defs["duration"] = obj{
		"type":        "string",
		"pattern":     `^(0|-?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`,
		"description": "A duration such as 30s, 5m or 1h30m.",
	}
	g.defs["periodicity"] = obj{
		"description": "How often: " + strings.Join(rampart.PeriodicityNames(), ", ") + `, or a five-field cron expression ("0 6 * * 1", or "cron: 0 6 * * 1").`,
		"anyOf": []any{
			obj{"enum": append(rampart.PeriodicityNames(), "semiannual", "half-yearly", "annual", "annually")},
			obj{"type": "string", "pattern": `^\s*(cron:\s*)?\S+(\s+\S+){4}\s*$`},
		},
	}
	g.defs["criticality"] = obj{
		"enum":        rampart.CriticalityNames(),
		"description": "How much the resource matters to the business; it weighs the priority of its findings.",
	}

	var branches []any
	for _, k := range p.names {
		in := p.kinds[rampart.Kind(k)]
		if in == nil {
			continue
		}
		var then obj
		if in.NewSpec == nil {
			then = obj{"properties": obj{"spec": obj{"type": "null", "description": "This kind takes no spec."}}}
		} else {
			spec := in.NewSpec()
			v := reflect.ValueOf(spec)
			if spec == nil || v.Kind() != reflect.Pointer || v.IsNil() {
				return nil, fmt.Errorf("schema: integration %s: NewSpec returned %T, want a non-nil pointer", k, spec)
			}
			s := g.schema(v.Type().Elem(), v.Elem())
			allowNull(s)
			s["title"] = in.Title + " spec"
			if in.Doc != "" {
				s["description"] = in.Doc
			}
			name := "spec-" + k
			g.defs[name] = s
			then = obj{"properties": obj{"spec": obj{"$ref": "#/$defs/" + name}}}
		}
		branches = append(branches, obj{
			"if":   obj{"properties": obj{"kind": obj{"const": k}}, "required": []string{"kind"}},
			"then": then,
		})
	}
	if len(inventory) > 0 {
		branches = append(branches, obj{
			"if":   obj{"properties": obj{"kind": obj{"enum": inventory}}, "required": []string{"kind"}},
			"then": obj{"properties": obj{"spec": obj{"type": []string{"object", "null"}, "description": "Free-form notes on the resource, kept with it. Credentials only as env:NAME or file:PATH."}}},
		})
	}

	kindSchema := obj{"type": "string", "description": "What sort of thing the resource is."}
	if len(p.names) > 0 {
		kindSchema = obj{"enum": p.names, "enumDescriptions": kindDocs, "description": "What sort of thing the resource is: an integration's kind (checked automatically) or an inventory kind (reviewed)."}
	}
	resource := obj{
		"type":                 "object",
		"additionalProperties": false,
		"required":             requiredFields,
		"properties": obj{
			"id": obj{
				"type": "string", "pattern": idPattern.String(), "maxLength": maxIDLen,
				"description": "Unique, stable identifier: lower-case letters, digits, '.', '_' and '-'. Findings and tasks are keyed on it.",
			},
			"kind":        kindSchema,
			"name":        obj{"type": "string", "minLength": 1, "description": "Human name."},
			"owner":       obj{"type": "string", "minLength": 1, "description": "Team or person answerable for the resource; its tasks are assigned here."},
			"criticality": obj{"$ref": "#/$defs/criticality", "default": "medium"},
			"environment": obj{"type": "string", "description": "production, staging, ..."},
			"tags": obj{
				"type": []string{"array", "null"}, "items": obj{"type": "string", "minLength": 1},
				"description": "Free labels for filtering.",
			},
			"periodicity": obj{
				"type":        []string{"object", "null"},
				"description": "Overrides of controls' periodicities for this resource, by control id.",
				"additionalProperties": obj{"anyOf": []any{
					obj{"$ref": "#/$defs/periodicity"},
					obj{
						"type": "object", "required": []string{"cron"}, "additionalProperties": false,
						"properties": obj{"cron": obj{"type": "string", "minLength": 1}},
					},
				}},
			},
			"spec": obj{"description": "Kind-specific configuration."},
		},
	}
	if len(branches) > 0 {
		resource["allOf"] = branches
	}
	g.defs["resource"] = resource
	g.defs["settings"] = obj{
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"description":          "How scans run.",
		"properties": obj{
			"store": obj{
				"type": "string", "minLength": 1, "default": DefaultStore,
				"description": "Where results are kept: a SQLite file (relative to this file), a postgres:// DSN without a password, or env:NAME naming a variable that holds the DSN.",
			},
			"concurrency": obj{
				"type": "integer", "minimum": 1, "maximum": 1024, "default": DefaultConcurrency,
				"description": "Resources collected at once.",
			},
			"timeout": obj{
				"$ref": "#/$defs/duration", "default": DefaultTimeout.String(),
				"description": "Time allowed to collect one resource.",
			},
			"timezone": obj{
				"type": "string", "minLength": 1, "default": DefaultTimeZone,
				"description": "IANA time zone in which periodicities start (midnight, Monday, the first of the month).",
			},
		},
	}
	g.defs["schedule"] = obj{
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"description":          "How `rampart serve` schedules due work: scans of automated controls and reviews of manual ones.",
		"properties": obj{
			"timezone": obj{
				"type": "string", "minLength": 1,
				"description": "IANA time zone in which periods start; settings.timezone by default.",
			},
			"jitter": obj{
				"$ref": "#/$defs/duration", "default": DefaultJitter.String(),
				"description": "Longest delay of a job past its period's start (fixed per job, at most a tenth of its period), to spread due work.",
			},
			"reviewGrace": obj{
				"type": "string", "pattern": `^([0-9]+d|(0|-?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+))$`, "default": "14d",
				"description": "How long a review may stay open before it is overdue (never past the next period's start): 14d, 72h.",
			},
		},
	}
	receiverTypes := receiverTypeNames()
	var eventKinds []string
	for _, k := range rampart.EventKinds() {
		eventKinds = append(eventKinds, string(k))
	}
	g.defs["receiver"] = obj{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"name", "type"},
		"properties": obj{
			"name": obj{"type": "string", "pattern": idPattern.String(), "description": "The receiver's name, for routes and `rampart notify test`."},
			"type": obj{"enum": receiverTypes, "description": "alertmanager (API v2), pagerduty (Events API v2), slack (incoming webhook), teams (workflow webhook, Adaptive Card) or webhook (generic, HMAC-signed)."},
			"url": obj{
				"type": "string", "format": "uri",
				"description": "alertmanager: its base URL; webhook: where to POST; pagerduty: the events endpoint (default " + DefaultPagerDutyURL + "). Never a URL holding a token.",
			},
			"webhookURL":  obj{"$ref": "#/$defs/secretRef", "description": "slack and teams: the webhook URL, which holds its token, as a reference."},
			"routingKey":  obj{"$ref": "#/$defs/secretRef", "description": "pagerduty: the integration's routing key, as a reference."},
			"secret":      obj{"$ref": "#/$defs/secretRef", "description": "webhook: the HMAC-SHA256 key of X-Rampart-Signature, as a reference."},
			"bearerToken": obj{"$ref": "#/$defs/secretRef", "description": "alertmanager and webhook: a token sent as Authorization: Bearer, as a reference."},
		},
	}
	g.defs["route"] = obj{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"receivers"},
		"description":          "Sends the events it matches to its receivers; every matcher given must match.",
		"properties": obj{
			"receivers":    obj{"type": "array", "minItems": 1, "items": obj{"type": "string"}, "description": "Receiver names."},
			"events":       obj{"type": "array", "items": obj{"enum": eventKinds}, "description": "Event kinds."},
			"minSeverity":  obj{"enum": rampart.SeverityNames(), "description": "Events of this severity or higher."},
			"areas":        obj{"type": "array", "items": obj{"type": "string", "minLength": 1}, "description": "Areas of the catalog's index; an area holds those under it."},
			"environments": obj{"type": "array", "items": obj{"type": "string", "minLength": 1}, "description": "Resource environments."},
		},
	}
	g.defs["notify"] = obj{
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"description":          "Where notifications go. See docs/notifications.md.",
		"properties": obj{
			"externalURL":    obj{"type": "string", "format": "uri", "description": "Rampart's own URL, for links in messages."},
			"resendInterval": obj{"$ref": "#/$defs/duration", "default": DefaultResendInterval.String(), "description": "How often firing alerts are sent to Alertmanager again."},
			"receivers":      obj{"type": []string{"array", "null"}, "items": obj{"$ref": "#/$defs/receiver"}},
			"routes":         obj{"type": []string{"array", "null"}, "items": obj{"$ref": "#/$defs/route"}, "description": "Without routes, every receiver gets every event."},
		},
	}
	g.defs["catalog"] = obj{
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"description":          "Extra catalog files, relative to this file.",
		"properties": obj{
			"controls": obj{
				"type": []string{"array", "null"}, "items": obj{"type": "string", "minLength": 1},
				"description": "Control files: add controls or override the embedded ones by id.",
			},
			"checks": obj{
				"type": []string{"array", "null"}, "items": obj{"type": "string", "minLength": 1},
				"description": "Files of user-written CEL checks.",
			},
		},
	}

	root := obj{
		"$schema":              SchemaDraft,
		"title":                "Rampart register (rampart.yaml)",
		"description":          "The platform's resources as code. See docs/register.md.",
		"type":                 "object",
		"required":             []string{"version"},
		"additionalProperties": false,
		"patternProperties":    obj{"^x-": true},
		"properties": obj{
			"version":   obj{"const": Version, "description": "Register format version."},
			"settings":  obj{"$ref": "#/$defs/settings"},
			"schedule":  obj{"$ref": "#/$defs/schedule"},
			"notify":    obj{"$ref": "#/$defs/notify"},
			"catalog":   obj{"$ref": "#/$defs/catalog"},
			"resources": obj{"type": []string{"array", "null"}, "items": obj{"$ref": "#/$defs/resource"}},
		},
		"$defs": g.defs,
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return append(b, '\n'), nil
}

type obj = map[string]any

type schemaGen struct {
	defs map[string]any
	seen map[reflect.Type]bool // struct types being described, against cycles
}

// schema describes t as the decoder reads it; def, when valid, holds the
// default value NewSpec set.
func (g *schemaGen) schema(t reflect.Type, def reflect.Value) obj {
	if t.Kind() == reflect.Pointer {
		if def.IsValid() && !def.IsNil() {
			def = def.Elem()
		} else {
			def = reflect.Value{}
		}
		return g.schema(t.Elem(), def)
	}
	s := g.known(t)
	if s == nil {
		s = g.byKind(t, def)
	}
	if d := defaultOf(t, def); d != nil {
		s["default"] = d
	}
	return s
}

// known describes the types the decoder treats specially.
func (g *schemaGen) known(t reflect.Type) obj {
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(yamlUnmarshalerType):
		return obj{} // its own YAML shape: anything
	case t == secretRefType:
		return obj{"$ref": "#/$defs/secretRef"}
	case t == durationType:
		return obj{"$ref": "#/$defs/duration"}
	case t == periodicityType:
		return obj{"$ref": "#/$defs/periodicity"}
	case t == criticalityType:
		return obj{"$ref": "#/$defs/criticality"}
	case t == severityType:
		return obj{"enum": rampart.SeverityNames()}
	case pt.Implements(textUnmarshalerType):
		return obj{"type": "string"}
	}
	return nil
}

func (g *schemaGen) byKind(t reflect.Type, def reflect.Value) obj {
	switch t.Kind() {
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return obj{"type": "integer"}
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return obj{"type": "integer", "minimum": int64(-1) << (t.Bits() - 1), "maximum": int64(1)<<(t.Bits()-1) - 1}
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return obj{"type": "integer", "minimum": 0}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return obj{"type": "integer", "minimum": 0, "maximum": uint64(1)<<t.Bits() - 1}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		return obj{"type": "array", "items": g.schema(t.Elem(), reflect.Value{})}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem(), reflect.Value{})}
	case reflect.Interface:
		return obj{}
	case reflect.Struct:
		return g.object(t, def)
	}
	// The decoder refuses these too: no value is valid.
	return obj{"not": obj{}}
}

func (g *schemaGen) object(t reflect.Type, def reflect.Value) obj {
	if g.seen[t] {
		return obj{"type": "object"} // a recursive type: not described twice
	}
	g.seen[t] = true
	defer delete(g.seen, t)
	fields, rest := structFields(t)
	props := obj{}
	for _, f := range fields {
		var fdef reflect.Value
		if def.IsValid() {
			fdef = valueByIndex(def, f.index)
		}
		s := g.schema(f.typ, fdef)
		if f.doc != "" {
			s["description"] = f.doc
		}
		props[f.name] = s
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if rest != nil {
		mt := rest.typ
		if mt.Kind() == reflect.Pointer {
			mt = mt.Elem()
		}
		s["additionalProperties"] = g.schema(mt.Elem(), reflect.Value{})
	}
	return s
}

// valueByIndex follows a field index through embedded pointers, returning
// the zero Value where one is nil.
func valueByIndex(v reflect.Value, idx []int) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// defaultOf is the JSON form of a scalar default NewSpec set, or nil.
func defaultOf(t reflect.Type, v reflect.Value) any {
	if !v.IsValid() || v.IsZero() {
		return nil
	}
	switch {
	case t == durationType, t == periodicityType, t == criticalityType, t == severityType:
		return fmt.Sprint(v.Interface())
	case t == secretRefType:
		return v.String()
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			return string(b)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			out := make([]string, v.Len())
			for i := range out {
				out[i] = v.Index(i).String()
			}
			return out
		}
	}
	return nil
}

// allowNull lets an object schema also be null: an empty "spec:" keeps the
// defaults.
func allowNull(s obj) {
	if t, ok := s["type"].(string); ok && t == "object" {
		s["type"] = []string{"object", "null"}
	}
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
