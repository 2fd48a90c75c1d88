package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		f := newFixture(t, func(o *web.Options) { o.Secure = secure })
		for _, path := range []string{"/", "/api/v1/tasks", "/login", "/nowhere", "/static/app.css"} {
			w := f.do("GET", path, "admin", nil)
			h := w.Header()
			csp := h.Get("Content-Security-Policy")
			if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
				!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("%s: Content-Security-Policy %q", path, csp)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
			} {
				if h.Get(k) != want {
					t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), want)
				}
			}
			if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != secure {
				t.Errorf("%s with secure=%v: Strict-Transport-Security %q", path, secure, hsts)
			}
		}
		w := f.do("GET", "/login", "", nil)
		for _, c := range w.Result().Cookies() {
			if !c.HttpOnly || c.Secure != secure || (secure && !strings.HasPrefix(c.Name, "__Host-")) {
				t.Errorf("secure=%v: cookie %s: HttpOnly %v, Secure %v", secure, c.Name, c.HttpOnly, c.Secure)
			}
		}
	}
}

var (
	inlineScript = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	scriptSrc    = regexp.MustCompile(`(?i)\bsrc="/static/`)
	inlineStyle  = regexp.MustCompile(`(?i)(<style\b|\sstyle=|\son[a-z]+=|javascript:)`)
)

// TestNoInlineScriptOrStyle renders every page and looks for what the
// Content-Security-Policy would block: a script or style written into the
// page, an event handler attribute, a javascript: URL.
func TestNoInlineScriptOrStyle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	task := f.openTasks()[0].ID
	for _, path := range []string{
		"/", "/?framework=iso27001", "/controls", "/controls/PKI-01", "/resources", "/resources/legacy-tls",
		"/evidence/" + f.evidence, "/tasks", "/tasks/board", "/tasks/" + itoa64(task), "/exceptions", "/scans",
		"/scans/progress", "/audit", "/login", "/nowhere", "/reviews", "/reviews/" + itoa64(f.due.ID),
	} {
		w := f.do("GET", path, "admin", nil)
		if path == "/login" {
			w = f.do("GET", path, "", nil)
		}
		body := w.Body.String()
		if !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s: %s", path, w.Header().Get("Content-Type"))
			continue
		}
		for _, tag := range inlineScript.FindAllString(body, -1) {
			if !scriptSrc.MatchString(tag) {
				t.Errorf("%s: inline script %s", path, tag)
			}
		}
		if m := inlineStyle.FindString(body); m != "" {
			t.Errorf("%s: %q in the page", path, m)
		}
		if !strings.Contains(body, `<a class="skip" href="#main">`) || !strings.Contains(body, `<main id="main"`) {
			t.Errorf("%s: no skip link to the main content", path)
		}
	}
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs a user in through the form, as a browser does, and returns
// the client with its session and the page's anti-forgery token.
func signIn(t *testing.T, base, user, pw string) (*http.Client, *http.Response) {
	t.Helper()
	c := client(t)
	resp, err := c.Get(base + "/login?next=/tasks")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("the sign-in form has no anti-forgery token:\n%s", body)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"username": {user}, "password": {pw}, "csrf_token": {string(m[1])}, "next": {"/tasks"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp
}

func pageCSRF(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("%s (%d) has no anti-forgery token", u, resp.StatusCode)
	}
	return string(m[1])
}

func TestSessionAndCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)

	// A sign-in form posted without its token (a login CSRF) is refused.
	c := client(t)
	resp, err := c.PostForm(ts.URL+"/login", url.Values{"username": {"alice"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %d, want 403", resp.StatusCode)
	}

	c, resp = signIn(t, ts.URL, "bob", password)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "rampart_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", session)
	}

	task := itoa64(f.openTasks()[0].ID)
	post := func(header, field string, extra map[string]string) int {
		t.Helper()
		form := url.Values{"status": {"in_progress"}}
		if field != "" {
			form.Set("csrf_token", field)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/tasks/"+task+"/status", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set("X-CSRF-Token", header)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	token := pageCSRF(t, c, ts.URL+"/tasks/"+task)
	for _, tc := range []struct {
		name          string
		header, field string
		extra         map[string]string
		want          int
	}{
		{"no token", "", "", nil, http.StatusForbidden},
		{"wrong token", "", "forged", nil, http.StatusForbidden},
		{"another session's token", "", pageCSRFOf(t, ts.URL, "alice"), nil, http.StatusForbidden},
		{"form field", "", token, nil, http.StatusSeeOther},
		{"htmx header", token, "", nil, http.StatusSeeOther},
		{"cross-site browser request", token, "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, http.StatusForbidden},
	} {
		if got := post(tc.header, tc.field, tc.extra); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}

	// Signing out ends the session in the store: the old cookie opens
	// nothing any more.
	resp, err = c.PostForm(ts.URL+"/logout", url.Values{"csrf_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	replay, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/api/v1/me", nil)
	replay.AddCookie(session)
	resp, err = http.DefaultClient.Do(replay)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the cookie of a signed-out session: %d, want 401", resp.StatusCode)
	}
}

// pageCSRFOf signs another user in and returns their page token.
func pageCSRFOf(t *testing.T, base, user string) string {
	c, _ := signIn(t, base, user, password)
	return pageCSRF(t, c, base+"/tasks/board")
}

func TestDisabledAndExpiredUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	c, resp := signIn(t, ts.URL, "victor", password)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	if w := f.do("PATCH", "/api/v1/users/victor", "admin", map[string]any{"disabled": true}); w.Code != http.StatusOK {
		t.Fatalf("disable: %d %s", w.Code, w.Body)
	}
	resp, err := c.Get(ts.URL + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled user's session: %d, want 401", resp.StatusCode)
	}
	if _, resp := signIn(t, ts.URL, "victor", password); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled user signs in: %d, want 401", resp.StatusCode)
	}

	// An auditor whose access has ended cannot sign in.
	u, err := f.db.User(t.Context(), "aud")
	if err != nil {
		t.Fatal(err)
	}
	u.ExpiresAt = time.Now().Add(-time.Minute)
	if _, err := f.db.UpdateUser(t.Context(), u, rampart.Actor{Name: "cli:test"}); err != nil {
		t.Fatal(err)
	}
	if _, resp := signIn(t, ts.URL, "aud", password); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired auditor signs in: %d, want 401", resp.StatusCode)
	}
	// Nor may an admin take away their own admin role through a session.
	ac, _ := signIn(t, ts.URL, "alice", password)
	tok := pageCSRF(t, ac, ts.URL+"/tasks/board")
	req, _ := http.NewRequestWithContext(t.Context(), "PATCH", ts.URL+"/api/v1/users/alice", strings.NewReader(`{"disabled":true}`))
	req.Header.Set("X-CSRF-Token", tok)
	resp, err = ac.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("an admin disabling herself: %d, want 409", resp.StatusCode)
	}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	for i := range 5 {
		if _, resp := signIn(t, ts.URL, "alice", "wrong password "+itoa(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	_, resp := signIn(t, ts.URL, "alice", password)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right password after five failures: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another user from the same address may still sign in: the
	// address's own limit is higher.
	if _, resp := signIn(t, ts.URL, "bob", password); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("bob after alice's failures: %d, want 303", resp.StatusCode)
	}
	for i := range 20 {
		signIn(t, ts.URL, "nobody"+itoa(i), "x")
	}
	if _, resp := signIn(t, ts.URL, "victor", password); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after 20 failures from one address: %d, want 429", resp.StatusCode)
	}
}

// TestNothingSecretLogged signs in, calls the API with a token and looks
// for any secret in the server's logs.
func TestNothingSecretLogged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	c, resp := signIn(t, ts.URL, "alice", password)
	var session string
	for _, ck := range resp.Cookies() {
		if ck.Name == "rampart_session" {
			session = ck.Value
		}
	}
	csrf := pageCSRF(t, c, ts.URL+"/tasks/board")
	signIn(t, ts.URL, "alice", "a wrong password for the log")
	f.do("GET", "/api/v1/tasks?owner=x", "viewer", nil)
	f.do("GET", "/api/v1/me", "expired", nil)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer rpt_unknown-secret-value")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "path=/api/v1/tasks") || !strings.Contains(logs, "actor=user:alice") {
		t.Fatalf("the access log is missing:\n%s", logs)
	}
	for what, secret := range map[string]string{
		"password": password, "wrong password": "a wrong password for the log", "session cookie": session,
		"anti-forgery token": csrf, "viewer token": f.tokens["viewer"], "expired token": f.tokens["expired"],
		"unknown token": "unknown-secret-value",
	} {
		if secret == "" {
			t.Fatalf("no %s to look for", what)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the log", what)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	big := `{"reason":"` + strings.Repeat("x", 2<<20) + `"}`
	w := f.do("POST", "/api/v1/exceptions", "editor", big)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), `"code":"payload_too_large"`) {
		t.Errorf("a 2 MiB body: %d %s", w.Code, first(w.Body.String(), 200))
	}
}
