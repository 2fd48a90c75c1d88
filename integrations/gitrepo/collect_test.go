package gitrepo_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
)

// upstream makes a bare repository with two commits on main and returns
// it with the working repository it was cloned from.
func upstream(t *testing.T) (bare, work string) {
	t.Helper()
	work = scantest.InitRepo(t)
	scantest.Commit(t, work, "one", map[string]string{"README.md": "# app\n"})
	scantest.Commit(t, work, "two", map[string]string{"Dockerfile": "FROM alpine:3.20\nUSER 1000\n"})
	bare = filepath.Join(t.TempDir(), "app.git")
	scantest.Git(t, work, "clone", "-q", "--bare", work, bare)
	return bare, work
}

const backend = "/usr/lib/git-core/git-http-backend"

// gitServer serves bare over git's smart HTTP protocol, through the real
// git-http-backend, behind TLS and a token check shaped like GitHub's.
func gitServer(t *testing.T, bare, token string) (url, caFile string) {
	t.Helper()
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend is not installed")
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "Bad credentials", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/" + filepath.Base(bare), caFile
}

func collect(t *testing.T, c *gitrepo.Collector, spec *gitrepo.Spec) (*gitrepo.Facts, error) {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	f, err := c.Collect(context.Background(), &rampart.Resource{ID: "app", Kind: gitrepo.Kind, Spec: spec})
	if err != nil {
		return nil, err
	}
	return f.(*gitrepo.Facts), nil
}

func TestCloneOverHTTPSWithToken(t *testing.T) {
	t.Parallel()
	token := "ghp_" + strings.Repeat("x7", 18)
	bare, work := upstream(t)
	url, ca := gitServer(t, bare, token)
	env := map[string]string{"GH_TOKEN": token, "GIT_SSL_CAINFO": ca, "PATH": os.Getenv("PATH")}
	c := &gitrepo.Collector{Env: rampart.Env{Getenv: func(k string) string { return env[k] }}}
	spec := gitrepo.NewSpec()
	spec.URL, spec.Token, spec.CacheDir = url, "env:GH_TOKEN", t.TempDir()

	facts, err := collect(t, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	head := scantest.Git(t, work, "rev-parse", "HEAD")
	if facts.Commit != head || facts.Branch != "main" || facts.Source != url {
		t.Errorf("facts: commit %s branch %q source %s; want %s main %s", facts.Commit, facts.Branch, facts.Source, head, url)
	}
	if facts.Files != 2 {
		t.Errorf("%d files scanned, want 2", facts.Files)
	}
	b, _ := json.Marshal(facts)
	if bytes.Contains(b, []byte(token)) {
		t.Error("the token appears in the facts")
	}

	// A new upstream commit is fetched into the same clone.
	next := scantest.Commit(t, work, "three", map[string]string{"SECURITY.md": "# report\n"})
	scantest.Git(t, work, "push", "-q", bare, "main")
	facts, err = collect(t, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if facts.Commit != next || facts.Files != 3 {
		t.Errorf("after push: commit %s, %d files; want %s, 3", facts.Commit, facts.Files, next)
	}

	// A wrong token fails, and the error does not carry it.
	env["GH_TOKEN"] = "ghp_wrong" + strings.Repeat("z", 20)
	_, err = collect(t, c, spec)
	if err == nil {
		t.Fatal("a wrong token was accepted")
	}
	if strings.Contains(err.Error(), "ghp_wrong") || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("x-access-token:"+env["GH_TOKEN"]))) {
		t.Errorf("the error carries the credential: %v", err)
	}
}

func TestCloneOverSSHWithKey(t *testing.T) {
	t.Parallel()
	bare, work := upstream(t)
	scantest.Commit(t, work, "release", map[string]string{"CODEOWNERS": "* @org/team\n"})
	scantest.Git(t, work, "branch", "release")
	scantest.Git(t, work, "push", "-q", bare, "release")

	// A stand-in for ssh: it checks the options git passes, then runs the
	// remote command locally, as sshd would on the server.
	dir := t.TempDir()
	log := filepath.Join(dir, "ssh.log")
	fake := filepath.Join(dir, "fake ssh")
	script := `#!/bin/sh
key=""
while [ $# -gt 0 ]; do
  case "$1" in
    -i) key="$2"; shift 2;;
    -o|-p) echo "opt $2" >> '` + log + `'; shift 2;;
    -*) shift;;
    *) break;;
  esac
done
echo "host $1" >> '` + log + `'
[ -n "$key" ] && echo "key mode $(stat -c %a "$key") $(wc -c < "$key")" >> '` + log + `'
shift
exec sh -c "$*"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----"
	env := map[string]string{"DEPLOY_KEY": key, "PATH": os.Getenv("PATH")}
	c := &gitrepo.Collector{SSH: fake, Env: rampart.Env{Getenv: func(k string) string { return env[k] }}}
	spec := gitrepo.NewSpec()
	spec.URL, spec.SSHKey, spec.Branch, spec.CacheDir = "git@git.example.com:"+bare, "env:DEPLOY_KEY", "release", t.TempDir()

	facts, err := collect(t, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if facts.Branch != "release" || facts.Files != 3 {
		t.Errorf("branch %q, %d files; want release, 3", facts.Branch, facts.Files)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"host git@git.example.com", "opt BatchMode=yes", "opt IdentitiesOnly=yes", "opt StrictHostKeyChecking=accept-new", "key mode 600 " + strconv.Itoa(len(key)+1)} {
		if !strings.Contains(string(b), want) {
			t.Errorf("ssh was not run with %q:\n%s", want, b)
		}
	}
	// The temporary key is gone.
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "rampart-ssh-*", "key"))
	for _, m := range matches {
		if k, _ := os.ReadFile(m); string(k) == key+"\n" {
			t.Errorf("the key was left in %s", m)
		}
	}
}

func TestCollectLocalPath(t *testing.T) {
	t.Parallel()
	_, work := upstream(t)
	c := &gitrepo.Collector{Env: rampart.Env{Getenv: func(string) string { return "" }}}
	spec := gitrepo.NewSpec()
	spec.Path, spec.CacheDir = work, t.TempDir()
	facts, err := collect(t, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if facts.Branch != "main" || facts.Commit == "" || len(facts.Scanned) != len(gitrepo.Scanners()) {
		t.Errorf("facts %+v", facts)
	}
	if st := c.Stats(); st.Parsed == 0 || st.Files != 2 {
		t.Errorf("stats %+v", st)
	}
	spec.Branch = "release"
	if _, err := collect(t, c, spec); err == nil || !strings.Contains(err.Error(), `has branch "main" checked out, the register names "release"`) {
		t.Errorf("branch mismatch: %v", err)
	}
}
