package github_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/integrations/github/githubfake"
)

const (
	pass = rampart.StatusPass
	fail = rampart.StatusFail
	errd = rampart.StatusError
	na   = rampart.StatusNotApplicable
)

// ownerToken is what the documentation asks for: an owner's classic
// token with every scope the integration reads.
var ownerToken = githubfake.Token{
	Value: "owner-token", Owner: true,
	Scopes: []string{"repo", "admin:org", "admin:org_hook", "read:audit_log"},
}

// fake starts a fake GitHub for the test.
func fake(t *testing.T, cfg githubfake.Config) *githubfake.Server {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = []githubfake.Token{ownerToken}
	}
	srv := githubfake.New(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// specFor is a valid spec for the fake's organization, reading the
// token from GITHUB_TOKEN.
func specFor(t *testing.T, srv *githubfake.Server, org string) *github.Spec {
	t.Helper()
	s := github.NewSpec()
	s.Org = org
	s.BaseURL = srv.BaseURL()
	s.Token = "env:GITHUB_TOKEN"
	s.AllowedAdmins = []string{"alice", "bob"}
	s.CacheDir = t.TempDir()
	return s
}

// sleeps records the collector's waits instead of sleeping, and can
// advance a clock by them.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	now   time.Time
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	s.now = s.now.Add(d)
	return nil
}

func (s *sleeps) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// collector builds a collector whose GITHUB_TOKEN is token.
func collector(token string) *github.Collector {
	return &github.Collector{
		Env: rampart.Env{Getenv: func(k string) string {
			if k == "GITHUB_TOKEN" {
				return token
			}
			return ""
		}},
		Transport: http.DefaultTransport,
	}
}

// collect validates the spec and collects with the collector.
func collect(t *testing.T, c *github.Collector, spec *github.Spec) (*github.Facts, error) {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	f, err := c.Collect(t.Context(), &rampart.Resource{ID: "github/acme", Kind: github.Kind, Spec: spec})
	if err != nil {
		return nil, err
	}
	return f.(*github.Facts), nil
}

// mustCollect collects with the owner's token.
func mustCollect(t *testing.T, srv *githubfake.Server, spec *github.Spec) *github.Facts {
	t.Helper()
	f, err := collect(t, collector(ownerToken.Value), spec)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	return f
}

// evaluate runs every check over the facts.
func evaluate(t *testing.T, f *github.Facts) map[string]rampart.Evaluation {
	t.Helper()
	out := map[string]rampart.Evaluation{}
	for _, c := range github.Checks() {
		out[c.ID] = c.Run(t.Context(), f)
	}
	return out
}

// items lists an evaluation's finding items, sorted.
func items(ev rampart.Evaluation) []string {
	var out []string
	for _, f := range ev.Findings {
		out = append(out, f.Item)
	}
	slices.Sort(out)
	return out
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
