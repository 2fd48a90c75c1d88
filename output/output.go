// Package output renders check results for people and for machines: a
// table for a terminal, and JSON, SARIF 2.1.0 (GitHub code scanning), JUnit
// XML (GitLab, Jenkins) and CSV for pipelines and spreadsheets. `rampart
// scan` and `rampart check DIR` share it, so a result looks the same
// whichever command produced it. Output carries results, findings and check
// metadata only, never collected facts: findings' messages arrive already
// redacted by the checks, and nothing here adds to them.
package output

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// ToolInfo names the program that produced the results.
type ToolInfo struct {
	Name           string // "rampart"
	Version        string
	InformationURI string // an absolute URI, or empty
}

// Report is what Write renders: results with the metadata that explains
// them. Only Results is required; missing metadata degrades to ids.
type Report struct {
	Tool    ToolInfo
	Results []rampart.Result
	// Checks, Resources and Controls are looked up by id.
	Checks    map[string]*rampart.Check
	Resources map[string]*rampart.Resource
	// Controls, when given, adds the criteria a check supports to SARIF rule
	// properties.
	Controls map[string]*rampart.Control
	// Root is the absolute path of the directory relative file URIs are
	// based on (`rampart check DIR` sets it to DIR, made absolute);
	// absolute finding paths under it are made relative, and SARIF names it
	// as %SRCROOT%. Relative finding paths are taken as relative to it.
	Root string
	// Exceptions are the accepted risks active when the report is made
	// (the caller filters with Exception.Active). A finding one covers is
	// shown with it, as an external suppression in SARIF, and does not
	// count toward ExitCode.
	Exceptions []rampart.Exception
}

// Format names an output format.
type Format string

// The formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatSARIF Format = "sarif"
	FormatJUnit Format = "junit"
	FormatCSV   Format = "csv"
)

// Formats lists the formats in the order help text shows them.
func Formats() []Format {
	return []Format{FormatTable, FormatJSON, FormatSARIF, FormatJUnit, FormatCSV}
}

// ParseFormat reads a format name, ignoring case and surrounding space.
func ParseFormat(s string) (Format, error) {
	want := strings.ToLower(strings.TrimSpace(s))
	for _, f := range Formats() {
		if string(f) == want {
			return f, nil
		}
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", rampart.Errorf(rampart.KindInvalid, "unknown output format %q (want one of %s)", s, strings.Join(names, ", "))
}

// Options tune the table for a person; machine formats ignore them and
// always carry every result.
type Options struct {
	// Color adds ANSI colours. The caller decides (a terminal, NO_COLOR
	// unset); output without it holds no escape sequence at all.
	Color bool
	// Width wraps and truncates lines to this many columns; 0 means no
	// limit.
	Width int
	// ShowPassing lists passing and not-applicable checks too; the tally
	// counts them either way.
	ShowPassing bool
}

// Write renders r in format to w.
func Write(w io.Writer, format Format, r *Report, opt Options) error {
	if r == nil {
		return fmt.Errorf("write %s output: no report", format)
	}
	var err error
	switch format {
	case FormatTable:
		err = writeTable(w, r, opt)
	case FormatJSON:
		err = writeJSON(w, r)
	case FormatSARIF:
		err = writeSARIF(w, r)
	case FormatJUnit:
		err = writeJUnit(w, r)
	case FormatCSV:
		err = writeCSV(w, r)
	default:
		f, perr := ParseFormat(string(format))
		if perr != nil {
			return perr
		}
		return Write(w, f, r, opt)
	}
	if err != nil {
		return fmt.Errorf("write %s output: %w", format, err)
	}
	return nil
}

// entry is one result with its metadata, as every format walks them.
type entry struct {
	res      rampart.Result
	check    *rampart.Check    // nil when unknown
	resource *rampart.Resource // nil when unknown
	severity rampart.Severity
	findings []rampart.Finding // sorted
	// excepted holds, index for index with findings, the exception that
	// covers each finding, or nil.
	excepted []*rampart.Exception
	// exception covers the failure itself when it has no findings.
	exception *rampart.Exception
}

func (e *entry) title() string {
	if e.check != nil && e.check.Title != "" {
		return e.check.Title
	}
	return e.res.CheckID
}

func (e *entry) kind() string {
	if e.resource != nil {
		return string(e.resource.Kind)
	}
	if e.check != nil {
		return string(e.check.Kind)
	}
	return ""
}

func (e *entry) controls() []string {
	if e.check == nil {
		return nil
	}
	return e.check.Controls
}

// findingSeverity is a finding's own severity or its result's.
func (e *entry) findingSeverity(f *rampart.Finding) rampart.Severity {
	return f.EffectiveSeverity(e.severity)
}

// status folds statuses the domain does not define into error: output
// that cannot tell what a status means must not present it as a pass.
func (e *entry) status() rampart.Status {
	switch e.res.Status {
	case rampart.StatusPass, rampart.StatusFail, rampart.StatusError, rampart.StatusNotApplicable:
		return e.res.Status
	}
	return rampart.StatusError
}

// severityOf is the severity a result is reported at: its own, or, when it
// carries the zero value (results built by importers or older rows may not
// set it), the severity its check declares.
func severityOf(res *rampart.Result, chk *rampart.Check) rampart.Severity {
	if res.Severity == rampart.SeverityInfo && chk != nil {
		return chk.Severity
	}
	return res.Severity
}

// entries returns the report's results in a stable order: by resource,
// then check, with findings ordered by location and item, so that two runs
// over the same estate render byte for byte the same.
func (r *Report) entries() []entry {
	out := make([]entry, 0, len(r.Results))
	for _, res := range r.Results {
		e := entry{res: res, check: r.Checks[res.CheckID], resource: r.Resources[res.ResourceID]}
		e.severity = severityOf(&e.res, e.check)
		e.findings = slices.Clone(res.Findings)
		slices.SortStableFunc(e.findings, compareFindings)
		e.except(r.Exceptions)
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b entry) int {
		return cmp.Or(
			strings.Compare(a.res.ResourceID, b.res.ResourceID),
			strings.Compare(a.res.CheckID, b.res.CheckID),
		)
	})
	return out
}

func compareFindings(a, b rampart.Finding) int {
	return cmp.Or(
		strings.Compare(a.Location.Path, b.Location.Path),
		cmp.Compare(a.Location.Line, b.Location.Line),
		cmp.Compare(a.Location.Column, b.Location.Column),
		strings.Compare(a.Item, b.Item),
		strings.Compare(a.Message, b.Message),
	)
}

// tally counts results by status and findings by severity.
type tally struct {
	Pass, Fail, Error, NotApplicable int
	Findings, Suppressed, Excepted   int
	BySeverity                       [rampart.SeverityCritical + 1]int
}

func count(entries []entry) tally {
	var t tally
	for i := range entries {
		e := &entries[i]
		switch e.status() {
		case rampart.StatusPass:
			t.Pass++
		case rampart.StatusFail:
			t.Fail++
		case rampart.StatusNotApplicable:
			t.NotApplicable++
		default:
			t.Error++
		}
		if e.status() != rampart.StatusFail {
			continue
		}
		for j := range e.findings {
			f := &e.findings[j]
			switch {
			case f.Suppressed != "":
				t.Suppressed++
				continue
			case e.excepted[j] != nil:
				t.Excepted++
				continue
			}
			t.Findings++
			if s := e.findingSeverity(f); s >= 0 && s <= rampart.SeverityCritical {
				t.BySeverity[s]++
			}
		}
	}
	return t
}

// except finds the exceptions that cover the entry's findings, or its
// failure when it has none, as Exception.Covers does for tasks.
func (e *entry) except(exceptions []rampart.Exception) {
	covering := func(fp string) *rampart.Exception {
		for i := range exceptions {
			x := &exceptions[i]
			if x.CheckID == e.res.CheckID && x.ResourceID == e.res.ResourceID && (x.Fingerprint == "" || x.Fingerprint == fp) {
				return x
			}
		}
		return nil
	}
	if len(e.findings) == 0 {
		e.exception = covering(rampart.Fingerprint(e.res.CheckID, e.res.ResourceID, ""))
		return
	}
	e.excepted = make([]*rampart.Exception, len(e.findings))
	for i := range e.findings {
		e.excepted[i] = covering(fingerprint(e, &e.findings[i]))
	}
}

// counts reports whether finding i (or, with i < 0, a failure without
// findings) still stands: neither suppressed inline nor excepted.
func (e *entry) counts(i int) bool {
	if i < 0 {
		return e.exception == nil
	}
	return e.findings[i].Suppressed == "" && e.excepted[i] == nil
}

// exceptionNote says who accepted a risk and until when.
func exceptionNote(x *rampart.Exception) string {
	return fmt.Sprintf("%s (approved by %s, until %s)", x.Reason, x.Approver, x.ExpiresAt.UTC().Format(time.DateOnly))
}

// fingerprint is the finding's own, or the one the engine would have
// given it, so that machine formats always carry a stable identity.
func fingerprint(e *entry, f *rampart.Finding) string {
	if f.Fingerprint != "" {
		return f.Fingerprint
	}
	return rampart.Fingerprint(e.res.CheckID, e.res.ResourceID, f.Item)
}
