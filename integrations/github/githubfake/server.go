package githubfake

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes the fake GitHub.
type Config struct {
	Org    *Org
	Tokens []Token
	// App, when set, can exchange its JWT for installation tokens.
	App *App
	// Enterprise lays the API out like GitHub Enterprise Server: REST
	// under /api/v3/, GraphQL at /api/graphql. Otherwise like GitHub.com:
	// REST at the root, GraphQL at /graphql.
	Enterprise bool
	// RESTLimit and GraphQLLimit are the hourly budgets (default 5000).
	RESTLimit, GraphQLLimit int
	// SecondaryLimitAt answers the request with this 1-based number with a
	// secondary rate limit (403 and Retry-After), once.
	SecondaryLimitAt int64
	// RetryAfter is the Retry-After of that answer, in seconds (default 1).
	RetryAfter int
	// Now is the fake's clock (time.Now when nil).
	Now func() time.Time
}

// Stats counts what the fake answered.
type Stats struct {
	Requests, REST, GraphQL, NotModified      int64
	RESTPoints, GraphQLPoints                 int64
	Unauthorized, SecondaryLimited, Exchanges int64
	// Routes counts requests by route pattern ("GET /orgs/{org}/repos").
	Routes map[string]int64
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	cfg Config
	mux *http.ServeMux

	mu        sync.Mutex
	git       map[string]*gitRepo // by repository name
	byName    map[string]*Repo    // lower-cased name
	tokens    map[string]*Token
	stats     Stats
	windows   map[string]*window
	secondary bool
}

// window is one rate-limit resource's budget.
type window struct {
	limit, used int
	reset       time.Time
}

// New starts a fake on a loopback port; Close stops it.
func New(cfg Config) *Server {
	if cfg.RESTLimit == 0 {
		cfg.RESTLimit = 5000
	}
	if cfg.GraphQLLimit == 0 {
		cfg.GraphQLLimit = 5000
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, tokens: map[string]*Token{}, windows: map[string]*window{}}
	s.stats.Routes = map[string]int64{}
	for i := range cfg.Tokens {
		s.tokens[cfg.Tokens[i].Value] = &cfg.Tokens[i]
	}
	s.rebuild()
	s.routes()
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// BaseURL is the REST root, with its trailing slash.
func (s *Server) BaseURL() string {
	if s.cfg.Enterprise {
		return s.URL + "/api/v3/"
	}
	return s.URL + "/"
}

// GraphQLURL is the GraphQL endpoint.
func (s *Server) GraphQLURL() string {
	if s.cfg.Enterprise {
		return s.URL + "/api/graphql"
	}
	return s.URL + "/graphql"
}

// Update changes the organization under the fake's lock; git objects are
// hashed again.
func (s *Server) Update(fn func(o *Org)) {
	s.mu.Lock()
	fn(s.cfg.Org)
	s.mu.Unlock()
	s.rebuild()
}

func (s *Server) rebuild() {
	git := map[string]*gitRepo{}
	byName := map[string]*Repo{}
	for i, r := range s.cfg.Org.Repos {
		if r.ID == 0 {
			r.ID = int64(100000 + i)
		}
		git[r.Name] = buildGit(r.Files)
		byName[strings.ToLower(r.Name)] = r
	}
	s.mu.Lock()
	s.git, s.byName = git, byName
	s.mu.Unlock()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Routes = map[string]int64{}
	for k, v := range s.stats.Routes {
		st.Routes[k] = v
	}
	return st
}

// ResetStats zeroes the counters (not the rate-limit windows).
func (s *Server) ResetStats() {
	s.mu.Lock()
	s.stats = Stats{Routes: map[string]int64{}}
	s.mu.Unlock()
}

// Commit returns the head commit SHA of a repository's default branch.
func (s *Server) Commit(repo string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.git[repo]; g != nil {
		return g.commit
	}
	return ""
}

type ctxKey int

const (
	tokenKey ctxKey = iota
	replyKey
)

// reply is what a handler answers, before the rate-limit and ETag logic.
type reply struct {
	status   int
	header   http.Header
	body     []byte
	cost     int
	accepted string // X-Accepted-OAuth-Scopes
}

func (rp *reply) json(status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	rp.status, rp.body = status, b
	rp.header.Set("Content-Type", "application/json; charset=utf-8")
}

// docURL is the documentation_url of GitHub's error bodies.
const docURL = "https://docs.github.com/rest"

func (rp *reply) error(status int, msg string) {
	rp.json(status, map[string]any{"message": msg, "documentation_url": docURL, "status": strconv.Itoa(status)})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	p := r.URL.Path
	graphql := false
	switch {
	case s.cfg.Enterprise && p == "/api/graphql", !s.cfg.Enterprise && p == "/graphql":
		graphql = true
	case s.cfg.Enterprise:
		if !strings.HasPrefix(p, "/api/v3/") {
			http.NotFound(w, r)
			return
		}
		r.URL.Path = strings.TrimPrefix(p, "/api/v3")
	}
	resource := "core"
	if graphql {
		resource = "graphql"
	}
	s.mu.Lock()
	s.stats.Requests++
	n := s.stats.Requests
	if graphql {
		s.stats.GraphQL++
	} else {
		s.stats.REST++
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%08X", n))
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/app/installations/") {
		s.exchange(w, r, now)
		return
	}
	tok := s.token(r)
	if tok == nil {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		rp := &reply{header: h}
		rp.json(http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": docURL, "status": "401"})
		w.WriteHeader(rp.status)
		_, _ = w.Write(rp.body)
		return
	}
	if tok.Scopes != nil {
		h.Set("X-OAuth-Scopes", strings.Join(tok.Scopes, ", "))
	}

	s.mu.Lock()
	win := s.window(resource, now)
	if s.cfg.SecondaryLimitAt == n && !s.secondary {
		s.secondary = true
		s.stats.SecondaryLimited++
		win.used++
		s.rateHeaders(h, resource, win)
		s.mu.Unlock()
		h.Set("Retry-After", strconv.Itoa(s.cfg.RetryAfter))
		rp := &reply{header: h}
		rp.json(http.StatusForbidden, map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE.",
			"documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		w.WriteHeader(rp.status)
		_, _ = w.Write(rp.body)
		return
	}
	if win.used >= win.limit {
		s.rateHeaders(h, resource, win)
		s.mu.Unlock()
		rp := &reply{header: h}
		if graphql {
			rp.json(http.StatusOK, map[string]any{"errors": []any{map[string]any{
				"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 1.",
			}}})
		} else {
			rp.json(http.StatusForbidden, map[string]any{
				"message":           "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID FAKE.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
			})
		}
		w.WriteHeader(rp.status)
		_, _ = w.Write(rp.body)
		return
	}
	s.mu.Unlock()

	rp := &reply{header: http.Header{}, status: http.StatusOK, cost: 1}
	ctx := context.WithValue(context.WithValue(r.Context(), tokenKey, tok), replyKey, rp)
	if graphql {
		s.graphql(r.WithContext(ctx), rp, tok, now)
	} else {
		if _, pattern := s.mux.Handler(r); pattern == "" {
			rp.error(http.StatusNotFound, "Not Found")
		} else {
			// ServeHTTP, not the handler itself, fills in the path values.
			s.mux.ServeHTTP(discard{}, r.WithContext(ctx))
		}
	}
	for k, v := range rp.header {
		h[k] = v
	}
	if rp.accepted != "" {
		h.Set("X-Accepted-OAuth-Scopes", rp.accepted)
	}
	if r.Method == http.MethodGet && rp.status == http.StatusOK {
		sum := sha256.Sum256(rp.body)
		etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			s.mu.Lock()
			s.stats.NotModified++
			s.rateHeaders(h, resource, s.window(resource, now))
			s.mu.Unlock()
			h.Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.mu.Lock()
	win = s.window(resource, now)
	win.used += rp.cost
	if graphql {
		s.stats.GraphQLPoints += int64(rp.cost)
	} else {
		s.stats.RESTPoints += int64(rp.cost)
	}
	s.rateHeaders(h, resource, win)
	s.mu.Unlock()
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body)
}

// etagMatch compares If-None-Match with an ETag, weakly, as GitHub does.
func etagMatch(inm, etag string) bool {
	weak := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for c := range strings.SplitSeq(inm, ",") {
		if strings.TrimSpace(c) == "*" || weak(c) == weak(etag) {
			return true
		}
	}
	return false
}

// window returns the resource's budget, renewed when its hour is over.
// The caller holds s.mu.
func (s *Server) window(resource string, now time.Time) *window {
	w := s.windows[resource]
	if w == nil || !now.Before(w.reset) {
		limit := s.cfg.RESTLimit
		if resource == "graphql" {
			limit = s.cfg.GraphQLLimit
		}
		w = &window{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.windows[resource] = w
	}
	return w
}

func (s *Server) rateHeaders(h http.Header, resource string, w *window) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(w.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, w.limit-w.used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(w.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(w.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}

func (s *Server) token(r *http.Request) *Token {
	auth := r.Header.Get("Authorization")
	v, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		v, ok = strings.CutPrefix(auth, "token ")
	}
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[v]
}

// implied lists what a classic scope grants besides itself.
var implied = map[string][]string{
	"admin:org":  {"write:org", "read:org"},
	"write:org":  {"read:org"},
	"repo":       {"public_repo", "repo:status"},
	"audit_log":  {"read:audit_log"},
	"admin:repo": {"repo"},
}

// has reports whether the token carries scope; a token without scopes
// (fine-grained or App) has every permission.
func (t *Token) has(scope string) bool {
	if t.Scopes == nil {
		return true
	}
	for _, s := range t.Scopes {
		if s == scope || slices.Contains(implied[s], scope) {
			return true
		}
	}
	return false
}

// admin is an owner's token allowed to see the organization's settings.
func (t *Token) admin() bool { return t.Owner && t.has("admin:org") }

// base is the REST root URL as the client reached it, for links.
func (s *Server) base(r *http.Request) string {
	b := "http://" + r.Host
	if s.cfg.Enterprise {
		b += "/api/v3"
	}
	return b
}

// paginate answers one page of items with GitHub's Link header.
func (s *Server) paginate(r *http.Request, rp *reply, items []any) {
	start, end := s.page(r, rp, len(items))
	rp.json(http.StatusOK, items[start:end])
}

// page reads per_page and page, sets the Link header for n items and
// returns the page's bounds.
func (s *Server) page(r *http.Request, rp *reply, n int) (int, int) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max(1, (n+per-1)/per)
	start := min((page-1)*per, n)
	end := min(start+per, n)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.base(r), r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		rp.header.Set("Link", strings.Join(links, ", "))
	}
	return start, end
}

// exchange answers POST /app/installations/{id}/access_tokens: the JWT
// must be RS256, signed by the App's key, unexpired, issued by the App,
// and valid ten minutes at most.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, now time.Time) {
	rp := &reply{header: w.Header()}
	write := func() {
		w.WriteHeader(rp.status)
		_, _ = w.Write(rp.body)
	}
	s.mu.Lock()
	s.stats.Exchanges++
	s.mu.Unlock()
	app := s.cfg.App
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/app/installations/"), "/access_tokens")
	jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if app == nil || !ok {
		rp.error(http.StatusUnauthorized, "A JSON web token could not be decoded")
		write()
		return
	}
	if msg := verifyJWT(jwt, app, now); msg != "" {
		rp.error(http.StatusUnauthorized, msg)
		write()
		return
	}
	if id != strconv.FormatInt(app.InstallationID, 10) {
		rp.error(http.StatusNotFound, "Not Found")
		write()
		return
	}
	s.mu.Lock()
	value := fmt.Sprintf("ghs_fake%d", len(s.tokens)+1)
	s.tokens[value] = &Token{Value: value, Owner: true}
	s.mu.Unlock()
	rp.json(http.StatusCreated, map[string]any{
		"token":                value,
		"expires_at":           now.Add(time.Hour).UTC().Format(time.RFC3339),
		"permissions":          map[string]string{"administration": "read", "contents": "read", "members": "read", "metadata": "read", "organization_administration": "read", "organization_hooks": "read"},
		"repository_selection": "all",
	})
	write()
}

func verifyJWT(jwt string, app *App, now time.Time) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "A JSON web token could not be decoded"
	}
	enc := base64.RawURLEncoding
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "A JSON web token could not be decoded"
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iat, Exp int64
		Iss      any
	}
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil || header.Alg != "RS256" {
		return "A JSON web token could not be decoded"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(app.Key, crypto.SHA256, sum[:], sig) != nil {
		return "A JSON web token could not be decoded"
	}
	switch {
	case claims.Exp <= now.Unix():
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case claims.Exp-claims.Iat > 600+60:
		return "'Expiration time' claim ('exp') is too far in the future"
	case claims.Iat > now.Unix()+60:
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case fmt.Sprint(claims.Iss) != strconv.FormatInt(app.ID, 10):
		return "Integration not found"
	}
	return ""
}

// replyOf is the reply a REST handler writes into.
func replyOf(r *http.Request) (*reply, *Token) {
	return r.Context().Value(replyKey).(*reply), r.Context().Value(tokenKey).(*Token)
}

// readBody reads a request body with a bound.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 8<<20))
}

// b64 wraps base64 at 60 columns like GitHub's contents and blobs.
func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(s) > 60 {
		out.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	out.WriteString(s + "\n")
	return out.String()
}

func pathUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// discard is the ResponseWriter handed to the mux: handlers write into
// their reply instead.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
