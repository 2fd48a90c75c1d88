package gitrepo

import (
	"context"
	"fmt"

	"github.com/rampart-dev/rampart"
)

// Facts are what one scan of a repository found.
type Facts struct {
	// Source is the local path or the clone URL.
	Source string `json:"source"`
	// Commit is the scanned commit, empty for a directory that is not a
	// git repository.
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	// Files and Bytes count what the walk read (all files but .git and
	// what .rampartignore excludes).
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Scanned lists the scanners that ran.
	Scanned []string `json:"scanned"`
	// Scanners holds each scanner's own facts, by name.
	Scanners map[string]any `json:"scanners"`
	// ScanErrors says, by scanner name, why a scanner could not tell.
	ScanErrors map[string]string `json:"scanErrors,omitempty"`
	// Suppressions are the inline suppression comments found.
	Suppressions []Suppression `json:"suppressions,omitempty"`
}

// wrap adapts a scanner's check to the git-repo facts: its Run receives
// the scanner's own facts, and its findings are matched against inline
// suppressions.
func wrap(scanner string, c *rampart.Check) *rampart.Check {
	w := *c
	inner := c.Run
	w.Run = rampart.Typed(func(ctx context.Context, f *Facts) rampart.Evaluation {
		if msg, ok := f.ScanErrors[scanner]; ok {
			return rampart.Errored(fmt.Errorf("scanner %s: %s", scanner, msg))
		}
		sf, ok := f.Scanners[scanner]
		if !ok {
			return rampart.NotApplicable(fmt.Sprintf("scanner %s not selected for this repository", scanner))
		}
		ev := inner(ctx, sf)
		if len(ev.Findings) > 0 {
			ev.Findings = suppress(f, c.ID, ev.Findings)
		}
		return ev
	})
	return &w
}
