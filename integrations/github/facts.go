package github

import (
	"time"

	"github.com/rampart-dev/rampart/integrations/gitrepo"
)

// Facts are what one collection of a GitHub organization found. Every
// section that can be refused on its own (a scope the token lacks, a
// feature the plan lacks) carries its own Error, so that the checks that
// read it answer error with the reason while the others still judge.
type Facts struct {
	Org         string    `json:"org"`
	BaseURL     string    `json:"baseURL"`
	CollectedAt time.Time `json:"collectedAt"`
	// Policy is the register's side of the comparison, copied from the
	// spec so that a result can be reproduced from the evidence alone.
	Policy Policy `json:"policy"`
	// Token says what kind of credential was used and, for classic
	// tokens, the scopes GitHub reported in X-OAuth-Scopes.
	Token TokenInfo `json:"token"`

	Organization  OrgSettings     `json:"organization"`
	Owners        Owners          `json:"owners"`
	Actions       ActionsPolicy   `json:"actions"`
	Webhooks      Webhooks        `json:"webhooks"`
	Installations Installations   `json:"installations"`
	AuditLog      AuditLogSummary `json:"auditLog"`

	// Repositories are sorted by name. RepositoriesError says why the list
	// itself could not be read; a repository's own problems are in its
	// Errors.
	Repositories      []Repository `json:"repositories"`
	RepositoriesError string       `json:"repositoriesError,omitempty"`
	// FilesScanned says whether the repositories' files were fetched and
	// scanned (spec scanFiles).
	FilesScanned bool `json:"filesScanned"`

	// Usage is what the collection cost against GitHub's rate limits.
	Usage Usage `json:"usage"`
}

// Policy is what the register expects of the organization.
type Policy struct {
	RequiredReviews      int               `json:"requiredReviews"`
	RequireSignedCommits bool              `json:"requireSignedCommits"`
	AllowedAdmins        []string          `json:"allowedAdmins"`
	ExpectedVisibility   map[string]string `json:"expectedVisibility,omitempty"`
	DefaultVisibility    string            `json:"defaultVisibility"`
	Archived             string            `json:"archived"`
	AuditLogDays         int               `json:"auditLogDays"`
	// Repositories is the register's selection; empty means all.
	Repositories []string `json:"repositories,omitempty"`
}

// TokenInfo describes the credential without revealing it.
type TokenInfo struct {
	// Kind is "token" (a personal access token or other bearer token) or
	// "app" (a GitHub App installation token).
	Kind string `json:"kind"`
	// Scopes are a classic token's OAuth scopes; nil when GitHub sent no
	// X-OAuth-Scopes header (fine-grained tokens, App tokens).
	Scopes []string `json:"scopes,omitempty"`
	// AppID and InstallationID identify a GitHub App credential.
	AppID          int64 `json:"appID,omitempty"`
	InstallationID int64 `json:"installationID,omitempty"`
}

// OrgSettings are the organization's own settings. GitHub sends the
// security-relevant fields only to an owner's token with admin:org; a nil
// field means GitHub did not say.
type OrgSettings struct {
	Plan                               string `json:"plan,omitempty"`
	TwoFactorRequired                  *bool  `json:"twoFactorRequired"`
	DefaultRepositoryPermission        string `json:"defaultRepositoryPermission,omitempty"`
	MembersCanCreatePublicRepositories *bool  `json:"membersCanCreatePublicRepositories"`
	SecretScanningForNewRepositories   *bool  `json:"secretScanningForNewRepositories"`
	PushProtectionForNewRepositories   *bool  `json:"pushProtectionForNewRepositories"`
	DependabotAlertsForNewRepositories *bool  `json:"dependabotAlertsForNewRepositories"`
	Error                              string `json:"error,omitempty"`
}

// Owners are the organization's members with the owner (admin) role.
type Owners struct {
	Logins []string `json:"logins"`
	Error  string   `json:"error,omitempty"`
}

// ActionsPolicy is the organization's GitHub Actions policy.
type ActionsPolicy struct {
	// EnabledRepositories is "all", "none" or "selected".
	EnabledRepositories string `json:"enabledRepositories,omitempty"`
	// AllowedActions is "all", "local_only" or "selected".
	AllowedActions string `json:"allowedActions,omitempty"`
	Error          string `json:"error,omitempty"`
	// DefaultWorkflowPermissions is "read" or "write".
	DefaultWorkflowPermissions   string `json:"defaultWorkflowPermissions,omitempty"`
	CanApprovePullRequestReviews *bool  `json:"canApprovePullRequestReviews"`
	WorkflowError                string `json:"workflowError,omitempty"`
}

// Webhooks are the organization's webhooks.
type Webhooks struct {
	Hooks []Webhook `json:"hooks"`
	Error string    `json:"error,omitempty"`
}

// Webhook is one organization webhook. The secret itself is never sent
// by GitHub: a set secret reads "********".
type Webhook struct {
	ID     int64    `json:"id"`
	URL    string   `json:"url"`
	Active bool     `json:"active"`
	Events []string `json:"events,omitempty"`
	// HasSecret is true when GitHub shows the masked secret.
	HasSecret bool `json:"hasSecret"`
	// InsecureSSL is GitHub's insecure_ssl: "0" verifies TLS, "1" does not.
	InsecureSSL string `json:"insecureSSL"`
}

// Installations are the GitHub Apps installed on the organization.
type Installations struct {
	Apps  []AppInstallation `json:"apps"`
	Error string            `json:"error,omitempty"`
}

// AppInstallation is one installed GitHub App and what it may do.
type AppInstallation struct {
	ID                  int64             `json:"id"`
	AppSlug             string            `json:"appSlug"`
	AppID               int64             `json:"appID"`
	RepositorySelection string            `json:"repositorySelection"`
	Permissions         map[string]string `json:"permissions"`
	Events              []string          `json:"events,omitempty"`
	Suspended           bool              `json:"suspended,omitempty"`
}

// AuditLogSummary is the organization's audit log over the review
// period, summarized: the events themselves stay in GitHub (or the stream
// they are exported to).
type AuditLogSummary struct {
	// Available is false when the plan offers no audit log API; Reason
	// then says so.
	Available bool      `json:"available"`
	Reason    string    `json:"reason,omitempty"`
	Error     string    `json:"error,omitempty"`
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	Events    int       `json:"events"`
	// ByAction counts events by action ("repo.create", "org.add_member").
	ByAction map[string]int `json:"byAction,omitempty"`
	// Oldest and Newest are the times of the oldest and newest events
	// read.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// Truncated is true when the period held more events than Rampart
	// reads (MaxAuditEvents); the counts cover the newest ones.
	Truncated bool `json:"truncated,omitempty"`
}

// Repository is one repository of the organization, as the checks see it.
type Repository struct {
	Name          string `json:"name"`
	Visibility    string `json:"visibility,omitempty"` // public, private, internal
	Archived      bool   `json:"archived,omitempty"`
	Fork          bool   `json:"fork,omitempty"`
	Empty         bool   `json:"empty,omitempty"`
	DefaultBranch string `json:"defaultBranch,omitempty"`
	// Skipped is set for archived repositories under archived: skip; the
	// checks leave them out.
	Skipped bool `json:"skipped,omitempty"`

	HasWiki     *bool `json:"hasWiki"`
	HasProjects *bool `json:"hasProjects"`
	// VulnerabilityAlerts is whether Dependabot alerts are on.
	VulnerabilityAlerts *bool `json:"vulnerabilityAlerts"`
	// SecretScanning and PushProtection are GitHub's security_and_analysis
	// statuses ("enabled", "disabled"), empty when GitHub did not say.
	SecretScanning string `json:"secretScanning,omitempty"`
	PushProtection string `json:"pushProtection,omitempty"`

	// Protection is the default branch's effective protection, from its
	// branch protection rule and the active rulesets that target it; nil
	// when nothing protects it.
	Protection *Protection `json:"protection"`

	DeployKeys []DeployKey `json:"deployKeys"`
	// OutsideAdmins are outside collaborators with the admin permission.
	OutsideAdmins []string `json:"outsideAdmins"`

	// Errors says, by section, why part of the repository could not be
	// read: "settings", "protection", "deployKeys", "collaborators",
	// "securityAndAnalysis", "files".
	Errors map[string]string `json:"errors,omitempty"`

	// Files is the scan of the repository's files at the default branch's
	// head; nil when files were not scanned.
	Files *FileScan `json:"files,omitempty"`

	// pending are the rulesets GraphQL listed, until their details are read.
	pending []gqlRuleset
}

// Protection is what protects a default branch, merged over its sources:
// the strongest requirement of any source wins, as GitHub enforces them
// all.
type Protection struct {
	// Sources name what protects the branch: "branch protection rule
	// main", "ruleset 12 \"default\" (organization)".
	Sources                  []string `json:"sources"`
	RequiresPullRequest      bool     `json:"requiresPullRequest"`
	RequiredApprovingReviews int      `json:"requiredApprovingReviews"`
	DismissesStaleReviews    bool     `json:"dismissesStaleReviews"`
	RequiresCodeOwnerReviews bool     `json:"requiresCodeOwnerReviews"`
	RequiresStatusChecks     bool     `json:"requiresStatusChecks"`
	StatusChecks             []string `json:"statusChecks,omitempty"`
	BlocksForcePushes        bool     `json:"blocksForcePushes"`
	BlocksDeletions          bool     `json:"blocksDeletions"`
	// EnforcedForAdmins is true when some source that requires a pull
	// request applies to administrators too (isAdminEnforced, or a ruleset
	// nobody may bypass).
	EnforcedForAdmins      bool `json:"enforcedForAdmins"`
	RequiresSignedCommits  bool `json:"requiresSignedCommits"`
	RequiresLinearHistory  bool `json:"requiresLinearHistory,omitempty"`
	RequiresConversationOK bool `json:"requiresConversationResolution,omitempty"`
}

// DeployKey is one deploy key of a repository.
type DeployKey struct {
	Title    string `json:"title"`
	ReadOnly bool   `json:"readOnly"`
}

// FileScan is what the git-repo scanners found in the files fetched from
// a repository through the API, without a clone.
type FileScan struct {
	Commit string `json:"commit,omitempty"`
	Tree   string `json:"tree,omitempty"`
	// Fetched lists the paths fetched and scanned.
	Fetched []string `json:"fetched"`
	// Facts are the git-repo scanners' facts, as for a cloned repository.
	Facts *gitrepo.Facts `json:"facts,omitempty"`
	Error string         `json:"error,omitempty"`
}

// Usage counts what a collection cost. A request is one HTTP round trip;
// points are what GitHub bills: one per REST response that is not a 304,
// and the query's cost for GraphQL.
type Usage struct {
	Requests        int64 `json:"requests"`
	RESTRequests    int64 `json:"restRequests"`
	GraphQLRequests int64 `json:"graphqlRequests"`
	NotModified     int64 `json:"notModified"`
	RESTPoints      int64 `json:"restPoints"`
	GraphQLPoints   int64 `json:"graphqlPoints"`
	// ObjectsCached are git trees and blobs served from the local object
	// cache with no request at all (their SHA names their content).
	ObjectsCached int64 `json:"objectsCached"`
	Retries       int64 `json:"retries"`
	// Waited is how long pacing and retries slept.
	Waited time.Duration `json:"waited"`
}

// Points is what the collection was billed, REST and GraphQL together.
func (u Usage) Points() int64 { return u.RESTPoints + u.GraphQLPoints }
