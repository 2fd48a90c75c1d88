// Package githubfake is a loopback GitHub for tests and benchmarks: an
// httptest server answering the REST and GraphQL endpoints the github-org
// integration uses, with payloads shaped like GitHub's documented
// responses, Link pagination, ETags and 304s, rate-limit headers that
// count down (304s free), a secondary limit with Retry-After on demand,
// 401 for a bad token, 403/404 with GitHub's error body for a missing
// scope, X-OAuth-Scopes, and GitHub App installation tokens.
//
// An organization is described as data (Org, Repo) so that a test can say
// exactly which findings it expects.
package githubfake

import (
	"crypto/rsa"
	"fmt"
	"time"
)

// Org is the fake organization.
type Org struct {
	Login string
	ID    int64
	// Plan is "free", "team" or "enterprise"; only enterprise has the
	// audit log API.
	Plan string

	TwoFactorRequired                  bool
	DefaultRepositoryPermission        string // none, read, write, admin
	MembersCanCreatePublicRepositories bool
	SecretScanningForNew               bool
	PushProtectionForNew               bool
	DependabotAlertsForNew             bool

	// Owners are members with the admin role.
	Owners []string

	EnabledRepositories          string // all, none, selected
	AllowedActions               string // all, local_only, selected
	DefaultWorkflowPermissions   string // read, write
	CanApprovePullRequestReviews bool

	Hooks         []Hook
	Installations []Installation
	AuditLog      []AuditEvent
	// Rulesets are the organization's rulesets; they apply to every
	// repository (conditions on repository names are not modelled).
	Rulesets []*Ruleset

	Repos []*Repo
}

// Hook is an organization webhook.
type Hook struct {
	ID          int64
	URL         string
	Secret      bool
	InsecureSSL bool
	Events      []string
	Active      bool
}

// Installation is an installed GitHub App.
type Installation struct {
	ID                  int64
	AppID               int64
	AppSlug             string
	RepositorySelection string // all, selected
	Permissions         map[string]string
	Events              []string
}

// AuditEvent is one audit log event.
type AuditEvent struct {
	Action string
	Actor  string
	At     time.Time
}

// Repo is a fake repository.
type Repo struct {
	ID            int64
	Name          string
	Visibility    string // public, private, internal
	Archived      bool
	Fork          bool
	DefaultBranch string
	HasWiki       bool
	HasProjects   bool
	// VulnerabilityAlerts is Dependabot alerts.
	VulnerabilityAlerts bool
	SecretScanning      bool
	PushProtection      bool

	// Protection is the default branch's branch protection rule; nil for
	// none.
	Protection *Protection
	// Rulesets are the repository's own rulesets.
	Rulesets []*Ruleset

	DeployKeys    []DeployKey
	Collaborators []Collaborator

	// Files are the default branch's files by path; nil makes an empty
	// repository. Changing them changes the commit and tree SHAs.
	Files map[string]string
}

// Protection is a branch protection rule.
type Protection struct {
	Pattern                  string
	RequiredApprovingReviews int // 0 with RequiresApprovingReviews false: no pull request needed
	RequiresApprovingReviews bool
	DismissesStaleReviews    bool
	RequiresCodeOwnerReviews bool
	RequiredStatusChecks     []string
	AllowsForcePushes        bool
	AllowsDeletions          bool
	IsAdminEnforced          bool
	RequiresCommitSignatures bool
}

// Ruleset is a repository or organization ruleset.
type Ruleset struct {
	ID          int64
	Name        string
	Enforcement string // active, evaluate, disabled
	// Include and Exclude are the ref_name condition.
	Include, Exclude []string
	BypassActors     int
	Rules            []Rule
}

// Rule is one rule of a ruleset.
type Rule struct {
	Type string // pull_request, required_status_checks, non_fast_forward, deletion, required_signatures
	// For pull_request:
	RequiredApprovingReviewCount int
	DismissStaleReviewsOnPush    bool
	RequireCodeOwnerReview       bool
	// For required_status_checks:
	Contexts []string
}

// DeployKey is a repository deploy key.
type DeployKey struct {
	Title    string
	ReadOnly bool
}

// Collaborator is a repository's outside collaborator.
type Collaborator struct {
	Login      string
	Permission string // READ, TRIAGE, WRITE, MAINTAIN, ADMIN
}

// Token is a credential the fake accepts.
type Token struct {
	Value string
	// Scopes are a classic token's scopes, sent back in X-OAuth-Scopes;
	// nil makes a token like a fine-grained one (no header), with every
	// permission Owner allows.
	Scopes []string
	// Owner says the token's user is an organization owner, so admin of
	// every repository.
	Owner bool
}

// App is a GitHub App installed on the organization.
type App struct {
	ID             int64
	InstallationID int64
	Key            *rsa.PublicKey
}

// GoodRepo returns a repository every check passes: private, protected by
// a rule that requires what the checks ask, features off, alerts and
// scanning on, and files the file scanners accept (and a README of its
// own, so that no two repositories share a tree).
func GoodRepo(name string) *Repo {
	files := GoodFiles()
	files["README.md"] = "# " + name + "\n"
	return &Repo{
		Name: name, Visibility: "private", DefaultBranch: "main",
		VulnerabilityAlerts: true, SecretScanning: true, PushProtection: true,
		Protection: &Protection{
			Pattern: "main", RequiresApprovingReviews: true, RequiredApprovingReviews: 1,
			DismissesStaleReviews: true, RequiresCodeOwnerReviews: true,
			RequiredStatusChecks: []string{"ci/test"}, IsAdminEnforced: true,
		},
		DeployKeys: []DeployKey{{Title: "ci-read", ReadOnly: true}},
		Files:      files,
	}
}

// GoodFiles are files the git-repo file scanners accept.
func GoodFiles() map[string]string {
	return map[string]string{
		".github/CODEOWNERS": "* @acme/platform\n",
		"SECURITY.md":        "# Security\n\nReport vulnerabilities to security@example.com.\n",
		".pre-commit-config.yaml": `repos:
  - repo: https://github.com/gitleaks/gitleaks
    rev: v8.30.1
    hooks:
      - id: gitleaks
  - repo: https://github.com/golangci/golangci-lint
    rev: v2.1.0
    hooks:
      - id: golangci-lint
`,
		"renovate.json": `{"extends": ["config:recommended"]}` + "\n",
		".github/workflows/ci.yml": `name: ci
on:
  pull_request:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: make test
`,
		"Dockerfile": `FROM golang:1.26@sha256:1111111111111111111111111111111111111111111111111111111111111111 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app .

FROM gcr.io/distroless/static:nonroot@sha256:2222222222222222222222222222222222222222222222222222222222222222
COPY --from=build /out/app /app
USER 65532:65532
HEALTHCHECK CMD ["/app", "health"]
ENTRYPOINT ["/app"]
`,
	}
}

// Generate builds an organization of n good repositories named
// repo-0001…, then lets configure change repository i (0-based).
func Generate(login string, n int, configure func(i int, r *Repo)) *Org {
	o := &Org{
		Login: login, ID: 1000, Plan: "enterprise", TwoFactorRequired: true,
		DefaultRepositoryPermission: "read", SecretScanningForNew: true, PushProtectionForNew: true,
		DependabotAlertsForNew: true, Owners: []string{"alice", "bob"},
		EnabledRepositories: "all", AllowedActions: "selected", DefaultWorkflowPermissions: "read",
	}
	for i := range n {
		r := GoodRepo(fmt.Sprintf("repo-%04d", i+1))
		if configure != nil {
			configure(i, r)
		}
		o.Repos = append(o.Repos, r)
	}
	return o
}
