package github_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/integrations/github/githubfake"
)

// The second scan of an unchanged organization is billed nothing on REST
// (every GET is answered 304) and fetches no tree or blob; only the
// GraphQL pages cost points, a few per hundred repositories.
func TestSecondScanBilledNothingOnREST(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 120, nil)})
	spec := specFor(t, srv, "acme")
	first := mustCollect(t, srv, spec)
	st1 := srv.Stats()
	srv.ResetStats()
	second := mustCollect(t, srv, spec)
	st2 := srv.Stats()

	if first.Usage.RESTPoints != st1.RESTPoints || first.Usage.GraphQLPoints != st1.GraphQLPoints {
		t.Errorf("first scan counted %d REST and %d GraphQL points, the fake billed %d and %d",
			first.Usage.RESTPoints, first.Usage.GraphQLPoints, st1.RESTPoints, st1.GraphQLPoints)
	}
	if got := st1.Routes["GET /repos/{owner}/{repo}/git/trees/{sha}"]; got != 120 {
		t.Errorf("first scan read %d trees, want one per repository (120)", got)
	}
	if got := st1.Routes["GET /repos/{owner}/{repo}/git/blobs/{sha}"]; got != 0 {
		t.Errorf("first scan read %d blobs through REST, want them all batched through GraphQL", got)
	}
	if st2.RESTPoints != 0 || second.Usage.RESTPoints != 0 {
		t.Errorf("second scan billed %d REST points (counted %d), want 0", st2.RESTPoints, second.Usage.RESTPoints)
	}
	if st2.NotModified != st2.REST {
		t.Errorf("second scan: %d of %d REST requests answered 304, want all", st2.NotModified, st2.REST)
	}
	for _, route := range []string{"GET /repos/{owner}/{repo}/git/trees/{sha}", "GET /repos/{owner}/{repo}/git/blobs/{sha}"} {
		if st2.Routes[route] != 0 {
			t.Errorf("second scan requested %s %d times, want 0 (cached by SHA)", route, st2.Routes[route])
		}
	}
	// 120 repositories are 2 GraphQL pages of about 3 points each.
	if st2.GraphQL != 2 || st2.GraphQLPoints > 8 {
		t.Errorf("second scan: %d GraphQL requests for %d points, want 2 pages of about 3", st2.GraphQL, st2.GraphQLPoints)
	}
	if second.Usage.ObjectsCached < 120 {
		t.Errorf("second scan served %d objects from the cache, want at least the 120 trees", second.Usage.ObjectsCached)
	}
	// The facts are the same either way, usage and time aside.
	a, b := evaluate(t, first), evaluate(t, second)
	for id := range a {
		if a[id].Status != b[id].Status || !slices.Equal(items(a[id]), items(b[id])) {
			t.Errorf("%s: %s %v on the first scan, %s %v on the second", id, a[id].Status, items(a[id]), b[id].Status, items(b[id]))
		}
	}
}

// A change to one repository's files costs that repository's tree and the
// changed blob, nothing else.
func TestChangedFileIsFetchedAlone(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 10, nil)})
	spec := specFor(t, srv, "acme")
	mustCollect(t, srv, spec)
	srv.Update(func(o *githubfake.Org) {
		o.Repos[4].Files["Dockerfile"] = "FROM ubuntu:latest\nRUN curl -s https://example.com/install.sh | sh\n"
	})
	srv.ResetStats()
	f := mustCollect(t, srv, spec)
	st := srv.Stats()
	if got := st.Routes["GET /repos/{owner}/{repo}/git/trees/{sha}"]; got != 1 {
		t.Errorf("%d trees read after one repository changed, want 1", got)
	}
	if st.RESTPoints != 1 {
		t.Errorf("%d REST points after one repository changed, want 1 (its tree)", st.RESTPoints)
	}
	ev := evaluate(t, f)["GH-FILES-DOCKER-CURL-PIPE"]
	if ev.Status != fail || len(ev.Findings) == 0 || !strings.HasPrefix(ev.Findings[0].Item, "repo-0005: ") {
		t.Errorf("GH-FILES-DOCKER-CURL-PIPE = %s %v, want repo-0005's new Dockerfile", ev.Status, items(ev))
	}
	if loc := ev.Findings[0].Location; loc.Path != "repo-0005/Dockerfile" || loc.Line != 2 || loc.Commit != srv.Commit("repo-0005") {
		t.Errorf("location %+v, want repo-0005/Dockerfile:2 at the new head", loc)
	}
}

// REST lists and GraphQL pages are followed to the end.
func TestPagination(t *testing.T) {
	t.Parallel()
	org := githubfake.Generate("acme", 250, func(i int, r *githubfake.Repo) {
		if i%50 == 49 {
			r.HasWiki = true
		}
		r.Files = nil // pagination only
	})
	org.Owners = nil
	for i := range 130 {
		org.Owners = append(org.Owners, fmt.Sprintf("owner%03d", i))
	}
	for i := range 230 {
		org.AuditLog = append(org.AuditLog, githubfake.AuditEvent{Action: "repo.access", Actor: "alice", At: time.Now().Add(-time.Duration(i) * time.Hour)})
	}
	srv := fake(t, githubfake.Config{Org: org})
	spec := specFor(t, srv, "acme")
	spec.PageSize = 30
	f := mustCollect(t, srv, spec)
	if len(f.Repositories) != 250 {
		t.Errorf("%d repositories, want 250", len(f.Repositories))
	}
	for _, r := range f.Repositories {
		if len(r.Errors) > 0 {
			t.Errorf("%s: %v", r.Name, r.Errors)
		}
	}
	st := srv.Stats()
	if st.Routes["GET /orgs/{org}/repos"] != 3 {
		t.Errorf("%d REST pages of repositories, want 3 of 100", st.Routes["GET /orgs/{org}/repos"])
	}
	if st.GraphQL != 9 {
		t.Errorf("%d GraphQL pages, want 9 of 30", st.GraphQL)
	}
	if len(f.Owners.Logins) != 130 {
		t.Errorf("%d owners, want 130 over 2 pages", len(f.Owners.Logins))
	}
	if f.AuditLog.Events != 230 || st.Routes["GET /orgs/{org}/audit-log"] != 3 {
		t.Errorf("%d audit events in %d pages, want 230 in 3 (cursor pagination)", f.AuditLog.Events, st.Routes["GET /orgs/{org}/audit-log"])
	}
	ev := evaluate(t, f)["GH-REPO-WIKI-PROJECTS"]
	if want := []string{"repo-0050: wiki", "repo-0100: wiki", "repo-0150: wiki", "repo-0200: wiki", "repo-0250: wiki"}; !slices.Equal(items(ev), want) {
		t.Errorf("wikis %v, want %v", items(ev), want)
	}
}

// A secondary rate limit is waited out (Retry-After) and retried once.
func TestSecondaryLimitRetried(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 5, nil), SecondaryLimitAt: 4, RetryAfter: 7})
	waits := &sleeps{now: time.Now()}
	c := collector(ownerToken.Value)
	c.Sleep = waits.sleep
	f, err := collect(t, c, specFor(t, srv, "acme"))
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if got := waits.list(); !slices.Equal(got, []time.Duration{7 * time.Second}) {
		t.Errorf("waits %v, want one of 7s (Retry-After)", got)
	}
	if f.Usage.Retries != 1 || srv.Stats().SecondaryLimited != 1 {
		t.Errorf("%d retries for %d secondary limits, want 1 and 1", f.Usage.Retries, srv.Stats().SecondaryLimited)
	}
	if ev := evaluate(t, f)["GH-ORG-ACTIONS-ALLOWED"]; ev.Status != pass {
		t.Errorf("after the retry, GH-ORG-ACTIONS-ALLOWED = %s (%q)", ev.Status, ev.Reason)
	}
}

// When the hour's budget runs low, the collector sleeps until the reset
// (the fake's clock moves with the sleeps) and finishes; beyond maxWait
// it fails with the reason instead of sleeping.
func TestPrimaryLimitPacing(t *testing.T) {
	t.Parallel()
	waits := &sleeps{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 4, nil), RESTLimit: 10, Now: waits.clock})
	c := collector(ownerToken.Value)
	c.Sleep, c.Now = waits.sleep, waits.clock
	spec := specFor(t, srv, "acme")
	spec.MaxWait = 2 * time.Hour
	if _, err := collect(t, c, spec); err != nil {
		t.Fatalf("collect: %v", err)
	}
	got := waits.list()
	if len(got) == 0 || got[0] < 59*time.Minute || got[0] > 61*time.Minute {
		t.Errorf("waits %v, want a wait of about an hour for the reset", got)
	}
	if st := srv.Stats(); st.RESTPoints > 20 {
		t.Errorf("billed %d REST points", st.RESTPoints)
	}

	short := specFor(t, srv, "acme")
	short.MaxWait = time.Minute
	srv2 := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 4, nil), RESTLimit: 10, Now: waits.clock})
	short.BaseURL = srv2.BaseURL()
	_, err := collect(t, c, short)
	if err == nil || !containsAll(err.Error(), "rate limit", "beyond maxWait 1m0s") {
		t.Errorf("err = %v, want the limit and maxWait named", err)
	}
}

// GitHub Enterprise Server serves REST under /api/v3/ and GraphQL at
// /api/graphql; the GraphQL URL is derived from the REST one.
func TestEnterpriseServerLayout(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 2, nil), Enterprise: true})
	spec := specFor(t, srv, "acme")
	if !strings.HasSuffix(spec.BaseURL, "/api/v3/") {
		t.Fatalf("base %s", spec.BaseURL)
	}
	f := mustCollect(t, srv, spec)
	if ev := evaluate(t, f)["GH-REPO-BRANCH-PROTECTED"]; ev.Status != pass {
		t.Errorf("GH-REPO-BRANCH-PROTECTED = %s (%q)", ev.Status, ev.Reason)
	}
}

// A register that names repositories gets those, and an error for a
// name GitHub does not know.
func TestNamedRepositories(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 30, func(i int, r *githubfake.Repo) { r.HasWiki = true })})
	spec := specFor(t, srv, "acme")
	spec.Repositories = []string{"repo-0002", "repo-0007", "gone"}
	f := mustCollect(t, srv, spec)
	var names []string
	for _, r := range f.Repositories {
		names = append(names, r.Name)
	}
	if want := []string{"gone", "repo-0002", "repo-0007"}; !slices.Equal(names, want) {
		t.Fatalf("repositories %v, want %v", names, want)
	}
	ev := evaluate(t, f)["GH-REPO-WIKI-PROJECTS"]
	if ev.Status != fail || !slices.Equal(items(ev), []string{"repo-0002: wiki", "repo-0007: wiki"}) || !strings.Contains(ev.Reason, "acme/gone does not exist") {
		t.Errorf("GH-REPO-WIKI-PROJECTS = %s %v (%q)", ev.Status, items(ev), ev.Reason)
	}
	if st := srv.Stats(); st.Routes["GET /orgs/{org}/repos"] != 0 {
		t.Errorf("listed the organization's repositories for a register that names three")
	}
}

// scanFiles: false reads no tree and no blob, and the file checks say so.
func TestScanFilesOff(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 3, nil)})
	spec := specFor(t, srv, "acme")
	spec.ScanFiles = false
	f := mustCollect(t, srv, spec)
	if got := srv.Stats().Routes["GET /repos/{owner}/{repo}/git/trees/{sha}"]; got != 0 {
		t.Errorf("%d trees read with scanFiles off", got)
	}
	for id, ev := range evaluate(t, f) {
		if strings.HasPrefix(id, "GH-FILES-") && ev.Status != na {
			t.Errorf("%s = %s, want not_applicable", id, ev.Status)
		}
	}
	_ = github.FileScanners
}

// archived: check judges archived repositories too; requireSignedCommits
// turns GH-REPO-SIGNED-COMMITS on, and a ruleset's required_signatures
// rule satisfies it as much as a protection rule's.
func TestPolicyOptions(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 4, func(i int, r *githubfake.Repo) {
		switch i {
		case 0:
			r.Archived, r.HasWiki = true, true
		case 1:
			r.Protection.RequiresCommitSignatures = true
		case 2:
			r.Rulesets = []*githubfake.Ruleset{{
				ID: 9, Name: "signed", Enforcement: "active", Include: []string{"~DEFAULT_BRANCH"},
				Rules: []githubfake.Rule{{Type: "required_signatures"}},
			}}
		}
	})})
	spec := specFor(t, srv, "acme")
	spec.Archived, spec.RequireSignedCommits = "check", true
	evals := evaluate(t, mustCollect(t, srv, spec))
	if ev := evals["GH-REPO-WIKI-PROJECTS"]; !slices.Equal(items(ev), []string{"repo-0001: wiki"}) {
		t.Errorf("archived: check: wikis %v, want the archived repository's", items(ev))
	}
	if ev := evals["GH-REPO-SIGNED-COMMITS"]; !slices.Equal(items(ev), []string{"repo-0001: main: signed commits", "repo-0004: main: signed commits"}) {
		t.Errorf("signed commits: %s %v", ev.Status, items(ev))
	}
}
