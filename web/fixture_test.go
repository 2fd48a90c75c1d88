package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/integrations"
	"github.com/rampart-dev/rampart/schedule/reviewweb"
	"github.com/rampart-dev/rampart/store"
	"github.com/rampart-dev/rampart/web"
)

// password is every fixture user's password.
const password = "correct horse battery staple"

// syncBuffer collects the server's logs from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a server over a real SQLite store holding two scans of a
// small estate, a user and an API token of every role, and an expired
// token.
type fixture struct {
	t        *testing.T
	db       *store.DB
	cat      *catalog.Catalog
	srv      *web.Server
	now      time.Time
	tokens   map[string]string // role, or "expired", to secret
	evidence string            // facts of legacy-tls
	logs     *syncBuffer
	// overdue and due are open reviews: one past its due-by date, one
	// within it.
	overdue, due rampart.Review
}

var fixtureResources = []*rampart.Resource{
	{ID: "legacy-tls", Kind: "tls-endpoint", Name: "legacy.demo.test", Owner: "platform-team", Criticality: rampart.CriticalityHigh, Environment: "production"},
	{ID: "billing-tls", Kind: "tls-endpoint", Name: "billing.demo.test", Owner: "platform-team", Criticality: rampart.CriticalityCritical},
	{ID: "shop-tls", Kind: "tls-endpoint", Name: "shop.demo.test", Owner: "platform-team", Criticality: rampart.CriticalityCritical},
	{ID: "db-01", Kind: "server", Name: "Database server", Owner: "dba", Criticality: rampart.CriticalityCritical},
	{ID: "access-review", Kind: "process", Name: "Quarterly access review", Owner: "security-officer", Criticality: rampart.CriticalityHigh},
}

func loadCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	var checks []*rampart.Check
	for _, in := range integrations.All() {
		checks = append(checks, in.Checks...)
	}
	cat, err := catalog.Load(checks)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// failingCollector stands in for the real integrations in scans started
// through the API: every resource ends in error, quickly.
func failingIntegrations() []*rampart.Integration {
	var out []*rampart.Integration
	for _, k := range []rampart.Kind{"tls-endpoint", "server"} {
		out = append(out, &rampart.Integration{
			Kind: k, Title: string(k),
			NewCollector: func(rampart.Env) rampart.Collector {
				return rampart.CollectorFunc(func(context.Context, *rampart.Resource) (rampart.Facts, error) {
					return nil, errors.New("connection refused (test)")
				})
			},
		})
	}
	return out
}

func newFixture(t *testing.T, edit ...func(*web.Options)) *fixture {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	f := &fixture{t: t, db: db, cat: loadCatalog(t), now: time.Now(), tokens: map[string]string{}, logs: &syncBuffer{}}
	f.seed()
	opts := web.Options{
		Store: db, Catalog: f.cat, Resources: fixtureResources, Version: "test",
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Engine: &engine.Engine{Store: db, Integrations: failingIntegrations(), Checks: f.cat.Checks, AreaOfCheck: f.cat.AreaOfCheck, Timeout: 5 * time.Second},
		// The reviews' pages and API, as `rampart serve` adds them.
		Routes: reviewweb.Routes(reviewweb.Options{
			Store: db, Actor: web.ActorOf, CSRF: web.CSRFToken,
			MayComplete: func(r *http.Request) bool { return web.Allows(r, rampart.PermWrite) },
		}),
	}
	for _, e := range edit {
		e(&opts)
	}
	if f.srv, err = web.New(opts); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) result(r *rampart.Resource, check string, st rampart.Status, items ...string) rampart.Result {
	ch := f.cat.Check(check)
	if ch == nil {
		f.t.Fatalf("no check %s", check)
	}
	res := rampart.Result{ResourceID: r.ID, CheckID: check, Version: 1, Status: st, Severity: ch.Severity, Reason: "seen"}
	for _, it := range items {
		res.Findings = append(res.Findings, rampart.Finding{Item: it, Message: it + " is wrong", Fingerprint: rampart.Fingerprint(check, r.ID, it)})
	}
	return res
}

// seed saves two scans: the first mostly failing, the second (the
// latest) with one certificate renewed.
func (f *fixture) seed() {
	t, ctx := f.t, f.t.Context()
	checks := map[string]*rampart.Check{}
	area := map[string]string{}
	for _, c := range f.cat.Checks {
		checks[c.ID] = c
		area[c.ID] = f.cat.AreaOfCheck(c.ID)
	}
	res := map[string]*rampart.Resource{}
	for _, r := range fixtureResources {
		res[r.ID] = r
	}
	pass, fail := rampart.StatusPass, rampart.StatusFail
	for i, at := range []time.Time{f.now.Add(-48 * time.Hour), f.now.Add(-time.Hour)} {
		run, err := f.db.BeginScan(ctx, "cli", at)
		if err != nil {
			t.Fatal(err)
		}
		shop := pass
		if i == 0 {
			shop = fail
		}
		outcomes := []struct {
			r       *rampart.Resource
			facts   string
			results []rampart.Result
		}{
			{res["legacy-tls"], `{"certificates":[{"subject":"legacy.demo.test","not_after":"2026-01-01T00:00:00Z"}],"scan":` + itoa(i) + `}`, []rampart.Result{
				f.result(res["legacy-tls"], "TLS-EXPIRED", fail, "certificate legacy.demo.test (position 0)"),
				f.result(res["legacy-tls"], "TLS-HOSTNAME", pass),
			}},
			{res["billing-tls"], `{"certificates":[{"subject":"billing.demo.test"}]}`, []rampart.Result{
				f.result(res["billing-tls"], "TLS-EXPIRING-7D", fail, "certificate billing.demo.test (position 0)"),
			}},
			{res["shop-tls"], `{"certificates":[{"subject":"shop.demo.test"}]}`, []rampart.Result{
				f.result(res["shop-tls"], "TLS-EXPIRED", shop, "certificate shop.demo.test (position 0)"),
				f.result(res["shop-tls"], "TLS-HOSTNAME", pass),
			}},
			{res["db-01"], `{"sshd":{"PermitRootLogin":"yes"}}`, []rampart.Result{
				f.result(res["db-01"], "SRV-SSH-ROOT-LOGIN", fail, "/etc/ssh/sshd_config: PermitRootLogin"),
				f.result(res["db-01"], "SRV-UID0", fail, "/etc/passwd: toor"),
				f.result(res["db-01"], "SRV-FIREWALL", pass),
			}},
		}
		var tally rampart.ScanRun
		for _, o := range outcomes {
			for j := range o.results {
				if o.results[j].Status == fail {
					for k := range o.results[j].Findings {
						o.results[j].Findings[k].Fingerprint = rampart.Fingerprint(o.results[j].CheckID, o.r.ID, o.results[j].Findings[k].Item)
					}
					o.results[j].Reason = ""
					tally.Fail++
				} else {
					o.results[j].Findings = nil
					tally.Pass++
				}
			}
			if _, err := f.db.SaveOutcome(ctx, rampart.ResourceOutcome{
				ScanID: run.ID, Resource: o.r, Facts: []byte(o.facts), Results: o.results, Checks: checks, Area: area, At: at,
			}); err != nil {
				t.Fatal(err)
			}
		}
		run.FinishedAt, run.Resources, run.Pass, run.Fail = at.Add(time.Minute), len(outcomes), tally.Pass, tally.Fail
		if err := f.db.FinishScan(ctx, run); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			f.evidence = rampart.ContentHash([]byte(outcomes[0].facts))
		}
	}
	hash, err := web.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	by := rampart.Actor{Name: "cli:test", Source: "cli"}
	for name, role := range map[string]rampart.Role{"alice": rampart.RoleAdmin, "bob": rampart.RoleEditor, "victor": rampart.RoleViewer, "aud": rampart.RoleAuditor, "dave": rampart.RoleViewer} {
		u := rampart.User{Name: name, Role: role, Source: rampart.UserLocal, PasswordHash: hash}
		if role == rampart.RoleAuditor {
			u.ExpiresAt = f.now.AddDate(0, 1, 0)
		}
		if _, err := f.db.CreateUser(ctx, u, by); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range rampart.Roles() {
		secret, tok := web.NewToken("tok-"+string(role), role, f.now.Add(time.Hour))
		if _, err := f.db.CreateToken(ctx, tok, by); err != nil {
			t.Fatal(err)
		}
		f.tokens[string(role)] = secret
	}
	day := 24 * time.Hour
	f.overdue = f.openReview("PROC-03", f.now.Add(-40*day), f.now.Add(-26*day), f.now.AddDate(0, 3, 0).Add(-40*day))
	f.due = f.openReview("PPL-05", f.now.Add(-2*day), f.now.Add(12*day), f.now.AddDate(1, 0, 0).Add(-2*day))
	secret, tok := web.NewToken("tok-expired", rampart.RoleAdmin, f.now.Add(-24*time.Hour))
	tok.CreatedAt = f.now.Add(-48 * time.Hour)
	if _, err := f.db.CreateToken(ctx, tok, by); err != nil {
		t.Fatal(err)
	}
	f.tokens["expired"] = secret
}

// openReview opens a review of a manual control on the access-review
// process, as the scheduler does.
func (f *fixture) openReview(control string, due, dueBy, next time.Time) rampart.Review {
	f.t.Helper()
	c := f.cat.Control(control)
	if c == nil || !c.Manual() {
		f.t.Fatalf("%s is not a manual control", control)
	}
	r, _, err := f.db.OpenReview(f.t.Context(), rampart.Review{
		ControlID: c.ID, ResourceID: "access-review", Title: c.Title, Procedure: c.Procedure, Owner: c.Owner, Area: c.Area,
		Periodicity: c.Periodicity.String(), DueAt: due, DueBy: dueBy, NextDueAt: next, CreatedAt: due,
	}, "rampart:schedule")
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func itoa(n int) string { return strconv.Itoa(n) }

// do sends a request straight to the handler, as role ("" anonymous).
func (f *fixture) do(method, target, role string, body any) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		case url.Values:
			rd = strings.NewReader(b.Encode())
		default:
			j, err := json.Marshal(b)
			if err != nil {
				f.t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req := httptest.NewRequestWithContext(f.t.Context(), method, target, rd)
	switch body.(type) {
	case url.Values:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case nil:
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, req)
	return w
}

// decodeJSON decodes a response body or fails the test.
func decodeJSON[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v\n%s", w.Header().Get("Content-Type"), err, w.Body.String())
	}
	return v
}

// openTasks lists the open tasks through the store.
func (f *fixture) openTasks() []rampart.Task {
	f.t.Helper()
	tasks, err := f.db.Tasks(f.t.Context(), rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskOpen}})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(tasks) == 0 {
		f.t.Fatal("the fixture has no open task")
	}
	return tasks
}

// client is a browser-like client of a real server: cookies kept,
// redirects not followed.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
