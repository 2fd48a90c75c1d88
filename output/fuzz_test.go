package output_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/output"
)

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"table", "JSON", " sarif", "junit\n", "csv", "", "xml", "\x00", "tablé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := output.ParseFormat(s)
		if err != nil {
			if got != "" {
				t.Errorf("ParseFormat(%q) = %q with error %v", s, got, err)
			}
			return
		}
		again, err := output.ParseFormat(string(got))
		if err != nil || again != got {
			t.Errorf("ParseFormat(%q) = %q, which does not parse back: %q, %v", s, got, again, err)
		}
	})
}

// FuzzWrite feeds text a scanned repository controls (messages, items,
// paths, reasons, suppressions, ids) through every format and checks that
// each stays well-formed: valid SARIF, JSON and XML, CSV with the header's
// column count, and a table with no escape sequence of its own.
func FuzzWrite(f *testing.F) {
	f.Add("r", "C", "item", "message", "src/a.go", "", "reason", 3, 1)
	f.Add("évil\x1b[2J", "X\u202e", "x\x00y", "=cmd|' /C calc'!A0", "/abs/../../etc/passwd", "ok]]>", "\xff\xfe", 0, 0)
	f.Add("r", "C", "[link](1)", "line\r\nbreak\ttab", "a b/c#d?e.yaml", "", "", -4, -1)
	f.Add("", "", "", "", "C:\\win\\path.txt", "\u2028", "<x/>&amp;", 1<<30, 7)
	f.Fuzz(func(t *testing.T, resource, check, item, msg, path, suppressed, reason string, line, col int) {
		r := &output.Report{
			Root: "/src/repo",
			Results: []rampart.Result{
				{
					ResourceID: resource, CheckID: check, Status: rampart.StatusFail, Severity: rampart.SeverityHigh, Reason: reason,
					Findings: []rampart.Finding{{
						Item: item, Message: msg, Suppressed: suppressed,
						Location: rampart.Location{Path: path, Line: line, Column: col},
					}},
				},
				{ResourceID: resource, CheckID: check + "-E", Status: rampart.StatusError, Reason: reason},
				{ResourceID: item, CheckID: msg, Status: rampart.Status(reason), Reason: msg},
			},
			Checks: map[string]*rampart.Check{check: {ID: check, Title: msg, Doc: reason, Remediation: item, Controls: []string{suppressed, suppressed}}},
			Resources: map[string]*rampart.Resource{resource: {
				ID: resource, Kind: rampart.Kind(item),
				Source: rampart.Position{File: path, Line: line},
			}},
			Exceptions: []rampart.Exception{{ResourceID: resource, CheckID: check, Reason: reason, Approver: msg}},
		}

		sarifRaw := render(t, output.FormatSARIF, r, output.Options{})
		if err := validateSARIF(t, sarifRaw); err != nil {
			t.Errorf("invalid SARIF: %v\n%s", err, sarifRaw)
		}

		if raw := render(t, output.FormatJSON, r, output.Options{}); !json.Valid(raw) {
			t.Errorf("invalid JSON:\n%s", raw)
		}

		var doc junitDoc
		if raw := render(t, output.FormatJUnit, r, output.Options{}); xml.Unmarshal(raw, &doc) != nil || doc.Tests != 3 {
			t.Errorf("JUnit does not parse back to 3 tests (%d):\n%s", doc.Tests, raw)
		}

		rows, err := csv.NewReader(bytes.NewReader(render(t, output.FormatCSV, r, output.Options{}))).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Errorf("CSV: %d rows, %v", len(rows), err)
		}

		for _, opt := range []output.Options{{ShowPassing: true}, {ShowPassing: true, Width: 40}} {
			table := render(t, output.FormatTable, r, opt)
			if bytes.IndexByte(table, 0x1b) >= 0 || strings.ContainsRune(string(table), '\u202e') {
				t.Errorf("table without colour holds an escape or bidi override: %q", table)
			}
		}
	})
}
