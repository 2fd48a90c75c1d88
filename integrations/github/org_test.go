package github_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/integrations/github/githubfake"
	"github.com/rampart-dev/rampart/register"
)

// org50 is an organization of 50 repositories, each good but for the
// deviations listed, so that the findings can be named one by one.
func org50(now time.Time) *githubfake.Org {
	o := githubfake.Generate("acme", 50, func(i int, r *githubfake.Repo) {
		switch r.Name {
		case "repo-0003": // unprotected
			r.Protection = nil
		case "repo-0005": // no pull request, approvals kept, no code owners
			r.Protection.RequiresApprovingReviews = false
			r.Protection.RequiredApprovingReviews = 0
			r.Protection.DismissesStaleReviews = false
			r.Protection.RequiresCodeOwnerReviews = false
		case "repo-0006": // one approval short of the register's two… see spec
			r.Protection.RequiredApprovingReviews = 2
		case "repo-0007":
			r.Protection.AllowsForcePushes = true
		case "repo-0008":
			r.Protection.AllowsDeletions = true
		case "repo-0011": // protected by its own ruleset alone
			r.Protection = nil
			r.Rulesets = []*githubfake.Ruleset{{
				ID: 71, Name: "main", Enforcement: "active", Include: []string{"~DEFAULT_BRANCH"},
				Rules: []githubfake.Rule{
					{Type: "pull_request", RequiredApprovingReviewCount: 1, DismissStaleReviewsOnPush: true, RequireCodeOwnerReview: true},
					{Type: "required_status_checks", Contexts: []string{"ci"}},
					{Type: "non_fast_forward"},
					{Type: "deletion"},
				},
			}}
		case "repo-0012": // a ruleset only evaluated protects nothing
			r.Protection = nil
			r.Rulesets = []*githubfake.Ruleset{{
				ID: 72, Name: "trial", Enforcement: "evaluate", Include: []string{"~ALL"},
				Rules: []githubfake.Rule{{Type: "pull_request", RequiredApprovingReviewCount: 1}},
			}}
		case "repo-0013":
			r.Protection.IsAdminEnforced = false
		case "repo-0014": // a ruleset with a bypass list on top of a rule that binds admins
			r.Rulesets = []*githubfake.Ruleset{{
				ID: 74, Name: "bypassable", Enforcement: "active", Include: []string{"refs/heads/main"}, BypassActors: 1,
				Rules: []githubfake.Rule{{Type: "required_signatures"}},
			}}
		case "repo-0015":
			r.Visibility = "public"
		case "repo-0016": // public, as the register expects
			r.Visibility = "public"
		case "repo-0017":
			r.HasWiki = true
		case "repo-0018":
			r.HasProjects = true
		case "repo-0019":
			r.VulnerabilityAlerts = false
		case "repo-0020":
			r.SecretScanning, r.PushProtection = false, false
		case "repo-0021":
			r.DeployKeys = append(r.DeployKeys, githubfake.DeployKey{Title: "deployer", ReadOnly: false})
		case "repo-0022":
			r.Collaborators = []githubfake.Collaborator{{Login: "mallory", Permission: "ADMIN"}, {Login: "trent", Permission: "WRITE"}}
		case "repo-0023": // archived and bad: skipped
			r.Archived, r.HasWiki, r.Protection = true, true, nil
		case "repo-0024": // empty
			r.Files = nil
		case "repo-0025":
			r.Files[".github/workflows/release.yml"] = `name: release
on: push
permissions:
  contents: read
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: goreleaser/goreleaser-action@v6
`
		case "repo-0026":
			r.Files["build/Dockerfile"] = "FROM alpine:3.20@sha256:3333333333333333333333333333333333333333333333333333333333333333\nHEALTHCHECK CMD true\nCMD [\"sh\"]\n"
		case "repo-0027":
			delete(r.Files, ".github/CODEOWNERS")
		case "repo-0028":
			r.Protection.RequiredStatusChecks = nil
		case "repo-0029": // more deploy keys than the first query reads
			for k := range 24 {
				r.DeployKeys = append(r.DeployKeys, githubfake.DeployKey{Title: fmt.Sprintf("key-%02d", k), ReadOnly: k != 22})
			}
		}
	})
	o.Owners = []string{"alice", "bob", "carol"}
	o.AllowedActions = "all"
	o.CanApprovePullRequestReviews = true
	o.Hooks = []githubfake.Hook{
		{ID: 1, URL: "https://hooks.example.com/github", Secret: true, Events: []string{"push"}, Active: true},
		{ID: 2, URL: "http://legacy.example.com/hook", Secret: false, InsecureSSL: true, Events: []string{"*"}, Active: true},
	}
	o.Installations = []githubfake.Installation{{
		ID: 9, AppID: 900, AppSlug: "renovate", RepositorySelection: "all",
		Permissions: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"},
	}}
	o.AuditLog = []githubfake.AuditEvent{
		{Action: "repo.create", Actor: "alice", At: now.Add(-24 * time.Hour)},
		{Action: "org.add_member", Actor: "bob", At: now.Add(-48 * time.Hour)},
		{Action: "repo.create", Actor: "alice", At: now.Add(-72 * time.Hour)},
		{Action: "repo.destroy", Actor: "carol", At: now.Add(-200 * 24 * time.Hour)}, // before the period
	}
	// An organization ruleset for release branches leaves main alone.
	o.Rulesets = []*githubfake.Ruleset{{
		ID: 5, Name: "releases", Enforcement: "active", Include: []string{"refs/heads/release/**"},
		Rules: []githubfake.Rule{{Type: "deletion"}},
	}}
	return o
}

// TestOrganizationOf50 runs the register's github-org resource through
// the engine against an organization of 50 repositories and expects
// exactly the findings its deviations make.
func TestOrganizationOf50(t *testing.T) {
	t.Parallel()
	now := time.Now()
	srv := fake(t, githubfake.Config{Org: org50(now)})
	cache := t.TempDir()
	yaml := fmt.Sprintf(`version: 1
resources:
  - id: github-acme
    kind: github-org
    name: GitHub organization acme
    owner: platform-team
    criticality: critical
    spec:
      org: acme
      baseURL: %s
      token: env:GITHUB_TOKEN
      requiredReviews: 2
      allowedAdmins: [alice, bob]
      expectedVisibility: {repo-0016: public}
      cacheDir: %s
      pageSize: 20
`, srv.BaseURL(), cache)
	cfg, err := register.Parse("rampart.yaml", []byte(yaml), register.Kinds{Integrations: []*rampart.Integration{github.Integration}})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	checks, err := engine.AllChecks([]*rampart.Integration{github.Integration}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine.Engine{
		Integrations: []*rampart.Integration{github.Integration},
		Checks:       checks,
		Timeout:      time.Minute,
		Env: rampart.Env{Getenv: func(k string) string {
			if k == "GITHUB_TOKEN" {
				return ownerToken.Value
			}
			return ""
		}},
	}
	sum, err := e.Scan(t.Context(), cfg.Resources, engine.Options{DryRun: true})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}

	// Every repository but the two with two approvals falls short of the
	// register's requiredReviews: 2, so GH-REPO-REVIEWS names them all.
	var approvals []string
	for i := 1; i <= 50; i++ {
		name := fmt.Sprintf("repo-%04d", i)
		switch name {
		case "repo-0003", "repo-0005", "repo-0006", "repo-0012", "repo-0023", "repo-0024":
			continue // unprotected, no pull request at all, two approvals, unprotected, archived, empty
		}
		approvals = append(approvals, name+": main: required approvals")
	}
	want := map[string]struct {
		status rampart.Status
		items  []string
	}{
		"GH-ORG-2FA":                  {pass, nil},
		"GH-ORG-BASE-PERMISSION":      {pass, nil},
		"GH-ORG-PUBLIC-REPOS":         {pass, nil},
		"GH-ORG-ADMINS":               {fail, []string{"owner carol", "repo-0022: outside admin mallory"}},
		"GH-ORG-ACTIONS-ALLOWED":      {fail, []string{"organization acme: allowed actions"}},
		"GH-ORG-WORKFLOW-PERMISSIONS": {fail, []string{"organization acme: workflows approve pull requests"}},
		"GH-ORG-SECURITY-DEFAULTS":    {pass, nil},
		"GH-ORG-WEBHOOKS":             {fail, []string{"webhook 2: TLS verification", "webhook 2: plain HTTP", "webhook 2: secret"}},
		"GH-ORG-APPS":                 {pass, nil},
		"GH-ORG-AUDIT-LOG":            {pass, nil},
		"GH-REPO-BRANCH-PROTECTED":    {fail, []string{"repo-0003: main", "repo-0012: main"}},
		"GH-REPO-REVIEWS": {fail, append(approvals,
			"repo-0005: main: code owner review", "repo-0005: main: pull request", "repo-0005: main: stale approvals")},
		"GH-REPO-STATUS-CHECKS":             {fail, []string{"repo-0028: main: status checks"}},
		"GH-REPO-FORCE-PUSH":                {fail, []string{"repo-0007: main: force pushes", "repo-0008: main: deletion"}},
		"GH-REPO-ADMIN-ENFORCED":            {fail, []string{"repo-0013: main: administrators"}},
		"GH-REPO-SIGNED-COMMITS":            {na, nil},
		"GH-REPO-VISIBILITY":                {fail, []string{"repo-0015: visibility"}},
		"GH-REPO-WIKI-PROJECTS":             {fail, []string{"repo-0017: wiki", "repo-0018: projects"}},
		"GH-REPO-VULN-ALERTS":               {fail, []string{"repo-0019: Dependabot alerts"}},
		"GH-REPO-SECRET-SCANNING":           {fail, []string{"repo-0020: push protection", "repo-0020: secret scanning"}},
		"GH-REPO-DEPLOY-KEYS":               {fail, []string{"repo-0021: deploy key deployer", "repo-0029: deploy key key-22"}},
		"GH-FILES-GHA-ACTION-PIN":           {fail, nil}, // items are the workflow scanner's; checked below
		"GH-FILES-DOCKER-ROOT-USER":         {fail, nil},
		"GH-FILES-DOCKER-MULTI-STAGE":       {fail, nil},
		"GH-FILES-REPO-CODEOWNERS":          {fail, nil},
		"GH-FILES-REPO-SECURITY-POLICY":     {pass, nil},
		"GH-FILES-REPO-PRE-COMMIT":          {pass, nil},
		"GH-FILES-REPO-PRE-COMMIT-SECRETS":  {pass, nil},
		"GH-FILES-REPO-PRE-COMMIT-LINT":     {pass, nil},
		"GH-FILES-REPO-DEPENDENCY-UPDATES":  {pass, nil},
		"GH-FILES-DOCKER-BASE-IMAGE":        {pass, nil},
		"GH-FILES-DOCKER-DIGEST":            {pass, nil},
		"GH-FILES-DOCKER-LATEST":            {pass, nil},
		"GH-FILES-DOCKER-ADD-REMOTE":        {pass, nil},
		"GH-FILES-DOCKER-SECRET-ENV":        {pass, nil},
		"GH-FILES-DOCKER-CURL-PIPE":         {pass, nil},
		"GH-FILES-DOCKER-HEALTHCHECK":       {pass, nil},
		"GH-FILES-DOCKER-PARSE":             {pass, nil},
		"GH-FILES-GHA-PERMISSIONS":          {pass, nil},
		"GH-FILES-GHA-UNTRUSTED-CHECKOUT":   {pass, nil},
		"GH-FILES-GHA-SCRIPT-INJECTION":     {pass, nil},
		"GH-FILES-GHA-SECRETS-INHERIT":      {pass, nil},
		"GH-FILES-GHA-SELF-HOSTED":          {pass, nil}, // the two public repositories
		"GH-FILES-GHA-CHECKOUT-CREDENTIALS": {pass, nil},
		"GH-FILES-GHA-ACTIONLINT":           {pass, nil},
	}
	// A file finding names the repository, then the scanner's own item.
	filePrefix := map[string]string{
		"GH-FILES-GHA-ACTION-PIN":     "repo-0025: ",
		"GH-FILES-DOCKER-ROOT-USER":   "repo-0026: ",
		"GH-FILES-DOCKER-MULTI-STAGE": "repo-0026: ",
		"GH-FILES-REPO-CODEOWNERS":    "repo-0027: ",
	}
	got := map[string]rampart.Result{}
	for _, r := range sum.Results {
		got[r.CheckID] = r
	}
	if len(got) != len(github.Checks()) {
		t.Errorf("%d results, want one per check (%d)", len(got), len(github.Checks()))
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		r := got[id]
		w, ok := want[id]
		if !ok {
			if strings.HasPrefix(id, "GH-FILES-TF-") {
				w.status = na // no repository holds Terraform
			} else {
				t.Errorf("%s: no expectation (status %s, reason %q)", id, r.Status, r.Reason)
				continue
			}
		}
		if r.Status != w.status {
			t.Errorf("%s = %s (reason %q, findings %v), want %s", id, r.Status, r.Reason, itemsOf(r), w.status)
			continue
		}
		if prefix, ok := filePrefix[id]; ok {
			if len(r.Findings) == 0 {
				t.Errorf("%s fails without findings", id)
			}
			for _, f := range r.Findings {
				if !strings.HasPrefix(f.Item, prefix) {
					t.Errorf("%s: finding %q, want only %s…", id, f.Item, prefix)
				}
				if f.Location.Path != "" && !strings.HasPrefix(f.Location.Path, strings.TrimSuffix(prefix, ": ")+"/") {
					t.Errorf("%s: location %q is not under the repository", id, f.Location.Path)
				}
			}
			continue
		}
		wantItems := slices.Clone(w.items)
		slices.Sort(wantItems)
		if gotItems := itemsOf(r); !slices.Equal(gotItems, wantItems) {
			t.Errorf("%s findings:\n got %q\nwant %q", id, gotItems, wantItems)
		}
		if r.Status == pass && r.Reason == "" {
			t.Errorf("%s passes without saying what it saw", id)
		}
	}
	if r := got["GH-ORG-AUDIT-LOG"]; !strings.HasPrefix(r.Reason, "3 audit log event(s)") {
		t.Errorf("audit log reason %q, want the 3 events of the period", r.Reason)
	}
	if r := got["GH-ORG-APPS"]; !containsAll(r.Reason, "renovate", "contents:write") {
		t.Errorf("apps reason %q does not record renovate's permissions", r.Reason)
	}
}

func itemsOf(r rampart.Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Item)
	}
	slices.Sort(out)
	return out
}
