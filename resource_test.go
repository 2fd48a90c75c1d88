package rampart_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
)

func TestSecretRef(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"ghp_0123456789abcdefghij", "env:", "vault:kv/x", "plain", "file:"} {
		if _, err := rampart.ParseSecretRef(s); err == nil {
			t.Errorf("ParseSecretRef(%q) accepted a literal", s)
		} else if strings.Contains(err.Error(), s) && s != "env:" && s != "file:" {
			t.Errorf("the error %q repeats the value", err)
		}
	}
	env := map[string]string{"TOKEN": "s3cret"}
	getenv := func(k string) string { return env[k] }
	readFile := func(p string) ([]byte, error) {
		if p == "/run/token" {
			return []byte("  filesecret\n"), nil
		}
		return nil, errors.New("no such file")
	}
	for _, tt := range []struct {
		ref, want string
		bad       bool
	}{
		{ref: "env:TOKEN", want: "s3cret"},
		{ref: "file:/run/token", want: "filesecret"},
		{ref: "env:MISSING", bad: true},
		{ref: "file:/nope", bad: true},
	} {
		r, err := rampart.ParseSecretRef(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Resolve(getenv, readFile)
		switch {
		case tt.bad && err == nil:
			t.Errorf("%s resolved to a value", tt.ref)
		case !tt.bad && (err != nil || got != tt.want):
			t.Errorf("%s: %q, %v", tt.ref, got, err)
		}
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	controls := []*rampart.Control{
		{ID: "C1", Area: "pki", Criteria: []string{"CC6.1"}, Checks: []string{"A"}},
		{ID: "C2", Area: "pki", Criteria: []string{"CC6.1", "CC7.1"}, Checks: []string{"B"}},
		{ID: "C3", Area: "servers", Criteria: []string{"CC7.1"}, Checks: []string{"C"}},
		{ID: "C4", Area: "servers", Criteria: []string{"CC7.1"}, Procedure: "look"},
	}
	latest := []rampart.Result{
		{CheckID: "A", ResourceID: "r1", Status: rampart.StatusPass},
		{CheckID: "A", ResourceID: "r2", Status: rampart.StatusPass},
		{CheckID: "B", ResourceID: "r1", Status: rampart.StatusPass},
		{CheckID: "B", ResourceID: "r2", Status: rampart.StatusFail},
		{CheckID: "C", ResourceID: "r3", Status: rampart.StatusError},
	}
	st := rampart.ControlStatuses(controls, latest)
	for id, want := range map[string]rampart.Status{"C1": rampart.StatusPass, "C2": rampart.StatusFail, "C3": rampart.StatusError, "C4": rampart.StatusNotApplicable} {
		if st[id].Status != want {
			t.Errorf("%s: %s, want %s", id, st[id].Status, want)
		}
	}
	byCrit := rampart.ReadinessBy(controls, st, func(c *rampart.Control) []string { return c.Criteria })
	want := map[string]rampart.Readiness{
		"CC6.1": {Key: "CC6.1", Controls: 2, Passing: 1, Failing: 1, Percent: 50},
		"CC7.1": {Key: "CC7.1", Controls: 3, Failing: 1, Errored: 1, NotEvaluated: 1, Percent: 0},
	}
	if len(byCrit) != 2 {
		t.Fatalf("%d groups", len(byCrit))
	}
	for _, g := range byCrit {
		if g != want[g.Key] {
			t.Errorf("%s: %+v, want %+v", g.Key, g, want[g.Key])
		}
	}
}
