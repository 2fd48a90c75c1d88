package secrets

import (
	"context"
	"fmt"

	"github.com/rampart-dev/rampart"
)

// Checks implements scan.Scanner.
func (Scanner) Checks() []*rampart.Check { return []*rampart.Check{Worktree, HistoryLeaks} }

func leakFinding(l Leak) rampart.Finding {
	where := fmt.Sprintf("%s:%d", l.File, l.StartLine)
	if l.Commit != "" {
		where += " in commit " + l.Commit[:min(len(l.Commit), 12)]
	}
	return rampart.Finding{
		Item:     l.Fingerprint,
		Message:  fmt.Sprintf("%s (gitleaks rule %s) at %s", l.Description, l.RuleID, where),
		Location: rampart.Location{Path: l.File, Line: l.StartLine, Column: l.StartColumn, Commit: l.Commit},
	}
}

func findings(leaks []Leak) []rampart.Finding {
	var out []rampart.Finding
	for _, l := range leaks {
		if !l.Ignored {
			out = append(out, leakFinding(l))
		}
	}
	return out
}

// Worktree checks that no secret is in the files as they are.
var Worktree = &rampart.Check{
	ID:       "SECRET-WORKTREE",
	Version:  1,
	Title:    "No secrets in the repository's files",
	Severity: rampart.SeverityCritical,
	Kind:     "git-repo",
	Controls: []string{"SC-07"},
	Remediation: "Revoke and rotate the secret first, then remove it from the file and load it from the " +
		"secrets manager (Vault, 1Password) or the CI's secret store. A false positive goes in " +
		".gitleaksignore (its fingerprint) or gets a `rampart:ignore SECRET-WORKTREE <reason>` comment.",
	Doc: "Runs gitleaks' default rules (v8.30.1, as a library) over every file of the working tree but " +
		"binaries and files over 10 MB. Each finding names the rule, file, line and gitleaks fingerprint; " +
		"the secret, the matched text and the line are dropped inside the scanner and never stored, " +
		"printed or logged. Fingerprints listed in .gitleaksignore are reported as ignored.",
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		reason := fmt.Sprintf("%d files read", f.Files)
		if f.Skipped > 0 {
			reason += fmt.Sprintf(", %d binary or over 10 MB skipped", f.Skipped)
		}
		return rampart.Verdict(findings(f.Worktree), reason)
	}),
}

// HistoryLeaks checks that no secret is in the branch's recent history.
var HistoryLeaks = &rampart.Check{
	ID:       "SECRET-HISTORY",
	Version:  1,
	Title:    "No secrets in the branch's history",
	Severity: rampart.SeverityHigh,
	Kind:     "git-repo",
	Controls: []string{"SC-07", "SC-05"},
	Remediation: "Treat the secret as leaked: revoke and rotate it. Rewriting history (git filter-repo) " +
		"only helps once every clone is replaced; list the fingerprint in .gitleaksignore after rotation.",
	Doc: "Reads the lines each of the last historyDepth commits (default 100) of the scanned branch added, " +
		"with gitleaks' default rules. Each commit's result is cached by its sha, so later scans read only " +
		"new commits. Not applicable to a directory that is not a git repository; an error when git " +
		"cannot read the history.",
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		switch {
		case f.History == nil:
			return rampart.NotApplicable("not a git repository, or history scanning is off")
		case f.History.Error != "":
			return rampart.Errored(fmt.Errorf("history not read: %s", f.History.Error))
		}
		return rampart.Verdict(findings(f.History.Leaks), fmt.Sprintf("%d commits read", f.History.Commits))
	}),
}
