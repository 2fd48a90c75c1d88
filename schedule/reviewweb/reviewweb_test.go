package reviewweb_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/schedule/reviewweb"
	"github.com/rampart-dev/rampart/store"
	"github.com/rampart-dev/rampart/web"
)

var (
	madrid = mustLoad("Europe/Madrid")
	q2     = time.Date(2026, 4, 1, 0, 0, 0, 0, madrid)
	now    = time.Date(2026, 4, 3, 10, 0, 0, 0, madrid)
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openReview(t *testing.T, db *store.DB, control, resource string) rampart.Review {
	t.Helper()
	r, _, err := db.OpenReview(t.Context(), rampart.Review{
		ControlID: control, ResourceID: resource, Title: "Virtual environments are isolated", Owner: "platform-lead",
		Procedure: "1. Export the VM list.\n2. Confirm <each> VM's network.", Periodicity: "quarterly",
		DueAt: q2, DueBy: q2.AddDate(0, 0, 14), NextDueAt: q2.AddDate(0, 3, 0), CreatedAt: q2,
	}, "rampart:schedule")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mux serves the routes without web's guard, as their handlers alone.
func mux(routes []web.Route) http.Handler {
	m := http.NewServeMux()
	for _, r := range routes {
		m.Handle(r.Pattern(), r.Handler)
	}
	return m
}

func options(db *store.DB, actor string) reviewweb.Options {
	return reviewweb.Options{
		Store: db, Location: madrid, Now: func() time.Time { return now },
		Actor: func(*http.Request) string { return actor }, CSRF: func(*http.Request) string { return "csrf-123" },
	}
}

func do(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// completion builds the complete form's multipart body.
func completion(t *testing.T, statement, fileName string, file []byte, links string) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf_token": "csrf-123", "statement": statement, "links": links, "period_start": "2026-04-01", "period_end": "2026-06-30"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("evidence", fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &body, mw.FormDataContentType()
}

// The reviews page lists a due review; its page shows the procedure and
// the form; the form completes it with an uploaded file and a link; the
// page then shows the attestation and the evidence, and the audit log
// has the completion by the signed-in user.
func TestCompleteThroughTheForm(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	rv := openReview(t, db, "PVE-01", "pve")
	h := mux(reviewweb.Routes(options(db, "user:alice")))

	list := do(t, h, httptest.NewRequest(http.MethodGet, "/reviews", nil))
	if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), `<a href="/reviews/1">1: Virtual environments are isolated</a>`) {
		t.Fatalf("reviews page: %d\n%s", list.Code, list.Body)
	}
	page := do(t, h, httptest.NewRequest(http.MethodGet, "/reviews/1", nil)).Body.String()
	for _, want := range []string{
		`Confirm &lt;each&gt; VM&#39;s network.`, // the procedure, escaped
		`<form method="post" action="/reviews/1/complete" enctype="multipart/form-data"`,
		`<input type="hidden" name="csrf_token" value="csrf-123">`,
		`value="2026-04-01"`, `value="2026-06-30"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("review page lacks %s", want)
		}
	}
	if strings.Contains(page, "style=") || strings.Contains(page, "<script") {
		t.Errorf("review page holds inline style or script, which web's CSP forbids")
	}

	file := []byte("vm,vlan\nweb,20\n")
	body, ctype := completion(t, "Networks match their environments.", "vms.csv", file, "https://wiki.example.com/pve-q2\n")
	req := httptest.NewRequest(http.MethodPost, "/reviews/1/complete", body)
	req.Header.Set("Content-Type", ctype)
	res := do(t, h, req)
	if res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/reviews/1?done=1" {
		t.Fatalf("complete: %d %s\n%s", res.Code, res.Header().Get("Location"), res.Body)
	}
	done, err := db.Review(t.Context(), rv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != rampart.ReviewCompleted || done.Attestation.By != "user:alice" || len(done.Evidence) != 2 ||
		!done.PeriodEnd.Equal(q2.AddDate(0, 3, 0)) {
		t.Fatalf("completed review = %+v", done)
	}
	page = do(t, h, httptest.NewRequest(http.MethodGet, "/reviews/1?done=1", nil)).Body.String()
	sha := rampart.ContentHash(file)
	for _, want := range []string{
		`Review completed`, `Networks match their environments.`, `<a href="/evidence/` + sha + `">vms.csv</a>`,
		`<a href="https://wiki.example.com/pve-q2" rel="noopener noreferrer">`, `expires 2026-07-01`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("completed review page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="complete"`) {
		t.Errorf("a completed review still offers the form")
	}
	log, err := db.AuditLog(t.Context(), rampart.AuditFilter{Object: "review:1", Action: "review.complete"})
	if err != nil || len(log) != 1 || log[0].Actor != "user:alice" {
		t.Errorf("audit = %+v, %v", log, err)
	}
}

func TestFormErrors(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	openReview(t, db, "PVE-01", "pve")
	h := mux(reviewweb.Routes(options(db, "user:alice")))
	for _, tc := range []struct {
		name, statement, file, links string
		code                         int
		want                         string
	}{
		{"no statement", "", "a.txt", "", http.StatusBadRequest, "attestation statement"},
		{"no evidence", "checked", "", "", http.StatusBadRequest, "needs evidence"},
		{"bad link", "checked", "", "javascript:alert(1)", http.StatusBadRequest, "not an absolute http or https URL"},
	} {
		body, ctype := completion(t, tc.statement, tc.file, []byte("x"), tc.links)
		req := httptest.NewRequest(http.MethodPost, "/reviews/1/complete", body)
		req.Header.Set("Content-Type", ctype)
		res := do(t, h, req)
		if res.Code != tc.code || !strings.Contains(res.Body.String(), tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, res.Code, tc.code, tc.want, res.Body)
		}
	}
	if res := do(t, h, httptest.NewRequest(http.MethodGet, "/reviews/99", nil)); res.Code != http.StatusNotFound {
		t.Errorf("unknown review page: %d", res.Code)
	}
	anon := mux(reviewweb.Routes(options(db, "")))
	body, ctype := completion(t, "checked", "a.txt", []byte("x"), "")
	req := httptest.NewRequest(http.MethodPost, "/api/v1/reviews/1/complete", body)
	req.Header.Set("Content-Type", ctype)
	if res := do(t, anon, req); res.Code != http.StatusUnauthorized {
		t.Errorf("completion without an actor: %d, want 401", res.Code)
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	openReview(t, db, "PVE-01", "pve")
	openReview(t, db, "PVE-02", "pve")
	h := mux(reviewweb.Routes(options(db, "token:ci")))
	var list []reviewweb.View
	res := do(t, h, httptest.NewRequest(http.MethodGet, "/api/v1/reviews?control=PVE-02", nil))
	if err := json.Unmarshal(res.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].ControlID != "PVE-02" || list[0].State != "due" {
		t.Fatalf("GET /api/v1/reviews: %d %s", res.Code, res.Body)
	}
	body, ctype := completion(t, "Backups restored on a test VM.", "restore.log", []byte("restored 3 VMs\n"), "")
	req := httptest.NewRequest(http.MethodPost, "/api/v1/reviews/2/complete", body)
	req.Header.Set("Content-Type", ctype)
	res = do(t, h, req)
	var v reviewweb.View
	if err := json.Unmarshal(res.Body.Bytes(), &v); err != nil || res.Code != http.StatusOK || v.State != "completed" || v.Attestation.By != "token:ci" {
		t.Fatalf("POST complete: %d %s", res.Code, res.Body)
	}
	req = httptest.NewRequest(http.MethodPost, "/api/v1/reviews/2/complete", strings.NewReader("statement=again&links=https://x.example"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := do(t, h, req); res.Code != http.StatusConflict || !strings.Contains(res.Body.String(), `"code": "conflict"`) {
		t.Errorf("completing twice: %d %s", res.Code, res.Body)
	}
	if res := do(t, h, httptest.NewRequest(http.MethodGet, "/api/v1/reviews?status=bogus", nil)); res.Code != http.StatusBadRequest {
		t.Errorf("bad status filter: %d", res.Code)
	}
	if res := do(t, h, httptest.NewRequest(http.MethodGet, "/api/v1/reviews?status=overdue", nil)); !strings.HasPrefix(res.Body.String(), "[]") {
		t.Errorf("overdue reviews on day 3: %s", res.Body)
	}
}

// Mounted in web's server, the routes get its authentication, roles and
// OpenAPI document: a viewer reads reviews but may not complete one.
func TestMountedInWeb(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	openReview(t, db, "PVE-01", "pve")
	cat, err := catalog.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Options{Store: db, Catalog: cat, Routes: reviewweb.Routes(options(db, "token:viewer"))})
	if err != nil {
		t.Fatalf("web.New with the reviews' routes: %v", err)
	}
	token := func(name string, role rampart.Role) string {
		secret, tok := web.NewToken(name, role, time.Now().Add(time.Hour))
		if _, err := db.CreateToken(t.Context(), tok, rampart.Actor{Name: "test"}); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	viewer := token("viewer", rampart.RoleViewer)
	call := func(method, path, tok string, body io.Reader, ctype string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, body)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return do(t, srv.Handler(), req)
	}
	if res := call(http.MethodGet, "/api/v1/reviews", "", nil, ""); res.Code != http.StatusUnauthorized {
		t.Errorf("anonymous GET /api/v1/reviews: %d, want 401", res.Code)
	}
	if res := call(http.MethodGet, "/api/v1/reviews", viewer, nil, ""); res.Code != http.StatusOK {
		t.Errorf("viewer GET /api/v1/reviews: %d %s", res.Code, res.Body)
	}
	body, ctype := completion(t, "checked", "a.txt", []byte("x"), "")
	if res := call(http.MethodPost, "/api/v1/reviews/1/complete", viewer, body, ctype); res.Code != http.StatusForbidden {
		t.Errorf("viewer completing a review: %d, want 403", res.Code)
	}
	doc := call(http.MethodGet, "/api/v1/openapi.json", viewer, nil, "").Body.String()
	if !strings.Contains(doc, `"/api/v1/reviews/{id}/complete"`) {
		t.Errorf("the OpenAPI document lacks the reviews' API")
	}
}
