package hygiene

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Checks implements scan.Scanner.
func (Scanner) Checks() []*rampart.Check {
	return []*rampart.Check{CodeOwnersCheck, SecurityPolicy, PreCommitPresent, PreCommitSecrets, PreCommitLint, DependencyUpdates, SignedCommits}
}

func newCheck(c rampart.Check, run func(f *Facts) rampart.Evaluation) *rampart.Check {
	c.Version, c.Kind = 1, "git-repo"
	c.Run = rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation { return run(f) })
	return &c
}

func fail(p string, ln int, item, msg string, args ...any) rampart.Evaluation {
	return rampart.Failed(rampart.Finding{Item: item, Message: fmt.Sprintf(msg, args...), Location: rampart.Location{Path: p, Line: ln}})
}

// CodeOwnersCheck checks that someone owns every change.
var CodeOwnersCheck = newCheck(rampart.Check{
	ID:       "REPO-CODEOWNERS",
	Title:    "CODEOWNERS covers the repository root",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-02", "SC-01"},
	Remediation: "Add .github/CODEOWNERS with a first rule `* @org/team` naming the owning team, and require " +
		"code-owner review in branch protection.",
	Doc: "Looks for CODEOWNERS where GitHub does (.github/, the root, docs/, first found wins) and for a rule " +
		"matching every file (`*` or `/`) with at least one owner. Without it, changes outside more specific " +
		"rules need no owner's review.",
}, func(f *Facts) rampart.Evaluation {
	co := f.CodeOwners
	switch {
	case co == nil:
		return fail("", 0, "CODEOWNERS", "no CODEOWNERS in .github/, the root or docs/")
	case co.RootLine == 0:
		return fail(co.Path, 0, "CODEOWNERS root rule", "%s has no rule for the whole repository (* or /)", co.Path)
	case len(co.RootOwners) == 0:
		return fail(co.Path, co.RootLine, "CODEOWNERS root rule", "the rule for the whole repository names no owner")
	}
	return rampart.Pass(fmt.Sprintf("%s: root owned by %s", co.Path, strings.Join(co.RootOwners, " ")))
})

// SecurityPolicy checks that the repository says how to report a vulnerability.
var SecurityPolicy = newCheck(rampart.Check{
	ID:          "REPO-SECURITY-POLICY",
	Title:       "Security policy (SECURITY.md) present",
	Severity:    rampart.SeverityLow,
	Controls:    []string{"SC-10"},
	Remediation: "Add SECURITY.md (or .github/SECURITY.md) saying how to report a vulnerability and what happens next.",
	Doc:         "Looks for SECURITY.md at the root, in .github/ or in docs/, as GitHub does (any case).",
}, func(f *Facts) rampart.Evaluation {
	if f.SecurityPolicy == "" {
		return fail("", 0, "SECURITY.md", "no SECURITY.md at the root, in .github/ or in docs/")
	}
	return rampart.Pass(f.SecurityPolicy)
})

// PreCommitPresent checks that the repository configures pre-commit hooks.
var PreCommitPresent = newCheck(rampart.Check{
	ID:       "REPO-PRE-COMMIT",
	Title:    "Pre-commit hooks configured",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-08"},
	Remediation: "Add .pre-commit-config.yaml with at least a secret scanner (gitleaks) and the linters of the " +
		"repository's languages; Rampart itself ships a hook (id rampart).",
	Doc: "Reads .pre-commit-config.yaml at the root, as YAML, for its hooks (repos[].hooks[].id). A file " +
		"that does not parse fails, at the line YAML names.",
}, func(f *Facts) rampart.Evaluation {
	pc := f.PreCommit
	switch {
	case pc == nil:
		return fail("", 0, PreCommitConfig, "no %s", PreCommitConfig)
	case pc.Error != "":
		return fail(pc.Path, pc.ErrorLine, PreCommitConfig, "%s cannot be read: %s", pc.Path, pc.Error)
	case len(pc.Hooks) == 0:
		return fail(pc.Path, 0, PreCommitConfig+" hooks", "%s configures no hooks", pc.Path)
	}
	return rampart.Pass(fmt.Sprintf("%d hooks", len(pc.Hooks)))
})

func hookCheck(c rampart.Check, want func(Hook) bool, what string) *rampart.Check {
	return newCheck(c, func(f *Facts) rampart.Evaluation {
		pc := f.PreCommit
		if pc == nil || pc.Error != "" {
			return rampart.NotApplicable("no readable pre-commit configuration (see REPO-PRE-COMMIT)")
		}
		var ids []string
		for _, h := range pc.Hooks {
			if want(h) {
				ids = append(ids, h.ID)
			}
		}
		if len(ids) == 0 {
			return fail(pc.Path, 0, pc.Path+": "+what, "%s runs no %s", pc.Path, what)
		}
		return rampart.Pass(strings.Join(ids, ", "))
	})
}

// PreCommitSecrets checks that a secret scanner runs before each commit.
var PreCommitSecrets = hookCheck(rampart.Check{
	ID:       "REPO-PRE-COMMIT-SECRETS",
	Title:    "Pre-commit hooks scan for secrets",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-08", "SC-07"},
	Remediation: "Add the gitleaks hook (repo https://github.com/gitleaks/gitleaks, id gitleaks), or " +
		"trufflehog, detect-secrets, ggshield or rampart.",
	Doc: "Reads the hook ids of .pre-commit-config.yaml for a secret scanner: gitleaks, trufflehog, " +
		"detect-secrets, ggshield or rampart (which runs gitleaks' rules).",
}, func(h Hook) bool { return h.SecretScanner }, "secret scanner")

// PreCommitLint checks that at least one linter runs before each commit.
var PreCommitLint = hookCheck(rampart.Check{
	ID:       "REPO-PRE-COMMIT-LINT",
	Title:    "Pre-commit hooks run a linter",
	Severity: rampart.SeverityLow,
	Controls: []string{"SC-08", "SC-04"},
	Remediation: "Add the linters of the repository's languages (golangci-lint, ruff, eslint, shellcheck, " +
		"hadolint, tflint, actionlint, yamllint…).",
	Doc: "Reads the hook ids of .pre-commit-config.yaml for a static analyser: any id containing \"lint\", " +
		"or a known one (staticcheck, go-vet, ruff, flake8, mypy, bandit, gosec, semgrep, checkov, tfsec, " +
		"check-yaml, check-json, rampart…). Formatters alone do not count.",
}, func(h Hook) bool { return h.Linter }, "linter")

// DependencyUpdates checks that dependencies are updated by a bot.
var DependencyUpdates = newCheck(rampart.Check{
	ID:          "REPO-DEPENDENCY-UPDATES",
	Title:       "Automated dependency updates configured",
	Severity:    rampart.SeverityMedium,
	Controls:    []string{"SC-09"},
	Remediation: "Add renovate.json (Renovate) or .github/dependabot.yml (Dependabot) covering every package ecosystem of the repository.",
	Doc: "Looks for a Renovate configuration (renovate.json[5], .github/ or .gitlab/renovate.json[5], " +
		".renovaterc[.json[5]]) or .github/dependabot.yml.",
}, func(f *Facts) rampart.Evaluation {
	if len(f.DependencyUpdates) == 0 {
		return fail("", 0, "dependency updates", "neither Renovate nor Dependabot is configured")
	}
	return rampart.Pass(strings.Join(f.DependencyUpdates, ", "))
})

// SignedCommits checks that recent commits are signed (and verified).
var SignedCommits = newCheck(rampart.Check{
	ID:       "REPO-SIGNED-COMMITS",
	Title:    "Recent commits are signed",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-05", "SC-08"},
	Remediation: "Sign commits (git config commit.gpgsign true, with gpg.format ssh and user.signingkey), " +
		"require signed commits in branch protection, and list the team's keys in an allowed-signers file.",
	Doc: "Reads the last signedCommitsWindow commits (default 50) of the scanned commit's history. A commit " +
		"counts when its object carries a signature; when the register names an allowed-signers file " +
		"(allowedSigners, relative to the repository root or absolute), only signatures git verifies as " +
		"good (%G? = G) with gpg.ssh.allowedSignersFile set to it count. The share must reach " +
		"signedCommitsThreshold percent (default 100). An error for a directory that is not a git repository.",
}, func(f *Facts) rampart.Evaluation {
	s := f.Signatures
	if s == nil || s.Error != "" {
		reason := "signatures not read"
		if s != nil {
			reason = s.Error
		}
		return rampart.Errored(fmt.Errorf("%s", reason))
	}
	if s.Commits == 0 {
		return rampart.Errored(fmt.Errorf("no commits to read"))
	}
	good, what := s.Signed, "signed"
	if s.AllowedSigners != "" {
		good, what = s.Verified, "signed by an allowed signer"
	}
	share := good * 100 / s.Commits
	summary := fmt.Sprintf("%d of the last %d commits %s (%d%%, threshold %d%%)", good, s.Commits, what, share, s.Threshold)
	if good*100 >= s.Threshold*s.Commits {
		return rampart.Pass(summary)
	}
	shown := s.Failing[:min(len(s.Failing), 10)]
	short := make([]string, len(shown))
	for i, sha := range shown {
		short[i] = sha[:min(len(sha), 12)]
	}
	more := ""
	if len(s.Failing) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(s.Failing)-len(shown))
	}
	return rampart.Failed(rampart.Finding{
		Item:    "signed commit share",
		Message: fmt.Sprintf("%s; not counted: %s%s", summary, strings.Join(short, ", "), more),
	})
})
