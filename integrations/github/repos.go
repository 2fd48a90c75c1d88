package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	gh "github.com/google/go-github/v92/github"
)

// repositories reads every repository the register asks about: the REST
// listing (conditional, so free when nothing changed) for the settings
// and security_and_analysis, GraphQL for protection, deploy keys, outside
// admins and the default branch's tree, REST again for the details of
// the active rulesets (one request per ruleset, not per repository), and
// then, if asked, the repositories' files.
func (cl *client) repositories(ctx context.Context, f *Facts) error {
	byName := map[string]*Repository{}
	get := func(name string) *Repository {
		r, ok := byName[name]
		if !ok {
			r = &Repository{Name: name}
			byName[name] = r
		}
		return r
	}

	restRepos, restErr := cl.restRepositories(ctx)
	if restErr != nil {
		if fe := cl.fatal(restErr); fe != nil {
			return fe
		}
	}
	for _, rr := range restRepos {
		r := get(rr.GetName())
		r.Visibility = rr.GetVisibility()
		if r.Visibility == "" {
			r.Visibility = map[bool]string{true: "private", false: "public"}[rr.GetPrivate()]
		}
		r.Archived, r.Fork, r.DefaultBranch = rr.GetArchived(), rr.GetFork(), rr.GetDefaultBranch()
		r.HasWiki, r.HasProjects = rr.HasWiki, rr.HasProjects
		if sa := rr.GetSecurityAndAnalysis(); sa != nil {
			r.SecretScanning = sa.GetSecretScanning().GetStatus()
			r.PushProtection = sa.GetSecretScanningPushProtection().GetStatus()
		}
		if r.SecretScanning == "" {
			r.setError("securityAndAnalysis", "GitHub did not report security_and_analysis for the repository: it shows it only to tokens with admin rights on the repository (an owner's token with repo)")
		}
	}
	heads, err := cl.graphqlRepositories(ctx, byName, get)
	if err != nil {
		return err
	}
	if restErr != nil {
		reason := cl.explain(restErr, "the repositories' settings through the REST API", needRepo)
		if len(byName) == 0 {
			f.RepositoriesError = reason
			return nil
		}
		for _, r := range byName {
			r.setError("securityAndAnalysis", reason)
		}
	}
	if err := cl.rulesets(ctx, byName); err != nil {
		return err
	}

	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	f.Repositories = make([]Repository, 0, len(names))
	for _, n := range names {
		r := byName[n]
		if r.Archived && cl.spec.Archived == "skip" {
			r.Skipped = true
		}
		if r.Errors != nil && r.Errors["notFound"] != "" {
			// A name the register lists that GitHub does not know: every
			// other section would only repeat it.
			r.Errors = map[string]string{"notFound": r.Errors["notFound"]}
		}
		f.Repositories = append(f.Repositories, *r)
	}
	if cl.spec.ScanFiles {
		return cl.files(ctx, f, heads)
	}
	return nil
}

func (r *Repository) setError(section, msg string) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	if _, ok := r.Errors[section]; !ok {
		r.Errors[section] = msg
	}
}

// restRepositories lists the organization's repositories, or reads the
// ones the register names.
func (cl *client) restRepositories(ctx context.Context) ([]*gh.Repository, error) {
	if len(cl.spec.Repositories) > 0 {
		var out []*gh.Repository
		for _, name := range cl.spec.Repositories {
			r, _, err := cl.rest.Repositories.Get(ctx, cl.spec.Org, name)
			if err != nil {
				if a, ok := asAPIError(err); ok && a.Status == http.StatusNotFound {
					// GraphQL will say the same; the repository is reported there.
					continue
				}
				return out, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	opt := &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	var out []*gh.Repository
	for {
		page, resp, err := cl.rest.Repositories.ListByOrg(ctx, cl.spec.Org, opt)
		if err != nil {
			return out, err
		}
		out = append(out, page...)
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// head is what the file scan needs of a repository's default branch.
type head struct {
	commit, tree string
}

// graphqlRepositories reads the repositories through GraphQL, in pages of
// the organization's repositories or in batches of the names the
// register lists.
func (cl *client) graphqlRepositories(ctx context.Context, byName map[string]*Repository, get func(string) *Repository) (map[string]head, error) {
	heads := map[string]head{}
	seen := map[string]bool{}
	var pageErrs []string
	apply := func(g *gqlRepo, errs gqlErrors) error {
		if g == nil {
			return nil
		}
		seen[g.Name] = true
		r := get(g.Name)
		cl.fromGraphQL(ctx, r, g, errs)
		if ref := g.DefaultBranchRef; ref != nil && ref.Target != nil && ref.Target.Tree != nil {
			heads[g.Name] = head{commit: ref.Target.OID, tree: ref.Target.Tree.OID}
		}
		return cl.more(ctx, r, g)
	}
	fail := func(err error) (map[string]head, error) {
		if fe := cl.fatal(err); fe != nil {
			return nil, fe
		}
		reason := cl.graphqlReason(err)
		for _, name := range cl.spec.Repositories {
			get(name)
		}
		for _, r := range byName {
			if !seen[r.Name] {
				r.setGraphQLError(reason)
			}
		}
		return heads, nil
	}
	if names := cl.spec.Repositories; len(names) > 0 {
		for start := 0; start < len(names); start += 50 {
			batch := names[start:min(start+50, len(names))]
			vars := map[string]any{"org": cl.spec.Org}
			for i, n := range batch {
				vars[fmt.Sprintf("n%d", i)] = n
			}
			data := map[string]*gqlRepo{}
			errs, err := cl.gql.do(ctx, namedReposQuery(len(batch)), vars, &data)
			if err != nil {
				return fail(err)
			}
			for i, n := range batch {
				alias := fmt.Sprintf("r%d", i)
				g := data[alias]
				if g == nil {
					r := get(n)
					if e := errs.under(alias); len(e) > 0 && !notFound(e) {
						r.setGraphQLError(fmt.Sprintf("GitHub's GraphQL API gave no data for the repository: %s", e))
					} else {
						r.setError("notFound", fmt.Sprintf("repository %s/%s does not exist, or the token cannot see it", cl.spec.Org, n))
					}
					continue
				}
				if err := apply(g, errs.under(alias)); err != nil {
					return nil, err
				}
			}
		}
		return heads, nil
	}
	var after any
	for {
		var page orgReposPage
		errs, err := cl.gql.do(ctx, orgReposQuery, map[string]any{"org": cl.spec.Org, "first": cl.spec.PageSize, "after": after}, &page)
		if err != nil {
			return fail(err)
		}
		if page.Organization == nil {
			return fail(fmt.Errorf("GitHub's GraphQL API found no organization %q: %s", cl.spec.Org, errs))
		}
		conn := page.Organization.Repositories
		for i, g := range conn.Nodes {
			under := errs.under("organization", "repositories", "nodes", i)
			if g == nil && len(under) > 0 {
				pageErrs = append(pageErrs, under.String())
				continue
			}
			if err := apply(g, under); err != nil {
				return nil, err
			}
		}
		if !conn.PageInfo.HasNextPage || conn.PageInfo.EndCursor == "" {
			break
		}
		after = conn.PageInfo.EndCursor
	}
	if len(pageErrs) > 0 {
		// GitHub nulls a repository whose non-null field it refused, so
		// its name is lost; the REST listing still names it.
		reason := "GitHub's GraphQL API gave no data for the repository: " + strings.Join(slices.Compact(pageErrs), "; ")
		if strings.Contains(reason, "FORBIDDEN") {
			reason = fmt.Sprintf("the token lacks admin rights on the repository (%s or an owner's token with %s); %s",
				needRepoAdmin.Permission, needRepoAdmin.Scope, reason)
		}
		for _, r := range byName {
			if !seen[r.Name] {
				r.setGraphQLError(reason)
			}
		}
	}
	return heads, nil
}

func notFound(errs gqlErrors) bool {
	for _, e := range errs {
		if e.Type == "NOT_FOUND" {
			return true
		}
	}
	return false
}

// graphqlReason words a GraphQL failure for the sections it leaves
// unknown.
func (cl *client) graphqlReason(err error) string {
	var f *gqlFatal
	if errors.As(err, &f) {
		for _, e := range f.Errors {
			if e.Type == "INSUFFICIENT_SCOPES" {
				return "the token lacks a scope GitHub's GraphQL API needs: " + e.Message
			}
		}
	}
	if a, ok := asAPIError(err); ok && (a.Status == http.StatusForbidden || a.Status == http.StatusNotFound) {
		return cl.explain(err, "repositories through GitHub's GraphQL API", needRepo)
	}
	return "GitHub's GraphQL API failed: " + err.Error()
}

// setGraphQLError marks what only GraphQL tells as unknown.
func (r *Repository) setGraphQLError(reason string) {
	for _, s := range []string{"protection", "vulnerabilityAlerts", "deployKeys", "collaborators"} {
		r.setError(s, reason)
	}
}

// fieldSections maps a GraphQL field of repoFields to the section its
// refusal leaves unknown.
var fieldSections = map[string]string{
	"hasVulnerabilityAlertsEnabled": "vulnerabilityAlerts",
	"deployKeys":                    "deployKeys",
	"collaborators":                 "collaborators",
	"rulesets":                      "protection",
	"defaultBranchRef":              "protection",
	"branchProtectionRule":          "protection",
	"hasWikiEnabled":                "settings",
	"hasProjectsEnabled":            "settings",
	"visibility":                    "settings",
}

// fromGraphQL fills a repository from its GraphQL node. errs are the
// errors under the node: the fields GitHub refused.
func (cl *client) fromGraphQL(_ context.Context, r *Repository, g *gqlRepo, errs gqlErrors) {
	for _, e := range errs {
		section := "settings"
		for _, p := range e.Path {
			if s, ok := fieldSections[fmt.Sprint(p)]; ok {
				section = s
			}
		}
		msg := e.Message
		if e.Type == "FORBIDDEN" || e.Type == "INSUFFICIENT_SCOPES" {
			msg = fmt.Sprintf("the token lacks admin rights on the repository (%s; GitHub's GraphQL API said %s: %s)",
				needRepoAdmin.Permission+" or an owner's token with "+needRepoAdmin.Scope, e.Type, e.Message)
		}
		r.setError(section, msg)
	}
	if r.Visibility == "" {
		r.Visibility = strings.ToLower(g.Visibility)
	}
	r.Archived = r.Archived || g.IsArchived
	r.Fork = r.Fork || g.IsFork
	r.Empty = g.IsEmpty
	if r.HasWiki == nil {
		r.HasWiki = new(g.HasWikiEnabled)
	}
	if r.HasProjects == nil {
		r.HasProjects = new(g.HasProjectsEnabled)
	}
	if r.Errors["vulnerabilityAlerts"] == "" {
		r.VulnerabilityAlerts = new(g.HasVulnerabilityAlertsEnabled)
	}
	if g.DeployKeys != nil {
		r.DeployKeys = append([]DeployKey{}, g.DeployKeys.Nodes...)
	} else {
		r.setError("deployKeys", "GitHub's GraphQL API gave no deploy keys for the repository")
	}
	if g.Collaborators != nil {
		r.OutsideAdmins = []string{}
		for _, e := range g.Collaborators.Edges {
			if e.Permission == "ADMIN" {
				r.OutsideAdmins = append(r.OutsideAdmins, e.Node.Login)
			}
		}
	} else {
		r.setError("collaborators", "GitHub's GraphQL API gave no outside collaborators for the repository: it shows them to tokens with admin or push rights on it")
	}
	ref := g.DefaultBranchRef
	if ref == nil {
		return
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = ref.Name
	}
	if bp := ref.BranchProtectionRule; bp != nil {
		p := r.protection()
		p.Sources = append(p.Sources, fmt.Sprintf("branch protection rule %q", bp.Pattern))
		if bp.RequiresApprovingReviews {
			p.RequiresPullRequest = true
			if bp.RequiredApprovingReviewCount != nil {
				p.RequiredApprovingReviews = max(p.RequiredApprovingReviews, *bp.RequiredApprovingReviewCount)
			}
		}
		p.DismissesStaleReviews = p.DismissesStaleReviews || bp.DismissesStaleReviews
		p.RequiresCodeOwnerReviews = p.RequiresCodeOwnerReviews || bp.RequiresCodeOwnerReviews
		if bp.RequiresStatusChecks {
			p.RequiresStatusChecks = true
			p.StatusChecks = append(p.StatusChecks, bp.RequiredStatusCheckContexts...)
		}
		p.BlocksForcePushes = p.BlocksForcePushes || !bp.AllowsForcePushes
		p.BlocksDeletions = p.BlocksDeletions || !bp.AllowsDeletions
		p.EnforcedForAdmins = p.EnforcedForAdmins || bp.IsAdminEnforced
		p.RequiresSignedCommits = p.RequiresSignedCommits || bp.RequiresCommitSignatures
		p.RequiresLinearHistory = p.RequiresLinearHistory || bp.RequiresLinearHistory
		p.RequiresConversationOK = p.RequiresConversationOK || bp.RequiresConversationResolution
	}
	if g.Rulesets != nil {
		r.pending = append(r.pending, g.Rulesets.Nodes...)
	}
}

func (r *Repository) protection() *Protection {
	if r.Protection == nil {
		r.Protection = &Protection{Sources: []string{}}
	}
	return r.Protection
}

// more pages through the rare connections longer than the first query
// reads.
func (cl *client) more(ctx context.Context, r *Repository, g *gqlRepo) error {
	type page struct {
		Repository *struct {
			DeployKeys *struct {
				PageInfo gqlPageInfo `json:"pageInfo"`
				Nodes    []DeployKey `json:"nodes"`
			} `json:"deployKeys"`
			Collaborators *struct {
				PageInfo gqlPageInfo `json:"pageInfo"`
				Edges    []struct {
					Permission string `json:"permission"`
					Node       struct {
						Login string `json:"login"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"collaborators"`
			Rulesets *struct {
				PageInfo gqlPageInfo  `json:"pageInfo"`
				Nodes    []gqlRuleset `json:"nodes"`
			} `json:"rulesets"`
		} `json:"repository"`
	}
	fetch := func(query, section string, use func(*page) gqlPageInfo) error {
		var after any
		for {
			var p page
			_, err := cl.gql.do(ctx, query, map[string]any{"org": cl.spec.Org, "name": r.Name, "after": after}, &p)
			if err != nil {
				if fe := cl.fatal(err); fe != nil {
					return fe
				}
				r.setError(section, cl.graphqlReason(err))
				return nil
			}
			if p.Repository == nil {
				r.setError(section, "GitHub's GraphQL API gave no data for the repository")
				return nil
			}
			pi := use(&p)
			if !pi.HasNextPage || pi.EndCursor == "" {
				return nil
			}
			after = pi.EndCursor
		}
	}
	if g.DeployKeys != nil && g.DeployKeys.TotalCount > len(g.DeployKeys.Nodes) {
		r.DeployKeys = nil
		if err := fetch(moreDeployKeysQuery, "deployKeys", func(p *page) gqlPageInfo {
			if p.Repository.DeployKeys == nil {
				return gqlPageInfo{}
			}
			r.DeployKeys = append(r.DeployKeys, p.Repository.DeployKeys.Nodes...)
			return p.Repository.DeployKeys.PageInfo
		}); err != nil {
			return err
		}
	}
	if g.Collaborators != nil && g.Collaborators.TotalCount > len(g.Collaborators.Edges) {
		r.OutsideAdmins = []string{}
		if err := fetch(moreCollaboratorsQuery, "collaborators", func(p *page) gqlPageInfo {
			if p.Repository.Collaborators == nil {
				return gqlPageInfo{}
			}
			for _, e := range p.Repository.Collaborators.Edges {
				if e.Permission == "ADMIN" {
					r.OutsideAdmins = append(r.OutsideAdmins, e.Node.Login)
				}
			}
			return p.Repository.Collaborators.PageInfo
		}); err != nil {
			return err
		}
	}
	if g.Rulesets != nil && g.Rulesets.TotalCount > len(g.Rulesets.Nodes) {
		r.pending = nil
		if err := fetch(moreRulesetsQuery, "protection", func(p *page) gqlPageInfo {
			if p.Repository.Rulesets == nil {
				return gqlPageInfo{}
			}
			r.pending = append(r.pending, p.Repository.Rulesets.Nodes...)
			return p.Repository.Rulesets.PageInfo
		}); err != nil {
			return err
		}
	}
	return nil
}

// rulesetKey names a ruleset across repositories: organization rulesets
// are read once however many repositories they apply to.
type rulesetKey struct {
	org  bool
	repo string // for repository and enterprise rulesets
	id   int64
}

// rulesets reads the details of every active ruleset that targets a
// default branch (its ref conditions, rules and bypass list: GraphQL's
// per-repository rules connection would cost a point per repository and
// page) and merges their rules into each repository's protection.
func (cl *client) rulesets(ctx context.Context, repos map[string]*Repository) error {
	type outcome struct {
		rs  *gh.RepositoryRuleset
		err string
	}
	cache := map[rulesetKey]*outcome{}
	var mu sync.Mutex
	names := make([]string, 0, len(repos))
	for n := range repos {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		r := repos[n]
		for _, p := range r.pending {
			if p.Enforcement != "ACTIVE" {
				continue
			}
			key := rulesetKey{id: p.DatabaseID}
			if p.Source.Typename == "Organization" {
				key.org = true
			} else {
				key.repo = r.Name
			}
			mu.Lock()
			o, ok := cache[key]
			mu.Unlock()
			if !ok {
				o = &outcome{}
				var err error
				if key.org {
					o.rs, _, err = cl.rest.Organizations.GetRepositoryRuleset(ctx, cl.spec.Org, key.id)
				} else {
					o.rs, _, err = cl.rest.Repositories.GetRuleset(ctx, cl.spec.Org, r.Name, key.id, true)
				}
				if err != nil {
					msg, fe := cl.section(err, fmt.Sprintf("ruleset %d %q", key.id, p.Name), needAdminOrg)
					if fe != nil {
						return fe
					}
					o.rs, o.err = nil, msg
				}
				cache[key] = o
			}
			if o.err != "" {
				// What is known still protects; only a shortfall is in doubt.
				r.setError("protection", o.err)
				continue
			}
			applyRuleset(r, o.rs, p)
		}
		r.pending = nil
		if r.Protection != nil {
			slices.Sort(r.Protection.StatusChecks)
			r.Protection.StatusChecks = slices.Compact(r.Protection.StatusChecks)
		}
	}
	return nil
}

// applyRuleset merges a ruleset's rules into the protection of the
// repository's default branch, when its ref conditions select it.
func applyRuleset(r *Repository, rs *gh.RepositoryRuleset, node gqlRuleset) {
	if rs.Enforcement != gh.RulesetEnforcementActive {
		return
	}
	if c := rs.GetConditions(); c != nil && c.RefName != nil {
		if !RefSelected(c.RefName.Include, c.RefName.Exclude, r.DefaultBranch) {
			return
		}
	} else if rs.GetConditions() == nil && node.Source.Typename == "Organization" {
		// An organization ruleset always names its refs; without them it
		// targets nothing.
		return
	}
	rules := rs.Rules
	if rules == nil {
		return
	}
	p := r.protection()
	owner := strings.ToLower(node.Source.Typename)
	if who := cmp.Or(node.Source.Login, node.Source.NameWithOwner); who != "" {
		owner += " " + who
	}
	p.Sources = append(p.Sources, fmt.Sprintf("ruleset %d %q (%s)", rs.GetID(), rs.Name, owner))
	if pr := rules.PullRequest; pr != nil {
		p.RequiresPullRequest = true
		p.RequiredApprovingReviews = max(p.RequiredApprovingReviews, pr.RequiredApprovingReviewCount)
		p.DismissesStaleReviews = p.DismissesStaleReviews || pr.DismissStaleReviewsOnPush
		p.RequiresCodeOwnerReviews = p.RequiresCodeOwnerReviews || pr.RequireCodeOwnerReview
		p.RequiresConversationOK = p.RequiresConversationOK || pr.RequiredReviewThreadResolution
		if len(rs.BypassActors) == 0 {
			p.EnforcedForAdmins = true
		}
	}
	if sc := rules.RequiredStatusChecks; sc != nil {
		p.RequiresStatusChecks = true
		for _, c := range sc.RequiredStatusChecks {
			p.StatusChecks = append(p.StatusChecks, c.Context)
		}
	}
	p.BlocksForcePushes = p.BlocksForcePushes || rules.NonFastForward != nil
	p.BlocksDeletions = p.BlocksDeletions || rules.Deletion != nil
	p.RequiresSignedCommits = p.RequiresSignedCommits || rules.RequiredSignatures != nil
	p.RequiresLinearHistory = p.RequiresLinearHistory || rules.RequiredLinearHistory != nil
}

// RefSelected reports whether a ruleset's ref_name condition selects the
// default branch: one include pattern matches and no exclude pattern
// does. Patterns are fnmatch globs over full ref names ("refs/heads/*",
// "**" across slashes), or ~DEFAULT_BRANCH and ~ALL.
func RefSelected(include, exclude []string, defaultBranch string) bool {
	ref := "refs/heads/" + defaultBranch
	match := func(p string) bool {
		switch p {
		case "~ALL":
			return true
		case "~DEFAULT_BRANCH":
			return true
		}
		if !strings.HasPrefix(p, "refs/") {
			p = "refs/heads/" + p
		}
		re, err := globRegexp(p)
		return err == nil && re.MatchString(ref)
	}
	if !slices.ContainsFunc(include, match) {
		return false
	}
	return !slices.ContainsFunc(exclude, match)
}

// globRegexp translates an fnmatch pattern: * within a path segment, **
// across them, ? one character, [...] a class.
func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				b.WriteString(regexp.QuoteMeta(p[i:]))
				i = len(p)
				continue
			}
			class := p[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
