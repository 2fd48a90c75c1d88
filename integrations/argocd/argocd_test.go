package argocd_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/integrations/argocd"
	"github.com/rampart-dev/rampart/integrations/argocd/argocdfake"
)

const token = "argocd-test-token"

var (
	good = argocdfake.App{
		Name: "api", Namespace: "argocd", Project: "platform", RepoURL: "https://git.example.com/deploy.git", Path: "api",
		DestServer: "https://kubernetes.default.svc", DestNS: "api", Sync: "Synced", Health: "Healthy",
		Automated: &argocdfake.Automated{Prune: true, SelfHeal: true},
		Resources: []argocdfake.Resource{{Kind: "Deployment", Namespace: "api", Name: "api", Sync: "Synced", Health: "Healthy"}},
	}
	goodProject = argocdfake.Project{
		Name: "platform", SourceRepos: []string{"https://git.example.com/deploy.git"},
		Destinations: []argocdfake.Destination{{Server: "https://kubernetes.default.svc", Namespace: "api"}},
	}
)

func with(a argocdfake.App, edit func(*argocdfake.App)) argocdfake.App {
	edit(&a)
	return a
}

func start(t *testing.T, cfg argocdfake.Config) *argocdfake.Server {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = token
	}
	s := argocdfake.New(cfg)
	t.Cleanup(s.Close)
	return s
}

func specFor(s *argocdfake.Server) *argocd.Spec {
	sp := argocd.NewSpec()
	sp.URL, sp.Token = s.URL, "env:ARGOCD_TOKEN"
	return sp
}

func collect(t *testing.T, spec *argocd.Spec, tok string) (*argocd.Facts, error) {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	c := &argocd.Collector{Env: rampart.Env{
		Getenv:   func(k string) string { return map[string]string{"ARGOCD_TOKEN": tok}[k] },
		ReadFile: os.ReadFile,
	}}
	f, err := c.Collect(t.Context(), &rampart.Resource{ID: "argocd/prod", Kind: argocd.Kind, Spec: spec})
	if err != nil {
		return nil, err
	}
	return f.(*argocd.Facts), nil
}

func items(ev rampart.Evaluation) []string {
	var out []string
	for _, f := range ev.Findings {
		out = append(out, f.Item)
	}
	slices.Sort(out)
	return out
}

// Each check, passing and failing, on purpose-made applications,
// projects and accounts.
func TestChecks(t *testing.T) {
	t.Parallel()
	type want struct {
		status  rampart.Status
		items   []string
		message string // a part of the first finding's message, or the reason
	}
	for _, tc := range []struct {
		name  string
		cfg   argocdfake.Config
		edit  func(*argocd.Spec)
		check *rampart.Check
		want  want
	}{
		{
			"synced",
			argocdfake.Config{Apps: []argocdfake.App{good}},
			nil, argocd.AppSynced,
			want{rampart.StatusPass, nil, "1 application(s) in sync"},
		},
		{
			"out of sync",
			argocdfake.Config{Apps: []argocdfake.App{good, with(good, func(a *argocdfake.App) {
				a.Name, a.Sync = "web", "OutOfSync"
				a.OperationPhase, a.OperationMsg = "Failed", "one or more objects failed to apply"
				a.Conditions = []argocdfake.Condition{{Type: "SyncError", Message: "Failed sync attempt: one or more objects failed to apply"}}
				a.Resources = []argocdfake.Resource{{Kind: "ConfigMap", Namespace: "web", Name: "web-config", Sync: "OutOfSync"}}
			})}},
			nil, argocd.AppSynced,
			want{rampart.StatusFail, []string{"application argocd/web"}, "web is OutOfSync: SyncError: Failed sync attempt: one or more objects failed to apply; last sync Failed: one or more objects failed to apply; ConfigMap web/web-config OutOfSync"},
		},
		{
			"unknown comparison",
			argocdfake.Config{Apps: []argocdfake.App{with(good, func(a *argocdfake.App) {
				a.Sync = "Unknown"
				a.Conditions = []argocdfake.Condition{{Type: "ComparisonError", Message: "rpc error: app path does not exist"}}
			})}},
			nil, argocd.AppSynced,
			want{rampart.StatusFail, []string{"application argocd/api"}, "ComparisonError: rpc error: app path does not exist"},
		},
		{
			"healthy",
			argocdfake.Config{Apps: []argocdfake.App{good}},
			nil, argocd.AppHealthy,
			want{rampart.StatusPass, nil, "1 application(s) healthy"},
		},
		{
			"degraded",
			argocdfake.Config{Apps: []argocdfake.App{with(good, func(a *argocdfake.App) {
				a.Health = "Degraded"
				a.Resources = []argocdfake.Resource{{
					Kind: "Deployment", Namespace: "api", Name: "api", Sync: "Synced", Health: "Degraded",
					Message: "Deployment \"api\" exceeded its progress deadline",
				}}
			})}},
			nil, argocd.AppHealthy,
			want{rampart.StatusFail, []string{"application argocd/api"}, "api is Degraded: Deployment api/api Degraded: Deployment \"api\" exceeded its progress deadline"},
		},
		{
			"auto-sync",
			argocdfake.Config{Apps: []argocdfake.App{good}},
			nil, argocd.AppAutoSync,
			want{rampart.StatusPass, nil, "sync automatically with prune and self-heal"},
		},
		{
			"manual sync and no self-heal",
			argocdfake.Config{Apps: []argocdfake.App{
				with(good, func(a *argocdfake.App) { a.Name, a.Automated = "manual", nil }),
				with(good, func(a *argocdfake.App) {
					a.Name, a.Automated = "lenient", &argocdfake.Automated{Prune: false, SelfHeal: false}
				}),
				good,
			}},
			nil, argocd.AppAutoSync,
			want{rampart.StatusFail, []string{"application argocd/lenient", "application argocd/manual"}, "lenient syncs without prune and self-heal"},
		},
		{
			"auto-sync not required",
			argocdfake.Config{Apps: []argocdfake.App{with(good, func(a *argocdfake.App) { a.Automated = nil })}},
			func(s *argocd.Spec) { s.RequireAutoSync = false }, argocd.AppAutoSync,
			want{rampart.StatusNotApplicable, nil, "requireAutoSync: false"},
		},
		{
			"scoped projects",
			argocdfake.Config{Projects: []argocdfake.Project{goodProject}},
			nil, argocd.ProjectWildcards,
			want{rampart.StatusPass, nil, "1 project(s)"},
		},
		{
			"wildcard projects",
			argocdfake.Config{Projects: []argocdfake.Project{
				goodProject,
				{Name: "default", SourceRepos: []string{"*"}, Destinations: []argocdfake.Destination{{Server: "*", Namespace: "*"}}},
				{Name: "team", SourceRepos: []string{"https://git.example.com/team.git"}, Destinations: []argocdfake.Destination{{Server: "https://kubernetes.default.svc", Namespace: "*"}}},
			}},
			nil, argocd.ProjectWildcards,
			want{
				rampart.StatusFail,
				[]string{"project default: destination namespace,server */*", "project default: source repositories", "project team: destination namespace https://kubernetes.default.svc/*"},
				"",
			},
		},
		{
			"admin disabled",
			argocdfake.Config{Accounts: []argocdfake.Account{{Name: "admin", Enabled: false}, {Name: "rampart", Enabled: true}}},
			nil, argocd.AdminDisabled,
			want{rampart.StatusPass, nil, "the local admin account is disabled"},
		},
		{
			"admin enabled",
			argocdfake.Config{Accounts: []argocdfake.Account{{Name: "admin", Enabled: true}}},
			nil, argocd.AdminDisabled,
			want{rampart.StatusFail, []string{"account admin"}, "the local admin account is enabled (capabilities: login)"},
		},
		{
			"projects filter",
			argocdfake.Config{Apps: []argocdfake.App{good, with(good, func(a *argocdfake.App) { a.Name, a.Project, a.Sync = "other", "sandbox", "OutOfSync" })}},
			func(s *argocd.Spec) { s.Projects = []string{"platform"} }, argocd.AppSynced,
			want{rampart.StatusPass, nil, "1 application(s) in sync"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, tc.cfg)
			spec := specFor(srv)
			if tc.edit != nil {
				tc.edit(spec)
			}
			f, err := collect(t, spec, token)
			if err != nil {
				t.Fatalf("collect: %v", err)
			}
			ev := tc.check.Run(t.Context(), f)
			if ev.Status != tc.want.status {
				t.Fatalf("%s = %s (%q, %v), want %s", tc.check.ID, ev.Status, ev.Reason, items(ev), tc.want.status)
			}
			if got := items(ev); !slices.Equal(got, tc.want.items) {
				t.Errorf("findings %q, want %q", got, tc.want.items)
			}
			text := ev.Reason
			if len(ev.Findings) > 0 {
				text = ev.Findings[0].Message
			}
			if !strings.Contains(text, tc.want.message) {
				t.Errorf("message %q, want %q in it", text, tc.want.message)
			}
		})
	}
}

// A failing endpoint marks the checks that read it error, with the
// reason, and leaves the others to judge.
func TestErrorModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		modes  map[string]argocdfake.Mode
		errd   []*rampart.Check
		reason string
		judged *rampart.Check
	}{
		{
			"applications 500",
			map[string]argocdfake.Mode{"/api/v1/applications": argocdfake.Internal},
			[]*rampart.Check{argocd.AppSynced, argocd.AppHealthy, argocd.AppAutoSync},
			"Argo CD answered 500 Internal Server Error: rpc error", argocd.ProjectWildcards,
		},
		{
			"projects garbage",
			map[string]argocdfake.Mode{"/api/v1/projects": argocdfake.Garbage},
			[]*rampart.Check{argocd.ProjectWildcards},
			"the answer is not Argo CD's JSON", argocd.AppSynced,
		},
		{
			"accounts forbidden",
			map[string]argocdfake.Mode{"/api/v1/account": argocdfake.Forbidden},
			[]*rampart.Check{argocd.AdminDisabled},
			`the token lacks the Argo CD permission to read accounts (RBAC "accounts, get"`, argocd.AppHealthy,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, argocdfake.Config{
				Apps: []argocdfake.App{good}, Projects: []argocdfake.Project{goodProject},
				Accounts: []argocdfake.Account{{Name: "admin"}}, Modes: tc.modes,
			})
			f, err := collect(t, specFor(srv), token)
			if err != nil {
				t.Fatalf("collect: %v", err)
			}
			for _, c := range tc.errd {
				ev := c.Run(t.Context(), f)
				if ev.Status != rampart.StatusError || !strings.Contains(ev.Reason, tc.reason) {
					t.Errorf("%s = %s (%q), want error with %q", c.ID, ev.Status, ev.Reason, tc.reason)
				}
			}
			if ev := tc.judged.Run(t.Context(), f); ev.Status != rampart.StatusPass {
				t.Errorf("%s = %s (%q), want pass: its endpoint worked", tc.judged.ID, ev.Status, ev.Reason)
			}
		})
	}
}

// A bad token fails the collection, so the engine makes every result an
// error that gives the reason, and the scan goes on.
func TestBadTokenThroughEngine(t *testing.T) {
	t.Parallel()
	srv := start(t, argocdfake.Config{Apps: []argocdfake.App{good}})
	checks, err := engine.AllChecks([]*rampart.Integration{argocd.Integration}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine.Engine{
		Integrations: []*rampart.Integration{argocd.Integration}, Checks: checks, Timeout: 10 * time.Second,
		Env: rampart.Env{Getenv: func(k string) string { return map[string]string{"ARGOCD_TOKEN": "stale"}[k] }},
	}
	res := &rampart.Resource{ID: "argocd/prod", Kind: argocd.Kind, Name: "prod", Owner: "sre", Spec: specFor(srv)}
	sum, err := e.Scan(t.Context(), []*rampart.Resource{res}, engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != len(argocd.Checks()) {
		t.Fatalf("%d results, want %d", len(sum.Results), len(argocd.Checks()))
	}
	for _, r := range sum.Results {
		if r.Status != rampart.StatusError || !strings.Contains(r.Reason, "rejected the token") || !strings.Contains(r.Reason, "401") {
			t.Errorf("%s = %s (%q), want error naming the rejected token", r.CheckID, r.Status, r.Reason)
		}
	}
	if srv.Requests("/api/v1/projects") != 0 {
		t.Error("kept asking after a 401")
	}
}

// HTTPS: the spec's CA bundle is trusted; without it the certificate is
// refused, and the collection fails with the reason; insecureSkipVerify
// is an explicit way out.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv := start(t, argocdfake.Config{TLS: true, Apps: []argocdfake.App{good}})
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := specFor(srv)
	spec.CABundle = bundle
	if _, err := collect(t, spec, token); err != nil {
		t.Errorf("with the CA bundle: %v", err)
	}
	if _, err := collect(t, specFor(srv), token); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA bundle: err = %v, want a certificate error", err)
	}
	insecure := specFor(srv)
	insecure.InsecureSkipVerify = true
	if _, err := collect(t, insecure, token); err != nil {
		t.Errorf("insecureSkipVerify: %v", err)
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*argocd.Spec)
		want string
	}{
		{"valid", func(*argocd.Spec) {}, ""},
		{"no url", func(s *argocd.Spec) { s.URL = "" }, "url: required"},
		{"bad url", func(s *argocd.Spec) { s.URL = "argocd.example.com" }, "url: \"argocd.example.com\" is not an http(s) URL"},
		{"credentials", func(s *argocd.Spec) { s.URL = "https://admin:pw@argocd.example.com" }, "url: must not hold credentials"},
		{"no token", func(s *argocd.Spec) { s.Token = "" }, "token: required"},
		{"both TLS options", func(s *argocd.Spec) { s.CABundle, s.InsecureSkipVerify = "ca.pem", true }, "not both"},
		{"timeout", func(s *argocd.Spec) { s.Timeout = 0 }, "timeout:"},
	} {
		s := argocd.NewSpec()
		s.URL, s.Token = "https://argocd.example.com", "env:ARGOCD_TOKEN"
		tc.edit(s)
		err := s.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
	s := argocd.NewSpec()
	if !s.RequireAutoSync || s.InsecureSkipVerify {
		t.Errorf("defaults %+v", s)
	}
	s.CABundle = "ca.pem"
	s.SetBaseDir("/etc/rampart")
	if s.CABundle != "/etc/rampart/ca.pem" {
		t.Errorf("caBundle %s", s.CABundle)
	}
}

func FuzzDecodeApplications(f *testing.F) {
	f.Add([]byte(`{"metadata":{},"items":[{"metadata":{"name":"a"},"spec":{"project":"p","syncPolicy":{"automated":{"prune":true}}},"status":{"sync":{"status":"Synced"},"health":{"status":"Healthy"},"resources":[{"kind":"Pod","name":"x","status":"OutOfSync","health":{"status":"Degraded","message":"m"}}]}}]}`))
	f.Add([]byte(`{"items":null}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"items":[{"spec":{"syncPolicy":null}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var l argocd.ApplicationList
		if err := argocd.Decode("/api/v1/applications", body, &l); err != nil {
			if !strings.Contains(err.Error(), "not Argo CD's JSON") {
				t.Fatalf("error %v does not say what went wrong", err)
			}
			return
		}
		for _, a := range l.Facts() {
			if (a.Prune || a.SelfHeal) && !a.AutoSync {
				t.Fatalf("prune or self-heal without automated sync: %+v", a)
			}
		}
	})
}
