package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
)

// principal is who makes a request: a signed-in user, an API token, or
// nobody.
type principal struct {
	// Name is the user's or the token's name; empty for anonymous.
	Name string
	Role rampart.Role
	// Via is "session", "token" or "" (anonymous).
	Via string
	// CSRF is the session's anti-forgery token, for forms.
	CSRF string

	sessionHash string
	DisplayName string
}

func (p *principal) anonymous() bool { return p.Via == "" }

// actor names the principal in the audit log.
func (p *principal) actor() string {
	switch p.Via {
	case "session":
		return "user:" + p.Name
	case "token":
		return "token:" + p.Name
	}
	return "anonymous"
}

func (p *principal) can(perm rampart.Permission) bool { return !p.anonymous() && p.Role.Allows(perm) }

func (s *Server) auditActor(r *http.Request, p *principal) rampart.Actor {
	return rampart.Actor{Name: p.actor(), Source: remoteIP(r)}
}

const (
	tokenPrefix = "rpt_"
	// csrfHeader is how htmx (through hx-headers) and API clients using
	// the session cookie send the anti-forgery token; forms send the
	// csrf_token field.
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf_token"
)

func (s *Server) sessionCookie() string {
	if s.opts.Secure {
		return "__Host-rampart_session"
	}
	return "rampart_session"
}

func (s *Server) loginCookie() string {
	if s.opts.Secure {
		return "__Host-rampart_login"
	}
	return "rampart_login"
}

// setCookie sets one of the server's cookies: HttpOnly always, Secure
// when the server is reached over HTTPS (a Secure cookie is never sent over
// plain HTTP, so on loopback without TLS it would sign nobody in). maxAge
// below zero deletes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: Secure follows TLS or --secure, see above
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.opts.Secure, SameSite: sameSite,
	})
}

// randomSecret is 32 random bytes, URL-safe.
func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// csrfFor derives a session's anti-forgery token from its secret: only
// whoever holds the cookie can compute it, and nothing more is stored.
func csrfFor(secret string) string {
	h := sha256.Sum256([]byte("rampart csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// NewToken makes an API token's secret and the record the store keeps of
// it (hash and prefix only).
func NewToken(name string, role rampart.Role, expires time.Time) (secret string, t rampart.APIToken) {
	secret = tokenPrefix + randomSecret()
	return secret, rampart.APIToken{Name: name, Role: role, ExpiresAt: expires, Hash: hashSecret(secret), Prefix: secret[:len(tokenPrefix)+6]}
}

// authenticate finds who makes the request. A bearer token that is
// unknown, expired or revoked is an error (401), never anonymous: the
// caller meant to be someone. A stale session cookie is just anonymous.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	now := s.now()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(secret, tokenPrefix) {
			return nil, errorf(rampart.KindUnauthorized, "the Authorization header must be \"Bearer rpt_…\"")
		}
		key := "t:" + hashSecret(secret)
		if e, ok := s.auth.get(key, now); ok {
			p := e.p
			return &p, nil
		}
		t, err := s.opts.Store.TokenByHash(r.Context(), key[2:])
		if rampart.KindOf(err) == rampart.KindNotFound {
			s.auth.drop(key)
			return nil, errorf(rampart.KindUnauthorized, "unknown API token")
		}
		if err != nil {
			return nil, err
		}
		if !t.Active(now) {
			s.auth.drop(key)
			return nil, errorf(rampart.KindUnauthorized, "API token %s has expired or was revoked", t.Name)
		}
		if now.Sub(t.LastUsedAt) > time.Minute {
			// Recorded off the request's path: a write queues behind
			// scans, and when it was last used is for people to read.
			go func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
				defer cancel()
				if err := s.opts.Store.TouchToken(ctx, t.ID, now); err != nil {
					s.log.Warn("record token use", "token", t.Name, "err", err)
				}
			}()
		}
		p := principal{Name: t.Name, Role: t.Role, Via: "token"}
		s.auth.put(key, authEntry{p: p, until: now.Add(authTTL), expires: t.ExpiresAt, tokenID: t.ID})
		return &p, nil
	}
	c, err := r.Cookie(s.sessionCookie())
	if err != nil || c.Value == "" {
		return &principal{}, nil
	}
	idHash := hashSecret(c.Value)
	if e, ok := s.auth.get("s:"+idHash, now); ok {
		p := e.p
		p.CSRF = csrfFor(c.Value)
		return &p, nil
	}
	anonymous := func() (*principal, error) {
		s.auth.drop("s:" + idHash)
		return &principal{}, nil
	}
	sess, err := s.opts.Store.Session(r.Context(), idHash)
	if rampart.KindOf(err) == rampart.KindNotFound {
		return anonymous()
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(sess.ExpiresAt) {
		return anonymous()
	}
	u, err := s.opts.Store.User(r.Context(), sess.UserName)
	if rampart.KindOf(err) == rampart.KindNotFound {
		return anonymous()
	}
	if err != nil {
		return nil, err
	}
	if !u.Active(now) {
		return anonymous()
	}
	p := principal{Name: u.Name, Role: u.Role, Via: "session", sessionHash: sess.IDHash, DisplayName: u.DisplayName}
	expires := sess.ExpiresAt
	if !u.ExpiresAt.IsZero() && u.ExpiresAt.Before(expires) {
		expires = u.ExpiresAt
	}
	s.auth.put("s:"+idHash, authEntry{p: p, until: now.Add(authTTL), expires: expires})
	p.CSRF = csrfFor(c.Value)
	return &p, nil
}

// unsafeMethod is a method that may change something.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// multipartMemory is how much of a multipart form is held in memory
// while it is read; larger files wait in temporary files, removed when
// the request ends.
const multipartMemory = 8 << 20

// formValue reads a field of a urlencoded or multipart form body. A body
// past the route's limit is an error (413), not a missing field.
func formValue(r *http.Request, name string) (string, error) {
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(multipartMemory) //nolint:gosec // G120: guard bounds the body with the route's MaxBytesReader first
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return "", err
	}
	// Any other unreadable form lacks the token, which says enough.
	return r.PostForm.Get(name), nil
}

// callerKey keys, in the context of routes added through Options.Routes,
// the request's principal and the server that guarded it.
type callerKey struct{}

type caller struct {
	s *Server
	p *principal
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

func principalOf(r *http.Request) *principal { return callerOf(r).p }

// ActorOf names who makes the request as the audit log does ("user:alice",
// "token:ci"), or "" for an anonymous one. It serves routes added through
// Options.Routes, whose requests carry the principal the guard found.
func ActorOf(r *http.Request) string {
	if p := principalOf(r); p != nil && !p.anonymous() {
		return p.actor()
	}
	return ""
}

// Allows reports whether the request's principal may do what perm
// names: false for nobody, and outside the server's guard. Routes added
// through Options.Routes use it to offer only what the caller may do (the
// guard still enforces each route's own permission).
func Allows(r *http.Request, perm rampart.Permission) bool {
	p := principalOf(r)
	return p != nil && p.can(perm)
}

// CSRFToken is the anti-forgery token of the request's session, for a
// form to post back in its csrf_token field (or htmx in X-CSRF-Token);
// "" for a request without a session (an API token, or nobody). Like
// ActorOf, it serves routes added through Options.Routes.
func CSRFToken(r *http.Request) string {
	if p := principalOf(r); p != nil && p.Via == "session" {
		return p.CSRF
	}
	return ""
}

// guard bounds the body, authenticates, authorizes and checks the
// anti-forgery token before a route's handler runs.
func (s *Server) guard(rt Route) http.Handler {
	limit := rt.MaxBody
	if limit <= 0 {
		limit = maxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		// The server removes a parsed form's temporary files only for
		// the request it made, not for the copies handlers get.
		defer func() {
			if r.MultipartForm != nil {
				_ = r.MultipartForm.RemoveAll()
			}
		}()
		p, err := s.authenticate(r)
		if err != nil {
			if !rt.Public {
				s.fail(w, r, rt.Page, err)
				return
			}
			p = &principal{} // a bad token does not lock anyone out of the sign-in page
		}
		infoFrom(r.Context()).actor = p.actor()
		if !rt.Public {
			if p.anonymous() {
				if rt.Page && r.Method == http.MethodGet {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="rampart"`)
				s.fail(w, r, rt.Page, errorf(rampart.KindUnauthorized, "sign in, or send an API token as Authorization: Bearer"))
				return
			}
			if !p.Role.Allows(rt.Perm) {
				s.fail(w, r, rt.Page, errorf(rampart.KindForbidden, "the %s role may not do this (it needs %s permission)", p.Role, rt.Perm))
				return
			}
		}
		if p.Via == "session" && unsafeMethod(r.Method) {
			got := r.Header.Get(csrfHeader)
			if got == "" {
				var err error
				if got, err = formValue(r, csrfField); err != nil {
					s.fail(w, r, rt.Page, err)
					return
				}
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) != 1 {
				s.fail(w, r, rt.Page, errorf(rampart.KindForbidden, "the form's anti-forgery token is missing or stale: reload the page and try again"))
				return
			}
		}
		if rt.Handler != nil {
			// Routes added through Options.Routes learn who calls from
			// the context: ActorOf and CSRFToken.
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{s: s, p: p}))
			rt.Handler.ServeHTTP(w, r)
			if unsafeMethod(r.Method) {
				// It may have changed what the dashboard shows (a review
				// completed): look again rather than wait for the next
				// second's check.
				s.view.recheck()
			}
			return
		}
		if err := rt.h(w, r, p); err != nil {
			s.fail(w, r, rt.Page, err)
		}
	})
}

// startSession signs a user in: a new secret in a cookie, its hash in the
// store.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, name string) error {
	secret := randomSecret()
	now := s.now()
	if err := s.opts.Store.RecordLogin(r.Context(), rampart.Session{
		IDHash: hashSecret(secret), UserName: name, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL), Source: remoteIP(r),
	}); err != nil {
		return err
	}
	s.setCookie(w, s.sessionCookie(), secret, int(s.opts.SessionTTL.Seconds()), http.SameSiteLaxMode)
	return nil
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

type loginData struct {
	Next, Error, CSRF string
	OIDC              bool
	OIDCName          string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	if !p.anonymous() {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther) //nolint:gosec // G710: safeNext keeps it on this site
		return nil
	}
	return s.renderLogin(w, r, http.StatusOK, r.URL.Query().Get("next"), r.URL.Query().Get("error"))
}

// renderLogin shows the sign-in form with a fresh double-submit
// anti-forgery token: there is no session yet to derive one from.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, msg string) error {
	tok := randomSecret()
	s.setCookie(w, s.loginCookie(), tok, 3600, http.SameSiteStrictMode)
	d := loginData{Next: safeNext(next), Error: msg, CSRF: tok, OIDC: s.oidc != nil}
	if s.oidc != nil {
		d.OIDCName = s.oidc.cfg.DisplayName
	}
	return s.render(w, r, status, "login", &principal{}, "Sign in", d)
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, _ *principal) error {
	next := r.PostFormValue("next")
	c, err := r.Cookie(s.loginCookie())
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		return s.renderLogin(w, r, http.StatusForbidden, next, "The sign-in form expired. Please try again.")
	}
	name := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	ip := remoteIP(r)
	if wait, ok := s.limiter.allow(name, ip); !ok {
		s.log.Warn("sign-in throttled", "user", name, "remote", ip)
		w.Header().Set("Retry-After", itoa(int64(wait.Seconds())+1))
		return s.renderLogin(w, r, http.StatusTooManyRequests, next,
			"Too many failed sign-ins. Try again in "+wait.Round(time.Minute).String()+".")
	}
	u, err := s.opts.Store.User(r.Context(), name)
	switch {
	case rampart.KindOf(err) == rampart.KindNotFound:
		VerifyPassword(dummyHash(), password)
	case err != nil:
		return err
	}
	if err != nil || u.Source != rampart.UserLocal || u.PasswordHash == "" || !VerifyPassword(u.PasswordHash, password) || !u.Active(s.now()) {
		s.limiter.fail(name, ip)
		s.log.Warn("sign-in refused", "user", name, "remote", ip)
		return s.renderLogin(w, r, http.StatusUnauthorized, next, "Wrong user name or password, or the account is disabled.")
	}
	s.limiter.succeed(name)
	if err := s.startSession(w, r, u.Name); err != nil {
		return err
	}
	s.setCookie(w, s.loginCookie(), "", -1, http.SameSiteStrictMode)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther) //nolint:gosec // G710: safeNext keeps it on this site
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.Via == "session" {
		s.auth.drop("s:" + p.sessionHash)
		if err := s.opts.Store.DeleteSession(r.Context(), p.sessionHash); err != nil {
			return err
		}
		if _, err := s.opts.Store.Audit(r.Context(), rampart.AuditEntry{
			Actor: p.actor(), Source: remoteIP(r), Action: "user.logout", Object: "user:" + p.Name,
		}); err != nil {
			return err
		}
	}
	s.setCookie(w, s.sessionCookie(), "", -1, http.SameSiteLaxMode)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// Sign-in throttling: after userFails failures for one user name, or
// ipFails from one address, within throttleWindow, sign-ins for that name
// or from that address are refused until the window has passed. The
// counters live in this process: several replicas each count their own.
const (
	userFails      = 5
	ipFails        = 20
	throttleWindow = 15 * time.Minute
	maxTracked     = 10000
)

type loginLimiter struct {
	mu     sync.Mutex
	now    func() time.Time
	byUser map[string]*failures
	byIP   map[string]*failures
}

type failures struct {
	count int
	first time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, byUser: map[string]*failures{}, byIP: map[string]*failures{}}
}

// allow reports whether a sign-in may be tried, and if not, for how long
// it may not.
func (l *loginLimiter) allow(user, ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, c := range []struct {
		f   *failures
		max int
	}{{l.byUser[strings.ToLower(user)], userFails}, {l.byIP[ip], ipFails}} {
		if c.f == nil || now.Sub(c.f.first) >= throttleWindow || c.f.count < c.max {
			continue
		}
		if w := throttleWindow - now.Sub(c.f.first); w > wait {
			wait = w
		}
	}
	return wait, wait == 0
}

func (l *loginLimiter) fail(user, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, m := range []struct {
		m   map[string]*failures
		key string
	}{{l.byUser, strings.ToLower(user)}, {l.byIP, ip}} {
		f := m.m[m.key]
		if f == nil || now.Sub(f.first) >= throttleWindow {
			if len(m.m) >= maxTracked {
				prune(m.m, now)
			}
			f = &failures{first: now}
			m.m[m.key] = f
		}
		f.count++
	}
}

func (l *loginLimiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byUser, strings.ToLower(user))
}

// prune drops windows that have passed; if all are live (an attack from
// many addresses), it drops everything rather than grow without bound.
func prune(m map[string]*failures, now time.Time) {
	for k, f := range m {
		if now.Sub(f.first) >= throttleWindow {
			delete(m, k)
		}
	}
	if len(m) >= maxTracked {
		clear(m)
	}
}
