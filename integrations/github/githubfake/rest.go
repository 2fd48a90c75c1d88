package githubfake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// created is the fake's fixed creation time, so that payloads (and their
// ETags) do not change between scans.
var created = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func (s *Server) routes() {
	m := http.NewServeMux()
	handle := func(pattern string, fn func(r *http.Request, rp *reply, tok *Token)) {
		m.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
			rp, tok := replyOf(r)
			s.mu.Lock()
			org := s.cfg.Org
			s.stats.Routes[r.Pattern]++
			s.mu.Unlock()
			if o := r.PathValue("org"); o != "" && !strings.EqualFold(o, org.Login) {
				rp.error(http.StatusNotFound, "Not Found")
				return
			}
			if o := r.PathValue("owner"); o != "" && !strings.EqualFold(o, org.Login) {
				rp.error(http.StatusNotFound, "Not Found")
				return
			}
			fn(r, rp, tok)
		})
	}
	handle("GET /orgs/{org}", s.getOrg)
	handle("GET /orgs/{org}/members", s.listMembers)
	handle("GET /orgs/{org}/actions/permissions", s.actionsPermissions)
	handle("GET /orgs/{org}/actions/permissions/workflow", s.workflowPermissions)
	handle("GET /orgs/{org}/hooks", s.listHooks)
	handle("GET /orgs/{org}/installations", s.listInstallations)
	handle("GET /orgs/{org}/audit-log", s.auditLog)
	handle("GET /orgs/{org}/repos", s.listRepos)
	handle("GET /orgs/{org}/rulesets/{id}", s.orgRuleset)
	handle("GET /repos/{owner}/{repo}", s.getRepo)
	handle("GET /repos/{owner}/{repo}/rulesets/{id}", s.repoRuleset)
	handle("GET /repos/{owner}/{repo}/git/trees/{sha}", s.getTree)
	handle("GET /repos/{owner}/{repo}/git/blobs/{sha}", s.getBlob)
	s.mux = m
}

func (s *Server) org() *Org {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Org
}

func (s *Server) user(r *http.Request, login string, id int) map[string]any {
	return map[string]any{
		"login": login, "id": id, "node_id": fmt.Sprintf("MDQ6VXNlcj%d", id),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.Itoa(id), "gravatar_id": "",
		"url": s.base(r) + "/users/" + login, "html_url": "https://github.com/" + login,
		"type": "User", "site_admin": false,
	}
}

func (s *Server) getOrg(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org, read:org, repo, user, write:org"
	o := s.org()
	base := s.base(r)
	public := 0
	for _, repo := range o.Repos {
		if repo.Visibility == "public" {
			public++
		}
	}
	m := map[string]any{
		"login": o.Login, "id": o.ID, "node_id": fmt.Sprintf("MDEyOk9yZ2FuaXphdGlvbj%d", o.ID),
		"url": base + "/orgs/" + o.Login, "repos_url": base + "/orgs/" + o.Login + "/repos",
		"events_url": base + "/orgs/" + o.Login + "/events", "hooks_url": base + "/orgs/" + o.Login + "/hooks",
		"issues_url": base + "/orgs/" + o.Login + "/issues", "members_url": base + "/orgs/" + o.Login + "/members{/member}",
		"public_members_url": base + "/orgs/" + o.Login + "/public_members{/member}",
		"avatar_url":         "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(o.ID, 10),
		"description":        "", "name": o.Login, "company": nil, "blog": "", "location": nil, "email": nil,
		"twitter_username": nil, "is_verified": false, "has_organization_projects": true,
		"has_repository_projects": true, "public_repos": public, "public_gists": 0, "followers": 0, "following": 0,
		"html_url": "https://github.com/" + o.Login, "type": "Organization",
		"created_at": created.Format(time.RFC3339), "updated_at": created.Format(time.RFC3339), "archived_at": nil,
	}
	if tok.admin() {
		private := len(o.Repos) - public
		m["total_private_repos"] = private
		m["owned_private_repos"] = private
		m["private_gists"] = 0
		m["disk_usage"] = 10000
		m["collaborators"] = 0
		m["billing_email"] = "billing@example.com"
		m["plan"] = map[string]any{"name": o.Plan, "space": 976562499, "private_repos": 999999, "filled_seats": len(o.Owners), "seats": 50}
		m["default_repository_permission"] = o.DefaultRepositoryPermission
		m["members_can_create_repositories"] = true
		m["two_factor_requirement_enabled"] = o.TwoFactorRequired
		m["members_allowed_repository_creation_type"] = "all"
		m["members_can_create_public_repositories"] = o.MembersCanCreatePublicRepositories
		m["members_can_create_private_repositories"] = true
		m["members_can_create_internal_repositories"] = o.Plan == "enterprise"
		m["members_can_create_pages"] = true
		m["members_can_fork_private_repositories"] = false
		m["web_commit_signoff_required"] = false
		m["advanced_security_enabled_for_new_repositories"] = false
		m["dependabot_alerts_enabled_for_new_repositories"] = o.DependabotAlertsForNew
		m["dependabot_security_updates_enabled_for_new_repositories"] = false
		m["dependency_graph_enabled_for_new_repositories"] = true
		m["secret_scanning_enabled_for_new_repositories"] = o.SecretScanningForNew
		m["secret_scanning_push_protection_enabled_for_new_repositories"] = o.PushProtectionForNew
		m["secret_scanning_push_protection_custom_link_enabled"] = false
		m["secret_scanning_push_protection_custom_link"] = nil
	}
	rp.json(http.StatusOK, m)
}

func (s *Server) listMembers(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org, read:org, write:org"
	if !tok.has("read:org") {
		rp.error(http.StatusForbidden, "You must have the read:org scope to list the members of this organization.")
		return
	}
	o := s.org()
	logins := o.Owners
	if role := r.URL.Query().Get("role"); role != "" && role != "admin" && role != "all" {
		logins = nil
	}
	items := make([]any, len(logins))
	for i, l := range logins {
		items[i] = s.user(r, l, 500+i)
	}
	s.paginate(r, rp, items)
}

func (s *Server) actionsPermissions(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org"
	if !tok.admin() {
		rp.error(http.StatusForbidden, "Resource not accessible by personal access token")
		return
	}
	o := s.org()
	m := map[string]any{"enabled_repositories": o.EnabledRepositories, "allowed_actions": o.AllowedActions, "sha_pinning_required": false}
	if o.AllowedActions == "selected" {
		m["selected_actions_url"] = fmt.Sprintf("%s/organizations/%d/actions/permissions/selected-actions", s.base(r), o.ID)
	}
	if o.EnabledRepositories == "selected" {
		m["selected_repositories_url"] = fmt.Sprintf("%s/organizations/%d/actions/permissions/repositories", s.base(r), o.ID)
	}
	rp.json(http.StatusOK, m)
}

func (s *Server) workflowPermissions(_ *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org"
	if !tok.admin() {
		rp.error(http.StatusForbidden, "Resource not accessible by personal access token")
		return
	}
	o := s.org()
	rp.json(http.StatusOK, map[string]any{
		"default_workflow_permissions":     o.DefaultWorkflowPermissions,
		"can_approve_pull_request_reviews": o.CanApprovePullRequestReviews,
	})
}

func (s *Server) listHooks(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org_hook"
	if !tok.Owner || !tok.has("admin:org_hook") {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	o := s.org()
	base := s.base(r) + "/orgs/" + o.Login + "/hooks/"
	items := make([]any, len(o.Hooks))
	for i, h := range o.Hooks {
		cfg := map[string]any{"url": h.URL, "content_type": "json", "insecure_ssl": "0"}
		if h.InsecureSSL {
			cfg["insecure_ssl"] = "1"
		}
		if h.Secret {
			cfg["secret"] = "********"
		}
		items[i] = map[string]any{
			"id": h.ID, "url": base + strconv.FormatInt(h.ID, 10), "ping_url": base + strconv.FormatInt(h.ID, 10) + "/pings",
			"deliveries_url": base + strconv.FormatInt(h.ID, 10) + "/deliveries", "name": "web", "events": h.Events,
			"active": h.Active, "config": cfg, "updated_at": created.Format(time.RFC3339),
			"created_at": created.Format(time.RFC3339), "type": "Organization",
		}
	}
	s.paginate(r, rp, items)
}

func (s *Server) listInstallations(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org"
	if !tok.admin() {
		rp.error(http.StatusForbidden, "You must be an organization owner with admin:org to list the installations of this organization.")
		return
	}
	o := s.org()
	items := make([]any, len(o.Installations))
	for i, in := range o.Installations {
		items[i] = map[string]any{
			"id": in.ID, "account": s.user(r, o.Login, int(o.ID)),
			"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", s.base(r), in.ID),
			"repositories_url":  s.base(r) + "/installation/repositories",
			"html_url":          fmt.Sprintf("https://github.com/organizations/%s/settings/installations/%d", o.Login, in.ID),
			"app_id":            in.AppID, "app_slug": in.AppSlug, "target_id": o.ID, "target_type": "Organization",
			"permissions": in.Permissions, "events": in.Events, "single_file_name": nil,
			"has_multiple_single_files": false, "single_file_paths": []string{},
			"repository_selection": in.RepositorySelection, "created_at": created.Format(time.RFC3339),
			"updated_at": created.Format(time.RFC3339), "suspended_at": nil, "suspended_by": nil,
		}
	}
	// The list is wrapped with its total, and paginated like the others.
	start, end := s.page(r, rp, len(items))
	rp.json(http.StatusOK, map[string]any{"total_count": len(items), "installations": items[start:end]})
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// auditLog answers GET /orgs/{org}/audit-log: Enterprise Cloud only,
// newest first, created:>=DATE phrases, cursor pagination by "after".
func (s *Server) auditLog(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "read:audit_log"
	o := s.org()
	if o.Plan != "enterprise" || !tok.Owner || !tok.has("read:audit_log") {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	q := r.URL.Query()
	var since time.Time
	for f := range strings.FieldsSeq(q.Get("phrase")) {
		if v, ok := strings.CutPrefix(f, "created:>="); ok {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				rp.error(http.StatusUnprocessableEntity, "Invalid phrase")
				return
			}
			since = t
		}
	}
	events := slices.Clone(o.AuditLog)
	slices.SortStableFunc(events, func(a, b AuditEvent) int { return b.At.Compare(a.At) })
	var items []any
	for i, e := range events {
		if e.At.Before(since) {
			continue
		}
		ms := e.At.UnixMilli()
		items = append(items, map[string]any{
			"@timestamp": ms, "created_at": ms, "_document_id": fmt.Sprintf("doc%06d", i),
			"action": e.Action, "actor": e.Actor, "actor_id": 500, "org": o.Login, "org_id": o.ID,
		})
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	per = max(1, min(100, cmpOr(per, 30)))
	start := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 {
			rp.error(http.StatusUnprocessableEntity, "Invalid cursor")
			return
		}
		start = min(n, len(items))
	}
	end := min(start+per, len(items))
	if end < len(items) {
		nq := r.URL.Query()
		nq.Set("after", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(end))))
		nq.Set("before", "")
		nq.Del("page")
		rp.header.Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, s.base(r), r.URL.Path, nq.Encode()))
	}
	page := items[start:end]
	if page == nil {
		page = []any{}
	}
	rp.json(http.StatusOK, page)
}

func (s *Server) visible(tok *Token, repo *Repo) bool {
	return repo.Visibility == "public" || tok.has("repo")
}

func (s *Server) repoJSON(r *http.Request, tok *Token, o *Org, repo *Repo) map[string]any {
	base := s.base(r)
	full := o.Login + "/" + repo.Name
	m := map[string]any{
		"id": repo.ID, "node_id": fmt.Sprintf("R_kgDO%08d", repo.ID), "name": repo.Name, "full_name": full,
		"owner": map[string]any{
			"login": o.Login, "id": o.ID, "node_id": fmt.Sprintf("MDEyOk9yZ2FuaXphdGlvbj%d", o.ID),
			"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(o.ID, 10),
			"url":        base + "/users/" + o.Login, "html_url": "https://github.com/" + o.Login,
			"type": "Organization", "site_admin": false,
		},
		"private": repo.Visibility != "public", "html_url": "https://github.com/" + full, "description": nil,
		"fork": repo.Fork, "url": base + "/repos/" + full,
		"git_url": "git://github.com/" + full + ".git", "ssh_url": "git@github.com:" + full + ".git",
		"clone_url": "https://github.com/" + full + ".git", "homepage": nil, "size": 100,
		"stargazers_count": 0, "watchers_count": 0, "language": "Go", "has_issues": true,
		"has_projects": repo.HasProjects, "has_downloads": true, "has_wiki": repo.HasWiki, "has_pages": false,
		"has_discussions": false, "forks_count": 0, "mirror_url": nil, "archived": repo.Archived, "disabled": false,
		"open_issues_count": 0, "license": nil, "allow_forking": false, "is_template": false,
		"web_commit_signoff_required": false, "topics": []string{}, "visibility": repo.Visibility,
		"forks": 0, "open_issues": 0, "watchers": 0, "default_branch": repo.DefaultBranch,
		"created_at": created.Format(time.RFC3339), "updated_at": created.Format(time.RFC3339),
		"pushed_at":   created.Format(time.RFC3339),
		"permissions": map[string]bool{"admin": tok.Owner, "maintain": tok.Owner, "push": tok.Owner, "triage": true, "pull": true},
	}
	if tok.Owner && tok.has("repo") {
		status := func(b bool) map[string]string {
			if b {
				return map[string]string{"status": "enabled"}
			}
			return map[string]string{"status": "disabled"}
		}
		m["security_and_analysis"] = map[string]any{
			"advanced_security":               status(false),
			"dependabot_security_updates":     status(false),
			"secret_scanning":                 status(repo.SecretScanning),
			"secret_scanning_push_protection": status(repo.PushProtection),
		}
	}
	return m
}

func (s *Server) listRepos(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "repo"
	o := s.org()
	var items []any
	for _, repo := range o.Repos {
		if s.visible(tok, repo) {
			items = append(items, s.repoJSON(r, tok, o, repo))
		}
	}
	if items == nil {
		items = []any{}
	}
	s.paginate(r, rp, items)
}

func (s *Server) repo(r *http.Request, tok *Token) *Repo {
	name := strings.ToLower(pathUnescape(r.PathValue("repo")))
	s.mu.Lock()
	repo := s.byName[name]
	s.mu.Unlock()
	if repo == nil || !s.visible(tok, repo) {
		return nil
	}
	return repo
}

func (s *Server) getRepo(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "repo"
	repo := s.repo(r, tok)
	if repo == nil {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	rp.json(http.StatusOK, s.repoJSON(r, tok, s.org(), repo))
}

func (s *Server) rulesetJSON(r *http.Request, rs *Ruleset, sourceType, source string) map[string]any {
	rules := []any{}
	for _, rule := range rs.Rules {
		m := map[string]any{"type": rule.Type}
		switch rule.Type {
		case "pull_request":
			m["parameters"] = map[string]any{
				"required_approving_review_count":   rule.RequiredApprovingReviewCount,
				"dismiss_stale_reviews_on_push":     rule.DismissStaleReviewsOnPush,
				"require_code_owner_review":         rule.RequireCodeOwnerReview,
				"require_last_push_approval":        false,
				"required_review_thread_resolution": false,
				"allowed_merge_methods":             []string{"merge", "squash", "rebase"},
			}
		case "required_status_checks":
			checks := []any{}
			for _, c := range rule.Contexts {
				checks = append(checks, map[string]any{"context": c})
			}
			m["parameters"] = map[string]any{"strict_required_status_checks_policy": false, "required_status_checks": checks}
		}
		rules = append(rules, m)
	}
	bypass := []any{}
	for i := range rs.BypassActors {
		bypass = append(bypass, map[string]any{"actor_id": i + 1, "actor_type": "RepositoryRole", "bypass_mode": "always"})
	}
	include, exclude := rs.Include, rs.Exclude
	if include == nil {
		include = []string{}
	}
	if exclude == nil {
		exclude = []string{}
	}
	conditions := map[string]any{"ref_name": map[string]any{"include": include, "exclude": exclude}}
	self := fmt.Sprintf("%s/repos/%s/rulesets/%d", s.base(r), source, rs.ID)
	if sourceType == "Organization" {
		conditions["repository_name"] = map[string]any{"include": []string{"~ALL"}, "exclude": []string{}}
		self = fmt.Sprintf("%s/orgs/%s/rulesets/%d", s.base(r), source, rs.ID)
	}
	return map[string]any{
		"id": rs.ID, "name": rs.Name, "target": "branch", "source_type": sourceType, "source": source,
		"enforcement": rs.Enforcement, "bypass_actors": bypass, "current_user_can_bypass": "never",
		"node_id": fmt.Sprintf("RRS_lACkVXNlcs%d", rs.ID), "conditions": conditions, "rules": rules,
		"_links":     map[string]any{"self": map[string]string{"href": self}},
		"created_at": created.Format(time.RFC3339), "updated_at": created.Format(time.RFC3339),
	}
}

func (s *Server) orgRuleset(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "admin:org"
	if !tok.admin() {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	o := s.org()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, rs := range o.Rulesets {
		if rs.ID == id {
			rp.json(http.StatusOK, s.rulesetJSON(r, rs, "Organization", o.Login))
			return
		}
	}
	rp.error(http.StatusNotFound, "Not Found")
}

func (s *Server) repoRuleset(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "repo"
	repo := s.repo(r, tok)
	if repo == nil || !tok.Owner {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	o := s.org()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, rs := range repo.Rulesets {
		if rs.ID == id {
			rp.json(http.StatusOK, s.rulesetJSON(r, rs, "Repository", o.Login+"/"+repo.Name))
			return
		}
	}
	if r.URL.Query().Get("includes_parents") != "false" {
		for _, rs := range o.Rulesets {
			if rs.ID == id {
				rp.json(http.StatusOK, s.rulesetJSON(r, rs, "Organization", o.Login))
				return
			}
		}
	}
	rp.error(http.StatusNotFound, "Not Found")
}

func (s *Server) gitOf(name string) *gitRepo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.git[name]
}

func (s *Server) getTree(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "repo"
	repo := s.repo(r, tok)
	if repo == nil {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	g := s.gitOf(repo.Name)
	sha := r.PathValue("sha")
	prefix := ""
	switch {
	case g == nil || g.tree == "":
		rp.error(http.StatusConflict, "Git Repository is empty.")
		return
	case sha == g.tree || sha == repo.DefaultBranch || sha == g.commit:
		sha = g.tree
	default:
		found := false
		for _, e := range g.entries {
			if e.Type == "tree" && e.SHA == sha {
				prefix, found = e.Path+"/", true
				break
			}
		}
		if !found {
			rp.error(http.StatusNotFound, "Not Found")
			return
		}
	}
	recursive := r.URL.Query().Get("recursive") != "" && r.URL.Query().Get("recursive") != "0" && r.URL.Query().Get("recursive") != "false"
	base := s.base(r) + "/repos/" + s.org().Login + "/" + repo.Name + "/git/"
	entries := []any{}
	for _, e := range g.entries {
		rel, ok := strings.CutPrefix(e.Path, prefix)
		if !ok || (!recursive && strings.Contains(rel, "/")) {
			continue
		}
		m := map[string]any{"path": rel, "mode": e.Mode, "type": e.Type, "sha": e.SHA}
		if e.Type == "blob" {
			m["size"] = e.Size
			m["url"] = base + "blobs/" + e.SHA
		} else {
			m["url"] = base + "trees/" + e.SHA
		}
		entries = append(entries, m)
	}
	rp.json(http.StatusOK, map[string]any{"sha": sha, "url": base + "trees/" + sha, "tree": entries, "truncated": false})
}

func (s *Server) getBlob(r *http.Request, rp *reply, tok *Token) {
	rp.accepted = "repo"
	repo := s.repo(r, tok)
	if repo == nil {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	g := s.gitOf(repo.Name)
	sha := r.PathValue("sha")
	b, ok := g.blobs[sha]
	if !ok {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "raw") {
		rp.status, rp.body = http.StatusOK, b
		rp.header.Set("Content-Type", "application/vnd.github.raw")
		return
	}
	rp.json(http.StatusOK, map[string]any{
		"content": b64(b), "encoding": "base64", "sha": sha, "size": len(b), "node_id": "B_" + sha[:12],
		"url": s.base(r) + "/repos/" + s.org().Login + "/" + repo.Name + "/git/blobs/" + sha,
	})
}
