package output

import (
	"encoding/json"
	"io"
	"time"

	"github.com/rampart-dev/rampart"
)

// jsonVersion is the version of the JSON schema documented in
// docs/output.md; it changes only when a field changes meaning or goes.
const jsonVersion = 1

type jsonReport struct {
	Version int          `json:"version"`
	Tool    jsonTool     `json:"tool"`
	Results []jsonResult `json:"results"`
	Summary jsonSummary  `json:"summary"`
}

type jsonTool struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	InformationURI string `json:"information_uri"`
}

type jsonResult struct {
	Resource     string         `json:"resource"`
	Kind         string         `json:"kind"`
	Check        string         `json:"check"`
	CheckVersion int            `json:"check_version"`
	Title        string         `json:"title"`
	Status       string         `json:"status"`
	Severity     string         `json:"severity"`
	Reason       string         `json:"reason"`
	Controls     []string       `json:"controls"`
	Findings     []jsonFinding  `json:"findings"`
	Exception    *jsonException `json:"exception,omitempty"`
	Evidence     string         `json:"evidence"`
}

type jsonException struct {
	ID        int64  `json:"id"`
	Reason    string `json:"reason"`
	Approver  string `json:"approver"`
	ExpiresAt string `json:"expires_at"`
}

func toJSONException(x *rampart.Exception) *jsonException {
	if x == nil {
		return nil
	}
	return &jsonException{ID: x.ID, Reason: x.Reason, Approver: x.Approver, ExpiresAt: x.ExpiresAt.UTC().Format(time.RFC3339)}
}

type jsonFinding struct {
	Item        string         `json:"item"`
	Message     string         `json:"message"`
	Severity    string         `json:"severity"`
	Location    *jsonLocation  `json:"location,omitempty"`
	Suppressed  string         `json:"suppressed"`
	Exception   *jsonException `json:"exception,omitempty"`
	Fingerprint string         `json:"fingerprint"`
}

type jsonLocation struct {
	Path   string `json:"path"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Commit string `json:"commit,omitempty"`
}

type jsonSummary struct {
	Results       int            `json:"results"`
	Pass          int            `json:"pass"`
	Fail          int            `json:"fail"`
	Error         int            `json:"error"`
	NotApplicable int            `json:"not_applicable"`
	Findings      int            `json:"findings"`
	Suppressed    int            `json:"suppressed"`
	Excepted      int            `json:"excepted"`
	BySeverity    map[string]int `json:"by_severity"`
}

func writeJSON(w io.Writer, r *Report) error {
	entries := r.entries()
	out := jsonReport{
		Version: jsonVersion,
		Tool:    jsonTool{Name: toolName(r), Version: r.Tool.Version, InformationURI: r.Tool.InformationURI},
		Results: make([]jsonResult, 0, len(entries)),
	}
	for i := range entries {
		e := &entries[i]
		jr := jsonResult{
			Resource:     e.res.ResourceID,
			Kind:         e.kind(),
			Check:        e.res.CheckID,
			CheckVersion: e.res.Version,
			Title:        e.title(),
			Status:       string(e.res.Status),
			Severity:     e.severity.String(),
			Reason:       e.res.Reason,
			Controls:     append([]string{}, e.controls()...),
			Findings:     make([]jsonFinding, 0, len(e.findings)),
			Exception:    toJSONException(e.exception),
			Evidence:     e.res.Evidence,
		}
		for j := range e.findings {
			f := &e.findings[j]
			jf := jsonFinding{
				Item:        f.Item,
				Message:     f.Message,
				Severity:    e.findingSeverity(f).String(),
				Suppressed:  f.Suppressed,
				Exception:   toJSONException(e.excepted[j]),
				Fingerprint: fingerprint(e, f),
			}
			if f.Location.Path != "" {
				jf.Location = &jsonLocation{Path: f.Location.Path, Line: f.Location.Line, Column: f.Location.Column, Commit: f.Location.Commit}
			}
			jr.Findings = append(jr.Findings, jf)
		}
		out.Results = append(out.Results, jr)
	}
	c := count(entries)
	out.Summary = jsonSummary{
		Results: len(entries), Pass: c.Pass, Fail: c.Fail, Error: c.Error, NotApplicable: c.NotApplicable,
		Findings: c.Findings, Suppressed: c.Suppressed, Excepted: c.Excepted, BySeverity: map[string]int{},
	}
	for s := rampart.SeverityInfo; s <= rampart.SeverityCritical; s++ {
		out.Summary.BySeverity[s.String()] = c.BySeverity[s]
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Messages quote code and configuration; "<" and "&" stay readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func toolName(r *Report) string {
	if r.Tool.Name != "" {
		return r.Tool.Name
	}
	return "rampart"
}
