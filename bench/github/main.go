// Command github measures the github-org collector against the loopback
// GitHub fake: requests made and rate-limit points spent per repository on
// a first scan (cold caches) and on a second scan with nothing changed,
// and wall time, with and without the file scan; and, as the baseline in
// the same run, the plain REST listing of the organization's repositories
// alone.
//
//	go run ./bench/github -n 5000 -out bench/github/RESULTS.md
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/integrations/github/githubfake"
)

// run is one measured collection.
type run struct {
	Name               string  `json:"name"`
	WallSeconds        float64 `json:"wall_seconds"`
	EvaluateSeconds    float64 `json:"evaluate_seconds,omitempty"`
	Requests           int64   `json:"requests"`
	RESTRequests       int64   `json:"rest_requests"`
	GraphQLRequests    int64   `json:"graphql_requests"`
	NotModified        int64   `json:"not_modified"`
	RESTPoints         int64   `json:"rest_points"`
	GraphQLPoints      int64   `json:"graphql_points"`
	ObjectsCached      int64   `json:"objects_cached,omitempty"`
	RequestsPerRepo    float64 `json:"requests_per_repository"`
	PointsPerRepo      float64 `json:"points_per_repository"`
	FactsMiB           float64 `json:"facts_mib,omitempty"`
	Findings           int     `json:"findings,omitempty"`
	FakeAgreesOnPoints bool    `json:"fake_agrees_on_points"`
}

func main() {
	n := flag.Int("n", 5000, "repositories in the organization")
	out := flag.String("out", "", "write the results as Markdown to this file")
	flag.Parse()
	if err := measure(*n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench/github:", err)
		os.Exit(1)
	}
}

// generate makes an organization of n repositories whose governance
// files differ from one to the next, as real ones do, with a deviation
// every few repositories so that the checks have findings to make.
func generate(n int) *githubfake.Org {
	return githubfake.Generate("acme", n, func(i int, r *githubfake.Repo) {
		r.Files[".github/CODEOWNERS"] = fmt.Sprintf("* @acme/team-%d\n", i%40)
		r.Files[".github/workflows/ci.yml"] = strings.Replace(r.Files[".github/workflows/ci.yml"], "name: ci", "name: ci-"+r.Name, 1)
		r.Files["Dockerfile"] = "# " + r.Name + "\n" + r.Files["Dockerfile"]
		switch {
		case i%10 == 3:
			r.HasWiki = true
		case i%25 == 7:
			r.Protection = nil
		case i%50 == 11:
			r.Files[".github/workflows/release.yml"] = "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: some/action@v1\n"
		}
	})
}

func measure(n int, out string) error {
	ctx := context.Background()
	token := githubfake.Token{Value: "bench", Owner: true, Scopes: []string{"repo", "admin:org", "admin:org_hook", "read:audit_log"}}
	srv := githubfake.New(githubfake.Config{Org: generate(n), Tokens: []githubfake.Token{token}, RESTLimit: 1 << 30, GraphQLLimit: 1 << 30})
	defer srv.Close()
	tmp, err := os.MkdirTemp("", "rampart-bench-github-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var runs []run
	// The baseline: what listing the repositories costs by REST alone.
	srv.ResetStats()
	start := time.Now()
	if err := listRepositories(ctx, srv.BaseURL(), token.Value); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	st := srv.Stats()
	runs = append(runs, run{
		Name: "baseline: REST listing of the repositories, nothing else", WallSeconds: time.Since(start).Seconds(),
		Requests: st.Requests, RESTRequests: st.REST, RESTPoints: st.RESTPoints,
		RequestsPerRepo: float64(st.Requests) / float64(n), PointsPerRepo: float64(st.RESTPoints) / float64(n),
		FakeAgreesOnPoints: true,
	})

	for _, files := range []bool{true, false} {
		cache := filepath.Join(tmp, fmt.Sprintf("cache-files-%v", files))
		for _, pass := range []string{"first scan (cold caches)", "second scan (nothing changed)"} {
			spec := github.NewSpec()
			spec.Org, spec.BaseURL, spec.Token, spec.CacheDir = "acme", srv.BaseURL(), "env:GITHUB_TOKEN", cache
			spec.AllowedAdmins, spec.ScanFiles = []string{"alice", "bob"}, files
			if err := spec.Validate(); err != nil {
				return err
			}
			c := &github.Collector{Env: rampart.Env{Getenv: func(k string) string {
				if k == "GITHUB_TOKEN" {
					return token.Value
				}
				return ""
			}}}
			srv.ResetStats()
			start := time.Now()
			facts, err := c.Collect(ctx, &rampart.Resource{ID: "github/acme", Kind: github.Kind, Spec: spec})
			if err != nil {
				return fmt.Errorf("%s: %w", pass, err)
			}
			wall := time.Since(start)
			f := facts.(*github.Facts)
			estart := time.Now()
			findings := 0
			for _, ch := range github.Checks() {
				findings += len(ch.Run(ctx, f).Findings)
			}
			eval := time.Since(estart)
			b, err := rampart.FactsJSON(f)
			if err != nil {
				return err
			}
			st := srv.Stats()
			u := f.Usage
			name := pass + ", scanFiles " + fmt.Sprint(files)
			runs = append(runs, run{
				Name: name, WallSeconds: wall.Seconds(), EvaluateSeconds: eval.Seconds(),
				Requests: u.Requests, RESTRequests: u.RESTRequests, GraphQLRequests: u.GraphQLRequests,
				NotModified: u.NotModified, RESTPoints: u.RESTPoints, GraphQLPoints: u.GraphQLPoints,
				ObjectsCached: u.ObjectsCached, RequestsPerRepo: float64(u.Requests) / float64(n),
				PointsPerRepo: float64(u.Points()) / float64(n), FactsMiB: float64(len(b)) / (1 << 20),
				Findings: findings, FakeAgreesOnPoints: st.RESTPoints == u.RESTPoints && st.GraphQLPoints == u.GraphQLPoints,
			})
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	report := map[string]any{
		"repositories": n, "runs": runs,
		"peak_rss_mib": float64(ru.Maxrss) / 1024, // the fake included: it runs in this process
		"cpu_seconds":  time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(),
	}
	js, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(js))
	if out == "" {
		return nil
	}
	return os.WriteFile(out, []byte(markdown(n, runs, report, js)), 0o644) //nolint:gosec // a report to read and commit, like the rest of the tree
}

// listRepositories is the baseline: go-github's ListByOrg over every page,
// unconditional, as a client without Rampart's transport would.
func listRepositories(ctx context.Context, base, token string) error {
	c, err := gh.NewClient(gh.WithAuthToken(token), gh.WithURLs(&base, &base), gh.WithDisableRateLimitCheck())
	if err != nil {
		return err
	}
	opt := &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		_, resp, err := c.Repositories.ListByOrg(ctx, "acme", opt)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

func markdown(n int, runs []run, report map[string]any, js []byte) string {
	host, _ := os.Hostname()
	load := "unknown"
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(l))[:3], " ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# github-org collector on %d repositories\n\n", n)
	fmt.Fprintf(&b, "Measured %s on %s: %d cores, %s, %s/%s, load average %s (the machine is shared with other builds). The fake GitHub (integrations/github/githubfake) runs in the same process on loopback, so wall times include its work.\n\n",
		time.Now().UTC().Format("2006-01-02T15:04Z"), host, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
	b.WriteString("Reproduce with `go run ./bench/github -n " + fmt.Sprint(n) + " -out bench/github/RESULTS.md`.\n\n")
	b.WriteString("| run | wall s | requests | req/repo | REST points | GraphQL points | points/repo | 304s | objects from cache |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %.2f | %d | %.3f | %d | %d | %.3f | %d | %d |\n",
			r.Name, r.WallSeconds, r.Requests, r.RequestsPerRepo, r.RESTPoints, r.GraphQLPoints, r.PointsPerRepo, r.NotModified, r.ObjectsCached)
	}
	b.WriteString(`
How to read it:

- A request is one HTTP round trip. Points are what GitHub bills: one per
  REST answer that is not a 304 (from the 5,000/hour core budget) and the
  query cost for GraphQL (from the separate 5,000/hour GraphQL budget).
- First scan: the organization's settings (a dozen REST calls), the REST
  listing of repositories (100 a page), GraphQL pages of 100 repositories
  (about 3 points each), one git tree per repository, and the wanted blobs
  in GraphQL batches of up to 100. The tree is the one request per
  repository; everything else is shared.
- Second scan: every REST GET is conditional and answered 304 (free); trees
  and blobs are named by their SHA and come from the local cache with no
  request at all; only the GraphQL pages are billed again.
- The baseline lists the repositories by REST and nothing else: it is what
  even the cheapest inventory of the organization costs.
- On GitHub.com a personal access token has 5,000 core points an hour, so
  the first scan of an organization this size spends about an hour's
  budget on trees (the transport paces itself and sleeps until the reset
  when it runs low); a GitHub App on Enterprise Cloud has 15,000. Every
  later scan costs a few GraphQL points per hundred repositories, plus one
  tree and the changed blobs per repository that changed.
`)
	fmt.Fprintf(&b, "\nPeak RSS of the process (collector and fake): %.0f MiB; CPU: %.1f s.\n\n", report["peak_rss_mib"], report["cpu_seconds"])
	b.WriteString("```json\n" + string(js) + "\n```\n")
	return b.String()
}
