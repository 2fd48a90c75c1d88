package celcheck_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
)

// tlsFacts is shaped like the facts of a TLS endpoint, typed as an
// integration would hand them over.
type tlsFacts struct {
	Host     string    `json:"host"`
	Port     int       `json:"port"`
	Protocol string    `json:"protocol"`
	Chain    []tlsCert `json:"chain"`
}

type tlsCert struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	KeyBits  int       `json:"keyBits"`
	NotAfter time.Time `json:"notAfter"`
}

var (
	now    = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	prodEP = &rampart.Resource{
		ID: "web-prod", Kind: "tls-endpoint", Name: "www", Owner: "platform",
		Criticality: rampart.CriticalityHigh, Environment: "production", Tags: []string{"public"},
	}
	stagingEP = &rampart.Resource{ID: "web-staging", Kind: "tls-endpoint", Environment: "staging"}
	goodTLS   = &tlsFacts{
		Host: "www.example.com", Port: 443, Protocol: "TLS 1.3",
		Chain: []tlsCert{
			{Subject: "CN=www.example.com", Issuer: "CN=R11,O=Let's Encrypt", KeyBits: 2048, NotAfter: now.AddDate(0, 2, 0)},
			{Subject: "CN=R11,O=Let's Encrypt", Issuer: "CN=ISRG Root X1", KeyBits: 4096, NotAfter: now.AddDate(3, 0, 0)},
		},
	}
	weakTLS = &tlsFacts{
		Host: "old.example.com", Port: 8443, Protocol: "TLS 1.0",
		Chain: []tlsCert{
			{Subject: "CN=old.example.com", Issuer: "CN=Corp CA", KeyBits: 1024, NotAfter: now.AddDate(0, 0, 5)},
			{Subject: "CN=Corp Intermediate", Issuer: "CN=Corp CA", KeyBits: 1024, NotAfter: now.AddDate(1, 0, 0)},
			{Subject: "CN=Corp CA", Issuer: "CN=Corp CA", KeyBits: 2048, NotAfter: now.AddDate(5, 0, 0)},
		},
	}
)

// checkYAML wraps the expression lines of one check in valid metadata.
func checkYAML(exprs string) string {
	return `checks:
  - id: ACME-TEST
    title: A test check
    severity: medium
    kind: tls-endpoint
    controls: [PKI-03]
    remediation: Fix it.
    doc: Reads the chain.
` + exprs
}

func mustParse(t *testing.T, src string) *rampart.Check {
	t.Helper()
	checks, err := celcheck.Parse("checks.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(checks) != 1 {
		t.Fatalf("Parse gave %d checks, want 1", len(checks))
	}
	return checks[0]
}

func TestParseMetadata(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `checks:
  - id: ACME-TLS-ISSUER
    version: 3
    title: Public endpoints use our ACME issuer
    severity: High
    kind: tls-endpoint
    controls: [PKI-03, PKI-02]
    remediation: Issue certificates from Let's Encrypt.
    doc: Reads the leaf certificate's issuer.
    expr: facts.chain[0].issuer.contains("Let's Encrypt")
`)
	want := rampart.Check{
		ID: "ACME-TLS-ISSUER", Version: 3, Title: "Public endpoints use our ACME issuer",
		Severity: rampart.SeverityHigh, Kind: "tls-endpoint", Controls: []string{"PKI-03", "PKI-02"},
		Remediation: "Issue certificates from Let's Encrypt.", Doc: "Reads the leaf certificate's issuer.",
	}
	got := *c
	got.Run = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v\nwant %+v", got, want)
	}
	if err := rampart.ValidateCheck(c); err != nil {
		t.Errorf("ValidateCheck: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // each must appear in the error
	}{{
		name: "unknown field",
		src: checkYAML(`    expr: true
    titel: typo
`),
		want: []string{`checks.yaml:10:5: check ACME-TEST: unknown field "titel"`},
	}, {
		name: "unknown top-level field",
		src:  "check:\n  - id: X\n",
		want: []string{`checks.yaml:1:1: file: unknown field "check"`},
	}, {
		name: "missing metadata",
		src: `checks:
  - id: ACME-1
    title: t
    expr: "true"
`,
		want: []string{"checks.yaml:2:5: check ACME-1: missing severity, kind, controls, remediation, doc"},
	}, {
		name: "no expression",
		src:  strings.TrimSuffix(checkYAML(""), "\n"),
		want: []string{"checks.yaml:2:5: check ACME-TEST: give expr (true passes) or items"},
	}, {
		name: "bad severity",
		src:  strings.Replace(checkYAML("    expr: 'true'\n"), "severity: medium", "severity: urgent", 1),
		want: []string{`checks.yaml:4:15: check ACME-TEST: severity: unknown severity "urgent"`},
	}, {
		name: "bad version",
		src:  checkYAML("    version: 0\n    expr: 'true'\n"),
		want: []string{`checks.yaml:9:14: check ACME-TEST: version: want a whole number from 1`},
	}, {
		name: "bad id",
		src:  strings.Replace(checkYAML("    expr: 'true'\n"), "id: ACME-TEST", "id: a b/c", 1),
		want: []string{`checks.yaml:2:9: checks[0]: id: "a b/c" is not a valid id`},
	}, {
		name: "controls as a mapping",
		src:  strings.Replace(checkYAML("    expr: 'true'\n"), "controls: [PKI-03]", "controls: {a: b}", 1),
		want: []string{"checks.yaml:6:15: check ACME-TEST: controls: want a list of names, not a mapping"},
	}, {
		name: "syntax error in a plain scalar",
		src:  checkYAML("    expr: facts.port == \n"),
		want: []string{"checks.yaml:9:24: check ACME-TEST: expr: Syntax error"},
	}, {
		name: "undeclared name in a quoted scalar",
		src:  checkYAML(`    expr: "size(fact.chain) > 0"` + "\n"),
		want: []string{"checks.yaml:9:17: check ACME-TEST: expr: undeclared reference to 'fact'"},
	}, {
		name: "error on the second line of a literal block",
		src: checkYAML(`    expr: |
      facts.port == 443 &&
        facts.chain.exist(c, c.keyBits < 2048)
`),
		want: []string{"checks.yaml:11:26: check ACME-TEST: expr: undeclared reference to 'exist'"},
	}, {
		name: "error in a folded block names the place in the expression",
		src: checkYAML(`    expr: >
      facts.port == 443 &&
      nope
`),
		want: []string{"checks.yaml:9:11: check ACME-TEST: expr: at 1:22 of the expression: undeclared reference to 'nope'"},
	}, {
		name: "expr must be bool",
		src:  checkYAML("    expr: facts.chain.size() + 1\n"),
		want: []string{"checks.yaml:9:11: check ACME-TEST: expr: the expression gives int, want a bool"},
	}, {
		name: "items must be a list of strings",
		src:  checkYAML("    items: facts.chain.map(c, c.keyBits + 1)\n"),
		want: []string{"checks.yaml:9:12: check ACME-TEST: items: the expression gives list(int), want a list of strings"},
	}, {
		name: "when must be bool",
		src:  checkYAML("    expr: 'true'\n    when: size(resource.tags)\n"),
		want: []string{"checks.yaml:10:11: check ACME-TEST: when: the expression gives int, want a bool"},
	}, {
		name: "misspelled resource field",
		src:  checkYAML("    expr: 'true'\n    when: resource.enviroment == 'production'\n"),
		want: []string{`checks.yaml:10:19: check ACME-TEST: when: resource has no field "enviroment"`},
	}, {
		name: "expression as a list",
		src:  checkYAML("    expr: [a]\n"),
		want: []string{"checks.yaml:9:11: check ACME-TEST: expr: want a CEL expression as a string"},
	}, {
		name: "duplicate key",
		src:  checkYAML("    expr: 'true'\n    expr: 'false'\n"),
		want: []string{"checks.yaml:10:5: check ACME-TEST: expr is given twice (first at line 9)"},
	}, {
		name: "duplicate id",
		src: checkYAML("    expr: 'true'\n") + `  - id: ACME-TEST
    title: t
    severity: low
    kind: server
    controls: [SRV-01]
    remediation: r
    doc: d
    expr: 'true'
`,
		want: []string{"checks.yaml:10:9: check ACME-TEST: id: defined twice (first at line 2)"},
	}, {
		name: "checks is not a list",
		src:  "checks: yes\n",
		want: []string{"checks.yaml:1:9: checks: want a list of checks"},
	}, {
		name: "YAML syntax error",
		src:  "checks:\n  - id: [\n",
		want: []string{"checks.yaml:2: did not find expected node content"},
	}, {
		name: "two documents",
		src:  checkYAML("    expr: 'true'\n") + "---\nchecks: []\n",
		want: []string{"checks.yaml:10: a checks file holds one YAML document"},
	}, {
		name: "several mistakes at once",
		src: strings.Replace(checkYAML("    expr: nope\n"),
			"severity: medium", "severity: extreme", 1),
		want: []string{
			`checks.yaml:4:15: check ACME-TEST: severity: unknown severity "extreme"`,
			"checks.yaml:9:11: check ACME-TEST: expr: undeclared reference to 'nope'",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checks, err := celcheck.Parse("checks.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse gave %d checks and no error, want %q", len(checks), tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			if rampart.KindOf(err) != rampart.KindInvalid {
				t.Errorf("error kind = %s, want invalid", rampart.KindOf(err))
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# nothing yet\n", "checks:\n", "checks: []\n"} {
		checks, err := celcheck.Parse("empty.yaml", []byte(src))
		if err != nil || len(checks) != 0 {
			t.Errorf("Parse(%q) = %d checks, %v; want none and no error", src, len(checks), err)
		}
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		exprs      string
		resource   *rampart.Resource
		facts      rampart.Facts
		want       rampart.Status
		wantReason string
		wantItems  []string
	}{{
		name:     "expr true passes",
		exprs:    `    expr: facts.chain[0].issuer.contains("Let's Encrypt")` + "\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusPass, wantReason: "expr holds",
	}, {
		name:     "expr false fails with one finding named by the check",
		exprs:    `    expr: facts.chain[0].issuer.contains("Let's Encrypt")` + "\n",
		resource: prodEP, facts: weakTLS,
		want: rampart.StatusFail, wantItems: []string{"ACME-TEST"},
	}, {
		name:     "three conditions over facts and resource",
		exprs:    "    expr: facts.port == 443 && facts.protocol in ['TLS 1.2', 'TLS 1.3'] && resource.criticality == 'high'\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusPass,
	}, {
		name:     "timestamps against now",
		exprs:    "    expr: facts.chain.all(c, timestamp(c.notAfter) - now > duration('720h'))\n",
		resource: prodEP, facts: weakTLS,
		want: rampart.StatusFail, wantItems: []string{"ACME-TEST"},
	}, {
		name:     "whole numbers decode as integers",
		exprs:    "    expr: facts.chain[0].keyBits * 2 == 4096 && facts.port + 1 == 444\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusPass,
	}, {
		name:     "items fail with each item, sorted",
		exprs:    "    items: facts.chain.filter(c, c.keyBits < 2048).map(c, c.subject)\n",
		resource: prodEP, facts: weakTLS,
		want: rampart.StatusFail, wantItems: []string{"CN=Corp Intermediate", "CN=old.example.com"},
	}, {
		name:     "items empty passes",
		exprs:    "    items: facts.chain.filter(c, c.keyBits < 2048).map(c, c.subject)\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusPass, wantReason: "no item fails",
	}, {
		name:     "duplicate items count once",
		exprs:    "    items: facts.chain.map(c, c.issuer)\n",
		resource: prodEP, facts: weakTLS,
		want: rampart.StatusFail, wantItems: []string{"CN=Corp CA"},
	}, {
		name:     "expr false and items both reported",
		exprs:    "    expr: facts.protocol == 'TLS 1.3'\n    items: facts.chain.filter(c, c.keyBits < 2048).map(c, c.subject)\n",
		resource: prodEP, facts: weakTLS,
		want: rampart.StatusFail, wantItems: []string{"ACME-TEST", "CN=Corp Intermediate", "CN=old.example.com"},
	}, {
		name:     "when false is not applicable",
		exprs:    "    expr: 'false'\n    when: resource.environment == 'production'\n",
		resource: stagingEP, facts: goodTLS,
		want: rampart.StatusNotApplicable, wantReason: "when is false: resource.environment == 'production'",
	}, {
		name:     "when true evaluates expr",
		exprs:    "    expr: 'false'\n    when: \"'public' in resource.tags\"\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusFail, wantItems: []string{"ACME-TEST"},
	}, {
		name:     "missing key is an error, never a pass",
		exprs:    "    expr: facts.ocsp.stapled == true\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusError, wantReason: "expr: no such key: ocsp",
	}, {
		name:     "has() guards a missing key",
		exprs:    "    expr: '!has(facts.ocsp) || facts.ocsp.stapled'\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusPass,
	}, {
		name:     "index out of range is an error",
		exprs:    "    expr: facts.chain[5].keyBits >= 2048\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusError, wantReason: "expr: index out of bounds: 5",
	}, {
		name:     "error in when is an error",
		exprs:    "    expr: 'true'\n    when: facts.missing == 1\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusError, wantReason: "when: no such key: missing",
	}, {
		name:     "dyn expr giving a non-bool is an error",
		exprs:    "    expr: facts.port\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusError, wantReason: "expr: the expression gave int, want a bool",
	}, {
		name:     "dyn items holding a number is an error",
		exprs:    "    items: facts.chain.map(c, c.keyBits)\n",
		resource: prodEP, facts: weakTLS,
		want: rampart.StatusError, wantReason: "items: element 0 is int, want a string",
	}, {
		name:     "empty item is an error",
		exprs:    "    items: \"['']\"\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusError, wantReason: "items: element 0 is an empty string",
	}, {
		name:     "facts that are not an object are an error",
		exprs:    "    expr: 'true'\n",
		resource: prodEP, facts: []string{"a"},
		want: rampart.StatusError, wantReason: "facts: facts are a JSON array, not an object",
	}, {
		name:     "facts that cannot be encoded are an error",
		exprs:    "    expr: 'true'\n",
		resource: prodEP, facts: map[string]any{"f": func() {}},
		want: rampart.StatusError, wantReason: "facts: encode facts",
	}, {
		name:     "nil facts are an error",
		exprs:    "    expr: 'true'\n",
		resource: prodEP, facts: nil,
		want: rampart.StatusError, wantReason: "facts: no facts",
	}, {
		name:     "JSON facts are read as they are",
		exprs:    "    expr: facts.port == 443\n",
		resource: prodEP, facts: celcheck.JSONFacts(`{"port": 443}`),
		want: rampart.StatusPass,
	}, {
		name:     "cannotTell gives an error with its reason",
		exprs:    "    expr: \"has(facts.probeError) ? cannotTell(facts.probeError) : facts.port == 443\"\n",
		resource: prodEP, facts: map[string]any{"port": 443, "probeError": "permission denied"},
		want: rampart.StatusError, wantReason: "expr: cannot tell: permission denied",
	}, {
		name:     "cannotTell not reached passes",
		exprs:    "    expr: \"has(facts.probeError) ? cannotTell(facts.probeError) : facts.port == 443\"\n",
		resource: prodEP, facts: map[string]any{"port": 443},
		want: rampart.StatusPass,
	}, {
		name:     "constant cannotTell",
		exprs:    "    items: \"cannotTell('not collected yet')\"\n",
		resource: prodEP, facts: goodTLS,
		want: rampart.StatusError, wantReason: "items: cannot tell: not collected yet",
	}, {
		name:     "network extension",
		exprs:    "    expr: cidr('10.0.0.0/8').containsIP(ip(facts.addr))\n",
		resource: prodEP, facts: map[string]string{"addr": "10.1.2.3"},
		want: rampart.StatusPass,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustParse(t, checkYAML(tt.exprs))
			ctx := celcheck.WithSubject(context.Background(), tt.resource, nil, now)
			ev := c.Run(ctx, tt.facts)
			if ev.Status != tt.want {
				t.Fatalf("Run = %s (%s), want %s", ev.Status, ev.Reason, tt.want)
			}
			if !strings.Contains(ev.Reason, tt.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", ev.Reason, tt.wantReason)
			}
			var items []string
			for _, f := range ev.Findings {
				items = append(items, f.Item)
			}
			if !reflect.DeepEqual(items, tt.wantItems) {
				t.Errorf("items = %q, want %q", items, tt.wantItems)
			}
		})
	}
}

// The engine hands over the JSON it already encoded for evidence; the check
// must judge that JSON, not encode the typed facts a second time.
func TestRunUsesSubjectJSON(t *testing.T) {
	t.Parallel()
	c := mustParse(t, checkYAML("    expr: facts.port == 443\n"))
	ctx := celcheck.WithSubject(context.Background(), prodEP, []byte(`{"port": 443}`), now)
	if ev := c.Run(ctx, weakTLS); ev.Status != rampart.StatusPass {
		t.Errorf("Run = %s (%s), want pass from the subject's JSON", ev.Status, ev.Reason)
	}
}

// Without a subject, a check still runs on the facts it is given; resource
// fields are then missing, which is an error rather than a guess.
func TestRunWithoutSubject(t *testing.T) {
	t.Parallel()
	c := mustParse(t, checkYAML("    expr: facts.port == 443\n"))
	if ev := c.Run(context.Background(), goodTLS); ev.Status != rampart.StatusPass {
		t.Errorf("Run = %s (%s), want pass", ev.Status, ev.Reason)
	}
	c = mustParse(t, checkYAML("    expr: resource.environment == 'production'\n"))
	if ev := c.Run(context.Background(), goodTLS); ev.Status != rampart.StatusError {
		t.Errorf("Run = %s (%s), want error", ev.Status, ev.Reason)
	}
}

func TestRunStopsRunawayExpressions(t *testing.T) {
	t.Parallel()
	heavy := checkYAML("    expr: lists.range(5000).all(i, lists.range(5000).all(j, i + j >= 0))\n")
	c := mustParse(t, heavy)
	ev := c.Run(celcheck.WithSubject(context.Background(), prodEP, nil, now), goodTLS)
	if ev.Status != rampart.StatusError || !strings.Contains(ev.Reason, "cost limit") {
		t.Errorf("Run = %s (%s), want an error for the cost limit", ev.Status, ev.Reason)
	}

	// A cancelled context interrupts a comprehension.
	c = mustParse(t, checkYAML("    expr: lists.range(2000).all(i, i >= 0)\n"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev = c.Run(celcheck.WithSubject(ctx, prodEP, nil, now), goodTLS)
	if ev.Status != rampart.StatusError || !strings.Contains(ev.Reason, "context canceled") {
		t.Errorf("Run under a cancelled context = %s (%s), want an error naming the cancellation", ev.Status, ev.Reason)
	}
}

// Several checks under one subject share the decoded facts; each still sees
// them unchanged (CEL never mutates its input).
func TestSubjectSharedByChecks(t *testing.T) {
	t.Parallel()
	src := `checks:
  - id: A
    title: a
    severity: low
    kind: tls-endpoint
    controls: [PKI-02]
    remediation: r
    doc: d
    items: facts.chain.filter(c, c.keyBits < 2048).map(c, c.subject)
  - id: B
    title: b
    severity: low
    kind: tls-endpoint
    controls: [PKI-02]
    remediation: r
    doc: d
    expr: size(facts.chain) == 3
`
	checks, err := celcheck.Parse("checks.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx := celcheck.WithSubject(context.Background(), prodEP, nil, now)
	for range 2 {
		if ev := checks[0].Run(ctx, weakTLS); ev.Status != rampart.StatusFail || len(ev.Findings) != 2 {
			t.Errorf("A = %s with %d findings, want fail with 2", ev.Status, len(ev.Findings))
		}
		if ev := checks[1].Run(ctx, weakTLS); ev.Status != rampart.StatusPass {
			t.Errorf("B = %s (%s), want pass", ev.Status, ev.Reason)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	checks, err := celcheck.Load(filepath.Join("testdata", "acme.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range checks {
		ids = append(ids, c.ID)
		if err := rampart.ValidateCheck(c); err != nil {
			t.Errorf("ValidateCheck(%s): %v", c.ID, err)
		}
	}
	want := []string{"ACME-TLS-ISSUER", "ACME-TLS-KEY-2048", "ACME-SSH-NO-ROOT"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("Load = %q, want %q", ids, want)
	}

	_, err = celcheck.Load(filepath.Join("testdata", "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a not-exist error", err)
	}
}
