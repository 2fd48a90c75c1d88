package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/internal/cli"
	"github.com/rampart-dev/rampart/store"
)

// lockedBuffer collects serve's log from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rampartCLI runs one command in process and fails the test unless it
// exits 0; it returns the standard output.
func rampartCLI(t *testing.T, config, stdin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(string) string { return "" }
	if code := cli.Main(t.Context(), append([]string{"--config", config}, args...), getenv, strings.NewReader(stdin), &out, &errb); code != 0 {
		t.Fatalf("rampart %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// browser is a signed-in session against a running serve.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func signInTo(t *testing.T, base, user, password string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, page := b.do("GET", "/login", "", nil)
	status, _ := b.do("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(url.Values{
		"username": {user}, "password": {password}, "csrf_token": {b.csrf(page)}, "next": {"/"},
	}.Encode()))
	if status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", user, status)
	}
	return b
}

func (b *browser) do(method, path, ctype string, body io.Reader) (int, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *browser) csrf(page string) string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no anti-forgery token in:\n%.2000s", page)
	}
	return m[1]
}

// TestServeRunsTheProgram starts `rampart serve` as a user would, on
// loopback, and checks that it wires issue 5 in: its scheduler opens the
// reviews of a process resource by itself; a signed-in editor sees them in
// the dashboard and completes one with an uploaded file through the form;
// the completion is on the reviews page and in the audit log; a viewer
// may not complete one; /metrics answers a token only and counts the open
// reviews; and the server stops cleanly.
func TestServeRunsTheProgram(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := filepath.Join(dir, "rampart.yaml")
	if err := os.WriteFile(config, []byte(`version: 1
settings:
  store: rampart.db
schedule:
  timezone: Europe/Madrid
  jitter: 0s
resources:
  - {id: wa, kind: process, name: Well-Architected review, owner: platform}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	rampartCLI(t, config, password+"\n", "user", "add", "bob", "--role", "editor", "--password-stdin")
	rampartCLI(t, config, password+"\n", "user", "add", "victor", "--role", "viewer", "--password-stdin")
	token := strings.TrimSpace(rampartCLI(t, config, "", "token", "create", "prometheus", "--role", "viewer"))

	ctx, stop := context.WithCancel(t.Context())
	addrFile := filepath.Join(dir, "addr")
	logs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"--config", config, "serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile},
			func(string) string { return "" }, strings.NewReader(""), io.Discard, logs)
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stop()
			<-done
		}
	})
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if b, err := os.ReadFile(addrFile); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			base = "http://" + strings.TrimSpace(string(b))
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The scheduler's first pass opens the process's reviews.
	bob := signInTo(t, base, "bob", password)
	var list string
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(list, "PROC-03"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no PROC-03 review on the reviews page:\n%.3000s\n%s", list, logs.String())
		}
		_, list = bob.do("GET", "/reviews", "", nil)
	}
	m := regexp.MustCompile(`<a href="/reviews/(\d+)">\d+: [^<]*</a></td>\s*<td><span class="badge ">due</span></td>\s*<td>[0-9-]+</td>\s*<td><a href="/controls/PROC-03">`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("the reviews page lists no due PROC-03 review:\n%.4000s", list)
	}
	id := m[1]
	if !strings.Contains(list, `<a href="/reviews" aria-current="page">Reviews</a>`) || !strings.Contains(list, `id="sign-out"`) {
		t.Errorf("the reviews page is not in the dashboard's layout:\n%.2000s", list)
	}

	// Completed with an uploaded file through the form.
	_, page := bob.do("GET", "/reviews/"+id, "", nil)
	file := []byte("pillar,finding\noperational excellence,runbooks current\n")
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("csrf_token", bob.csrf(page))
	_ = mw.WriteField("statement", "Walked the six pillars with the platform team; no high-risk issue.")
	fw, err := mw.CreateFormFile("evidence", "well-architected.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	// A viewer may not.
	victor := signInTo(t, base, "victor", password)
	_, vpage := victor.do("GET", "/reviews/"+id, "", nil)
	viewerForm := bytes.ReplaceAll(form.Bytes(), []byte(bob.csrf(page)), []byte(victor.csrf(vpage)))
	if status, _ := victor.do("POST", "/reviews/"+id+"/complete", mw.FormDataContentType(), bytes.NewReader(viewerForm)); status != http.StatusForbidden {
		t.Errorf("a viewer completing a review: %d, want 403", status)
	}
	if status, body := bob.do("POST", "/reviews/"+id+"/complete", mw.FormDataContentType(), &form); status != http.StatusSeeOther {
		t.Fatalf("completing review %s: %d\n%.1000s", id, status, body)
	}
	_, completed := bob.do("GET", "/reviews?status=completed", "", nil)
	if !strings.Contains(completed, `<a href="/reviews/`+id+`">`) {
		t.Errorf("review %s is not on the completed reviews page:\n%.3000s", id, completed)
	}
	sum := sha256.Sum256(file)
	_, page = bob.do("GET", "/reviews/"+id, "", nil)
	if !strings.Contains(page, "By user:bob on") || !strings.Contains(page, hex.EncodeToString(sum[:])) {
		t.Errorf("the review's page lacks the attestation or the evidence:\n%.3000s", page)
	}
	audit := rampartCLI(t, config, "", "audit", "log", "--object", "review:"+id)
	if !regexp.MustCompile(`rampart:schedule +review\.open +review:`+id).MatchString(audit) ||
		!regexp.MustCompile(`user:bob +review\.complete +review:`+id).MatchString(audit) {
		t.Errorf("review %s's audit log:\n%s", id, audit)
	}

	// /metrics: a token, not a session-less scrape.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d, want 401", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !regexp.MustCompile(`(?m)^rampart_reviews_open\b`).Match(metrics) {
		t.Errorf("/metrics with a token: %d\n%.2000s", resp.StatusCode, metrics)
	}

	stop()
	stopped = true
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after cancellation:\n%s", code, logs.String())
	}
	// The scheduler gave its lease back on the way out.
	db, err := store.Open(t.Context(), filepath.Join(dir, "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rv, err := db.Reviews(t.Context(), rampart.ReviewFilter{ControlID: "PROC-03", Status: []rampart.ReviewStatus{rampart.ReviewCompleted}})
	if err != nil || len(rv) != 1 || rv[0].Attestation == nil || rv[0].Attestation.By != "user:bob" {
		out, _ := json.Marshal(rv)
		t.Errorf("completed PROC-03 reviews in the store: %s (%v)", out, err)
	}
}
