package github

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-dev/rampart"
)

// protectionOf returns what a protection check judges of a repository:
// the known protection of its default branch, why the rest is unknown
// (a ruleset or rule the token could not read), and whether the check
// leaves the repository out (empty, or unprotected: that is
// GH-REPO-BRANCH-PROTECTED's finding, made once).
func protectionOf(r *Repository) (p *Protection, unknown string, skip bool) {
	if r.Empty {
		return nil, "", true
	}
	unknown = r.Errors["protection"]
	if r.Protection == nil && unknown == "" {
		return nil, "", true
	}
	return r.Protection, unknown, false
}

// protectionCheck builds a check over each default branch's protection:
// shortfalls returns what the known protection lacks. Protection only
// adds up, so a branch whose known sources already suffice passes even
// when a source could not be read; a shortfall with an unread source is
// an error, not a finding.
func protectionCheck(r *Repository, shortfalls func(p *Protection) []string) ([]rampart.Finding, string) {
	p, unknown, skip := protectionOf(r)
	if skip {
		return nil, ""
	}
	if p == nil {
		return nil, unknown
	}
	miss := shortfalls(p)
	if len(miss) == 0 {
		return nil, ""
	}
	if unknown != "" {
		return nil, unknown
	}
	var out []rampart.Finding
	for _, m := range miss {
		item, msg, _ := strings.Cut(m, "\x00")
		out = append(out, rampart.Finding{
			Item:    fmt.Sprintf("%s: %s: %s", r.Name, r.DefaultBranch, item),
			Message: fmt.Sprintf("%s (%s of %s; protected by %s)", msg, r.DefaultBranch, r.Name, strings.Join(p.Sources, ", ")),
		})
	}
	return out, ""
}

// shortfall joins a finding's stable item and its message.
func shortfall(item, msg string) string { return item + "\x00" + msg }

// RepoBranchProtected fails for default branches nothing protects.
var RepoBranchProtected = &rampart.Check{
	ID: "GH-REPO-BRANCH-PROTECTED", Version: 1, Kind: Kind,
	Title:    "Default branches are protected by a ruleset or branch protection",
	Severity: rampart.SeverityHigh,
	Controls: []string{"SC-02", "GHA-06"},
	Remediation: "Protect the default branch: preferably with an organization ruleset targeting " +
		"~DEFAULT_BRANCH of every repository (pull request with approvals, status checks, block force " +
		"pushes and deletion), or with a branch protection rule.",
	Doc: `Reads each repository's protection: its default branch's branch protection
rule (GraphQL defaultBranchRef.branchProtectionRule) merged with the active
rulesets that target it (GraphQL rulesets, with their conditions and rules
from GET /orgs/{org}/rulesets/{id} or /repos/{owner}/{repo}/rulesets/{id};
ref_name include/exclude globs, ~DEFAULT_BRANCH and ~ALL are evaluated
against the default branch). One finding per repository whose default
branch nothing protects. Empty repositories and skipped archived ones are
left out. A repository whose protection the token could not read is an
error (GraphQL needs an owner's or repository admin's token).`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			if r.Empty {
				return nil, ""
			}
			if r.Protection != nil {
				return nil, ""
			}
			if e := r.Errors["protection"]; e != "" {
				return nil, e
			}
			return []rampart.Finding{{
				Item:    r.Name + ": " + r.DefaultBranch,
				Message: fmt.Sprintf("the default branch %s of %s has no branch protection rule and no active ruleset", r.DefaultBranch, r.Name),
			}}, ""
		}, func(n int) string {
			return fmt.Sprintf("the default branch of each of %d repositories is protected", n)
		})
	}),
}

// RepoReviews fails for default branches that do not require the
// register's reviews.
var RepoReviews = &rampart.Check{
	ID: "GH-REPO-REVIEWS", Version: 1, Kind: Kind,
	Title:    "Default branches require reviewed pull requests",
	Severity: rampart.SeverityHigh,
	Controls: []string{"SC-02"},
	Remediation: "In the default branch's ruleset or protection rule, require a pull request with " +
		"at least the register's number of approvals, dismiss stale approvals on new commits and " +
		"require review from code owners.",
	Doc: `Reads each protected default branch's requiresPullRequest,
requiredApprovingReviews (against policy.requiredReviews),
dismissesStaleReviews and requiresCodeOwnerReviews, merged over its branch
protection rule and rulesets (the strongest wins). One finding per missing
requirement per repository. Unprotected branches are GH-REPO-BRANCH-
PROTECTED's findings and are not repeated here.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		want := f.Policy.RequiredReviews
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			return protectionCheck(r, func(p *Protection) []string {
				var miss []string
				switch {
				case !p.RequiresPullRequest && want > 0:
					miss = append(miss, shortfall("pull request", "changes need no pull request"))
				case p.RequiredApprovingReviews < want:
					miss = append(miss, shortfall("required approvals",
						fmt.Sprintf("%d approval(s) required, the register asks for %d", p.RequiredApprovingReviews, want)))
				}
				if !p.DismissesStaleReviews {
					miss = append(miss, shortfall("stale approvals", "approvals are kept when new commits are pushed"))
				}
				if !p.RequiresCodeOwnerReviews {
					miss = append(miss, shortfall("code owner review", "code owners' review is not required"))
				}
				return miss
			})
		}, func(n int) string {
			return fmt.Sprintf("%d protected default branch(es) require %d approval(s), dismiss stale approvals and require code owners", n, want)
		})
	}),
}

// RepoStatusChecks fails for default branches that require no status
// check.
var RepoStatusChecks = &rampart.Check{
	ID: "GH-REPO-STATUS-CHECKS", Version: 1, Kind: Kind,
	Title:    "Default branches require passing status checks",
	Severity: rampart.SeverityMedium,
	Controls: []string{"GHA-07", "GHA-06"},
	Remediation: "Mark the tests, linters and security scans that run on pull requests as " +
		"required status checks in the default branch's ruleset or protection rule.",
	Doc: `Reads each protected default branch's requiresStatusChecks and
statusChecks. One finding per repository that requires none. Unprotected
branches are GH-REPO-BRANCH-PROTECTED's.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			return protectionCheck(r, func(p *Protection) []string {
				if !p.RequiresStatusChecks || len(p.StatusChecks) == 0 {
					return []string{shortfall("status checks", "no status check must pass before merging")}
				}
				return nil
			})
		}, func(n int) string { return fmt.Sprintf("%d protected default branch(es) require status checks", n) })
	}),
}

// RepoForcePush fails for default branches whose history can be
// rewritten or which can be deleted.
var RepoForcePush = &rampart.Check{
	ID: "GH-REPO-FORCE-PUSH", Version: 1, Kind: Kind,
	Title:    "Force pushes and deletion are blocked on default branches",
	Severity: rampart.SeverityHigh,
	Controls: []string{"SC-05", "GHA-06"},
	Remediation: "Block force pushes and restrict deletions in the default branch's ruleset, or " +
		"clear \"Allow force pushes\" and \"Allow deletions\" in its protection rule.",
	Doc: `Reads each protected default branch's blocksForcePushes and
blocksDeletions (a non_fast_forward or deletion rule, or a protection rule
with allowsForcePushes or allowsDeletions false). One finding per
allowance per repository.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			return protectionCheck(r, func(p *Protection) []string {
				var miss []string
				if !p.BlocksForcePushes {
					miss = append(miss, shortfall("force pushes", "force pushes can rewrite the branch's history"))
				}
				if !p.BlocksDeletions {
					miss = append(miss, shortfall("deletion", "the branch can be deleted"))
				}
				return miss
			})
		}, func(n int) string {
			return fmt.Sprintf("%d protected default branch(es) block force pushes and deletion", n)
		})
	}),
}

// RepoAdminEnforced fails when administrators can bypass the protection.
var RepoAdminEnforced = &rampart.Check{
	ID: "GH-REPO-ADMIN-ENFORCED", Version: 1, Kind: Kind,
	Title:    "Branch protection applies to administrators",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-02"},
	Remediation: "Enable \"Do not allow bypassing the above settings\" (isAdminEnforced) in the " +
		"protection rule, or leave the ruleset's bypass list empty.",
	Doc: `Reads each protected default branch's enforcedForAdmins: true when the
branch protection rule is admin-enforced or a ruleset requiring pull
requests has no bypass actors. One finding per repository whose
administrators can merge without review.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			return protectionCheck(r, func(p *Protection) []string {
				if !p.EnforcedForAdmins {
					return []string{shortfall("administrators", "administrators can bypass the protection")}
				}
				return nil
			})
		}, func(n int) string { return fmt.Sprintf("%d protected default branch(es) bind administrators too", n) })
	}),
}

// RepoSignedCommits fails, when the register asks for them, for default
// branches that accept unsigned commits.
var RepoSignedCommits = &rampart.Check{
	ID: "GH-REPO-SIGNED-COMMITS", Version: 1, Kind: Kind,
	Title:    "Default branches require signed commits",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-05"},
	Remediation: "Require signed commits in the default branch's ruleset (required_signatures) or " +
		"protection rule, after every contributor has a signing key registered with GitHub.",
	Doc: `Reads policy.requireSignedCommits and each protected default branch's
requiresSignedCommits. Not applicable unless the register sets
requireSignedCommits. One finding per repository that accepts unsigned
commits.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if !f.Policy.RequireSignedCommits {
			return rampart.NotApplicable("the register does not ask for signed commits (requireSignedCommits)")
		}
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			return protectionCheck(r, func(p *Protection) []string {
				if !p.RequiresSignedCommits {
					return []string{shortfall("signed commits", "unsigned commits are accepted")}
				}
				return nil
			})
		}, func(n int) string { return fmt.Sprintf("%d protected default branch(es) require signed commits", n) })
	}),
}

// RepoVisibility fails for repositories whose visibility is not what the
// register expects.
var RepoVisibility = &rampart.Check{
	ID: "GH-REPO-VISIBILITY", Version: 1, Kind: Kind,
	Title:    "Repositories have the visibility the register expects",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GH-03"},
	Remediation: "Change the repository's visibility in its settings, or record the approved " +
		"visibility in the resource's expectedVisibility.",
	Doc: `Reads each repository's visibility against policy.expectedVisibility
(by name; the key "*" or, without it, private is the default). One
finding per repository whose visibility differs.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			if r.Visibility == "" {
				return nil, orError(r.Errors["settings"], "GitHub did not report the repository's visibility")
			}
			want := f.Policy.DefaultVisibility
			if v, ok := f.Policy.ExpectedVisibility[r.Name]; ok {
				want = v
			}
			if r.Visibility != want {
				return []rampart.Finding{{
					Item:    r.Name + ": visibility",
					Message: fmt.Sprintf("%s is %s, the register expects %s", r.Name, r.Visibility, want),
				}}, ""
			}
			return nil, ""
		}, func(n int) string { return fmt.Sprintf("%d repositories have the expected visibility", n) })
	}),
}

// RepoWikiProjects fails for repositories with the wiki or projects on.
var RepoWikiProjects = &rampart.Check{
	ID: "GH-REPO-WIKI-PROJECTS", Version: 1, Kind: Kind,
	Title:    "Wikis and projects are disabled on repositories",
	Severity: rampart.SeverityLow,
	Controls: []string{"GH-03"},
	Remediation: "Disable the wiki and projects in the repository's settings (Features) where they " +
		"are unused; where one is used, accept the finding as an exception with the reason.",
	Doc: `Reads each repository's hasWiki and hasProjects (the seed's TODO:
repositories are created with the wiki and other extras disabled). One
finding per feature on per repository.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			if r.HasWiki == nil || r.HasProjects == nil {
				return nil, orError(r.Errors["settings"], "GitHub did not report the repository's features")
			}
			var out []rampart.Finding
			if *r.HasWiki {
				out = append(out, rampart.Finding{Item: r.Name + ": wiki", Message: r.Name + " has its wiki enabled"})
			}
			if *r.HasProjects {
				out = append(out, rampart.Finding{Item: r.Name + ": projects", Message: r.Name + " has projects enabled"})
			}
			return out, ""
		}, func(n int) string { return fmt.Sprintf("%d repositories have the wiki and projects disabled", n) })
	}),
}

// RepoVulnerabilityAlerts fails for repositories without Dependabot
// alerts.
var RepoVulnerabilityAlerts = &rampart.Check{
	ID: "GH-REPO-VULN-ALERTS", Version: 1, Kind: Kind,
	Title:    "Dependabot vulnerability alerts are on for every repository",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GH-03", "SC-09"},
	Remediation: "Enable Dependabot alerts in the repository's Code security settings, or apply " +
		"the organization's security configuration to it.",
	Doc: `Reads each repository's vulnerabilityAlerts (GraphQL
hasVulnerabilityAlertsEnabled, the same as GET
/repos/{owner}/{repo}/vulnerability-alerts answering 204). One finding per
repository with alerts off. Errors for repositories the token has no
admin rights on.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			if r.VulnerabilityAlerts == nil {
				return nil, orError(r.Errors["vulnerabilityAlerts"], "GitHub did not report whether Dependabot alerts are on")
			}
			if !*r.VulnerabilityAlerts {
				return []rampart.Finding{{Item: r.Name + ": Dependabot alerts", Message: r.Name + " has Dependabot alerts off"}}, ""
			}
			return nil, ""
		}, func(n int) string { return fmt.Sprintf("%d repositories have Dependabot alerts on", n) })
	}),
}

// RepoSecretScanning fails for repositories without secret scanning or
// push protection.
var RepoSecretScanning = &rampart.Check{
	ID: "GH-REPO-SECRET-SCANNING", Version: 1, Kind: Kind,
	Title:    "Secret scanning and push protection are on for every repository",
	Severity: rampart.SeverityHigh,
	Controls: []string{"SC-07", "GH-03"},
	Remediation: "Enable secret scanning and push protection in the repository's Code security " +
		"settings (private repositories need GitHub Secret Protection).",
	Doc: `Reads each repository's secretScanning and pushProtection (REST
security_and_analysis.secret_scanning.status and
secret_scanning_push_protection.status, which GitHub shows to tokens with
admin rights on the repository). One finding per feature off per
repository.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			if r.SecretScanning == "" {
				return nil, orError(r.Errors["securityAndAnalysis"], "GitHub did not report security_and_analysis")
			}
			var out []rampart.Finding
			if r.SecretScanning != "enabled" {
				out = append(out, rampart.Finding{Item: r.Name + ": secret scanning", Message: r.Name + " has secret scanning " + r.SecretScanning})
			}
			if r.PushProtection != "enabled" {
				out = append(out, rampart.Finding{
					Item:    r.Name + ": push protection",
					Message: r.Name + " has push protection " + orError(r.PushProtection, "off"),
				})
			}
			return out, ""
		}, func(n int) string {
			return fmt.Sprintf("%d repositories have secret scanning and push protection on", n)
		})
	}),
}

// RepoDeployKeys fails for deploy keys with write access.
var RepoDeployKeys = &rampart.Check{
	ID: "GH-REPO-DEPLOY-KEYS", Version: 1, Kind: Kind,
	Title:    "Deploy keys are read-only",
	Severity: rampart.SeverityMedium,
	Controls: []string{"SC-01", "GH-04"},
	Remediation: "Replace the deploy key with a read-only one, or with a GitHub App or a " +
		"fine-grained token scoped to the one repository if something must push.",
	Doc: `Reads each repository's deployKeys (GraphQL deployKeys: title and
readOnly). One finding per key with write access.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		keys := 0
		return repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
			if e := r.Errors["deployKeys"]; e != "" {
				return nil, e
			}
			var out []rampart.Finding
			for _, k := range r.DeployKeys {
				keys++
				if !k.ReadOnly {
					out = append(out, rampart.Finding{
						Item:    r.Name + ": deploy key " + k.Title,
						Message: fmt.Sprintf("deploy key %q can push to %s", k.Title, r.Name),
					})
				}
			}
			return out, ""
		}, func(n int) string { return fmt.Sprintf("%d deploy key(s) on %d repositories, all read-only", keys, n) })
	}),
}
