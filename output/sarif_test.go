package output_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/output"
)

var sarifSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// The schema marks URIs and dates with "format"; GitHub rejects what
	// breaks them, so the test asserts formats too.
	c.AssertFormat()
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-schema-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

func validateSARIF(t testing.TB, raw []byte) error {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("compile the SARIF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	t.Parallel()
	empty := &output.Report{Tool: output.ToolInfo{Name: "rampart"}}
	noMeta := fixture()
	noMeta.Checks, noMeta.Resources, noMeta.Controls, noMeta.Root = nil, nil, nil, ""
	noMeta.Tool = output.ToolInfo{}
	tests := []struct {
		name string
		r    *output.Report
	}{
		{"fixture", fixture()},
		{"no results", empty},
		{"no metadata", noMeta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := render(t, output.FormatSARIF, tt.r, output.Options{})
			if err := validateSARIF(t, raw); err != nil {
				t.Errorf("SARIF does not validate: %v\n%s", err, raw)
			}
		})
	}
}

// TestSARIFSchemaRejects proves the validation above can fail: documents
// broken the ways a producer breaks them are refused.
func TestSARIFSchemaRejects(t *testing.T) {
	t.Parallel()
	raw := render(t, output.FormatSARIF, fixture(), output.Options{})
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
	}{
		{"result without message", func(doc map[string]any) {
			delete(results(doc)[0].(map[string]any), "message")
		}},
		{"relative informationUri", func(doc map[string]any) {
			driver(doc)["informationUri"] = "not a uri"
		}},
		{"line zero", func(doc map[string]any) {
			loc := results(doc)[0].(map[string]any)["locations"].([]any)[0].(map[string]any)
			loc["physicalLocation"].(map[string]any)["region"] = map[string]any{"startLine": 0}
		}},
		{"unknown suppression kind", func(doc map[string]any) {
			results(doc)[0].(map[string]any)["suppressions"] = []any{map[string]any{"kind": "inline"}}
		}},
		{"status instead of state", func(doc map[string]any) {
			results(doc)[0].(map[string]any)["suppressions"] = []any{map[string]any{"kind": "inSource", "status": "accepted"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			tt.mutate(doc)
			broken, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateSARIF(t, broken); err == nil {
				t.Error("the schema accepted a broken document")
			}
		})
	}
}

func run0(doc map[string]any) map[string]any {
	return doc["runs"].([]any)[0].(map[string]any)
}

func results(doc map[string]any) []any { return run0(doc)["results"].([]any) }

func driver(doc map[string]any) map[string]any {
	return run0(doc)["tool"].(map[string]any)["driver"].(map[string]any)
}

// sarifLog is the part of SARIF GitHub code scanning reads.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name, Version, InformationURI string
				Rules                         []struct {
					ID, Name             string
					ShortDescription     struct{ Text string }
					FullDescription      struct{ Text string }
					Help                 *struct{ Text, Markdown string }
					DefaultConfiguration struct{ Level string }
					Properties           map[string]any
				}
			}
		}
		Invocations []struct {
			ExecutionSuccessful        bool
			ToolExecutionNotifications []struct {
				Level          string
				Message        struct{ Text string }
				AssociatedRule struct {
					ID    string
					Index int
				}
			}
		}
		Results []struct {
			RuleID    string
			RuleIndex int
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct{ URI, URIBaseID string }
					Region           *struct{ StartLine, StartColumn int }
				}
				LogicalLocations []struct{ Name, Kind string }
			}
			PartialFingerprints map[string]string
			Suppressions        []struct{ Kind, Justification string }
		}
	}
}

func TestSARIFForGitHub(t *testing.T) {
	t.Parallel()
	var log sarifLog
	if err := json.Unmarshal(render(t, output.FormatSARIF, fixture(), output.Options{}), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "rampart" || d.Version != "0.1.0-test" || d.InformationURI != "https://github.com/rampart-dev/rampart" {
		t.Errorf("driver = %q %q %q", d.Name, d.Version, d.InformationURI)
	}
	rules := map[string]int{}
	for i, r := range d.Rules {
		if _, dup := rules[r.ID]; dup {
			t.Errorf("rule %s listed twice", r.ID)
		}
		rules[r.ID] = i
	}
	if len(rules) != 9 {
		t.Errorf("%d rules, want one per check used (9)", len(rules))
	}
	exp := d.Rules[rules["TLS-EXPIRED"]]
	if exp.Name != "CertificateIsNotExpired" || exp.ShortDescription.Text != "Certificate is not expired" ||
		!strings.HasPrefix(exp.FullDescription.Text, "Reads the leaf") || exp.Help == nil ||
		!strings.HasPrefix(exp.Help.Text, "Renew") || !strings.Contains(exp.Help.Markdown, "**Controls:** PKI-01") ||
		exp.DefaultConfiguration.Level != "error" {
		t.Errorf("TLS-EXPIRED rule = %+v", exp)
	}
	if got := exp.Properties["security-severity"]; got != "9.5" {
		t.Errorf("TLS-EXPIRED security-severity = %v, want \"9.5\"", got)
	}
	if got := exp.Properties["tags"]; !equalAny(got, "security", "PKI-01") {
		t.Errorf("TLS-EXPIRED tags = %v", got)
	}
	if got := exp.Properties["criteria"]; !equalAny(got, "A.8.24", "CC6.1", "CC6.7") {
		t.Errorf("TLS-EXPIRED criteria = %v", got)
	}
	for id, want := range map[string]string{"TLS-HOSTNAME": "7.5", "TLS-SHA1": "5.0", "CUSTOM-1": "2.5"} {
		if got := d.Rules[rules[id]].Properties["security-severity"]; got != want {
			t.Errorf("%s security-severity = %v, want %s", id, got, want)
		}
	}

	if len(run.Results) != 6 {
		t.Fatalf("%d results, want 6 (5 findings and a failure without findings)", len(run.Results))
	}
	byFP := map[string]int{}
	for i, res := range run.Results {
		if d.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %d names %s, ruleId %s", i, res.RuleIndex, d.Rules[res.RuleIndex].ID, res.RuleID)
		}
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation == nil {
			t.Fatalf("result %d (%s) has no physical location: GitHub would drop it", i, res.RuleID)
		}
		al := res.Locations[0].PhysicalLocation.ArtifactLocation
		if al.URIBaseID != "%SRCROOT%" || al.URI == "" || strings.HasPrefix(al.URI, "/") || strings.Contains(al.URI, ":") {
			t.Errorf("result %d (%s): artifact %+v, want a URI relative to %%SRCROOT%%", i, res.RuleID, al)
		}
		if len(res.Locations[0].LogicalLocations) != 1 || res.Locations[0].LogicalLocations[0].Kind != "resource" {
			t.Errorf("result %d: logical locations %+v", i, res.Locations[0].LogicalLocations)
		}
		fp := res.PartialFingerprints["rampart/v1"]
		if fp == "" {
			t.Errorf("result %d (%s) has no rampart/v1 fingerprint", i, res.RuleID)
		}
		byFP[fp] = i
	}
	tests := []struct {
		fp, uri, level, text string
		line, col            int
		suppression          string // kind: justification
	}{
		{"fp-secret-1", "deploy/values.yaml", "error", "AWS access key AKIA************MPLE", 7, 3, ""},
		{"fp-secret-2", "testdata/fake%20key.pem", "error", "private key", 1, 0, "inSource: test fixture, not a real key"},
		{"fp-pin", "Dockerfile", "note", "", 1, 0, ""},
		{rampart.Fingerprint("TLS-EXPIRED", "api-cert", "leaf certificate"), "rampart.yaml", "error", "certificate for api.example.com expired on 2026-11-01", 12, 0, ""},
		{
			"fp-srv-root", "rampart.yaml", "error", "/etc/ssh/sshd_config:33: PermitRootLogin is yes; set it to no", 0, 0,
			"external: bastion host, replaced in Q1 (approved by ciso@acme.example, until 2027-03-31)",
		},
		{
			rampart.Fingerprint("GIT-BRANCH", "platform-repo", ""), "rampart.yaml", "error", "default branch main is not protected", 30, 0,
			"external: branch rules move with the org migration (approved by cto@acme.example, until 2027-01-15)",
		},
	}
	for _, tt := range tests {
		i, ok := byFP[tt.fp]
		if !ok {
			t.Errorf("no result with fingerprint %s", tt.fp)
			continue
		}
		res := run.Results[i]
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI != tt.uri {
			t.Errorf("%s: uri %q, want %q", tt.fp, pl.ArtifactLocation.URI, tt.uri)
		}
		line, col := 0, 0
		if pl.Region != nil {
			line, col = pl.Region.StartLine, pl.Region.StartColumn
		}
		if line != tt.line || col != tt.col {
			t.Errorf("%s: region %d:%d, want %d:%d", tt.fp, line, col, tt.line, tt.col)
		}
		if res.Level != tt.level {
			t.Errorf("%s: level %q, want %q", tt.fp, res.Level, tt.level)
		}
		if tt.text != "" && res.Message.Text != tt.text {
			t.Errorf("%s: message %q, want %q", tt.fp, res.Message.Text, tt.text)
		}
		var sups []string
		for _, s := range res.Suppressions {
			sups = append(sups, s.Kind+": "+s.Justification)
		}
		if got := strings.Join(sups, "; "); got != tt.suppression {
			t.Errorf("%s: suppressions %q, want %q", tt.fp, got, tt.suppression)
		}
	}

	if len(run.Invocations) != 1 || !run.Invocations[0].ExecutionSuccessful {
		t.Fatalf("invocations = %+v", run.Invocations)
	}
	notes := run.Invocations[0].ToolExecutionNotifications
	if len(notes) != 1 || notes[0].Level != "error" || notes[0].AssociatedRule.ID != "TLS-TRUST" ||
		d.Rules[notes[0].AssociatedRule.Index].ID != "TLS-TRUST" || !strings.Contains(notes[0].Message.Text, "connection refused") {
		t.Errorf("error results as notifications = %+v", notes)
	}
}

func equalAny(v any, want ...string) bool {
	list, ok := v.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i := range list {
		if list[i] != want[i] {
			return false
		}
	}
	return true
}

func TestSARIFPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, root, path string
		want             string
	}{
		{"relative", "", "src/main.go", "src/main.go"},
		{"dot prefix", "", "./k8s/deploy.yaml", "k8s/deploy.yaml"},
		{"under root", "/work/repo", "/work/repo/a b/c#d.yaml", "a%20b/c%23d.yaml"},
		{"colon in first segment", "", "c:weird.txt", "./c:weird.txt"},
		{"non-ASCII", "", "docs/überblick.md", "docs/%C3%BCberblick.md"},
		{"outside root", "/work/repo", "/etc/passwd", "rampart.yaml"},
		{"escapes root", "", "../other/file", "rampart.yaml"},
		{"absolute without root", "", "/etc/passwd", "rampart.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &output.Report{Root: tt.root, Results: []rampart.Result{{
				ResourceID: "r", CheckID: "C", Status: rampart.StatusFail,
				Findings: []rampart.Finding{{Item: "i", Message: "m", Location: rampart.Location{Path: tt.path, Line: 2}}},
			}}}
			raw := render(t, output.FormatSARIF, r, output.Options{})
			var log sarifLog
			if err := json.Unmarshal(raw, &log); err != nil {
				t.Fatal(err)
			}
			got := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI
			if got != tt.want {
				t.Errorf("uri = %q, want %q", got, tt.want)
			}
			if err := validateSARIF(t, raw); err != nil {
				t.Errorf("invalid SARIF: %v", err)
			}
		})
	}
}
