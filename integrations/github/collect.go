package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/cache"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// MaxAuditEvents bounds how many audit log events one collection reads;
// the summary says when the period held more.
const MaxAuditEvents = 20000

// Collector collects github-org facts.
type Collector struct {
	Env rampart.Env
	// Transport carries the requests; nil means http.DefaultTransport.
	// Tests and benchmarks point it at a fake.
	Transport http.RoundTripper
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sleep waits for rate limits; nil sleeps for real.
	Sleep func(ctx context.Context, d time.Duration) error
}

var _ rampart.Collector = (*Collector)(nil)

// client is one collection's connection to GitHub.
type client struct {
	mu    sync.Mutex
	spec  *Spec
	tr    *transport
	rest  *gh.Client
	gql   *graphQL
	store *store
	scan  scan.Cache
	now   func() time.Time
	kind  string
}

// Collect implements rampart.Collector.
func (c *Collector) Collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	spec, ok := r.Spec.(*Spec)
	if !ok || spec == nil {
		return nil, fmt.Errorf("resource %s has no github-org spec", r.ID)
	}
	cl, err := c.connect(spec)
	if err != nil {
		return nil, err
	}
	facts := &Facts{
		Org: spec.Org, BaseURL: spec.restBase(), CollectedAt: cl.now().UTC(),
		Policy: spec.policy(), Token: TokenInfo{Kind: cl.kind}, FilesScanned: spec.ScanFiles,
	}
	if cl.kind == "app" {
		facts.Token.AppID, facts.Token.InstallationID = spec.AppID, spec.InstallationID
	}
	if err := cl.organization(ctx, facts); err != nil {
		return nil, err
	}
	for _, step := range []func(context.Context, *Facts) error{
		cl.owners, cl.actions, cl.webhooks, cl.installations, cl.auditLog, cl.repositories,
	} {
		if err := step(ctx, facts); err != nil {
			return nil, err
		}
	}
	if scopes, ok := cl.tr.tokenScopes(); ok {
		facts.Token.Scopes = slices.Clone(scopes)
	}
	facts.Usage = cl.tr.usage()
	return facts, nil
}

// connect resolves the credential and builds the clients.
func (c *Collector) connect(spec *Spec) (*client, error) {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	getenv, readFile := c.Env.Getenv, c.Env.ReadFile
	if getenv == nil {
		getenv = os.Getenv
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	dir := spec.CacheDir
	if dir == "" {
		dir = defaultCacheDir(getenv)
	}
	st, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	var sc scan.Cache = cache.Disabled()
	if dir != "" {
		if d, err := cache.Open(dir); err == nil {
			sc = d
		}
	}
	tr := newTransport(c.Transport, spec.Concurrency)
	tr.store, tr.cred, tr.now, tr.maxWait = st, spec.credentialID(), now, spec.MaxWait
	if c.Sleep != nil {
		tr.sleep = c.Sleep
	}
	cl := &client{spec: spec, tr: tr, store: st, scan: sc, now: now}
	if spec.Token != "" {
		tok, err := spec.Token.Resolve(getenv, readFile)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		cl.kind = "token"
		tr.auth = func(context.Context) (string, error) { return "Bearer " + tok, nil }
	} else {
		pemText, err := spec.PrivateKey.Resolve(getenv, readFile)
		if err != nil {
			return nil, fmt.Errorf("privateKey: %w", err)
		}
		key, err := ParsePrivateKey([]byte(pemText))
		if err != nil {
			return nil, fmt.Errorf("privateKey %s: %w", spec.PrivateKey, err)
		}
		// The token exchange is counted like any request, but carries
		// its own JWT and is never cached.
		apps := &appTokens{
			baseURL: spec.restBase(), appID: spec.AppID, installationID: spec.InstallationID,
			key: key, client: &http.Client{Transport: countInto(tr)}, now: now,
		}
		cl.kind = "app"
		tr.auth = apps.header
	}
	httpClient := &http.Client{Transport: tr}
	rest, err := gh.NewClient(
		gh.WithHTTPClient(httpClient),
		gh.WithDisableRateLimitCheck(), // the transport paces; go-github's check would refuse without asking
		gh.WithURLs(new(spec.restBase()), new(spec.restBase())),
		gh.WithUserAgent("rampart"),
	)
	if err != nil {
		return nil, fmt.Errorf("GitHub client: %w", err)
	}
	cl.rest = rest
	cl.gql = &graphQL{url: spec.graphqlEndpoint(), http: httpClient, tr: tr}
	return cl, nil
}

// countInto makes the token exchange's requests count in the main
// transport's usage without its ETag cache or its authentication.
func countInto(main *transport) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := main.base.RoundTrip(req)
		if err == nil {
			main.requests.Add(1)
			main.rest.Add(1)
			main.restPoints.Add(1)
			main.observe(resourceOf(req), resp.Header)
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fatal reports failures that no section can survive: a rejected
// credential, a spent rate limit, a cancelled context.
func (cl *client) fatal(err error) error {
	switch {
	case unauthorized(err):
		return fmt.Errorf("GitHub rejected the credential %s (401 Bad credentials): renew it or fix the reference", cl.spec.credentialID())
	case errors.Is(err, errRateLimited), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return nil
}

// organization reads GET /orgs/{org}. Without it nothing can be judged,
// so its failure fails the collection.
func (cl *client) organization(ctx context.Context, f *Facts) error {
	org, _, err := cl.rest.Organizations.Get(ctx, cl.spec.Org)
	if err != nil {
		if fe := cl.fatal(err); fe != nil {
			return fe
		}
		if a, ok := asAPIError(err); ok && a.Status == http.StatusNotFound {
			return fmt.Errorf("organization %q does not exist on %s, or the token cannot see it", cl.spec.Org, cl.spec.restBase())
		}
		return fmt.Errorf("read organization %s: %w", cl.spec.Org, err)
	}
	s := &f.Organization
	s.Plan = org.GetPlan().GetName()
	s.TwoFactorRequired = org.TwoFactorRequirementEnabled
	s.DefaultRepositoryPermission = org.GetDefaultRepoPermission()
	s.MembersCanCreatePublicRepositories = org.MembersCanCreatePublicRepos
	s.SecretScanningForNewRepositories = org.SecretScanningEnabledForNewRepos
	s.PushProtectionForNewRepositories = org.SecretScanningPushProtectionEnabledForNewRepos
	s.DependabotAlertsForNewRepositories = org.DependabotAlertsEnabledForNewRepos
	if org.TwoFactorRequirementEnabled == nil {
		// GitHub answers 200 to anyone, leaving out what only an owner's
		// token with admin:org may see.
		s.Error = cl.lacks(needAdminOrg, "the organization's security settings",
			"GitHub left two_factor_requirement_enabled out of GET /orgs/"+cl.spec.Org+", which it does for tokens without it")
	}
	return nil
}

// lacks words a missing scope that GitHub signalled by leaving fields out
// rather than by an error.
func (cl *client) lacks(n need, what, how string) string {
	scopes, scoped := cl.tr.tokenScopes()
	if scoped {
		has := "no scopes"
		if len(scopes) > 0 {
			has = strings.Join(scopes, ", ")
		}
		return fmt.Sprintf("the token lacks %s to read %s (%s; the token has %s)", n.Scope, what, how, has)
	}
	return fmt.Sprintf("the token lacks %s (or the classic scope %s) to read %s (%s)", n.Permission, n.Scope, what, how)
}

// section records a non-fatal failure as the section's reason.
func (cl *client) section(err error, what string, n need) (string, error) {
	if fe := cl.fatal(err); fe != nil {
		return "", fe
	}
	return cl.explain(err, what, n), nil
}

func (cl *client) owners(ctx context.Context, f *Facts) error {
	opt := &gh.ListMembersOptions{Role: "admin", ListOptions: gh.ListOptions{PerPage: 100}}
	logins := []string{}
	for {
		users, resp, err := cl.rest.Organizations.ListMembers(ctx, cl.spec.Org, opt)
		if err != nil {
			msg, fe := cl.section(err, "the organization's owners", needReadOrg)
			f.Owners.Error = msg
			return fe
		}
		for _, u := range users {
			logins = append(logins, u.GetLogin())
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	sort.Strings(logins)
	f.Owners.Logins = logins
	return nil
}

func (cl *client) actions(ctx context.Context, f *Facts) error {
	a := &f.Actions
	perms, _, err := cl.rest.Actions.GetActionsPermissions(ctx, cl.spec.Org)
	if err != nil {
		msg, fe := cl.section(err, "the organization's Actions policy", needAdminOrg)
		if fe != nil {
			return fe
		}
		a.Error = msg
	} else {
		a.EnabledRepositories, a.AllowedActions = perms.GetEnabledRepositories(), perms.GetAllowedActions()
	}
	wf, _, err := cl.rest.Actions.GetDefaultWorkflowPermissionsInOrganization(ctx, cl.spec.Org)
	if err != nil {
		msg, fe := cl.section(err, "the organization's default workflow permissions", needAdminOrg)
		if fe != nil {
			return fe
		}
		a.WorkflowError = msg
		return nil
	}
	a.DefaultWorkflowPermissions = wf.GetDefaultWorkflowPermissions()
	a.CanApprovePullRequestReviews = wf.CanApprovePullRequestReviews
	return nil
}

func (cl *client) webhooks(ctx context.Context, f *Facts) error {
	opt := &gh.ListOptions{PerPage: 100}
	hooks := []Webhook{}
	for {
		page, resp, err := cl.rest.Organizations.ListHooks(ctx, cl.spec.Org, opt)
		if err != nil {
			msg, fe := cl.section(err, "the organization's webhooks", needHooks)
			f.Webhooks.Error = msg
			return fe
		}
		for _, h := range page {
			cfg := h.GetConfig()
			hooks = append(hooks, Webhook{
				ID: h.GetID(), URL: cfg.GetURL(), Active: h.GetActive(), Events: h.Events,
				HasSecret: cfg.GetSecret() != "", InsecureSSL: cfg.GetInsecureSSL(),
			})
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	f.Webhooks.Hooks = hooks
	return nil
}

func (cl *client) installations(ctx context.Context, f *Facts) error {
	opt := &gh.ListOptions{PerPage: 100}
	apps := []AppInstallation{}
	for {
		page, resp, err := cl.rest.Organizations.ListInstallations(ctx, cl.spec.Org, opt)
		if err != nil {
			msg, fe := cl.section(err, "the organization's installed GitHub Apps", needAdminOrg)
			f.Installations.Error = msg
			return fe
		}
		for _, in := range page.Installations {
			perms := map[string]string{}
			if b, err := json.Marshal(in.GetPermissions()); err == nil {
				_ = json.Unmarshal(b, &perms)
			}
			apps = append(apps, AppInstallation{
				ID: in.GetID(), AppSlug: in.GetAppSlug(), AppID: in.GetAppID(),
				RepositorySelection: in.GetRepositorySelection(), Permissions: perms,
				Events: in.Events, Suspended: in.SuspendedAt != nil,
			})
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	f.Installations.Apps = apps
	return nil
}

// auditLog reads the review period's events, newest first, through the
// cursor pagination GitHub uses for the audit log.
func (cl *client) auditLog(ctx context.Context, f *Facts) error {
	a := &f.AuditLog
	a.To = f.CollectedAt
	a.From = f.CollectedAt.AddDate(0, 0, -cl.spec.AuditLogDays)
	opt := &gh.GetAuditLogOptions{
		Phrase:            new("created:>=" + a.From.Format(time.DateOnly)),
		Include:           new("all"),
		ListCursorOptions: gh.ListCursorOptions{PerPage: 100},
	}
	for {
		events, resp, err := cl.rest.Organizations.GetAuditLog(ctx, cl.spec.Org, opt)
		if err != nil {
			if fe := cl.fatal(err); fe != nil {
				return fe
			}
			ae, ok := asAPIError(err)
			if ok && ae.Status == http.StatusNotFound && !cl.lacksScope("read:audit_log", "audit_log") && f.Organization.Plan != "enterprise" {
				// An Enterprise Cloud organization has the API, so there a
				// 404 means the token; elsewhere it means the plan.
				a.Available, a.Events, a.ByAction = false, 0, nil
				plan := "plan " + strconv.Quote(f.Organization.Plan)
				if f.Organization.Plan == "" {
					plan = "the plan is not visible to the token"
				}
				a.Reason = fmt.Sprintf("the organization's plan has no audit log API (GitHub answered 404 to GET /orgs/%s/audit-log; %s; the API comes with GitHub Enterprise Cloud)",
					cl.spec.Org, plan)
				if _, scoped := cl.tr.tokenScopes(); !scoped {
					a.Reason += "; if the organization is on Enterprise Cloud, the token lacks " + needAuditLog.Permission
				}
				return nil
			}
			a.Error = cl.explain(err, "the organization's audit log", needAuditLog)
			return nil
		}
		a.Available = true
		for _, e := range events {
			if a.Events >= MaxAuditEvents {
				a.Truncated = true
				break
			}
			a.Events++
			if a.ByAction == nil {
				a.ByAction = map[string]int{}
			}
			a.ByAction[e.GetAction()]++
			at := e.GetCreatedAt().Time
			if at.IsZero() {
				at = e.GetTimestamp().Time
			}
			if !at.IsZero() {
				if a.Oldest.IsZero() || at.Before(a.Oldest) {
					a.Oldest = at.UTC()
				}
				if at.After(a.Newest) {
					a.Newest = at.UTC()
				}
			}
		}
		if a.Truncated || resp.After == "" {
			break
		}
		opt.After = resp.After
	}
	a.Available = true
	return nil
}
