package github_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/integrations/github"
)

func decodeSegment(t *testing.T, s string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(s *github.Spec)
		want string // "" for valid
	}{
		{"token", func(s *github.Spec) {}, ""},
		{"no org", func(s *github.Spec) { s.Org = "" }, "org: required"},
		{"bad org", func(s *github.Spec) { s.Org = "a/b" }, "org: \"a/b\" is not a GitHub login"},
		{"no credential", func(s *github.Spec) { s.Token = "" }, "token: required"},
		{"both", func(s *github.Spec) { s.AppID = 1 }, "not both"},
		{"app", func(s *github.Spec) { s.Token, s.AppID, s.InstallationID, s.PrivateKey = "", 1, 2, "file:key.pem" }, ""},
		{"app without key", func(s *github.Spec) { s.Token, s.AppID, s.InstallationID = "", 1, 2 }, "privateKey: required"},
		{"enterprise", func(s *github.Spec) { s.BaseURL = "https://github.example.com/api/v3/" }, ""},
		{"credentials in URL", func(s *github.Spec) { s.BaseURL = "https://x:y@github.example.com/" }, "baseURL: must not hold credentials"},
		{"relative URL", func(s *github.Spec) { s.BaseURL = "api.github.com" }, "baseURL: want an absolute"},
		{"reviews", func(s *github.Spec) { s.RequiredReviews = 7 }, "requiredReviews: 7 is outside 0 to 6"},
		{"visibility", func(s *github.Spec) { s.ExpectedVisibility = map[string]string{"x": "secret"} }, "expectedVisibility: x: \"secret\""},
		{"archived", func(s *github.Spec) { s.Archived = "ignore" }, "archived: \"ignore\" is not skip or check"},
		{"audit days", func(s *github.Spec) { s.AuditLogDays = 365 }, "auditLogDays: 365"},
		{"repository", func(s *github.Spec) { s.Repositories = []string{"acme/x"} }, "repositories: \"acme/x\""},
		{"admin", func(s *github.Spec) { s.AllowedAdmins = []string{"-x"} }, "allowedAdmins: \"-x\""},
		{"page", func(s *github.Spec) { s.PageSize = 101 }, "pageSize: 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := github.NewSpec()
			s.Org, s.Token = "acme", "env:GITHUB_TOKEN"
			tc.edit(s)
			err := s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	t.Parallel()
	s := github.NewSpec()
	if s.BaseURL != "https://api.github.com/" || s.RequiredReviews != 1 || s.Archived != "skip" ||
		s.AuditLogDays != 90 || !s.ScanFiles || s.PageSize != 100 {
		t.Errorf("defaults %+v", s)
	}
	s.CacheDir = "cache"
	s.SetBaseDir("/etc/rampart")
	if s.CacheDir != "/etc/rampart/cache" {
		t.Errorf("cacheDir %s, want it relative to rampart.yaml", s.CacheDir)
	}
}

func TestRefSelected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		include, exclude []string
		branch           string
		want             bool
	}{
		{[]string{"~DEFAULT_BRANCH"}, nil, "main", true},
		{[]string{"~ALL"}, []string{"refs/heads/main"}, "main", false},
		{[]string{"refs/heads/main"}, nil, "main", true},
		{[]string{"refs/heads/master"}, nil, "main", false},
		{[]string{"refs/heads/*"}, nil, "main", true},
		{[]string{"refs/heads/*"}, nil, "release/1.0", false},
		{[]string{"refs/heads/**"}, nil, "release/1.0", true},
		{[]string{"refs/heads/release/**"}, nil, "main", false},
		{[]string{"refs/heads/ma?n"}, nil, "main", true},
		{[]string{"refs/heads/[mn]ain"}, nil, "main", true},
		{[]string{"refs/heads/[!m]ain"}, nil, "main", false},
		{[]string{"main"}, nil, "main", true},
		{nil, nil, "main", false},
		{[]string{"refs/tags/*"}, nil, "main", false},
	} {
		if got := github.RefSelected(tc.include, tc.exclude, tc.branch); got != tc.want {
			t.Errorf("RefSelected(%q, %q, %s) = %v, want %v", tc.include, tc.exclude, tc.branch, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60", time.Minute, true},
		{" 2 ", 2 * time.Second, true},
		{"Sun, 22 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999", 0, false},
	} {
		got, ok := github.ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecodeGraphQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		wantErr string
		errs    int
	}{
		{"data", 200, `{"data":{"rateLimit":{"cost":3}}}`, "", 0},
		{"partial", 200, `{"data":{"x":1},"errors":[{"type":"FORBIDDEN","path":["x"],"message":"no"}]}`, "", 1},
		{"no data", 200, `{"errors":[{"type":"INSUFFICIENT_SCOPES","message":"scopes"}]}`, "INSUFFICIENT_SCOPES: scopes", 0},
		{"null data", 200, `{"data":null}`, "no data", 0},
		{"garbage", 200, `<html>`, "not JSON", 0},
		{"unauthorized", 401, `{"message":"Bad credentials"}`, "401", 0},
		{"bad gateway", 502, `{"message":"We couldn't respond to your request in time"}`, "502", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out map[string]any
			errs, err := github.DecodeGraphQL(tc.status, "/graphql", []byte(tc.body), &out)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if errs != tc.errs {
				t.Errorf("%d field errors, want %d", errs, tc.errs)
			}
		})
	}
}

func FuzzDecodeGraphQL(f *testing.F) {
	f.Add(200, []byte(`{"data":{"organization":{"repositories":{"nodes":[{"name":"a","defaultBranchRef":null}]}}}}`))
	f.Add(200, []byte(`{"data":{"organization":null},"errors":[{"type":"NOT_FOUND","path":["organization"],"message":"x"}]}`))
	f.Add(200, []byte(`{"data":{"r0":{"b0":{"text":"x","isBinary":false}}}}`))
	f.Add(401, []byte(`{"message":"Bad credentials"}`))
	f.Add(200, []byte(`{"data":`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var page github.OrgReposPage
		_, err := github.DecodeGraphQL(status, "/graphql", body, &page)
		if err == nil && status != 200 {
			t.Fatalf("status %d decoded without error", status)
		}
	})
}

func FuzzRefSelected(f *testing.F) {
	f.Add("refs/heads/**", "refs/heads/[!x]*", "main")
	f.Add("~DEFAULT_BRANCH", "", "release/1.0")
	f.Add("[", "]", "a")
	f.Fuzz(func(t *testing.T, include, exclude, branch string) {
		got := github.RefSelected([]string{include}, []string{exclude}, branch)
		if got && !github.RefSelected([]string{include}, nil, branch) {
			t.Fatal("an exclusion selected a branch the inclusion did not")
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"60", "Sun, 22 Nov 2026 10:00:30 GMT", "", "1e9", "-5"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := github.ParseRetryAfter(s, now)
		if ok && d < 0 {
			t.Fatalf("%q gave %s", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q refused with %s", s, d)
		}
	})
}
