package celcheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
)

func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"checks: []\n",
		"checks:\n  - id: X\n",
		checkYAML("    expr: facts.port == 443\n"),
		checkYAML("    items: facts.chain.map(c, c.subject)\n    when: resource.environment == 'production'\n"),
		checkYAML("    expr: |\n      facts.a &&\n        facts.b.c(\n"),
		checkYAML("    expr: >\n      facts.a ==\n      1\n"),
		checkYAML("    expr: \"facts['x'] == \\\"y\\\"\"\n"),
		"a: &x [1]\nchecks: *x\n",
		"checks:\n  - &c {id: A}\n  - *c\n",
		"---\nchecks: []\n---\n",
	} {
		f.Add([]byte(s))
	}
	facts := celcheck.JSONFacts(`{"port": 443, "chain": [{"subject": "CN=a", "keyBits": 1024}], "a": true, "b": {"c": 1}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		checks, err := celcheck.Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			if len(checks) != 0 {
				t.Fatalf("Parse gave checks and an error")
			}
			return
		}
		ctx := celcheck.WithSubject(context.Background(), &rampart.Resource{ID: "r"}, nil, now)
		for _, c := range checks {
			if err := rampart.ValidateCheck(c); err != nil {
				t.Fatalf("Parse accepted an invalid check: %v", err)
			}
			switch ev := c.Run(ctx, facts); ev.Status {
			case rampart.StatusPass, rampart.StatusFail, rampart.StatusError, rampart.StatusNotApplicable:
			default:
				t.Fatalf("Run gave status %q", ev.Status)
			}
		}
	})
}
