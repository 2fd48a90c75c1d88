package output_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/output"
)

// junitDoc is JUnit XML as GitLab and Jenkins read it.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	t.Parallel()
	raw := render(t, output.FormatJUnit, fixture(), output.Options{})
	if !bytes.HasPrefix(raw, []byte(xml.Header)) {
		t.Errorf("no XML declaration:\n%s", raw)
	}
	var doc junitDoc
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, raw)
	}
	if doc.Tests != 9 || doc.Failures != 5 || doc.Errors != 1 || doc.Skipped != 1 {
		t.Errorf("totals: %d tests, %d failures, %d errors, %d skipped", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	var names []string
	for _, s := range doc.Suites {
		names = append(names, s.Name)
		if len(s.Cases) != s.Tests {
			t.Errorf("suite %s: tests=%d but %d cases", s.Name, s.Tests, len(s.Cases))
		}
		f, e, k := 0, 0, 0
		for _, c := range s.Cases {
			if c.Classname != s.Name {
				t.Errorf("case %q: classname %q, want the resource %q", c.Name, c.Classname, s.Name)
			}
			if c.Failure != nil {
				f++
			}
			if c.Error != nil {
				e++
			}
			if c.Skipped != nil {
				k++
			}
		}
		if f != s.Failures || e != s.Errors || k != s.Skipped {
			t.Errorf("suite %s: counts %d/%d/%d, attributes %d/%d/%d", s.Name, f, e, k, s.Failures, s.Errors, s.Skipped)
		}
	}
	if got := strings.Join(names, " "); got != "api-cert platform-repo web-01" {
		t.Errorf("suites %s, want one per resource in order", got)
	}
	api := doc.Suites[0]
	if len(api.Properties) != 1 || api.Properties[0].Value != "tls-endpoint" {
		t.Errorf("api-cert properties = %+v", api.Properties)
	}
	if c := api.Cases[0]; c.Name != "TLS-EXPIRED: Certificate is not expired" || c.Failure == nil || c.Failure.Type != "critical" ||
		!strings.Contains(c.Failure.Text, "expired on 2026-11-01") {
		t.Errorf("TLS-EXPIRED case = %+v", c)
	}
	if c := api.Cases[3]; c.Error == nil || !strings.Contains(c.Error.Message, "connection refused") {
		t.Errorf("TLS-TRUST case = %+v", c)
	}
	if c := api.Cases[2]; c.Skipped == nil || c.Skipped.Message != "no certificate chain beyond the leaf" {
		t.Errorf("TLS-SHA1 case = %+v", c)
	}
	secrets := doc.Suites[1].Cases[2].Failure
	if secrets == nil || secrets.Message != "1 finding (1 suppressed)" ||
		!strings.Contains(secrets.Text, "deploy/values.yaml:7:3  AWS access key") ||
		!strings.Contains(secrets.Text, "suppressed: test fixture, not a real key") {
		t.Errorf("GIT-SECRETS failure = %+v", secrets)
	}
	if branch := doc.Suites[1].Cases[0].Failure; branch == nil || !strings.Contains(branch.Text, "excepted: branch rules move") {
		t.Errorf("GIT-BRANCH failure = %+v, want its exception", branch)
	}
	if root := doc.Suites[2].Cases[1].Failure; root == nil || root.Message != "0 findings (1 excepted)" {
		t.Errorf("SRV-SSH-ROOT-LOGIN failure = %+v", root)
	}
	pin := doc.Suites[1].Cases[1].Failure
	if pin == nil || !strings.Contains(pin.Text, `=HYPERLINK("x") base image "alpine:3.20" is not pinned <b>by digest</b> & stays mutable`) {
		t.Errorf("text with markup does not survive XML escaping: %+v", pin)
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	raw := render(t, output.FormatCSV, fixture(), output.Options{})
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "resource,kind,check,title,severity,status,item,file,line,message,fingerprint,reason" {
		t.Errorf("header = %s", got)
	}
	// 5 findings, plus one row each for the 5 results without findings.
	if len(rows) != 1+5+5 {
		t.Fatalf("%d rows, want 11", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	find := func(check, item string) []string {
		for _, r := range rows[1:] {
			if r[col["check"]] == check && r[col["item"]] == item {
				return r
			}
		}
		t.Fatalf("no row for %s %q", check, item)
		return nil
	}
	if r := find("GIT-SECRETS", "deploy/values.yaml: aws-access-token"); r[col["file"]] != "deploy/values.yaml" || r[col["line"]] != "7" ||
		r[col["fingerprint"]] != "fp-secret-1" || r[col["severity"]] != "critical" || r[col["reason"]] != "" {
		t.Errorf("secret row = %q", r)
	}
	if r := find("GIT-SECRETS", "testdata/fake key.pem: private-key"); r[col["reason"]] != "suppressed: test fixture, not a real key" {
		t.Errorf("suppressed row reason = %q", r[col["reason"]])
	}
	if r := find("GIT-DOCKERFILE-PIN", "Dockerfile stage 1"); r[col["severity"]] != "low" || !strings.HasPrefix(r[col["message"]], `'=HYPERLINK(`) {
		t.Errorf("pin row = %q (want the override severity and a defused formula)", r)
	}
	if r := find("SRV-SSH-ROOT-LOGIN", "/etc/ssh/sshd_config: PermitRootLogin"); r[col["reason"]] != "excepted: bastion host, replaced in Q1 (approved by ciso@acme.example, until 2027-03-31)" {
		t.Errorf("excepted row reason = %q", r[col["reason"]])
	}
	if r := find("TLS-TRUST", ""); r[col["status"]] != "error" || !strings.Contains(r[col["reason"]], "connection refused") || r[col["line"]] != "" {
		t.Errorf("error row = %q", r)
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	t.Parallel()
	for _, lead := range []string{"=", "+", "-", "@", "\t", "\r"} {
		r := &output.Report{Results: []rampart.Result{{
			ResourceID: "r", CheckID: "C", Status: rampart.StatusFail,
			Findings: []rampart.Finding{{Item: lead + "item", Message: lead + "cmd|' /C calc'!A0", Location: rampart.Location{Path: lead + "f"}}},
		}}}
		rows, err := csv.NewReader(bytes.NewReader(render(t, output.FormatCSV, r, output.Options{}))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, cell := range rows[1] {
			if cell != "" && strings.ContainsAny(cell[:1], "=+-@\t\r") {
				t.Errorf("lead %q: cell %q starts a formula", lead, cell)
			}
		}
	}
}
