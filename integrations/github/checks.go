package github

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Checks lists the integration's checks, in the order reports show them:
// the organization's, the repositories', then the file scanners' run on
// every repository.
func Checks() []*rampart.Check {
	out := []*rampart.Check{
		OrgTwoFactor, OrgBasePermission, OrgPublicRepos, OrgAdmins, OrgActionsAllowed,
		OrgWorkflowPermissions, OrgSecurityDefaults, OrgWebhooks, OrgApps, OrgAuditLog,
		RepoBranchProtected, RepoReviews, RepoStatusChecks, RepoForcePush, RepoAdminEnforced,
		RepoSignedCommits, RepoVisibility, RepoWikiProjects, RepoVulnerabilityAlerts,
		RepoSecretScanning, RepoDeployKeys,
	}
	return append(out, FileChecks()...)
}

func yes(b *bool) bool { return b != nil && *b }

// OrgTwoFactor fails when members may work without two-factor
// authentication.
var OrgTwoFactor = &rampart.Check{
	ID: "GH-ORG-2FA", Version: 1, Kind: Kind,
	Title:    "The organization requires two-factor authentication",
	Severity: rampart.SeverityCritical,
	Controls: []string{"GH-01"},
	Remediation: "In the organization's Settings → Authentication security, require two-factor " +
		"authentication for everyone. Members without it are removed: warn them first.",
	Doc: `Reads organization.twoFactorRequired (GET /orgs/{org}
two_factor_requirement_enabled). Fails when it is false. Errors when the
token could not see it: GitHub shows it only to an owner's token with
admin:org (or an App with organization Administration: read).`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		o := &f.Organization
		if o.TwoFactorRequired == nil {
			return rampart.Errored(errors.New(orError(o.Error, "GitHub did not report two_factor_requirement_enabled")))
		}
		if !*o.TwoFactorRequired {
			return rampart.Failed(rampart.Finding{
				Item:    "organization " + f.Org,
				Message: "two-factor authentication is not required of members and outside collaborators",
			})
		}
		return rampart.Pass("two-factor authentication is required of every member and outside collaborator")
	}),
}

func orError(section, fallback string) string {
	if section != "" {
		return section
	}
	return fallback
}

// OrgBasePermission fails when members get more than read on every
// repository.
var OrgBasePermission = &rampart.Check{
	ID: "GH-ORG-BASE-PERMISSION", Version: 1, Kind: Kind,
	Title:    "The base repository permission is none or read",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GH-01", "SC-01"},
	Remediation: "Set the organization's base permission (Settings → Member privileges) to Read or " +
		"No permission, and grant write through teams on the repositories each team works on.",
	Doc: `Reads organization.defaultRepositoryPermission (GET /orgs/{org}
default_repository_permission). Passes for "none" and "read", fails for
"write" and "admin". Errors when the token could not see the settings.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		o := &f.Organization
		if o.Error != "" || o.DefaultRepositoryPermission == "" {
			return rampart.Errored(errors.New(orError(o.Error, "GitHub did not report default_repository_permission")))
		}
		switch o.DefaultRepositoryPermission {
		case "none", "read":
			return rampart.Pass("members' base permission is " + o.DefaultRepositoryPermission)
		}
		return rampart.Failed(rampart.Finding{
			Item:    "organization " + f.Org,
			Message: fmt.Sprintf("every member has %s on every repository (base permission)", o.DefaultRepositoryPermission),
		})
	}),
}

// OrgPublicRepos fails when members may create public repositories.
var OrgPublicRepos = &rampart.Check{
	ID: "GH-ORG-PUBLIC-REPOS", Version: 1, Kind: Kind,
	Title:    "Members cannot create public repositories",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GH-03"},
	Remediation: "In Settings → Member privileges → Repository creation, allow members to create " +
		"private (and internal) repositories only; owners publish a repository after review.",
	Doc: `Reads organization.membersCanCreatePublicRepositories (GET /orgs/{org}
members_can_create_public_repositories). Fails when true. Errors when the
token could not see the settings.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		o := &f.Organization
		if o.MembersCanCreatePublicRepositories == nil {
			return rampart.Errored(errors.New(orError(o.Error, "GitHub did not report members_can_create_public_repositories")))
		}
		if *o.MembersCanCreatePublicRepositories {
			return rampart.Failed(rampart.Finding{
				Item:    "organization " + f.Org,
				Message: "members can create public repositories",
			})
		}
		return rampart.Pass("only owners can create public repositories")
	}),
}

// OrgAdmins fails for owners and outside admins the register does not
// allow.
var OrgAdmins = &rampart.Check{
	ID: "GH-ORG-ADMINS", Version: 1, Kind: Kind,
	Title:    "Owners and outside admins are on the register's allow-list",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GH-01", "GH-04"},
	Remediation: "Remove the owner role (or the outside collaborator's admin permission) from " +
		"anyone not approved, or add the login to the resource's allowedAdmins after approval.",
	Doc: `Reads owners.logins (GET /orgs/{org}/members?role=admin) and each
repository's outsideAdmins (GraphQL collaborators with affiliation OUTSIDE
and the ADMIN permission), against policy.allowedAdmins. One finding per
owner not allowed and per outside admin not allowed, by repository.
Errors when allowedAdmins is empty (the register has not said who may be
an admin) or when the owners could not be read; repositories whose
collaborators could not be read are named in the reason.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if f.Owners.Error != "" {
			return rampart.Errored(errors.New(f.Owners.Error))
		}
		if len(f.Policy.AllowedAdmins) == 0 {
			return rampart.Errored(fmt.Errorf("the register names no allowedAdmins, so the owners (%s) cannot be judged: list the approved logins in the resource's spec",
				strings.Join(f.Owners.Logins, ", ")))
		}
		allowed := func(login string) bool {
			return slices.ContainsFunc(f.Policy.AllowedAdmins, func(a string) bool { return strings.EqualFold(a, login) })
		}
		var findings []rampart.Finding
		for _, o := range f.Owners.Logins {
			if !allowed(o) {
				findings = append(findings, rampart.Finding{
					Item:    "owner " + o,
					Message: fmt.Sprintf("%s is an owner of %s but not in allowedAdmins", o, f.Org),
				})
			}
		}
		return repoVerdict(f, findings, func(r *Repository) ([]rampart.Finding, string) {
			if e := r.Errors["collaborators"]; e != "" {
				return nil, e
			}
			var out []rampart.Finding
			for _, a := range r.OutsideAdmins {
				if !allowed(a) {
					out = append(out, rampart.Finding{
						Item:    r.Name + ": outside admin " + a,
						Message: fmt.Sprintf("outside collaborator %s has admin on %s but is not in allowedAdmins", a, r.Name),
					})
				}
			}
			return out, ""
		}, func(n int) string {
			return fmt.Sprintf("%d owner(s) (%s) allowed; no outside admin outside the allow-list on %d repositories",
				len(f.Owners.Logins), strings.Join(f.Owners.Logins, ", "), n)
		})
	}),
}

// OrgActionsAllowed fails when any action may run.
var OrgActionsAllowed = &rampart.Check{
	ID: "GH-ORG-ACTIONS-ALLOWED", Version: 1, Kind: Kind,
	Title:    "Only selected actions may run in the organization",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GHA-01"},
	Remediation: "In Settings → Actions → General, allow only actions created by GitHub, verified " +
		"creators and an explicit list (\"Allow enterprise, and select non-enterprise, actions and " +
		"reusable workflows\"), ideally with SHA pinning required.",
	Doc: `Reads actions.enabledRepositories and actions.allowedActions (GET
/orgs/{org}/actions/permissions). Passes when Actions are disabled
(enabled_repositories none) or allowed_actions is selected or
local_only; fails for all. Errors when the token could not read the
policy (admin:org).`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		a := &f.Actions
		if a.Error != "" {
			return rampart.Errored(errors.New(a.Error))
		}
		switch {
		case a.EnabledRepositories == "none":
			return rampart.Pass("GitHub Actions are disabled in the organization")
		case a.AllowedActions == "selected", a.AllowedActions == "local_only":
			return rampart.Pass("allowed actions: " + a.AllowedActions)
		case a.AllowedActions == "all":
			return rampart.Failed(rampart.Finding{
				Item:    "organization " + f.Org + ": allowed actions",
				Message: "any action or reusable workflow may run (allowed_actions: all)",
			})
		}
		return rampart.Errored(fmt.Errorf("GitHub reported allowed_actions %q, which Rampart does not know", a.AllowedActions))
	}),
}

// OrgWorkflowPermissions fails when workflow tokens may write by default.
var OrgWorkflowPermissions = &rampart.Check{
	ID: "GH-ORG-WORKFLOW-PERMISSIONS", Version: 1, Kind: Kind,
	Title:    "Workflow tokens are read-only by default and cannot approve pull requests",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GHA-08"},
	Remediation: "In Settings → Actions → General → Workflow permissions, choose \"Read repository " +
		"contents and packages permissions\" and clear \"Allow GitHub Actions to create and approve " +
		"pull requests\"; workflows that need more declare it in their permissions block.",
	Doc: `Reads actions.defaultWorkflowPermissions and
actions.canApprovePullRequestReviews (GET
/orgs/{org}/actions/permissions/workflow). One finding when the default
GITHUB_TOKEN permission is write, one when workflows may approve pull
requests (which lets a workflow satisfy required reviews). Errors when the
token could not read them.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		a := &f.Actions
		if a.WorkflowError != "" {
			return rampart.Errored(errors.New(a.WorkflowError))
		}
		if a.DefaultWorkflowPermissions == "" {
			return rampart.Errored(errors.New("GitHub did not report default_workflow_permissions"))
		}
		var findings []rampart.Finding
		if a.DefaultWorkflowPermissions != "read" {
			findings = append(findings, rampart.Finding{
				Item:    "organization " + f.Org + ": default workflow permissions",
				Message: fmt.Sprintf("workflows' GITHUB_TOKEN gets %s permissions unless they declare less", a.DefaultWorkflowPermissions),
			})
		}
		if yes(a.CanApprovePullRequestReviews) {
			findings = append(findings, rampart.Finding{
				Item:    "organization " + f.Org + ": workflows approve pull requests",
				Message: "GitHub Actions may create and approve pull requests, which can satisfy required reviews",
			})
		}
		return rampart.Verdict(findings, "workflow tokens are read-only by default and cannot approve pull requests")
	}),
}

// OrgSecurityDefaults fails for each security feature new repositories
// do not get.
var OrgSecurityDefaults = &rampart.Check{
	ID: "GH-ORG-SECURITY-DEFAULTS", Version: 1, Kind: Kind,
	Title:    "New repositories get secret scanning, push protection and Dependabot alerts",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GH-03", "SC-07"},
	Remediation: "In Settings → Code security, enable secret scanning, push protection and " +
		"Dependabot alerts for new repositories (or apply a security configuration that does).",
	Doc: `Reads organization.secretScanningForNewRepositories,
pushProtectionForNewRepositories and dependabotAlertsForNewRepositories
(GET /orgs/{org} secret_scanning_enabled_for_new_repositories,
secret_scanning_push_protection_enabled_for_new_repositories,
dependabot_alerts_enabled_for_new_repositories). One finding per feature
that is off. Errors when the token could not see them.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		o := &f.Organization
		features := []struct {
			name string
			v    *bool
		}{
			{"secret scanning", o.SecretScanningForNewRepositories},
			{"push protection", o.PushProtectionForNewRepositories},
			{"Dependabot alerts", o.DependabotAlertsForNewRepositories},
		}
		var findings []rampart.Finding
		for _, ft := range features {
			if ft.v == nil {
				return rampart.Errored(errors.New(orError(o.Error, "GitHub did not report whether "+ft.name+" is on for new repositories")))
			}
			if !*ft.v {
				findings = append(findings, rampart.Finding{
					Item:    "new repositories: " + ft.name,
					Message: ft.name + " is not enabled for new repositories",
				})
			}
		}
		return rampart.Verdict(findings, "new repositories get secret scanning, push protection and Dependabot alerts")
	}),
}

// OrgWebhooks fails for webhooks without a secret or TLS verification.
var OrgWebhooks = &rampart.Check{
	ID: "GH-ORG-WEBHOOKS", Version: 1, Kind: Kind,
	Title:    "Organization webhooks use a secret and verify TLS",
	Severity: rampart.SeverityMedium,
	Controls: []string{"GH-01"},
	Remediation: "Edit the webhook: set a secret the receiver verifies (X-Hub-Signature-256), use " +
		"an https:// URL and enable SSL verification.",
	Doc: `Reads webhooks.hooks (GET /orgs/{org}/hooks): per webhook, whether
config.secret is set (GitHub shows it as ********), config.insecure_ssl
("0" verifies TLS) and the URL's scheme. One finding per problem per
webhook. Passes with no webhooks. Errors when the token could not list
them (admin:org_hook).`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if f.Webhooks.Error != "" {
			return rampart.Errored(errors.New(f.Webhooks.Error))
		}
		var findings []rampart.Finding
		for _, h := range f.Webhooks.Hooks {
			item := fmt.Sprintf("webhook %d", h.ID)
			if !h.HasSecret {
				findings = append(findings, rampart.Finding{
					Item:    item + ": secret",
					Message: fmt.Sprintf("webhook %d to %s has no secret: its deliveries cannot be authenticated", h.ID, h.URL),
				})
			}
			if h.InsecureSSL != "0" && h.InsecureSSL != "" {
				findings = append(findings, rampart.Finding{
					Item:    item + ": TLS verification",
					Message: fmt.Sprintf("webhook %d to %s does not verify the receiver's certificate (insecure_ssl %s)", h.ID, h.URL, h.InsecureSSL),
				})
			}
			if strings.HasPrefix(strings.ToLower(h.URL), "http://") {
				findings = append(findings, rampart.Finding{
					Item:    item + ": plain HTTP",
					Message: fmt.Sprintf("webhook %d delivers over plain HTTP to %s", h.ID, h.URL),
				})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d webhook(s), each with a secret and TLS verification", len(f.Webhooks.Hooks)))
	}),
}

// OrgApps records the installed GitHub Apps and their permissions.
var OrgApps = &rampart.Check{
	ID: "GH-ORG-APPS", Version: 1, Kind: Kind,
	Title:    "Installed GitHub Apps and their permissions are recorded",
	Severity: rampart.SeverityInfo,
	Controls: []string{"GH-01", "SC-01"},
	Remediation: "Grant the token the organization Administration read permission (admin:org) so " +
		"that the installed Apps can be listed for the access review.",
	Doc: `Reads installations.apps (GET /orgs/{org}/installations): each App's slug,
repository selection and permissions, kept in the facts as evidence for
the access review. Passes with the list in the reason; errors when the
token could not list them. It judges nothing: a person reviews the list.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if f.Installations.Error != "" {
			return rampart.Errored(errors.New(f.Installations.Error))
		}
		if len(f.Installations.Apps) == 0 {
			return rampart.Pass("no GitHub App is installed on the organization")
		}
		var parts []string
		for _, a := range f.Installations.Apps {
			perms := make([]string, 0, len(a.Permissions))
			for k, v := range a.Permissions {
				perms = append(perms, k+":"+v)
			}
			sort.Strings(perms)
			parts = append(parts, fmt.Sprintf("%s (%s repositories; %s)", a.AppSlug, a.RepositorySelection, strings.Join(perms, ", ")))
		}
		return rampart.Pass(fmt.Sprintf("%d App(s) recorded: %s", len(parts), strings.Join(parts, "; ")))
	}),
}

// OrgAuditLog records the audit log of the review period.
var OrgAuditLog = &rampart.Check{
	ID: "GH-ORG-AUDIT-LOG", Version: 1, Kind: Kind,
	Title:    "The audit log of the review period is fetched as evidence",
	Severity: rampart.SeverityMedium,
	Controls: []string{"GH-02"},
	Remediation: "Give the token read:audit_log. On plans without the audit log API (it comes " +
		"with GitHub Enterprise Cloud), export the audit log from the web interface every month " +
		"and upload it as evidence of GH-02.",
	Doc: `Reads auditLog (GET /orgs/{org}/audit-log?phrase=created:>=FROM, paginated
by cursor): the number of events over policy.auditLogDays, by action,
and the oldest and newest. Passes with the counts. Not applicable, with
the reason, when the plan has no audit log API (GitHub answers 404 to a
token that has the scope); errors when the token lacks read:audit_log.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		a := &f.AuditLog
		switch {
		case a.Error != "":
			return rampart.Errored(errors.New(a.Error))
		case !a.Available:
			return rampart.NotApplicable(orError(a.Reason, "the audit log was not read"))
		}
		msg := fmt.Sprintf("%d audit log event(s) from %s to %s", a.Events, a.From.Format("2006-01-02"), a.To.Format("2006-01-02"))
		if a.Truncated {
			msg += fmt.Sprintf(" (the newest %d; the period holds more)", a.Events)
		}
		if len(a.ByAction) > 0 {
			actions := make([]string, 0, len(a.ByAction))
			for k := range a.ByAction {
				actions = append(actions, k)
			}
			sort.Slice(actions, func(i, j int) bool {
				if a.ByAction[actions[i]] != a.ByAction[actions[j]] {
					return a.ByAction[actions[i]] > a.ByAction[actions[j]]
				}
				return actions[i] < actions[j]
			})
			var top []string
			for _, k := range actions[:min(len(actions), 5)] {
				top = append(top, fmt.Sprintf("%s ×%d", k, a.ByAction[k]))
			}
			msg += "; most frequent: " + strings.Join(top, ", ")
		}
		return rampart.Pass(msg)
	}),
}

// repoVerdict judges every repository the checks cover (all but the
// skipped archived ones), after findings already made at the organization
// level. judge returns a repository's findings, or why it cannot tell.
// Findings make a failure whose reason names the repositories that could
// not be judged; without findings, any repository that could not be
// judged makes an error, never a pass.
func repoVerdict(f *Facts, findings []rampart.Finding, judge func(*Repository) ([]rampart.Finding, string), pass func(n int) string) rampart.Evaluation {
	if f.RepositoriesError != "" && len(f.Repositories) == 0 {
		if len(findings) > 0 {
			ev := rampart.Failed(findings...)
			ev.Reason = "repositories not checked: " + f.RepositoriesError
			return ev
		}
		return rampart.Errored(errors.New(f.RepositoriesError))
	}
	var cannot []string
	judged := 0
	for i := range f.Repositories {
		r := &f.Repositories[i]
		if r.Skipped {
			continue
		}
		if e := r.Errors["notFound"]; e != "" {
			cannot = append(cannot, e)
			continue
		}
		fs, why := judge(r)
		findings = append(findings, fs...)
		if why != "" && len(fs) == 0 {
			cannot = append(cannot, r.Name+": "+why)
			continue
		}
		judged++
	}
	switch {
	case len(findings) > 0:
		ev := rampart.Failed(findings...)
		if len(cannot) > 0 {
			ev.Reason = fmt.Sprintf("%d repositories could not be checked: %s", len(cannot), summarize(cannot))
		}
		return ev
	case len(cannot) > 0:
		return rampart.Errored(fmt.Errorf("%d repositories could not be checked: %s", len(cannot), summarize(cannot)))
	}
	return rampart.Pass(pass(judged))
}

// summarize joins reasons, the first few in full.
func summarize(reasons []string) string {
	const show = 3
	if len(reasons) <= show {
		return strings.Join(reasons, "; ")
	}
	return strings.Join(reasons[:show], "; ") + fmt.Sprintf("; and %d more", len(reasons)-show)
}
