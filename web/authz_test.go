package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

// principals are who the matrix tries every route as: a token of each
// role, nobody, and an expired admin token.
var principals = []string{"admin", "editor", "auditor", "viewer", "", "expired"}

// routeCase says how to call one route and what an allowed caller gets.
type routeCase struct {
	// path builds the concrete path (fresh objects for routes that
	// consume them); nil uses the pattern's path with {id}s filled in.
	path func(f *fixture) string
	body func(f *fixture) any
	// ok is the status of a caller whose role allows the route.
	ok int
	// public gives a public route's status per principal (others: ok).
	public map[string]int
	// after runs after each call (waits for a scan to end).
	after func(t *testing.T, f *fixture)
}

func firstTask(f *fixture) string { return itoa64(f.openTasks()[0].ID) }

func itoa64(n int64) string { return fmt.Sprint(n) }

func freshException(f *fixture) string {
	e, err := f.db.AddException(f.t.Context(), rampart.Exception{
		CheckID: "SRV-UID0", ResourceID: "db-01", Reason: "matrix", Approver: "ciso", CreatedBy: "cli:test",
		ExpiresAt: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return itoa64(e.ID)
}

func freshToken(f *fixture) string {
	_, tok := web.NewToken("to-revoke", rampart.RoleViewer, time.Now().Add(time.Hour))
	tok, err := f.db.CreateToken(f.t.Context(), tok, rampart.Actor{Name: "cli:test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return itoa64(tok.ID)
}

// reviewDays makes each fresh review's due date its own: the store keeps
// one review per control, resource and due date.
var reviewDays atomic.Int64

// freshReview opens a review for a route that completes one.
func freshReview(f *fixture) string {
	due := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(reviewDays.Add(1)))
	return itoa64(f.openReview("SRV-12", due, due.AddDate(0, 0, 14), due.AddDate(1, 0, 0)).ID)
}

func waitScan(t *testing.T, f *fixture) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		w := f.do("GET", "/api/v1/scans/current", "viewer", nil)
		if p := decodeJSON[map[string]any](t, w); p["running"] == false {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the scan did not finish")
}

func form(kv ...string) func(*fixture) any {
	return func(*fixture) any {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
}

func jsonBody(v any) func(*fixture) any { return func(*fixture) any { return v } }

var inAMonth = time.Now().AddDate(0, 1, 0).Format(time.DateOnly)

// routeCases covers every route of the table; TestAuthorizationMatrix
// fails when a route is added without a line here.
var routeCases = map[string]routeCase{
	"GET /healthz":              {ok: 200, public: map[string]int{}},
	"GET /readyz":               {ok: 200, public: map[string]int{}},
	"GET /login":                {ok: 303, public: map[string]int{"": 200, "expired": 200}},
	"POST /login":               {ok: 403, public: map[string]int{}, body: form("username", "alice", "password", password)},
	"GET /auth/oidc/login":      {ok: 302, public: map[string]int{}},
	"GET /auth/oidc/callback":   {ok: 400, public: map[string]int{}},
	"GET /static/{file...}":     {ok: 200, public: map[string]int{}, path: func(*fixture) string { return "/static/app.css" }},
	"POST /logout":              {ok: 303},
	"GET /{$}":                  {ok: 200, path: func(*fixture) string { return "/" }},
	"GET /controls":             {ok: 200},
	"GET /controls/{id}":        {ok: 200, path: func(*fixture) string { return "/controls/PKI-01" }},
	"GET /resources":            {ok: 200},
	"GET /resources/{id}":       {ok: 200, path: func(*fixture) string { return "/resources/legacy-tls" }},
	"GET /evidence/{sha256}":    {ok: 200, path: func(f *fixture) string { return "/evidence/" + f.evidence }},
	"GET /tasks":                {ok: 200},
	"GET /tasks/board":          {ok: 200},
	"GET /tasks/{id}":           {ok: 200, path: func(f *fixture) string { return "/tasks/" + firstTask(f) }},
	"POST /tasks/{id}/status":   {ok: 303, path: func(f *fixture) string { return "/tasks/" + firstTask(f) + "/status" }, body: form("status", "open")},
	"POST /tasks/{id}/assign":   {ok: 303, path: func(f *fixture) string { return "/tasks/" + firstTask(f) + "/assign" }, body: form("assignee", "bob")},
	"POST /tasks/{id}/comments": {ok: 303, path: func(f *fixture) string { return "/tasks/" + firstTask(f) + "/comments" }, body: form("text", "looking")},
	"POST /tasks/{id}/accept": {
		ok: 303, path: func(f *fixture) string { return "/tasks/" + firstTask(f) + "/accept" },
		body: form("reason", "r", "approver", "ciso", "expires_at", inAMonth, "scope", "check"),
	},
	"GET /exceptions":                       {ok: 200},
	"POST /exceptions/{id}/revoke":          {ok: 303, path: func(f *fixture) string { return "/exceptions/" + freshException(f) + "/revoke" }, body: form()},
	"GET /scans":                            {ok: 200},
	"GET /scans/progress":                   {ok: 200},
	"POST /scans":                           {ok: 303, body: form("resource", "db-01"), after: waitScan},
	"GET /audit":                            {ok: 200},
	"GET /api/v1/openapi.json":              {ok: 200},
	"GET /api/v1/me":                        {ok: 200},
	"GET /api/v1/readiness":                 {ok: 200},
	"GET /api/v1/criteria":                  {ok: 200},
	"GET /api/v1/resources":                 {ok: 200},
	"GET /api/v1/resources/{id}":            {ok: 200, path: func(*fixture) string { return "/api/v1/resources/db-01" }},
	"GET /api/v1/resources/{id}/results":    {ok: 200, path: func(*fixture) string { return "/api/v1/resources/db-01/results" }},
	"GET /api/v1/controls":                  {ok: 200},
	"GET /api/v1/controls/{id}":             {ok: 200, path: func(*fixture) string { return "/api/v1/controls/SRV-02" }},
	"GET /api/v1/results":                   {ok: 200},
	"GET /api/v1/evidence/{sha256}":         {ok: 200, path: func(f *fixture) string { return "/api/v1/evidence/" + f.evidence }},
	"GET /api/v1/evidence/{sha256}/content": {ok: 200, path: func(f *fixture) string { return "/api/v1/evidence/" + f.evidence + "/content" }},
	"GET /api/v1/tasks":                     {ok: 200},
	"GET /api/v1/tasks/{id}":                {ok: 200, path: func(f *fixture) string { return "/api/v1/tasks/" + firstTask(f) }},
	"PATCH /api/v1/tasks/{id}":              {ok: 200, path: func(f *fixture) string { return "/api/v1/tasks/" + firstTask(f) }, body: jsonBody(map[string]string{"assignee": "carol"})},
	"GET /api/v1/tasks/{id}/comments":       {ok: 200, path: func(f *fixture) string { return "/api/v1/tasks/" + firstTask(f) + "/comments" }},
	"POST /api/v1/tasks/{id}/comments": {
		ok: 201, path: func(f *fixture) string { return "/api/v1/tasks/" + firstTask(f) + "/comments" },
		body: jsonBody(map[string]string{"text": "on it"}),
	},
	"GET /api/v1/exceptions": {ok: 200},
	"POST /api/v1/exceptions": {ok: 201, body: jsonBody(map[string]string{
		"check_id": "TLS-EXPIRED", "resource_id": "legacy-tls", "reason": "replacement ordered", "approver": "ciso", "expires_at": inAMonth,
	})},
	"POST /api/v1/exceptions/{id}/revoke": {ok: 200, path: func(f *fixture) string { return "/api/v1/exceptions/" + freshException(f) + "/revoke" }},
	"GET /api/v1/scans":                   {ok: 200},
	"POST /api/v1/scans":                  {ok: 202, body: jsonBody(map[string][]string{"resources": {"db-01"}}), after: waitScan},
	"GET /api/v1/scans/current":           {ok: 200},
	"GET /api/v1/scans/{id}":              {ok: 200, path: func(*fixture) string { return "/api/v1/scans/1" }},
	"GET /api/v1/audit":                   {ok: 200},
	"GET /api/v1/audit/verify":            {ok: 200},
	"GET /api/v1/users":                   {ok: 200},
	"PATCH /api/v1/users/{name}":          {ok: 200, path: func(*fixture) string { return "/api/v1/users/dave" }, body: jsonBody(map[string]string{"role": "viewer"})},
	"GET /api/v1/tokens":                  {ok: 200},
	"POST /api/v1/tokens":                 {ok: 201, body: jsonBody(map[string]string{"name": "made", "role": "viewer"})},
	"POST /api/v1/tokens/{id}/revoke":     {ok: 200, path: func(f *fixture) string { return "/api/v1/tokens/" + freshToken(f) + "/revoke" }},
	"GET /metrics":                        {ok: 200},

	// The reviews' routes, which reviewweb adds through Options.Routes.
	"GET /reviews":      {ok: 200},
	"GET /reviews/{id}": {ok: 200, path: func(f *fixture) string { return "/reviews/" + itoa64(f.due.ID) }},
	"POST /reviews/{id}/complete": {
		ok: 303, path: func(f *fixture) string { return "/reviews/" + freshReview(f) + "/complete" },
		body: form("statement", "Checked the register.", "links", "https://wiki.example.com/reviews/1"),
	},
	"GET /api/v1/reviews":      {ok: 200},
	"GET /api/v1/reviews/{id}": {ok: 200, path: func(f *fixture) string { return "/api/v1/reviews/" + itoa64(f.overdue.ID) }},
	"POST /api/v1/reviews/{id}/complete": {
		ok: 200, path: func(f *fixture) string { return "/api/v1/reviews/" + freshReview(f) + "/complete" },
		body: form("statement", "Checked the register.", "links", "https://wiki.example.com/reviews/2"),
	},
}

// wantPerm pins the permission each route needs, independently of the
// route table: changing a route's permission fails the matrix until this
// says so too. "" is public.
var (
	read, audit, write, admin = rampart.PermRead, rampart.PermAudit, rampart.PermWrite, rampart.PermAdmin

	wantPerm = map[string]rampart.Permission{
		"GET /healthz":                          "",
		"GET /readyz":                           "",
		"GET /login":                            "",
		"POST /login":                           "",
		"GET /auth/oidc/login":                  "",
		"GET /auth/oidc/callback":               "",
		"GET /static/{file...}":                 "",
		"POST /logout":                          read,
		"GET /{$}":                              read,
		"GET /controls":                         read,
		"GET /controls/{id}":                    read,
		"GET /resources":                        read,
		"GET /resources/{id}":                   read,
		"GET /evidence/{sha256}":                read,
		"GET /tasks":                            read,
		"GET /tasks/board":                      read,
		"GET /tasks/{id}":                       read,
		"POST /tasks/{id}/status":               write,
		"POST /tasks/{id}/assign":               write,
		"POST /tasks/{id}/comments":             write,
		"POST /tasks/{id}/accept":               write,
		"GET /exceptions":                       read,
		"POST /exceptions/{id}/revoke":          write,
		"GET /scans":                            read,
		"GET /scans/progress":                   read,
		"POST /scans":                           write,
		"GET /audit":                            audit,
		"GET /api/v1/openapi.json":              read,
		"GET /api/v1/me":                        read,
		"GET /api/v1/readiness":                 read,
		"GET /api/v1/criteria":                  read,
		"GET /api/v1/resources":                 read,
		"GET /api/v1/resources/{id}":            read,
		"GET /api/v1/resources/{id}/results":    read,
		"GET /api/v1/controls":                  read,
		"GET /api/v1/controls/{id}":             read,
		"GET /api/v1/results":                   read,
		"GET /api/v1/evidence/{sha256}":         read,
		"GET /api/v1/evidence/{sha256}/content": read,
		"GET /api/v1/tasks":                     read,
		"GET /api/v1/tasks/{id}":                read,
		"PATCH /api/v1/tasks/{id}":              write,
		"GET /api/v1/tasks/{id}/comments":       read,
		"POST /api/v1/tasks/{id}/comments":      write,
		"GET /api/v1/exceptions":                read,
		"POST /api/v1/exceptions":               write,
		"POST /api/v1/exceptions/{id}/revoke":   write,
		"GET /api/v1/scans":                     read,
		"POST /api/v1/scans":                    write,
		"GET /api/v1/scans/current":             read,
		"GET /api/v1/scans/{id}":                read,
		"GET /api/v1/audit":                     audit,
		"GET /api/v1/audit/verify":              audit,
		"GET /api/v1/users":                     admin,
		"PATCH /api/v1/users/{name}":            admin,
		"GET /api/v1/tokens":                    admin,
		"POST /api/v1/tokens":                   admin,
		"POST /api/v1/tokens/{id}/revoke":       admin,
		"GET /metrics":                          read,
		"GET /reviews":                          read,
		"GET /reviews/{id}":                     read,
		"POST /reviews/{id}/complete":           write,
		"GET /api/v1/reviews":                   read,
		"GET /api/v1/reviews/{id}":              read,
		"POST /api/v1/reviews/{id}/complete":    write,
	}
)

// expected is the status a principal gets on a route.
func expected(rt web.Route, c routeCase, who string) int {
	need := wantPerm[rt.Pattern()]
	if need == "" {
		if s, ok := c.public[who]; ok {
			return s
		}
		return c.ok
	}
	switch who {
	case "expired":
		return http.StatusUnauthorized
	case "":
		if rt.Page && rt.Method == http.MethodGet {
			return http.StatusSeeOther // to the sign-in page
		}
		return http.StatusUnauthorized
	}
	if !rampart.Role(who).Allows(need) {
		return http.StatusForbidden
	}
	return c.ok
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	idp := newIdP(t)
	f := newFixture(t, idp.configure, func(o *web.Options) {
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) })
	})
	var patterns []string
	for _, rt := range f.srv.Routes() {
		patterns = append(patterns, rt.Pattern())
		if need, ok := wantPerm[rt.Pattern()]; !ok || need != rt.Perm || (need == "") != rt.Public {
			t.Errorf("route %s needs %q (public %v); the matrix expects %q", rt.Pattern(), rt.Perm, rt.Public, need)
		}
		c, ok := routeCases[rt.Pattern()]
		if !ok {
			t.Errorf("route %s is not in the authorization matrix: add it to routeCases", rt.Pattern())
			continue
		}
		for _, who := range principals {
			path := strings.ReplaceAll(rt.Path, "{$}", "")
			if c.path != nil {
				path = c.path(f)
			}
			var body any
			if c.body != nil {
				body = c.body(f)
			}
			w := f.do(rt.Method, path, who, body)
			want := expected(rt, c, who)
			if w.Code != want {
				t.Errorf("%s %s as %q: status %d, want %d\n%s", rt.Method, path, label(who), w.Code, want, first(w.Body.String(), 300))
			}
			if w.Code < 400 && c.after != nil {
				c.after(t, f)
			}
		}
	}
	for p := range routeCases {
		if !slices.Contains(patterns, p) {
			t.Errorf("routeCases names %s, which the server does not route", p)
		}
	}
}

func label(who string) string {
	if who == "" {
		return "anonymous"
	}
	return who
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// TestPublicRoutes lists, on purpose, every route anyone may reach
// without signing in: the probes, the sign-in pages and the assets.
func TestPublicRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var public []string
	for _, rt := range f.srv.Routes() {
		if rt.Public {
			public = append(public, rt.Pattern())
		}
	}
	want := []string{
		"GET /healthz", "GET /readyz", "GET /login", "POST /login",
		"GET /auth/oidc/login", "GET /auth/oidc/callback", "GET /static/{file...}",
	}
	if !slices.Equal(public, want) {
		t.Errorf("public routes:\n got %q\nwant %q", public, want)
	}
}

// TestMetricsRoute checks both ways of serving the other engineers'
// /metrics: behind a token, or public for a scraper.
func TestMetricsRoute(t *testing.T) {
	t.Parallel()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) })
	for _, public := range []bool{false, true} {
		f := newFixture(t, func(o *web.Options) { o.Metrics, o.MetricsPublic = metrics, public })
		anon := f.do("GET", "/metrics", "", nil)
		tok := f.do("GET", "/metrics", "viewer", nil)
		wantAnon := http.StatusUnauthorized
		if public {
			wantAnon = http.StatusOK
		}
		if anon.Code != wantAnon || tok.Code != http.StatusOK || tok.Body.String() != "up 1\n" {
			t.Errorf("public=%v: anonymous %d (want %d), token %d %q", public, anon.Code, wantAnon, tok.Code, tok.Body.String())
		}
	}
}

// TestRouteWithoutPermissionRefused proves the table cannot hold a
// route that forgot its permission.
func TestRouteWithoutPermissionRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, rt := range []web.Route{
		{Method: "GET", Path: "/forgotten", Handler: h},
		{Method: "GET", Path: "/both", Handler: h, Public: true, Perm: rampart.PermRead},
		{Method: "GET", Path: "/odd", Handler: h, Perm: "superuser"},
		{Method: "GET", Path: "/nothing", Perm: rampart.PermRead},
		{Method: "POST", Path: "/negative", Handler: h, Perm: rampart.PermWrite, MaxBody: -1},
	} {
		_, err := web.New(web.Options{Store: f.db, Catalog: f.cat, Routes: []web.Route{rt}})
		if err == nil {
			t.Errorf("route %s was accepted", rt.Pattern())
		}
	}
	if _, err := web.New(web.Options{Store: f.db, Catalog: f.cat, Routes: []web.Route{{Method: "GET", Path: "/extra", Handler: h, Perm: rampart.PermAdmin}}}); err != nil {
		t.Errorf("a route with a permission was refused: %v", err)
	}
}
