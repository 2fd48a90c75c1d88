// Package github is the github-org integration: it reads a GitHub
// organization's settings (two-factor requirement, base permission,
// owners, Actions policy, security defaults for new repositories,
// webhooks, installed Apps, audit log) and every repository's default
// branch protection, visibility, features, Dependabot alerts, secret
// scanning and deploy keys, and checks the repositories' workflows,
// Dockerfiles and governance files with the git-repo scanners without
// cloning them.
//
// It is built to be cheap on GitHub's rate limits: the repositories and
// their settings come from the GraphQL API in pages of a hundred, REST
// calls are conditional (a 304 costs nothing), git trees and blobs are
// cached by the SHA that names them, and blobs are fetched in batches
// through GraphQL. The transport paces itself on X-RateLimit-Remaining
// and honours Retry-After on secondary limits.
package github

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// Kind is the resource kind this integration checks.
const Kind rampart.Kind = "github-org"

// Defaults of the spec.
const (
	DefaultBaseURL         = "https://api.github.com/"
	DefaultRequiredReviews = 1
	DefaultAuditLogDays    = 90
	DefaultConcurrency     = 4
	DefaultPageSize        = 100
	DefaultMaxWait         = 15 * time.Minute
)

// Integration describes the github-org kind; the integration list wires it
// in.
var Integration = &rampart.Integration{
	Kind:  Kind,
	Title: "GitHub organization",
	Doc: `A GitHub organization on GitHub.com or GitHub Enterprise Server, and its
repositories. Rampart reads the organization's settings (two-factor
requirement, base permission, public repository creation, owners, the
Actions policy and default workflow token, secret scanning, push
protection and Dependabot alerts for new repositories, webhooks, installed
GitHub Apps, the audit log of the review period) and, for each repository,
the default branch's branch protection and rulesets, visibility, wiki and
projects, Dependabot alerts, secret scanning and push protection, deploy
keys and outside admins; then it fetches the workflows, Dockerfiles,
CODEOWNERS, SECURITY.md, pre-commit, Renovate/Dependabot and Terraform
files through the API and runs the git-repo scanners on them. A missing
scope makes the checks that need it answer error ("the token lacks …").

spec:
  org: the organization's login (required)
  baseURL: REST API root (default https://api.github.com/; GitHub
    Enterprise Server: https://HOST/api/v3/)
  graphqlURL: GraphQL endpoint (default: derived from baseURL,
    https://api.github.com/graphql or https://HOST/api/graphql)
  token: env:NAME or file:PATH of a token, or a GitHub App:
  appID, installationID, privateKey: file:PATH (the App's PEM key)
  repositories: the repositories to check (default: all)
  requiredReviews: approvals the default branch must require (default 1)
  requireSignedCommits: the default branch must require signed commits
  allowedAdmins: logins allowed to be owners or outside admins
  expectedVisibility: repository name to public, private or internal;
    the key "*" sets the default (default private)
  archived: skip or check archived repositories (default skip)
  auditLogDays: the review period of the audit log (default 90)
  scanFiles: fetch and scan repository files (default true)
  cacheDir: where ETags and git objects are kept (default
    $XDG_CACHE_HOME/rampart/github or ~/.cache/rampart/github)
  concurrency: requests in flight at once (default 4)
  maxWait: the longest Rampart sleeps for a rate limit to reset
    (default 15m); beyond it the collection fails with the reason`,
	NewSpec:      func() rampart.Spec { return NewSpec() },
	NewCollector: func(env rampart.Env) rampart.Collector { return &Collector{Env: env} },
	Checks:       Checks(),
}

// Spec is the configuration of one github-org resource.
type Spec struct {
	Org        string `yaml:"org" json:"org"`
	BaseURL    string `yaml:"baseURL" json:"baseURL,omitempty"`
	GraphQLURL string `yaml:"graphqlURL" json:"graphqlURL,omitempty"`
	// Token is a personal access token or any bearer token, by reference.
	Token rampart.SecretRef `yaml:"token" json:"token,omitempty"`
	// AppID, InstallationID and PrivateKey authenticate as a GitHub App
	// installation instead of Token.
	AppID          int64             `yaml:"appID" json:"appID,omitempty"`
	InstallationID int64             `yaml:"installationID" json:"installationID,omitempty"`
	PrivateKey     rampart.SecretRef `yaml:"privateKey" json:"privateKey,omitempty"`

	Repositories         []string          `yaml:"repositories" json:"repositories,omitempty"`
	RequiredReviews      int               `yaml:"requiredReviews" json:"requiredReviews"`
	RequireSignedCommits bool              `yaml:"requireSignedCommits" json:"requireSignedCommits,omitempty"`
	AllowedAdmins        []string          `yaml:"allowedAdmins" json:"allowedAdmins,omitempty"`
	ExpectedVisibility   map[string]string `yaml:"expectedVisibility" json:"expectedVisibility,omitempty"`
	Archived             string            `yaml:"archived" json:"archived"`
	AuditLogDays         int               `yaml:"auditLogDays" json:"auditLogDays"`
	ScanFiles            bool              `yaml:"scanFiles" json:"scanFiles"`

	CacheDir    string        `yaml:"cacheDir" json:"cacheDir,omitempty"`
	Concurrency int           `yaml:"concurrency" json:"concurrency"`
	PageSize    int           `yaml:"pageSize" json:"pageSize"`
	MaxWait     time.Duration `yaml:"maxWait" json:"maxWait"`
}

var (
	_ rampart.Spec        = (*Spec)(nil)
	_ rampart.BaseDirSpec = (*Spec)(nil)
)

// NewSpec returns a spec with its defaults set.
func NewSpec() *Spec {
	return &Spec{
		BaseURL:         DefaultBaseURL,
		RequiredReviews: DefaultRequiredReviews,
		Archived:        "skip",
		AuditLogDays:    DefaultAuditLogDays,
		ScanFiles:       true,
		Concurrency:     DefaultConcurrency,
		PageSize:        DefaultPageSize,
		MaxWait:         DefaultMaxWait,
	}
}

// SetBaseDir resolves a relative cacheDir against dir, the directory of
// the file that declared the resource.
func (s *Spec) SetBaseDir(dir string) {
	if s.CacheDir != "" && !filepath.IsAbs(s.CacheDir) && dir != "" {
		s.CacheDir = filepath.Join(dir, s.CacheDir)
	}
}

var (
	// GitHub logins: alphanumerics and single hyphens, at most 39.
	loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	visibilities = []string{"public", "private", "internal"}
)

// Validate implements rampart.Spec.
func (s *Spec) Validate() error {
	var errs []error
	switch {
	case s.Org == "":
		errs = append(errs, errors.New("org: required (the organization's login, e.g. acme)"))
	case !loginPattern.MatchString(s.Org):
		errs = append(errs, fmt.Errorf("org: %q is not a GitHub login (letters, digits and single hyphens)", s.Org))
	}
	if _, err := apiURL(s.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("baseURL: %w", err))
	}
	if s.GraphQLURL != "" {
		if _, err := apiURL(s.GraphQLURL); err != nil {
			errs = append(errs, fmt.Errorf("graphqlURL: %w", err))
		}
	}
	app := s.AppID != 0 || s.InstallationID != 0 || s.PrivateKey != ""
	switch {
	case s.Token == "" && !app:
		errs = append(errs, errors.New("token: required (env:GITHUB_TOKEN), or appID, installationID and privateKey for a GitHub App"))
	case s.Token != "" && app:
		errs = append(errs, errors.New("token: give a token or a GitHub App (appID, installationID, privateKey), not both"))
	case app:
		if s.AppID <= 0 {
			errs = append(errs, errors.New("appID: required for a GitHub App (its numeric App ID)"))
		}
		if s.InstallationID <= 0 {
			errs = append(errs, errors.New("installationID: required for a GitHub App (the installation on the organization)"))
		}
		if s.PrivateKey == "" {
			errs = append(errs, errors.New("privateKey: required for a GitHub App (file:PATH of its PEM private key)"))
		}
	}
	for _, r := range s.Repositories {
		if !repoPattern.MatchString(r) {
			errs = append(errs, fmt.Errorf("repositories: %q is not a repository name (give names without the organization)", r))
		}
	}
	if s.RequiredReviews < 0 || s.RequiredReviews > 6 {
		errs = append(errs, fmt.Errorf("requiredReviews: %d is outside 0 to 6 (GitHub's range)", s.RequiredReviews))
	}
	for _, a := range s.AllowedAdmins {
		if !loginPattern.MatchString(a) {
			errs = append(errs, fmt.Errorf("allowedAdmins: %q is not a GitHub login", a))
		}
	}
	for repo, v := range s.ExpectedVisibility {
		if !slices.Contains(visibilities, v) {
			errs = append(errs, fmt.Errorf("expectedVisibility: %s: %q is not one of %s", repo, v, strings.Join(visibilities, ", ")))
		}
	}
	if s.Archived != "skip" && s.Archived != "check" {
		errs = append(errs, fmt.Errorf("archived: %q is not skip or check", s.Archived))
	}
	if s.AuditLogDays < 1 || s.AuditLogDays > 180 {
		errs = append(errs, fmt.Errorf("auditLogDays: %d is outside 1 to 180 (GitHub keeps 180 days of audit log)", s.AuditLogDays))
	}
	if s.Concurrency < 1 || s.Concurrency > 32 {
		errs = append(errs, fmt.Errorf("concurrency: %d is outside 1 to 32", s.Concurrency))
	}
	if s.PageSize < 1 || s.PageSize > 100 {
		errs = append(errs, fmt.Errorf("pageSize: %d is outside 1 to 100 (GitHub's limit)", s.PageSize))
	}
	if s.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("maxWait: %s is negative", s.MaxWait))
	}
	return errors.Join(errs...)
}

// apiURL parses an API root: absolute, http or https, no credentials.
func apiURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("want an absolute https:// URL, e.g. https://api.github.com/ or https://github.example.com/api/v3/")
	}
	if u.User != nil {
		return nil, errors.New("must not hold credentials: give them by reference in token")
	}
	return u, nil
}

// restBase is the REST root with its trailing slash, as go-github wants.
func (s *Spec) restBase() string {
	if strings.HasSuffix(s.BaseURL, "/") {
		return s.BaseURL
	}
	return s.BaseURL + "/"
}

// graphqlEndpoint is the GraphQL URL: the spec's, or derived from the
// REST root the way GitHub lays them out (api.github.com/graphql;
// HOST/api/v3/ → HOST/api/graphql on Enterprise Server).
func (s *Spec) graphqlEndpoint() string {
	if s.GraphQLURL != "" {
		return s.GraphQLURL
	}
	base := s.restBase()
	if strings.HasSuffix(base, "/api/v3/") {
		return strings.TrimSuffix(base, "v3/") + "graphql"
	}
	return base + "graphql"
}

// expectedVisibility is what the register expects of a repository.
func (s *Spec) defaultVisibility() string {
	if v, ok := s.ExpectedVisibility["*"]; ok {
		return v
	}
	return "private"
}

// credentialID names the credential for cache keys without revealing it.
func (s *Spec) credentialID() string {
	if s.Token != "" {
		return string(s.Token)
	}
	return fmt.Sprintf("app:%d:%d", s.AppID, s.InstallationID)
}

func (s *Spec) policy() Policy {
	admins := slices.Clone(s.AllowedAdmins)
	slices.Sort(admins)
	var vis map[string]string
	for k, v := range s.ExpectedVisibility {
		if k == "*" {
			continue
		}
		if vis == nil {
			vis = map[string]string{}
		}
		vis[k] = v
	}
	return Policy{
		RequiredReviews:      s.RequiredReviews,
		RequireSignedCommits: s.RequireSignedCommits,
		AllowedAdmins:        admins,
		ExpectedVisibility:   vis,
		DefaultVisibility:    s.defaultVisibility(),
		Archived:             s.Archived,
		AuditLogDays:         s.AuditLogDays,
		Repositories:         slices.Clone(s.Repositories),
	}
}
