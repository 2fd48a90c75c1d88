package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

// reviewForm is the complete form of a review page, as a browser posts
// it: the anti-forgery token, an attestation, one file and a link.
func reviewForm(t *testing.T, csrf, statement, fileName string, file []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, kv := range [][2]string{
		{"csrf_token", csrf},
		{"statement", statement},
		{"links", "https://wiki.example.com/architecture/2026-q1\n"},
		{"period_start", ""},
		{"period_end", ""},
	} {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("evidence", fileName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

// get fetches a page with a session client and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	return send(t, c, "GET", u, "", nil, nil)
}

var overdueList = regexp.MustCompile(`(?s)<ul class="list" id="overdue-reviews">(.*?)</ul>`)

// controlStatus is a control's status through the API, as a session sees it.
func controlStatus(t *testing.T, c *http.Client, base, id string) string {
	t.Helper()
	status, body := get(t, c, base+"/api/v1/controls/"+id)
	if status != http.StatusOK {
		t.Fatalf("control %s: %d %s", id, status, first(body, 200))
	}
	m := regexp.MustCompile(`"status":"([a-z_]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("control %s has no status: %s", id, first(body, 300))
	}
	return m[1]
}

// TestReviewThroughTheDashboard walks a periodic review through the real
// server with signed-in sessions, as a person does: an overdue review
// shows on the overview and fails its control; the reviews page lists it;
// its page's form completes it with an uploaded file; the reviews page
// then shows it completed, its page the attestation and evidence, the
// evidence downloads with its hash, the audit log has the completion by
// the signed-in user, the overview no longer lists it and the control
// passes. A viewer is shown no form and refused the completion.
func TestReviewThroughTheDashboard(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	rv := f.overdue
	id := itoa64(rv.ID)
	bob, _ := signIn(t, ts.URL, "bob", password)
	victor, _ := signIn(t, ts.URL, "victor", password)

	// Overdue: on the overview, in the menu, failing its control.
	status, overview := get(t, bob, ts.URL+"/")
	m := overdueList.FindStringSubmatch(overview)
	if status != http.StatusOK || m == nil || !strings.Contains(m[1], `<a href="/reviews/`+id+`"><strong>PROC-03</strong>`) {
		t.Fatalf("the overview does not list the overdue review %s (%d):\n%s", id, status, first(overview, 3000))
	}
	if strings.Contains(m[1], "PPL-05") {
		t.Errorf("the overview lists a review that is due but not overdue: %s", m[1])
	}
	if !strings.Contains(overview, `<li><a href="/reviews">Reviews</a></li>`) {
		t.Errorf("the menu has no Reviews entry")
	}
	if st := controlStatus(t, bob, ts.URL, "PROC-03"); st != "fail" {
		t.Errorf("PROC-03 with its review overdue: %s, want fail", st)
	}
	area := f.cat.Control("PROC-03").Area
	before := areaReadiness(t, f, area)

	// The reviews page, in the dashboard's layout.
	status, list := get(t, bob, ts.URL+"/reviews?status=overdue")
	if status != http.StatusOK || !strings.Contains(list, `<a href="/reviews/`+id+`">`+id+`: `) ||
		!strings.Contains(list, `id="sign-out"`) || !strings.Contains(list, `<a href="/reviews" aria-current="page">Reviews</a>`) {
		t.Fatalf("reviews page (%d):\n%s", status, first(list, 3000))
	}

	// A viewer sees the review but no form, and may not complete it.
	status, page := get(t, victor, ts.URL+"/reviews/"+id)
	if status != http.StatusOK || strings.Contains(page, `id="complete"`) || !strings.Contains(page, `id="complete-role"`) {
		t.Errorf("a viewer's review page (%d) offers the complete form:\n%s", status, first(page, 2000))
	}
	file := []byte("pillar,finding\nsecurity,none open\nreliability,restore drill passed\n")
	body, ctype := reviewForm(t, csrfOf(t, page), "Reviewed the five pillars with the team.", "well-architected.csv", file)
	if status, page := send(t, victor, "POST", ts.URL+"/reviews/"+id+"/complete", ctype, body, nil); status != http.StatusForbidden {
		t.Errorf("a viewer completing a review: %d, want 403\n%s", status, first(page, 300))
	}

	// The editor completes it through the form.
	status, page = get(t, bob, ts.URL+"/reviews/"+id)
	if status != http.StatusOK || !strings.Contains(page, `<form method="post" action="/reviews/`+id+`/complete" enctype="multipart/form-data"`) {
		t.Fatalf("review page (%d):\n%s", status, first(page, 3000))
	}
	body, ctype = reviewForm(t, csrfOf(t, page), "Reviewed the five pillars with the team.", "well-architected.csv", file)
	if status, page := send(t, bob, "POST", ts.URL+"/reviews/"+id+"/complete", ctype, body, nil); status != http.StatusSeeOther {
		t.Fatalf("completing the review: %d\n%s", status, first(page, 1000))
	}

	// Completed: on the reviews page, its page shows the attestation and
	// the evidence, which downloads with its hash.
	if _, list := get(t, bob, ts.URL+"/reviews?status=completed"); !strings.Contains(list, `<a href="/reviews/`+id+`">`) ||
		!strings.Contains(list, `st-pass">completed</span>`) {
		t.Errorf("the completed reviews page does not list review %s:\n%s", id, first(list, 3000))
	}
	sum := sha256.Sum256(file)
	hash := hex.EncodeToString(sum[:])
	_, page = get(t, bob, ts.URL+"/reviews/"+id+"?done=1")
	for _, want := range []string{
		`id="done"`, `Reviewed the five pillars with the team.`, `By user:bob on`,
		`<a href="/evidence/` + hash + `">well-architected.csv</a>`, `https://wiki.example.com/architecture/2026-q1`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the completed review's page lacks %s", want)
		}
	}
	if status, content := get(t, bob, ts.URL+"/api/v1/evidence/"+hash+"/content"); status != http.StatusOK || content != string(file) {
		t.Errorf("evidence download: %d %q", status, first(content, 200))
	}
	if status, ev := get(t, bob, ts.URL+"/evidence/"+hash); status != http.StatusOK || !strings.Contains(ev, hash) {
		t.Errorf("evidence page: %d", status)
	}

	// The audit log: opened by the scheduler, completed by bob from his
	// address, with the evidence in the after-image.
	entries, err := f.db.AuditLog(t.Context(), rampart.AuditFilter{Object: "review:" + id})
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range entries {
		trail = append(trail, e.Actor+" "+e.Action)
		if e.Action == "review.complete" && (e.Source != "127.0.0.1" || !bytes.Contains(e.After, []byte(hash))) {
			t.Errorf("review.complete entry: source %q, after %s", e.Source, first(string(e.After), 300))
		}
	}
	if got := strings.Join(trail, ", "); got != "rampart:schedule review.open, user:bob review.complete" {
		t.Errorf("review %s's audit trail: %s", id, got)
	}
	aud := decodeJSON[[]rampart.AuditEntry](t, f.do("GET", "/api/v1/audit?object=review:"+id+"&action=review.complete", "auditor", nil))
	if len(aud) != 1 || aud[0].Actor != "user:bob" {
		t.Errorf("the auditor's view of the completion: %+v", aud)
	}

	// The overview and readiness follow at once.
	_, overview = get(t, bob, ts.URL+"/")
	if m := overdueList.FindStringSubmatch(overview); m != nil {
		t.Errorf("the overview still lists overdue reviews: %s", m[1])
	}
	if st := controlStatus(t, bob, ts.URL, "PROC-03"); st != "pass" {
		t.Errorf("PROC-03 with its review completed: %s, want pass", st)
	}
	after := areaReadiness(t, f, area)
	if after.Failing != before.Failing-1 || after.Passing != before.Passing+1 {
		t.Errorf("area %s: %d passing and %d failing before the completion, %d and %d after; want one failure turned pass",
			area, before.Passing, before.Failing, after.Passing, after.Failing)
	}
}

// areaReadiness is one area's readiness through the API.
func areaReadiness(t *testing.T, f *fixture, area string) rampart.Readiness {
	t.Helper()
	rd := decodeJSON[struct {
		Areas []rampart.Readiness `json:"areas"`
	}](t, f.do("GET", "/api/v1/readiness", "viewer", nil))
	for _, a := range rd.Areas {
		if a.Key == area {
			return a
		}
	}
	t.Fatalf("no area %s in the readiness: %+v", area, rd.Areas)
	return rampart.Readiness{}
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no anti-forgery token:\n%s", first(page, 2000))
	}
	return m[1]
}

// A review left undone keeps failing its control after the next period's
// review is completed: each period's review is evidence of its own, and
// the metrics count it so too.
func TestOlderOverdueReviewKeepsFailing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := time.Now()
	newer := f.openReview("PROC-03", now.Add(-time.Hour), now.Add(13*24*time.Hour), now.AddDate(0, 3, 0))
	if _, err := f.db.CompleteReview(t.Context(), newer.ID, rampart.ReviewCompletion{
		By: "user:bob", Statement: "Reviewed this quarter.", At: now, Source: "127.0.0.1",
		Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "https://wiki.example.com/wa"}},
	}); err != nil {
		t.Fatal(err)
	}
	ctl := decodeJSON[map[string]any](t, f.do("GET", "/api/v1/controls/PROC-03", "viewer", nil))
	if ctl["status"] != "fail" || ctl["last_run"] == nil {
		t.Errorf("PROC-03 with last quarter's review overdue and this quarter's done: status %v, last run %v; want fail and a last run",
			ctl["status"], ctl["last_run"])
	}
}
