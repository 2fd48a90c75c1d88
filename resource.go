package rampart

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Kind names what sort of thing a resource is; each kind with automated
// checks has one integration that collects its facts.
type Kind string

// Position points into a file a person wrote, for error messages.
type Position struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Position) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Resource is one entry of the register: something the platform depends on.
type Resource struct {
	ID          string      `json:"id"`
	Kind        Kind        `json:"kind"`
	Name        string      `json:"name"`
	Owner       string      `json:"owner"`
	Criticality Criticality `json:"criticality"`
	Environment string      `json:"environment,omitempty"`
	Tags        []string    `json:"tags,omitempty"`
	// Periodicity overrides a control's default periodicity for this
	// resource, by control id.
	Periodicity map[string]Periodicity `json:"periodicity,omitempty"`
	// Spec is the kind-specific configuration, already decoded and validated
	// by the kind's integration (its typed config), or nil for kinds that
	// only appear in the inventory.
	Spec any `json:"spec,omitempty"`
	// Source is where the register defines the resource.
	Source Position `json:"-"`
}

// PeriodicityFor returns the periodicity of control c for this resource:
// the resource's override, or the control's default.
func (r *Resource) PeriodicityFor(c *Control) Periodicity {
	if p, ok := r.Periodicity[c.ID]; ok {
		return p
	}
	return c.Periodicity
}

// SecretRef names where a credential comes from, never the credential
// itself: "env:NAME" or "file:PATH".
type SecretRef string

// ParseSecretRef validates s as a reference.
func ParseSecretRef(s string) (SecretRef, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" || (scheme != "env" && scheme != "file") {
		return "", Errorf(KindInvalid, "a credential must be a reference, env:NAME or file:PATH, not a literal value")
	}
	return SecretRef(s), nil
}

// UnmarshalText implements encoding.TextUnmarshaler and refuses literals.
func (s *SecretRef) UnmarshalText(b []byte) error {
	v, err := ParseSecretRef(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Resolve reads the secret through the environment lookup and file reader
// it is given, so that callers control where secrets come from. The value
// is trimmed of surrounding white space and never logged or stored.
func (s SecretRef) Resolve(getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	scheme, rest, _ := strings.Cut(string(s), ":")
	switch scheme {
	case "env":
		v := getenv(rest)
		if v == "" {
			return "", Errorf(KindInvalid, "environment variable %s named by %s is empty or unset", rest, s)
		}
		return v, nil
	case "file":
		b, err := readFile(rest)
		if err != nil {
			return "", Errorf(KindInvalid, "read credential file %s: %v", rest, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", Errorf(KindInvalid, "credential reference %q is neither env: nor file:", string(s))
}

// Facts is what a collector gathered about one resource at one time. It is
// the integration's own typed value; it must marshal to JSON, which is how
// it is kept as evidence and how user-written CEL checks see it.
type Facts any

// FactsJSON encodes facts canonically for evidence: compact JSON with map
// keys sorted (encoding/json sorts them), so identical facts hash the same.
func FactsJSON(f Facts) ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode facts: %w", err)
	}
	return b, nil
}
