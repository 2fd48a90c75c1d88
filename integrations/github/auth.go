package github

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ParsePrivateKey reads a GitHub App's private key: PEM, PKCS#1 ("RSA
// PRIVATE KEY", what GitHub hands out) or PKCS#8.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block: want the App's private key as downloaded from GitHub")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: not a PKCS#1 or PKCS#8 RSA key", block.Type)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse %s: a %T, want an RSA key", block.Type, k)
	}
	return rk, nil
}

// AppJWT signs the JSON Web Token a GitHub App presents to ask for an
// installation token: RS256, issued a minute in the past against clock
// drift, valid nine minutes (GitHub refuses more than ten).
func AppJWT(appID int64, key *rsa.PrivateKey, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]any{
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": strconv.FormatInt(appID, 10),
	})
	if err != nil {
		return "", fmt.Errorf("encode JWT claims: %w", err)
	}
	signed := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// appTokens exchanges the App's JWT for installation tokens and renews
// them before they expire (GitHub gives them an hour).
type appTokens struct {
	baseURL        string // REST root, with trailing slash
	appID          int64
	installationID int64
	key            *rsa.PrivateKey
	client         *http.Client // the counting transport, without auth
	now            func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// header returns the Authorization value for the current installation
// token, fetching a new one when none is left or it expires within five
// minutes.
func (a *appTokens) header(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && a.now().Add(5*time.Minute).Before(a.expires) {
		return "Bearer " + a.token, nil
	}
	jwt, err := AppJWT(a.appID, a.key, a.now())
	if err != nil {
		return "", err
	}
	url := fmt.Sprintf("%sapp/installations/%d/access_tokens", a.baseURL, a.installationID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, http.NoBody)
	if err != nil {
		return "", fmt.Errorf("installation token: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("installation token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("installation token: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("installation token for App %d, installation %d: GitHub answered %s: %s",
			a.appID, a.installationID, resp.Status, githubMessage(body))
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("installation token: GitHub's answer holds no token")
	}
	a.token, a.expires = out.Token, out.ExpiresAt
	return "Bearer " + a.token, nil
}

// githubMessage is the "message" of GitHub's error body, or the start of
// the body when it is not one.
func githubMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	body = bytes.TrimSpace(body)
	if len(body) > 200 {
		body = body[:200]
	}
	return strconv.Quote(string(body))
}
