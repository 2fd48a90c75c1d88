package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

// whoami answers an added route with what it learns of its caller.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, web.ActorOf(r)+"|"+web.CSRFToken(r))
})

// readAll answers an added route with the size of the body it read.
var readAll = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	_, _ = io.WriteString(w, itoa(int(n)))
})

// send makes a request with a session client (nil: none) and returns the
// status and body.
func send(t *testing.T, c *http.Client, method, u, ctype string, body io.Reader, header map[string]string) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Routes added through Options.Routes learn who calls them: the audit
// log's name for the principal, and the session's anti-forgery token for
// their forms.
func TestAddedRoutesKnowThePrincipal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *web.Options) {
		o.Routes = append(o.Routes,
			web.Route{Method: "GET", Path: "/whoami", Perm: rampart.PermRead, Handler: whoami},
			web.Route{Method: "POST", Path: "/whoami", Perm: rampart.PermWrite, Handler: whoami},
			web.Route{Method: "GET", Path: "/hello", Public: true, Handler: whoami},
		)
	})
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	bob, _ := signIn(t, ts.URL, "bob", password)
	csrf := pageCSRF(t, bob, ts.URL+"/tasks/board")
	bearer := map[string]string{"Authorization": "Bearer " + f.tokens["editor"]}
	form := "application/x-www-form-urlencoded"

	for _, tc := range []struct {
		name         string
		c            *http.Client
		method, path string
		body         string
		header       map[string]string
		status       int
		want         string
	}{
		{"session", bob, "GET", "/whoami", "", nil, 200, "user:bob|" + csrf},
		{"session form", bob, "POST", "/whoami", url.Values{"csrf_token": {csrf}}.Encode(), nil, 200, "user:bob|" + csrf},
		{"session without the token", bob, "POST", "/whoami", "", nil, 403, ""},
		{"API token", nil, "GET", "/whoami", "", bearer, 200, "token:tok-editor|"},
		{"API token posting", nil, "POST", "/whoami", "", bearer, 200, "token:tok-editor|"},
		{"anonymous on a public route", nil, "GET", "/hello", "", nil, 200, "|"},
		{"session on a public route", bob, "GET", "/hello", "", nil, 200, "user:bob|" + csrf},
	} {
		status, body := send(t, tc.c, tc.method, ts.URL+tc.path, form, strings.NewReader(tc.body), tc.header)
		if status != tc.status || (tc.want != "" && body != tc.want) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, first(body, 200), tc.status, tc.want)
		}
	}
	// Outside the server's guard there is nobody.
	r := httptest.NewRequest("GET", "/whoami", nil)
	if a, c := web.ActorOf(r), web.CSRFToken(r); a != "" || c != "" {
		t.Errorf("a request that did not pass the guard: actor %q, token %q", a, c)
	}
}

// multipartBody is a form with the anti-forgery token, a statement and
// one file of size bytes.
func multipartBody(t *testing.T, csrf string, size int) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range map[string]string{"csrf_token": csrf, "statement": "Restored last night's backup to a scratch VM.", "text": "x"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("evidence", "restore-log.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(bytes.Repeat([]byte("restored block ok\n"), size/18+1)[:size]); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

// A route may raise the 1 MiB body limit (the reviews' complete routes
// take 32 MiB of files); every other route still refuses a larger body
// with 413, forms posted with a session included.
func TestPerRouteBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *web.Options) {
		o.Routes = append(o.Routes,
			web.Route{Method: "POST", Path: "/small", Perm: rampart.PermWrite, Handler: readAll},
			web.Route{Method: "POST", Path: "/large", Perm: rampart.PermWrite, MaxBody: 4 << 20, Handler: readAll},
		)
	})
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	bob, _ := signIn(t, ts.URL, "bob", password)
	csrf := pageCSRF(t, bob, ts.URL+"/tasks/board")
	bearer := map[string]string{"Authorization": "Bearer " + f.tokens["editor"]}
	const twoMiB = 2 << 20
	task := itoa64(f.openTasks()[0].ID)

	body, ctype := multipartBody(t, csrf, twoMiB)
	status, page := send(t, bob, "POST", ts.URL+"/reviews/"+itoa64(f.due.ID)+"/complete", ctype, body, nil)
	if status != http.StatusSeeOther {
		t.Fatalf("a 2 MiB upload to the complete form: %d\n%s", status, first(page, 500))
	}
	rv, err := f.db.Review(t.Context(), f.due.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Status != rampart.ReviewCompleted || len(rv.Evidence) != 1 || rv.Evidence[0].Size != twoMiB {
		t.Errorf("the review after a 2 MiB upload: %s, evidence %+v", rv.Status, rv.Evidence)
	}

	for _, tc := range []struct {
		name   string
		c      *http.Client
		path   string
		size   int
		header map[string]string
		want   int
	}{
		{"a 2 MiB form to a task", bob, "/tasks/" + task + "/comments", twoMiB, nil, http.StatusRequestEntityTooLarge},
		{"a 2 MiB body to a default added route", nil, "/small", twoMiB, bearer, http.StatusRequestEntityTooLarge},
		{"a 3 MiB body to a route allowing 4", nil, "/large", 3 << 20, bearer, http.StatusOK},
		{"a 5 MiB body to a route allowing 4", nil, "/large", 5 << 20, bearer, http.StatusRequestEntityTooLarge},
		{"a 34 MiB upload to the complete form", bob, "/reviews/" + itoa64(f.overdue.ID) + "/complete", 34 << 20, nil, http.StatusRequestEntityTooLarge},
		{"a 34 MiB upload to the complete API", nil, "/api/v1/reviews/" + itoa64(f.overdue.ID) + "/complete", 34 << 20, bearer, http.StatusRequestEntityTooLarge},
	} {
		body, ctype := multipartBody(t, csrf, tc.size)
		status, page := send(t, tc.c, "POST", ts.URL+tc.path, ctype, body, tc.header)
		if status != tc.want {
			t.Errorf("%s: %d, want %d\n%s", tc.name, status, tc.want, first(page, 300))
		}
	}
	if rv, err := f.db.Review(t.Context(), f.overdue.ID); err != nil || rv.Status != rampart.ReviewOpen {
		t.Errorf("the overdue review after refused uploads: %s, %v", rv.Status, err)
	}
}
