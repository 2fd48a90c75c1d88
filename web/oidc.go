package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

// OIDCConfig configures single sign-on through an OpenID Connect
// provider (Keycloak, Dex, Authentik, Entra ID, Okta, Google…), read from
// the file given to `rampart serve --oidc-config`. See docs/web.md.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer + "/.well-known/openid-configuration" at start.
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecret is a reference, env:NAME or file:PATH, never the
	// secret itself.
	ClientSecret rampart.SecretRef `yaml:"client_secret"`
	// RedirectURL is this server's callback as the provider knows it:
	// https://rampart.example.com/auth/oidc/callback.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes asked for besides openid (default profile, email, groups).
	Scopes []string `yaml:"scopes"`
	// UsernameClaim names the user (default preferred_username, then
	// email); GroupsClaim lists their groups (default groups).
	UsernameClaim string `yaml:"username_claim"`
	GroupsClaim   string `yaml:"groups_claim"`
	// Roles maps the provider's groups to Rampart roles; a person in
	// several groups gets the most powerful role, and one in none is
	// refused.
	Roles map[string]rampart.Role `yaml:"roles"`
	// DisplayName is shown on the sign-in button ("Sign in with …").
	DisplayName string `yaml:"display_name"`

	secret string
}

// LoadOIDCConfig reads and validates an OIDC configuration file, resolving
// the client secret's reference through getenv and readFile.
func LoadOIDCConfig(path string, getenv func(string) string, readFile func(string) ([]byte, error)) (*OIDCConfig, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read OIDC configuration: %w", err)
	}
	c, err := ParseOIDCConfig(path, b)
	if err != nil {
		return nil, err
	}
	if c.secret, err = c.ClientSecret.Resolve(getenv, readFile); err != nil {
		return nil, fmt.Errorf("%s: client_secret: %w", path, err)
	}
	return c, nil
}

// ParseOIDCConfig decodes and validates a configuration; unknown fields
// are errors, so that a misspelt key is not silently ignored.
func ParseOIDCConfig(name string, b []byte) (*OIDCConfig, error) {
	var c OIDCConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, rampart.Errorf(rampart.KindInvalid, "%s: %v", name, err)
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = "preferred_username"
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"profile", "email", "groups"}
	}
	var problems []string
	if u, err := url.Parse(c.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, "issuer: want the provider's issuer URL, such as https://id.example.com/realms/main")
	}
	if c.ClientID == "" {
		problems = append(problems, "client_id: required")
	}
	if c.ClientSecret == "" {
		problems = append(problems, "client_secret: required, as env:NAME or file:PATH")
	}
	if u, err := url.Parse(c.RedirectURL); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(u.Path, "/auth/oidc/callback") {
		problems = append(problems, "redirect_url: want this server's https://HOST/auth/oidc/callback")
	}
	if len(c.Roles) == 0 {
		problems = append(problems, "roles: map at least one group to a role (admin, editor, auditor or viewer)")
	}
	for g, r := range c.Roles {
		if _, err := rampart.ParseRole(string(r)); err != nil {
			problems = append(problems, fmt.Sprintf("roles.%s: %v", g, err))
		}
	}
	if len(problems) > 0 {
		return nil, rampart.Errorf(rampart.KindInvalid, "%s: %s", name, strings.Join(problems, "; "))
	}
	return &c, nil
}

// WithClientSecret sets the resolved client secret (for tests and callers
// that resolve it themselves).
func (c *OIDCConfig) WithClientSecret(s string) *OIDCConfig {
	c.secret = s
	return c
}

// roleFor picks the most powerful role the groups map to.
func (c *OIDCConfig) roleFor(groups []string) (rampart.Role, bool) {
	for _, r := range rampart.Roles() { // most powerful first
		for _, g := range groups {
			if c.Roles[g] == r {
				return r, true
			}
		}
	}
	return "", false
}

type oidcProvider struct {
	cfg      *OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
}

// oidcTimeout bounds each call to the provider.
const oidcTimeout = 10 * time.Second

func newOIDCProvider(ctx context.Context, cfg *OIDCConfig) (*oidcProvider, error) {
	client := &http.Client{Timeout: oidcTimeout}
	ctx = oidc.ClientContext(ctx, client)
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC provider %s: %w", cfg.Issuer, err)
	}
	return &oidcProvider{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.secret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, cfg.Scopes...),
		},
		// The verifier checks the signature against the provider's keys,
		// the issuer, the audience (our client id) and the expiry.
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:   client,
	}, nil
}

func (s *Server) oidcCookie() string {
	if s.opts.Secure {
		return "__Host-rampart_oidc"
	}
	return "rampart_oidc"
}

// oidcStart sends the browser to the provider with a fresh state, nonce
// and PKCE verifier, kept in a short-lived cookie to check on return.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if s.oidc == nil {
		return errorf(rampart.KindNotFound, "single sign-on is not configured")
	}
	state, nonce, verifier := randomSecret(), randomSecret(), oauth2.GenerateVerifier()
	next := base64.RawURLEncoding.EncodeToString([]byte(safeNext(r.URL.Query().Get("next"))))
	// Lax: the provider's redirect back is a cross-site navigation.
	s.setCookie(w, s.oidcCookie(), strings.Join([]string{state, nonce, verifier, next}, "."), 600, http.SameSiteLaxMode)
	u := s.oidc.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// oidcCallback finishes a sign-in: it checks the state, exchanges the
// code, verifies the ID token and its nonce, maps the groups to a role,
// records the user and starts a session. Every refusal shows the sign-in
// page with the reason and logs it.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if s.oidc == nil {
		return errorf(rampart.KindNotFound, "single sign-on is not configured")
	}
	refuse := func(status int, reason string, err error) error {
		s.log.Warn("single sign-on refused", "reason", reason, "err", err, "remote", remoteIP(r))
		return s.renderLogin(w, r, status, "", "Single sign-on failed: "+reason+".")
	}
	c, err := r.Cookie(s.oidcCookie())
	if err != nil {
		return refuse(http.StatusBadRequest, "the sign-in took too long or cookies are off", err)
	}
	s.setCookie(w, s.oidcCookie(), "", -1, http.SameSiteLaxMode)
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		return refuse(http.StatusBadRequest, "the sign-in state is damaged", nil)
	}
	state, nonce, verifier := parts[0], parts[1], parts[2]
	nextB, _ := base64.RawURLEncoding.DecodeString(parts[3])
	qv := r.URL.Query()
	if e := qv.Get("error"); e != "" {
		return refuse(http.StatusUnauthorized, "the provider said "+e, nil)
	}
	if subtle.ConstantTimeCompare([]byte(qv.Get("state")), []byte(state)) != 1 {
		return refuse(http.StatusBadRequest, "the sign-in state does not match", nil)
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), s.oidc.client), oidcTimeout)
	defer cancel()
	tok, err := s.oidc.oauth.Exchange(ctx, qv.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return refuse(http.StatusUnauthorized, "the provider refused the code", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return refuse(http.StatusUnauthorized, "the provider sent no ID token", nil)
	}
	idt, err := s.oidc.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return refuse(http.StatusUnauthorized, "the ID token has expired", err)
		}
		return refuse(http.StatusUnauthorized, "the ID token is not valid for this server", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return refuse(http.StatusUnauthorized, "the ID token was not issued for this sign-in", nil)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return refuse(http.StatusUnauthorized, "the ID token's claims cannot be read", err)
	}
	name := claimString(claims, s.oidc.cfg.UsernameClaim)
	if name == "" {
		name = claimString(claims, "email")
	}
	if name == "" {
		return refuse(http.StatusUnauthorized, "the ID token names no user ("+s.oidc.cfg.UsernameClaim+" claim)", nil)
	}
	groups := claimStrings(claims, s.oidc.cfg.GroupsClaim)
	role, ok := s.oidc.cfg.roleFor(groups)
	if !ok {
		return refuse(http.StatusForbidden, "none of your groups is given a role in Rampart", nil)
	}
	if err := s.recordOIDCUser(r, name, role, claimString(claims, "name"), claimString(claims, "email")); err != nil {
		if k := rampart.KindOf(err); k == rampart.KindConflict || k == rampart.KindForbidden || k == rampart.KindInvalid {
			return refuse(http.StatusForbidden, err.Error(), err)
		}
		return err
	}
	s.auth.clear() // the role may have changed
	if err := s.startSession(w, r, name); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(string(nextB)), http.StatusSeeOther) //nolint:gosec // G710: safeNext keeps it on this site
	return nil
}

// recordOIDCUser creates or updates the user a sign-in names: the
// provider's groups decide the role at every sign-in. A local user of the
// same name is never taken over.
func (s *Server) recordOIDCUser(r *http.Request, name string, role rampart.Role, display, email string) error {
	by := rampart.Actor{Name: "rampart:oidc", Source: remoteIP(r)}
	u, err := s.opts.Store.User(r.Context(), name)
	want := rampart.User{Name: name, Role: role, Source: rampart.UserOIDC, DisplayName: display, Email: email, CreatedAt: s.now()}
	if role == rampart.RoleAuditor {
		// The provider's group membership is the time box: an auditor's
		// account lapses with the session and is renewed at each sign-in.
		want.ExpiresAt = s.now().Add(s.opts.SessionTTL)
	}
	switch {
	case rampart.KindOf(err) == rampart.KindNotFound:
		_, err = s.opts.Store.CreateUser(r.Context(), want, by)
		return err
	case err != nil:
		return err
	case u.Source != rampart.UserOIDC:
		return errorf(rampart.KindConflict, "a local user named %s exists", name)
	case u.Disabled:
		return errorf(rampart.KindForbidden, "user %s is disabled in Rampart", name)
	}
	u.Role, u.DisplayName, u.Email, u.ExpiresAt = want.Role, want.DisplayName, want.Email, want.ExpiresAt
	_, err = s.opts.Store.UpdateUser(r.Context(), u, by)
	return err
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

func claimStrings(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
