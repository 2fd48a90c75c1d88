package output_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/output"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// ansi matches the SGR sequences the table writes.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func sev(s rampart.Severity) *rampart.Severity { return &s }

// fixture is a small estate with every status, a finding in a repository
// file, one on a host, one without a file, a suppressed one, a severity
// override, a failure without findings, a check without metadata, an
// exception on a finding, one on a whole check and one that covers
// nothing, and text that needs escaping in every format. Results come
// unsorted.
func fixture() *output.Report {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	checks := map[string]*rampart.Check{
		"TLS-EXPIRED": {
			ID: "TLS-EXPIRED", Version: 2, Title: "Certificate is not expired", Severity: rampart.SeverityCritical,
			Kind: "tls-endpoint", Controls: []string{"PKI-01"},
			Remediation: "Renew the certificate and deploy it; automate renewal with ACME.",
			Doc:         "Reads the leaf certificate the endpoint presents and compares its notAfter with the scan time.",
		},
		"TLS-HOSTNAME": {
			ID: "TLS-HOSTNAME", Version: 1, Title: "Certificate covers the host name", Severity: rampart.SeverityHigh,
			Kind: "tls-endpoint", Controls: []string{"PKI-02"}, Remediation: "Reissue the certificate with the name.", Doc: "Matches SANs.",
		},
		"TLS-TRUST": {
			ID: "TLS-TRUST", Version: 1, Title: "Certificate chain is trusted", Severity: rampart.SeverityHigh,
			Kind: "tls-endpoint", Controls: []string{"PKI-02"}, Remediation: "Serve the full chain.", Doc: "Verifies the chain.",
		},
		"TLS-SHA1": {
			ID: "TLS-SHA1", Version: 1, Title: "No SHA-1 signatures", Severity: rampart.SeverityMedium,
			Kind: "tls-endpoint", Controls: []string{"PKI-02"}, Remediation: "Reissue with SHA-256.", Doc: "Reads signature algorithms.",
		},
		"GIT-SECRETS": {
			ID: "GIT-SECRETS", Version: 1, Title: "No secrets committed", Severity: rampart.SeverityCritical,
			Kind: "git-repo", Controls: []string{"SC-07"}, Remediation: "Revoke the secret, then remove it from history.", Doc: "Runs gitleaks rules over the tree.",
		},
		"GIT-DOCKERFILE-PIN": {
			ID: "GIT-DOCKERFILE-PIN", Version: 1, Title: "Base images are pinned by digest", Severity: rampart.SeverityMedium,
			Kind: "git-repo", Controls: []string{"IMG-03"}, Remediation: "Use image@sha256:… in FROM.", Doc: "Parses Dockerfiles.",
		},
		"GIT-BRANCH": {
			ID: "GIT-BRANCH", Version: 1, Title: "Default branch is protected", Severity: rampart.SeverityHigh,
			Kind: "git-repo", Controls: []string{"SC-02", "GHA-06"}, Remediation: "Protect the default branch.", Doc: "Reads branch protection.",
		},
		"SRV-SSH-ROOT-LOGIN": {
			ID: "SRV-SSH-ROOT-LOGIN", Version: 1, Title: "SSH refuses root login", Severity: rampart.SeverityHigh,
			Kind: "server", Controls: []string{"SRV-02", "SRV-01"}, Remediation: "Set PermitRootLogin no.", Doc: "Reads sshd's effective configuration.",
		},
	}
	resources := map[string]*rampart.Resource{
		"api-cert":      {ID: "api-cert", Kind: "tls-endpoint", Name: "api.example.com:443", Source: rampart.Position{File: "rampart.yaml", Line: 12}},
		"platform-repo": {ID: "platform-repo", Kind: "git-repo", Source: rampart.Position{File: "/src/acme/rampart.yaml", Line: 30}},
		"web-01":        {ID: "web-01", Kind: "server"},
	}
	controls := map[string]*rampart.Control{
		"PKI-01": {ID: "PKI-01", Criteria: []string{"CC6.7", "CC6.1", "A.8.24"}},
		"SC-07":  {ID: "SC-07", Criteria: []string{"CC6.1", "A.8.4"}},
		"SRV-01": {ID: "SRV-01", Criteria: []string{"CC6.3"}},
		"SRV-02": {ID: "SRV-02", Criteria: []string{"CC6.1", "CC6.6"}},
	}
	results := []rampart.Result{
		{
			ResourceID: "web-01", CheckID: "SRV-SSH-ROOT-LOGIN", Version: 1, Status: rampart.StatusFail, Severity: rampart.SeverityHigh, At: at,
			Evidence: "5d41402abc4b2a76b9719d911017c592ae2ee6b0e0e1b0d6f1e5c2b9f1c0a001",
			Findings: []rampart.Finding{{
				Item: "/etc/ssh/sshd_config: PermitRootLogin", Message: "PermitRootLogin is yes; set it to no",
				Location: rampart.Location{Path: "/etc/ssh/sshd_config", Line: 33}, Fingerprint: "fp-srv-root",
			}},
		},
		{
			ResourceID: "api-cert", CheckID: "TLS-EXPIRED", Version: 2, Status: rampart.StatusFail, Severity: rampart.SeverityCritical, At: at,
			Evidence: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Findings: []rampart.Finding{{Item: "leaf certificate", Message: "certificate for api.example.com expired on 2026-11-01"}},
		},
		{
			ResourceID: "platform-repo", CheckID: "GIT-SECRETS", Version: 1, Status: rampart.StatusFail, Severity: rampart.SeverityCritical, At: at,
			Findings: []rampart.Finding{
				{
					Item: "testdata/fake key.pem: private-key", Message: "private key",
					Location: rampart.Location{Path: "/src/acme/testdata/fake key.pem", Line: 1}, Suppressed: "test fixture, not a real key", Fingerprint: "fp-secret-2",
				},
				{
					Item: "deploy/values.yaml: aws-access-token", Message: "AWS access key AKIA************MPLE",
					Location: rampart.Location{Path: "deploy/values.yaml", Line: 7, Column: 3}, Fingerprint: "fp-secret-1",
				},
			},
		},
		{
			ResourceID: "platform-repo", CheckID: "GIT-DOCKERFILE-PIN", Version: 1, Status: rampart.StatusFail, Severity: rampart.SeverityMedium, At: at,
			Findings: []rampart.Finding{{
				Item: "Dockerfile stage 1", Severity: sev(rampart.SeverityLow),
				Message:  `=HYPERLINK("x") base image "alpine:3.20" is not pinned <b>by digest</b> & stays mutable`,
				Location: rampart.Location{Path: "Dockerfile", Line: 1}, Fingerprint: "fp-pin",
			}},
		},
		{
			ResourceID: "api-cert", CheckID: "TLS-TRUST", Version: 1, Status: rampart.StatusError, Severity: rampart.SeverityHigh, At: at,
			Reason: "dial tcp 203.0.113.10:443: connect: connection refused",
		},
		{
			ResourceID: "api-cert", CheckID: "TLS-HOSTNAME", Version: 1, Status: rampart.StatusPass, Severity: rampart.SeverityHigh, At: at,
			Reason: "certificate covers api.example.com",
		},
		{
			ResourceID: "api-cert", CheckID: "TLS-SHA1", Version: 1, Status: rampart.StatusNotApplicable, Severity: rampart.SeverityMedium, At: at,
			Reason: "no certificate chain beyond the leaf",
		},
		{ResourceID: "web-01", CheckID: "CUSTOM-1", Version: 1, Status: rampart.StatusPass, Severity: rampart.SeverityLow, At: at, Reason: "ok"},
		{
			ResourceID: "platform-repo", CheckID: "GIT-BRANCH", Version: 1, Status: rampart.StatusFail, Severity: rampart.SeverityHigh, At: at,
			Reason: "default branch main is not protected",
		},
	}
	exceptions := []rampart.Exception{
		{
			ID: 7, CheckID: "SRV-SSH-ROOT-LOGIN", ResourceID: "web-01", Fingerprint: "fp-srv-root", Reason: "bastion host, replaced in Q1",
			Approver: "ciso@acme.example", ExpiresAt: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC),
		},
		{
			ID: 8, CheckID: "GIT-BRANCH", ResourceID: "platform-repo", Reason: "branch rules move with the org migration",
			Approver: "cto@acme.example", ExpiresAt: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		},
		{
			ID: 9, CheckID: "TLS-EXPIRED", ResourceID: "api-cert", Fingerprint: "another finding", Reason: "covers nothing here",
			Approver: "x", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	return &output.Report{
		Tool:       output.ToolInfo{Name: "rampart", Version: "0.1.0-test", InformationURI: "https://github.com/rampart-dev/rampart"},
		Results:    results,
		Checks:     checks,
		Resources:  resources,
		Controls:   controls,
		Root:       "/src/acme",
		Exceptions: exceptions,
	}
}

func render(t testing.TB, f output.Format, r *output.Report, opt output.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := output.Write(&buf, f, r, opt); err != nil {
		t.Fatalf("Write(%s): %v", f, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format output.Format
		opt    output.Options
	}{
		{"table.golden", output.FormatTable, output.Options{}},
		{"table-color.golden", output.FormatTable, output.Options{Color: true}},
		{"table-all-narrow.golden", output.FormatTable, output.Options{ShowPassing: true, Width: 60}},
		{"json.golden", output.FormatJSON, output.Options{}},
		{"sarif.golden", output.FormatSARIF, output.Options{}},
		{"junit.golden", output.FormatJUnit, output.Options{}},
		{"csv.golden", output.FormatCSV, output.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := render(t, tt.format, fixture(), tt.opt)
			// Twice, to catch map-order nondeterminism.
			if again := render(t, tt.format, fixture(), tt.opt); !bytes.Equal(got, again) {
				t.Fatalf("two renderings differ:\n%s\n---\n%s", got, again)
			}
			path := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", tt.name, got, want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    output.Format
		wantErr bool
	}{
		{"table", output.FormatTable, false},
		{"json", output.FormatJSON, false},
		{"SARIF", output.FormatSARIF, false},
		{" junit ", output.FormatJUnit, false},
		{"csv", output.FormatCSV, false},
		{"", "", true},
		{"xml", "", true},
		{"sarif2", "", true},
	}
	for _, tt := range tests {
		got, err := output.ParseFormat(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && rampart.KindOf(err) != rampart.KindInvalid {
			t.Errorf("ParseFormat(%q) error kind = %s, want invalid (a usage error)", tt.in, rampart.KindOf(err))
		}
	}
}

func TestWriteRejects(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := output.Write(&buf, "yaml", fixture(), output.Options{}); err == nil {
		t.Error("Write with an unknown format: no error")
	}
	if err := output.Write(&buf, output.FormatJSON, nil, output.Options{}); err == nil {
		t.Error("Write of a nil report: no error")
	}
	if buf.Len() != 0 {
		t.Errorf("a refused Write wrote %q", buf.String())
	}
	// A format spelled another way is the same format, not an empty write.
	if got := render(t, "JSON", fixture(), output.Options{}); !bytes.Equal(got, render(t, output.FormatJSON, fixture(), output.Options{})) {
		t.Errorf("Write(\"JSON\") = %q", got)
	}
}

func TestTableColor(t *testing.T) {
	t.Parallel()
	r := fixture()
	// A hostile message: an escape sequence that would clear the screen
	// and a bidi override, as a scanned file could carry them.
	r.Results = append(r.Results, rampart.Result{
		ResourceID: "evil", CheckID: "X", Status: rampart.StatusFail,
		Findings: []rampart.Finding{{Item: "x\x1b[2J", Message: "line one\x1b[31m\nline two\u202egnp.exe\x07", Location: rampart.Location{Path: "a\x1b]8;;http://x\x07b"}}},
	})
	r.Results = append(r.Results, rampart.Result{ResourceID: "evil\x1b[1m", CheckID: "Y\x1b", Status: rampart.StatusError, Reason: "\x1b[0m\x9b31m"})
	plain := render(t, output.FormatTable, r, output.Options{ShowPassing: true})
	if i := bytes.IndexByte(plain, 0x1b); i >= 0 {
		t.Errorf("Color=false output holds an escape at byte %d:\n%q", i, plain)
	}
	if bytes.Contains(plain, []byte("\u202e")) || bytes.Contains(plain, []byte("\u009b")) || bytes.IndexByte(plain, 0x07) >= 0 {
		t.Errorf("Color=false output holds a control or bidi character:\n%q", plain)
	}
	colored := render(t, output.FormatTable, r, output.Options{Color: true, ShowPassing: true})
	if !bytes.Contains(colored, []byte("\x1b[31m✖\x1b[0m")) {
		t.Errorf("Color=true output lacks the coloured fail mark:\n%q", colored)
	}
	// The only escapes in coloured output are the table's own.
	stripped := ansi.ReplaceAllString(string(colored), "")
	if strings.ContainsRune(stripped, 0x1b) {
		t.Errorf("coloured output holds escapes the table did not write:\n%q", stripped)
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	r := fixture()
	got := string(render(t, output.FormatTable, r, output.Options{}))
	for _, want := range []string{
		"api-cert (tls-endpoint)",
		"✖ critical  TLS-EXPIRED",
		"deploy/values.yaml:7:3  AWS access key AKIA************MPLE",
		"suppressed: test fixture, not a real key",
		"! high      TLS-TRUST",
		"dial tcp 203.0.113.10:443: connect: connection refused",
		"default branch main is not protected\n        excepted: branch rules move with the org migration (approved by cto@acme.example, until 2027-01-15)",
		"PermitRootLogin is yes; set it to no\n        excepted: bastion host, replaced in Q1 (approved by ciso@acme.example, until 2027-03-31)",
		"2 passed, 5 failed, 1 error, 1 not applicable\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	for _, hidden := range []string{"TLS-HOSTNAME", "TLS-SHA1", "CUSTOM-1"} {
		if strings.Contains(got, hidden) {
			t.Errorf("table without ShowPassing lists %s:\n%s", hidden, got)
		}
	}
	all := string(render(t, output.FormatTable, r, output.Options{ShowPassing: true}))
	for _, want := range []string{"✔ high      TLS-HOSTNAME", "– medium    TLS-SHA1", "✔ low       CUSTOM-1"} {
		if !strings.Contains(all, want) {
			t.Errorf("table with ShowPassing lacks %q:\n%s", want, all)
		}
	}
	narrow := string(render(t, output.FormatTable, r, output.Options{ShowPassing: true, Width: 50}))
	for _, ln := range strings.Split(narrow, "\n") {
		if n := len([]rune(ln)); n > 50 {
			t.Errorf("line of %d runes exceeds width 50: %q", n, ln)
		}
	}
	empty := string(render(t, output.FormatTable, &output.Report{Results: []rampart.Result{{ResourceID: "a", CheckID: "B", Status: rampart.StatusPass}}}, output.Options{}))
	if empty != "No failing checks.\n\n1 passed, 0 failed, 0 errors, 0 not applicable\n" {
		t.Errorf("all-pass table = %q", empty)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	var doc struct {
		Version int `json:"version"`
		Tool    struct {
			Name, Version string
		} `json:"tool"`
		Results []struct {
			Resource, Kind, Check, Title, Status, Severity, Reason, Evidence string
			Findings                                                         []struct {
				Item, Message, Severity, Suppressed, Fingerprint string
				Location                                         *struct{ Path string }
			}
		} `json:"results"`
		Summary map[string]any `json:"summary"`
	}
	raw := render(t, output.FormatJSON, fixture(), output.Options{})
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || doc.Tool.Name != "rampart" {
		t.Errorf("version %d, tool %q", doc.Version, doc.Tool.Name)
	}
	var order []string
	for _, r := range doc.Results {
		order = append(order, r.Resource+"/"+r.Check)
	}
	want := "api-cert/TLS-EXPIRED api-cert/TLS-HOSTNAME api-cert/TLS-SHA1 api-cert/TLS-TRUST " +
		"platform-repo/GIT-BRANCH platform-repo/GIT-DOCKERFILE-PIN platform-repo/GIT-SECRETS " +
		"web-01/CUSTOM-1 web-01/SRV-SSH-ROOT-LOGIN"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
	secrets := doc.Results[6]
	if len(secrets.Findings) != 2 || secrets.Findings[0].Location.Path != "/src/acme/testdata/fake key.pem" ||
		secrets.Findings[0].Suppressed == "" || secrets.Findings[1].Fingerprint != "fp-secret-1" {
		t.Errorf("GIT-SECRETS findings = %+v", secrets.Findings)
	}
	if pin := doc.Results[5].Findings[0]; pin.Severity != "low" {
		t.Errorf("severity override: got %q, want low", pin.Severity)
	}
	if exp := doc.Results[0].Findings[0]; exp.Fingerprint != rampart.Fingerprint("TLS-EXPIRED", "api-cert", "leaf certificate") || exp.Location != nil {
		t.Errorf("TLS-EXPIRED finding = %+v", exp)
	}
	if doc.Results[7].Title != "CUSTOM-1" || doc.Results[7].Findings == nil {
		t.Errorf("a check without metadata: title %q, findings %v (want the id and [])", doc.Results[7].Title, doc.Results[7].Findings)
	}
	sum := doc.Summary
	for k, v := range map[string]float64{"results": 9, "pass": 2, "fail": 5, "error": 1, "not_applicable": 1, "findings": 3, "suppressed": 1, "excepted": 1} {
		if sum[k] != v {
			t.Errorf("summary.%s = %v, want %v", k, sum[k], v)
		}
	}
	if bs, _ := sum["by_severity"].(map[string]any); bs["critical"] != 2.0 || bs["high"] != 0.0 || bs["low"] != 1.0 || bs["info"] != 0.0 {
		t.Errorf("summary.by_severity = %v", sum["by_severity"])
	}
	if bytes.Contains(raw, []byte(`"facts"`)) || bytes.Contains(raw, []byte(`\u003c`)) {
		t.Errorf("JSON holds facts or HTML-escaped text:\n%s", raw)
	}
}
