package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Directive is the marker of an inline suppression.
const Directive = "rampart:ignore"

// Suppression is one rampart:ignore comment. It covers findings of Check
// on its own line or on the line after it.
type Suppression struct {
	Path  string `json:"path"`
	Line  int    `json:"line"`
	Check string `json:"check,omitempty"`
	// Reason is required: a suppression without one suppresses nothing
	// and is itself a finding.
	Reason string `json:"reason,omitempty"`
}

var (
	// A directive starts a comment, as //nolint and # noqa do: a comment
	// opener, then the marker. Prose that mentions the syntax, in a
	// comment or not, is not a directive.
	directive     = regexp.MustCompile(`(?:#|//|/\*|<!--|--|;|\{\{-?\s*/\*)\s*` + Directive + `(?:[ \t]|$)`)
	checkID       = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
	commentCloser = strings.NewReplacer("*/}}", "", "*/ }}", "", "*/-}}", "", "*/ -}}", "", "*/", "", "-->", "")
)

// ParseSuppressions finds the rampart:ignore comments of one file. Binary
// files hold none.
func ParseSuppressions(path string, content []byte) []Suppression {
	if !bytes.Contains(content, []byte(Directive)) || bytes.IndexByte(content[:min(len(content), 8000)], 0) >= 0 {
		return nil
	}
	var out []Suppression
	for i, line := range strings.Split(string(content), "\n") {
		loc := directive.FindStringIndex(line)
		if loc == nil {
			continue
		}
		rest := line[loc[0]:]
		rest = rest[strings.Index(rest, Directive)+len(Directive):]
		fields := strings.Fields(commentCloser.Replace(rest))
		s := Suppression{Path: path, Line: i + 1}
		if len(fields) > 0 {
			s.Check = fields[0]
			s.Reason = strings.TrimSpace(strings.Join(fields[1:], " "))
		}
		out = append(out, s)
	}
	return out
}

// suppress marks the findings a valid suppression covers. Findings in
// another commit than the scanned one are left alone: the comment is in
// today's file, not in that commit's.
func suppress(f *Facts, check string, findings []rampart.Finding) []rampart.Finding {
	if len(f.Suppressions) == 0 {
		return findings
	}
	out := slices.Clone(findings)
	for i := range out {
		loc := out[i].Location
		if loc.Path == "" || loc.Line == 0 || (loc.Commit != "" && loc.Commit != f.Commit) {
			continue
		}
		for _, s := range f.Suppressions {
			if s.Check == check && s.Reason != "" && s.Path == loc.Path && (s.Line == loc.Line || s.Line+1 == loc.Line) {
				out[i].Suppressed = s.Reason
				break
			}
		}
	}
	return out
}

// SuppressionCheck checks that every suppression names a check and says why.
var SuppressionCheck = &rampart.Check{
	ID:       "RAMPART-SUPPRESSION",
	Version:  1,
	Title:    "Inline suppressions name a check and a reason",
	Severity: rampart.SeverityLow,
	Kind:     Kind,
	Controls: []string{"SC-07", "SC-04"},
	Remediation: "Write the suppression as a comment that starts with the marker " + Directive + ", then the " +
		"check id, then why the finding is acceptable, on the finding's line or the line above; for accepted " +
		"risks that need an approver and an expiry, use an exception.",
	Doc: "Reads every " + Directive + " comment of the repository. One without a reason, without a check id, " +
		"or naming a check that does not exist suppresses nothing: it is reported here so that a finding " +
		"is never silenced without an explanation a reviewer can read.",
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		known := map[string]bool{"RAMPART-SUPPRESSION": true}
		for _, sc := range Scanners() {
			for _, c := range sc.Checks() {
				known[c.ID] = true
			}
		}
		var out []rampart.Finding
		for _, s := range f.Suppressions {
			var msg string
			switch {
			case s.Check == "" || !checkID.MatchString(s.Check):
				msg = "rampart:ignore names no check id"
			case !known[s.Check]:
				msg = fmt.Sprintf("rampart:ignore names %s, which is not a check", s.Check)
			case s.Reason == "":
				msg = fmt.Sprintf("rampart:ignore %s gives no reason, so it suppresses nothing", s.Check)
			default:
				continue
			}
			out = append(out, rampart.Finding{
				Item:     fmt.Sprintf("%s:%d %s", s.Path, s.Line, s.Check),
				Message:  msg,
				Location: rampart.Location{Path: s.Path, Line: s.Line},
			})
		}
		return rampart.Verdict(out, fmt.Sprintf("%d suppressions, each with a check and a reason", len(f.Suppressions)))
	}),
}
