package githubfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/integrations/github/githubfake"
)

func get(t *testing.T, url, token, etag string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func start(t *testing.T, n int) *githubfake.Server {
	t.Helper()
	srv := githubfake.New(githubfake.Config{
		Org:    githubfake.Generate("acme", n, nil),
		Tokens: []githubfake.Token{{Value: "tok", Owner: true, Scopes: []string{"repo", "admin:org"}}},
	})
	t.Cleanup(srv.Close)
	return srv
}

// Conditional requests: a 304 carries the rate-limit headers but does not
// spend from them; a 200 does.
func TestETagsAndRateLimitHeaders(t *testing.T) {
	t.Parallel()
	srv := start(t, 1)
	first := get(t, srv.BaseURL()+"orgs/acme", "tok", "")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" {
		t.Fatalf("%d, ETag %q", first.StatusCode, etag)
	}
	if first.Header.Get("X-RateLimit-Remaining") != "4999" || first.Header.Get("X-RateLimit-Used") != "1" ||
		first.Header.Get("X-RateLimit-Resource") != "core" || first.Header.Get("X-OAuth-Scopes") != "repo, admin:org" {
		t.Errorf("headers %v", first.Header)
	}
	again := get(t, srv.BaseURL()+"orgs/acme", "tok", etag)
	if again.StatusCode != http.StatusNotModified || again.Header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("conditional GET: %d, remaining %s; want 304 and nothing spent", again.StatusCode, again.Header.Get("X-RateLimit-Remaining"))
	}
	if b, _ := io.ReadAll(again.Body); len(b) != 0 {
		t.Errorf("a 304 with a body of %d bytes", len(b))
	}
	third := get(t, srv.BaseURL()+"orgs/acme", "tok", `W/"other"`)
	if third.StatusCode != 200 || third.Header.Get("X-RateLimit-Remaining") != "4998" {
		t.Errorf("stale ETag: %d, remaining %s", third.StatusCode, third.Header.Get("X-RateLimit-Remaining"))
	}
}

func TestLinkPagination(t *testing.T) {
	t.Parallel()
	srv := start(t, 5)
	resp := get(t, srv.BaseURL()+"orgs/acme/repos?per_page=2&page=2", "tok", "")
	link := resp.Header.Get("Link")
	for _, rel := range []string{`page=1&per_page=2>; rel="prev"`, `page=3&per_page=2>; rel="next"`, `page=3&per_page=2>; rel="last"`, `rel="first"`} {
		if !strings.Contains(link, rel) {
			t.Errorf("Link %q lacks %s", link, rel)
		}
	}
	var repos []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&repos); err != nil || len(repos) != 2 || repos[0]["name"] != "repo-0003" {
		t.Errorf("page 2: %v %v", repos, err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, 1)
	resp := get(t, srv.BaseURL()+"orgs/acme", "nope", "")
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 || body["message"] != "Bad credentials" || body["documentation_url"] == "" {
		t.Errorf("bad token: %d %v", resp.StatusCode, body)
	}
	hooks := get(t, srv.BaseURL()+"orgs/acme/hooks", "tok", "")
	if hooks.StatusCode != 404 || hooks.Header.Get("X-Accepted-OAuth-Scopes") != "admin:org_hook" {
		t.Errorf("hooks without admin:org_hook: %d, accepted %q", hooks.StatusCode, hooks.Header.Get("X-Accepted-OAuth-Scopes"))
	}
}

func graphql(t *testing.T, srv *githubfake.Server, query string, vars map[string]any) (map[string]any, http.Header) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.GraphQLURL(), bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out, resp.Header
}

func TestGraphQL(t *testing.T) {
	t.Parallel()
	srv := start(t, 3)
	out, h := graphql(t, srv, `query($org: String!, $n: Int = 2) {
  rateLimit { cost remaining }
  organization(login: $org) {
    repositories(first: $n) { totalCount pageInfo { hasNextPage endCursor } nodes { name ... on Repository { isPrivate } } }
  }
}`, map[string]any{"org": "acme"})
	data := out["data"].(map[string]any)
	repos := data["organization"].(map[string]any)["repositories"].(map[string]any)
	if repos["totalCount"] != float64(3) || len(repos["nodes"].([]any)) != 2 || !repos["pageInfo"].(map[string]any)["hasNextPage"].(bool) {
		t.Errorf("repositories %v", repos)
	}
	if h.Get("X-RateLimit-Resource") != "graphql" || h.Get("X-RateLimit-Used") != "1" {
		t.Errorf("headers %v", h)
	}
	bad, _ := graphql(t, srv, `{ organization(login: "acme") { nope } }`, nil)
	errs, _ := bad["errors"].([]any)
	if _, hasData := bad["data"]; hasData || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "Field 'nope' doesn't exist on type 'Organization'") {
		t.Errorf("unknown field: %v", bad)
	}
	big, _ := graphql(t, srv, `{ organization(login: "acme") { repositories(first: 101) { totalCount } } }`, nil)
	if errs, _ := big["errors"].([]any); len(errs) != 1 {
		t.Errorf("first: 101 accepted: %v", big)
	}
}

// The documentation's worked example: 1 + 100 + 5,000 requests, 51 points.
func TestGraphQLCost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query string
		want  int
	}{
		{`query { viewer { login repositories(first: 100) { edges { node { id issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }`, 51},
		{`{ rateLimit { cost } }`, 1},
		{`query($n: Int!) { organization(login: "a") { repositories(first: $n) { nodes { deployKeys(first: 20) { totalCount } collaborators(first: 20) { totalCount } rulesets(first: 20) { totalCount } } } } }`, 3},
	} {
		got, err := githubfake.Cost(tc.query, map[string]any{"n": 100})
		if err != nil || got != tc.want {
			t.Errorf("Cost = %d, %v; want %d", got, err, tc.want)
		}
	}
}

func FuzzParseGraphQL(f *testing.F) {
	for _, s := range []string{
		`{ a }`, `query($x: [String!]! = ["a"]) { a(b: $x, c: {d: 1.5, e: ENUM}) { ...F ... on T { g } } } fragment F on T { h }`,
		`{ a(s: "\u00e9\n") }`, `{`, `query`, `# comment only`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		n, err := githubfake.Cost(q, map[string]any{"x": 5})
		if err == nil && n < 1 {
			t.Fatalf("cost %d for %q", n, q)
		}
	})
}
