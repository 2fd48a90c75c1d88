package web_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

// idp is an OpenID Connect provider on loopback, written here: discovery,
// a JWKS with an RSA key made for the test, and a token endpoint that
// checks the client's secret and PKCE verifier and signs real ID tokens.
type idp struct {
	t     *testing.T
	srv   *httptest.Server
	key   *rsa.PrivateKey
	other *rsa.PrivateKey // signs tokens the JWKS does not vouch for
	mu    sync.Mutex
	codes map[string]grant
}

type grant struct {
	claims    map[string]any
	challenge string
	key       *rsa.PrivateKey
}

const (
	clientID     = "rampart"
	clientSecret = "s3cret-from-env"
)

func newIdP(t *testing.T) *idp {
	t.Helper()
	i := &idp{t: t, codes: map[string]grant{}}
	var err error
	if i.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if i.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		u := i.srv.URL
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token", "jwks_uri": u + "/jwks",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &i.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if id != clientID || secret != clientSecret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		i.mu.Lock()
		g, ok := i.codes[r.PostFormValue("code")]
		delete(i.codes, r.PostFormValue("code"))
		i.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": i.sign(g.key, g.claims),
		})
	})
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	return i
}

func (i *idp) sign(key *rsa.PrivateKey, claims map[string]any) string {
	i.t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		i.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		i.t.Fatal(err)
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		i.t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		i.t.Fatal(err)
	}
	return s
}

// configure points a server at this provider.
func (i *idp) configure(o *web.Options) {
	c, err := web.ParseOIDCConfig("oidc.yaml", []byte(`
issuer: `+i.srv.URL+`
client_id: `+clientID+`
client_secret: env:RAMPART_OIDC_SECRET
redirect_url: http://rampart.test/auth/oidc/callback
display_name: Test IdP
roles:
  platform-admins: admin
  platform: editor
  auditors: auditor
  everyone: viewer
`))
	if err != nil {
		i.t.Fatal(err)
	}
	o.OIDC = c.WithClientSecret(clientSecret)
}

// signIn goes through the server's OIDC flow with a browser-like client,
// the provider answering with the claims claims() makes from the nonce;
// it returns the callback's response and the client holding its cookies.
func (i *idp) signIn(t *testing.T, base string, key *rsa.PrivateKey, claims func(nonce string) map[string]any, tamperState bool) (*http.Response, *http.Client) {
	t.Helper()
	c := client(t)
	resp, err := c.Get(base + "/auth/oidc/login?next=/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/auth/oidc/login: %d, want a redirect to the provider", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), i.srv.URL+"/authorize") || q.Get("client_id") != clientID ||
		q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorization request lacks what OIDC with PKCE needs: %s", loc)
	}
	code := "code-" + q.Get("state")[:8]
	i.mu.Lock()
	i.codes[code] = grant{claims: claims(q.Get("nonce")), challenge: q.Get("code_challenge"), key: key}
	i.mu.Unlock()
	state := q.Get("state")
	if tamperState {
		state = "forged" + state
	}
	resp, err = c.Get(base + "/auth/oidc/callback?code=" + code + "&state=" + url.QueryEscape(state))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp, c
}

func (i *idp) claims(sub string, groups []string, edit func(map[string]any)) func(nonce string) map[string]any {
	return func(nonce string) map[string]any {
		now := time.Now()
		c := map[string]any{
			"iss": i.srv.URL, "aud": clientID, "sub": sub, "preferred_username": sub, "email": sub + "@example.com",
			"name": strings.ToUpper(sub[:1]) + sub[1:], "groups": groups, "nonce": nonce,
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	i := newIdP(t)
	f := newFixture(t, i.configure)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)

	for _, tc := range []struct {
		name     string
		sub      string
		groups   []string
		edit     func(map[string]any)
		wrongKey bool
		tamper   bool
		status   int
		role     rampart.Role // when signed in
	}{
		{name: "editor by group", sub: "erin", groups: []string{"platform"}, status: http.StatusSeeOther, role: rampart.RoleEditor},
		{name: "the most powerful group wins", sub: "adam", groups: []string{"everyone", "platform-admins", "platform"}, status: http.StatusSeeOther, role: rampart.RoleAdmin},
		{name: "auditor", sub: "audrey", groups: []string{"auditors"}, status: http.StatusSeeOther, role: rampart.RoleAuditor},
		{name: "wrong audience", sub: "mallory", groups: []string{"platform-admins"}, edit: func(c map[string]any) { c["aud"] = "another-app" }, status: http.StatusUnauthorized},
		{name: "expired token", sub: "oscar", groups: []string{"platform-admins"}, edit: func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}, status: http.StatusUnauthorized},
		{name: "wrong issuer", sub: "ivan", groups: []string{"platform"}, edit: func(c map[string]any) { c["iss"] = "https://evil.example" }, status: http.StatusUnauthorized},
		{name: "replayed nonce", sub: "nina", groups: []string{"platform"}, edit: func(c map[string]any) { c["nonce"] = "from-another-sign-in" }, status: http.StatusUnauthorized},
		{name: "signed by an unknown key", sub: "kim", groups: []string{"platform"}, wrongKey: true, status: http.StatusUnauthorized},
		{name: "no group with a role", sub: "gina", groups: []string{"marketing"}, status: http.StatusForbidden},
		{name: "forged state", sub: "sam", groups: []string{"platform"}, tamper: true, status: http.StatusBadRequest},
		{name: "a local user's name", sub: "alice", groups: []string{"platform-admins"}, status: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := i.key
			if tc.wrongKey {
				key = i.other
			}
			resp, c := i.signIn(t, ts.URL, key, i.claims(tc.sub, tc.groups, tc.edit), tc.tamper)
			if resp.StatusCode != tc.status {
				t.Fatalf("callback: status %d, want %d\n%s", resp.StatusCode, tc.status, f.logs.String())
			}
			me, err := c.Get(ts.URL + "/api/v1/me")
			if err != nil {
				t.Fatal(err)
			}
			defer me.Body.Close()
			if tc.role == "" {
				if me.StatusCode != http.StatusUnauthorized {
					t.Errorf("after a refused sign-in, /api/v1/me answers %d, want 401", me.StatusCode)
				}
				if u, err := f.db.User(t.Context(), tc.sub); err == nil && u.Source == rampart.UserOIDC {
					t.Errorf("a refused sign-in created user %+v", u)
				}
				return
			}
			if loc := resp.Header.Get("Location"); loc != "/tasks" {
				t.Errorf("redirected to %q, want the page asked for (/tasks)", loc)
			}
			var got struct {
				Name string       `json:"name"`
				Role rampart.Role `json:"role"`
				Via  string       `json:"via"`
			}
			if err := json.NewDecoder(me.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.sub || got.Role != tc.role || got.Via != "session" {
				t.Errorf("/api/v1/me = %+v, want %s as %s through a session", got, tc.sub, tc.role)
			}
			u, err := f.db.User(t.Context(), tc.sub)
			if err != nil {
				t.Fatal(err)
			}
			if u.Source != rampart.UserOIDC || u.Email != tc.sub+"@example.com" || u.Role != tc.role {
				t.Errorf("stored user %+v", u)
			}
		})
	}

	// A second sign-in follows the provider's groups: erin lost hers.
	resp, _ := i.signIn(t, ts.URL, i.key, i.claims("erin", []string{"everyone"}, nil), false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", resp.StatusCode)
	}
	if u, _ := f.db.User(t.Context(), "erin"); u.Role != rampart.RoleViewer {
		t.Errorf("after her groups changed, erin is %s, want viewer", u.Role)
	}
	log, err := f.db.AuditLog(t.Context(), rampart.AuditFilter{Object: "user:erin"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Actor+" "+e.Action)
	}
	want := "rampart:oidc user.create,user:erin user.login,rampart:oidc user.update,user:erin user.login"
	if strings.Join(actions, ",") != want {
		t.Errorf("erin's audit trail: %q, want %q", strings.Join(actions, ","), want)
	}
}

func TestParseOIDCConfig(t *testing.T) {
	t.Parallel()
	good := "issuer: https://id.example.com\nclient_id: rampart\nclient_secret: env:SECRET\nredirect_url: https://rampart.example.com/auth/oidc/callback\nroles: {ops: admin}\n"
	c, err := web.ParseOIDCConfig("oidc.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.UsernameClaim != "preferred_username" || c.GroupsClaim != "groups" || len(c.Scopes) != 3 {
		t.Errorf("defaults not set: %+v", c)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"literal secret", strings.Replace(good, "env:SECRET", "hunter2", 1), "reference"},
		{"unknown field", good + "client_secrt: x\n", "client_secrt"},
		{"bad role", strings.Replace(good, "ops: admin", "ops: root", 1), "unknown role"},
		{"no roles", strings.Replace(good, "roles: {ops: admin}\n", "", 1), "roles"},
		{"redirect elsewhere", strings.Replace(good, "/auth/oidc/callback", "/cb", 1), "redirect_url"},
		{"no issuer", strings.Replace(good, "https://id.example.com", "", 1), "issuer"},
	} {
		_, err := web.ParseOIDCConfig("oidc.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	loaded, err := web.LoadOIDCConfig("oidc.yaml", func(k string) string {
		if k == "SECRET" {
			return "from-env"
		}
		return ""
	}, func(string) ([]byte, error) { return []byte(good), nil })
	if err != nil || loaded == nil {
		t.Fatalf("LoadOIDCConfig: %v", err)
	}
	if _, err := web.LoadOIDCConfig("oidc.yaml", func(string) string { return "" }, func(string) ([]byte, error) { return []byte(good), nil }); err == nil {
		t.Error("LoadOIDCConfig accepted an unset secret")
	}
}

func FuzzParseOIDCConfig(f *testing.F) {
	f.Add([]byte("issuer: https://id.example.com\nclient_id: rampart\nclient_secret: env:SECRET\nredirect_url: https://r.example/auth/oidc/callback\nroles: {ops: admin}\n"))
	f.Add([]byte("roles: [1, 2]\n"))
	f.Add([]byte("issuer: ::\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := web.ParseOIDCConfig("fuzz.yaml", b)
		if err == nil && (c.ClientID == "" || len(c.Roles) == 0 || !strings.HasPrefix(string(c.ClientSecret), "env:") && !strings.HasPrefix(string(c.ClientSecret), "file:")) {
			t.Errorf("accepted an incomplete configuration: %+v", c)
		}
	})
}
