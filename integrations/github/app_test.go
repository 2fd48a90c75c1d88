package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/integrations/github/githubfake"
)

func appKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

// A GitHub App signs a JWT with its key, exchanges it for an
// installation token and collects with that token.
func TestGitHubApp(t *testing.T) {
	t.Parallel()
	key, path := appKey(t)
	other, _ := appKey(t)
	for _, tc := range []struct {
		name    string
		fakeKey *rsa.PublicKey
		install int64
		wantErr string
	}{
		{name: "exchanged", fakeKey: &key.PublicKey, install: 77},
		{name: "wrong key", fakeKey: &other.PublicKey, install: 77, wantErr: "A JSON web token could not be decoded"},
		{name: "wrong installation", fakeKey: &key.PublicKey, install: 78, wantErr: "404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fake(t, githubfake.Config{
				Org: githubfake.Generate("acme", 2, nil),
				App: &githubfake.App{ID: 4242, InstallationID: tc.install, Key: tc.fakeKey},
			})
			spec := specFor(t, srv, "acme")
			spec.Token = ""
			spec.AppID, spec.InstallationID, spec.PrivateKey = 4242, 77, rampart.SecretRef("file:"+path)
			f, err := collect(t, &github.Collector{Env: rampart.Env{ReadFile: os.ReadFile}}, spec)
			if tc.wantErr != "" {
				if err == nil || !containsAll(err.Error(), "installation token", tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("collect: %v", err)
			}
			if f.Token.Kind != "app" || f.Token.AppID != 4242 || f.Token.Scopes != nil {
				t.Errorf("token %+v, want an App token without scopes", f.Token)
			}
			if st := srv.Stats(); st.Exchanges != 1 {
				t.Errorf("%d token exchanges, want 1 for the whole collection", st.Exchanges)
			}
			if ev := evaluate(t, f)["GH-ORG-2FA"]; ev.Status != pass {
				t.Errorf("GH-ORG-2FA = %s (%q)", ev.Status, ev.Reason)
			}
		})
	}
}

func TestAppJWT(t *testing.T) {
	t.Parallel()
	key, path := appKey(t)
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := github.ParsePrivateKey(pemBytes)
	if err != nil || !parsed.Equal(key) {
		t.Fatalf("ParsePrivateKey: %v", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := github.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})); err != nil || !k.Equal(key) {
		t.Errorf("PKCS#8: %v", err)
	}
	if _, err := github.ParsePrivateKey([]byte("not a key")); err == nil {
		t.Error("a non-PEM key was accepted")
	}
	now := time.Unix(1_800_000_000, 0)
	jwt, err := github.AppJWT(4242, key, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q has %d parts", jwt, len(parts))
	}
	claims := decodeSegment(t, parts[1])
	if claims["iss"] != "4242" || claims["iat"] != float64(now.Unix()-60) || claims["exp"] != float64(now.Unix()+540) {
		t.Errorf("claims %v, want iss 4242, iat a minute back, exp nine minutes ahead", claims)
	}
	if h := decodeSegment(t, parts[0]); h["alg"] != "RS256" {
		t.Errorf("header %v", h)
	}
}
