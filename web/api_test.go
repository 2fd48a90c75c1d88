package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

type apiError struct {
	Error struct {
		Code, Message string
	} `json:"error"`
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	task := itoa64(f.openTasks()[0].ID)
	exc := freshException(f)
	if w := f.do("POST", "/api/v1/exceptions/"+exc+"/revoke", "editor", nil); w.Code != http.StatusOK {
		t.Fatalf("revoke: %d", w.Code)
	}
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/api/v1/tasks/99999", nil, 404, "not_found"},
		{"GET", "/api/v1/tasks/abc", nil, 404, "not_found"},
		{"GET", "/api/v1/resources/nope", nil, 404, "not_found"},
		{"GET", "/api/v1/controls/NOPE-1", nil, 404, "not_found"},
		{"GET", "/api/v1/evidence/xyz", nil, 400, "invalid"},
		{"GET", "/api/v1/evidence/" + strings.Repeat("0", 64), nil, 404, "not_found"},
		{"GET", "/api/v1/nowhere", nil, 404, "not_found"},
		{"GET", "/api/v1/tasks?status=done", nil, 400, "invalid"},
		{"GET", "/api/v1/results?limit=-1", nil, 400, "invalid"},
		{"GET", "/api/v1/readiness?framework=pci", nil, 400, "invalid"},
		{"PATCH", "/api/v1/tasks/" + task, map[string]string{"status": "closed"}, 400, "invalid"},
		{"PATCH", "/api/v1/tasks/" + task, map[string]string{}, 400, "invalid"},
		{"PATCH", "/api/v1/tasks/" + task, map[string]string{"stauts": "open"}, 400, "invalid"},
		{"PATCH", "/api/v1/tasks/" + task, "not json", 400, "invalid"},
		{"POST", "/api/v1/exceptions", map[string]string{"check_id": "TLS-EXPIRED", "resource_id": "legacy-tls", "approver": "ciso", "expires_at": inAMonth}, 400, "invalid"},
		{"POST", "/api/v1/exceptions", map[string]string{"check_id": "TLS-EXPIRED", "resource_id": "legacy-tls", "reason": "r", "approver": "ciso", "expires_at": "2001-01-01"}, 400, "invalid"},
		{"POST", "/api/v1/exceptions/" + exc + "/revoke", nil, 409, "conflict"},
		{"POST", "/api/v1/tasks/" + task + "/comments", map[string]string{"text": "  "}, 400, "invalid"},
		{"POST", "/api/v1/scans", map[string][]string{"resources": {"nope"}}, 400, "invalid"},
		{"POST", "/api/v1/tokens", map[string]string{"name": "x", "role": "root"}, 400, "invalid"},
	} {
		w := f.do(tc.method, tc.path, "admin", tc.body)
		e := decodeJSON[apiError](t, w)
		if w.Code != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("%s %s: %d %+v, want %d %s", tc.method, tc.path, w.Code, e.Error, tc.status, tc.code)
		}
	}
	// A page that does not exist is a page, not JSON.
	if w := f.do("GET", "/nowhere", "admin", nil); w.Code != 404 || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("/nowhere: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestEvidenceDownload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("GET", "/api/v1/evidence/"+f.evidence+"/content", "viewer", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	sum := sha256.Sum256(w.Body.Bytes())
	h := w.Header()
	if hex.EncodeToString(sum[:]) != f.evidence || h.Get("X-Content-SHA256") != f.evidence ||
		h.Get("Digest") != "sha-256="+base64.StdEncoding.EncodeToString(sum[:]) || h.Get("Content-Type") != "application/json" {
		t.Errorf("download: body hash %x, headers %v", sum, h)
	}
	meta := decodeJSON[rampart.Evidence](t, f.do("GET", "/api/v1/evidence/"+f.evidence, "auditor", nil))
	if meta.SHA256 != f.evidence || meta.ResourceID != "legacy-tls" || meta.Kind != rampart.EvidenceFacts {
		t.Errorf("metadata %+v", meta)
	}
}

func TestAPITasksChangesAreAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	list := decodeJSON[[]map[string]any](t, f.do("GET", "/api/v1/tasks", "viewer", nil))
	if len(list) != 4 {
		t.Fatalf("%d open tasks, want 4", len(list))
	}
	for i := 1; i < len(list); i++ {
		if list[i-1]["priority_score"].(float64) < list[i]["priority_score"].(float64) {
			t.Errorf("tasks not sorted by priority: %v then %v", list[i-1]["priority_score"], list[i]["priority_score"])
		}
	}
	id := itoa64(int64(list[0]["id"].(float64)))
	w := f.do("PATCH", "/api/v1/tasks/"+id, "editor", map[string]string{"status": "in_progress", "assignee": "bob"})
	if w.Code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	if got := decodeJSON[map[string]any](t, w); got["status"] != "in_progress" || got["assignee"] != "bob" {
		t.Errorf("PATCH answered %v", got)
	}
	if w := f.do("POST", "/api/v1/tasks/"+id+"/comments", "editor", map[string]string{"text": "Certificate ordered, ticket OPS-12"}); w.Code != http.StatusCreated {
		t.Fatalf("comment: %d %s", w.Code, w.Body)
	}
	detail := decodeJSON[map[string]any](t, f.do("GET", "/api/v1/tasks/"+id, "viewer", nil))
	cs, _ := detail["comments"].([]any)
	if len(cs) != 1 || cs[0].(map[string]any)["text"] != "Certificate ordered, ticket OPS-12" || cs[0].(map[string]any)["author"] != "token:tok-editor" {
		t.Errorf("comments %v", detail["comments"])
	}
	if in := decodeJSON[[]any](t, f.do("GET", "/api/v1/tasks?status=in_progress", "viewer", nil)); len(in) != 1 {
		t.Errorf("%d tasks in progress, want 1", len(in))
	}

	log, err := f.db.AuditLog(t.Context(), rampart.AuditFilter{Object: "task:" + id})
	if err != nil {
		t.Fatal(err)
	}
	var update, comment *rampart.AuditEntry
	for i := range log {
		switch log[i].Action {
		case "task.update":
			update = &log[i]
		case "task.comment":
			comment = &log[i]
		}
	}
	if update == nil || comment == nil {
		t.Fatalf("audit log of the task: %+v", log)
	}
	var before, after rampart.Task
	if err := json.Unmarshal(update.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(update.After, &after); err != nil {
		t.Fatal(err)
	}
	if update.Actor != "token:tok-editor" || update.Source != "192.0.2.1" || before.Status != rampart.TaskOpen || after.Status != rampart.TaskInProgress {
		t.Errorf("task.update entry: actor %s, source %q, %s -> %s", update.Actor, update.Source, before.Status, after.Status)
	}
	if comment.Actor != "token:tok-editor" || comment.Source != "192.0.2.1" {
		t.Errorf("task.comment entry: %+v", comment)
	}
	if v := decodeJSON[rampart.AuditVerification](t, f.do("GET", "/api/v1/audit/verify", "auditor", nil)); !v.OK {
		t.Errorf("chain: %+v", v)
	}
}

func TestAPIExceptionHidesTask(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	task := f.openTasks()[0]
	w := f.do("POST", "/api/v1/exceptions", "editor", map[string]any{
		"task_id": task.ID, "reason": "compensating control", "approver": "ciso", "expires_at": inAMonth,
	})
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	e := decodeJSON[rampart.Exception](t, w)
	if e.Fingerprint != task.Fingerprint || e.CheckID != task.CheckID || e.CreatedBy != "token:tok-editor" {
		t.Errorf("exception %+v for task %+v", e, task)
	}
	hidden := func() bool {
		for _, v := range decodeJSON[[]map[string]any](t, f.do("GET", "/api/v1/tasks", "viewer", nil)) {
			if int64(v["id"].(float64)) == task.ID {
				return false
			}
		}
		return true
	}
	if !hidden() {
		t.Error("the excepted task is still listed")
	}
	if len(decodeJSON[[]any](t, f.do("GET", "/api/v1/tasks?excepted=true", "viewer", nil))) != 4 {
		t.Error("excepted=true does not list the excepted task")
	}
	if w := f.do("POST", "/api/v1/exceptions/"+itoa64(e.ID)+"/revoke", "editor", nil); w.Code != http.StatusOK {
		t.Fatalf("revoke: %d", w.Code)
	}
	if hidden() {
		t.Error("the task is still hidden after its exception was revoked")
	}
}

func TestAPIScan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("POST", "/api/v1/scans", "editor", nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	if p := decodeJSON[map[string]any](t, w); p["running"] != true || p["total"].(float64) != float64(len(fixtureResources)) {
		t.Errorf("first progress %v", p)
	}
	// One scan at a time (the fake collectors fail at once, so the second
	// request may find the first finished: then it starts one too).
	if w := f.do("POST", "/api/v1/scans", "editor", nil); w.Code != http.StatusConflict && w.Code != http.StatusAccepted {
		t.Errorf("a second start: %d", w.Code)
	}
	waitScan(t, f)
	p := decodeJSON[map[string]any](t, f.do("GET", "/api/v1/scans/current", "viewer", nil))
	if p["scan_id"] == nil || p["errors"].(float64) == 0 || p["started_by"] != "token:tok-editor" {
		t.Errorf("progress after the scan: %v", p)
	}
	scans := decodeJSON[[]rampart.ScanRun](t, f.do("GET", "/api/v1/scans", "viewer", nil))
	if scans[0].Trigger != "api" || scans[0].State != "done" {
		t.Errorf("newest scan %+v", scans[0])
	}
	log, err := f.db.AuditLog(t.Context(), rampart.AuditFilter{Action: "scan.start", Actor: "token:tok-editor"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 || log[0].Source != "192.0.2.1" {
		t.Errorf("scan.start entries by the editor: %+v", log)
	}
	// The same engine path as the CLI: the collectors' failure is an
	// error result, never a pass.
	res := decodeJSON[[]rampart.Result](t, f.do("GET", "/api/v1/results?resource=db-01&scan="+itoa64(scans[0].ID), "viewer", nil))
	if len(res) == 0 {
		t.Fatal("the API scan saved no result for db-01")
	}
	for _, r := range res {
		if r.Status != rampart.StatusError || !strings.Contains(r.Reason, "connection refused (test)") {
			t.Errorf("result %s: %s %q", r.CheckID, r.Status, r.Reason)
		}
	}
}

func TestAPIReadinessAndResources(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rd := decodeJSON[map[string]any](t, f.do("GET", "/api/v1/readiness", "viewer", nil))
	if rd["framework"] != "soc2" || len(rd["criteria"].([]any)) == 0 || rd["last_scan"] == nil {
		t.Errorf("readiness %v", rd)
	}
	res := decodeJSON[[]map[string]any](t, f.do("GET", "/api/v1/resources", "viewer", nil))
	status := map[string]any{}
	for _, r := range res {
		status[r["id"].(string)] = r["status"]
	}
	want := map[string]any{"legacy-tls": "fail", "billing-tls": "fail", "shop-tls": "pass", "db-01": "fail", "access-review": nil}
	for id, st := range want {
		if status[id] != st {
			t.Errorf("resource %s: status %v, want %v", id, status[id], st)
		}
	}
	hist := decodeJSON[[]rampart.Result](t, f.do("GET", "/api/v1/resources/shop-tls/results?check=TLS-EXPIRED", "viewer", nil))
	if len(hist) != 2 || hist[0].Status != rampart.StatusPass || hist[1].Status != rampart.StatusFail || !hist[0].At.After(hist[1].At) {
		t.Errorf("shop-tls TLS-EXPIRED history, newest first: %+v", hist)
	}
	ctl := decodeJSON[map[string]any](t, f.do("GET", "/api/v1/controls/PKI-01", "viewer", nil))
	if ctl["status"] != "fail" || ctl["next_due"] == nil {
		t.Errorf("PKI-01: %v", ctl)
	}
	crit := decodeJSON[[]map[string]any](t, f.do("GET", "/api/v1/criteria?framework=iso27001", "viewer", nil))
	if len(crit) < 90 || crit[0]["framework"] != "iso27001" {
		t.Errorf("%d ISO criteria", len(crit))
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("POST", "/api/v1/tokens", "admin", map[string]string{"name": "grafana", "role": "viewer", "expires_at": time.Now().AddDate(0, 0, 7).Format(time.DateOnly)})
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	made := decodeJSON[map[string]any](t, w)
	secret, _ := made["secret"].(string)
	if !strings.HasPrefix(secret, "rpt_") || made["role"] != "viewer" || made["hash"] != nil {
		t.Fatalf("token answer %v", made)
	}
	f.tokens["grafana"] = secret
	if w := f.do("GET", "/api/v1/me", "grafana", nil); w.Code != http.StatusOK {
		t.Errorf("the new token: %d", w.Code)
	}
	if strings.Contains(f.do("GET", "/api/v1/tokens", "admin", nil).Body.String(), secret[4:]) {
		t.Error("the token list shows a secret")
	}
	if w := f.do("POST", "/api/v1/tokens/"+itoa64(int64(made["id"].(float64)))+"/revoke", "admin", nil); w.Code != http.StatusOK {
		t.Fatalf("revoke: %d", w.Code)
	}
	if w := f.do("GET", "/api/v1/me", "grafana", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d, want 401", w.Code)
	}
}

func TestTaskListPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := f.do("GET", "/tasks", "viewer", nil).Body.String()
	if !strings.Contains(body, "4 tasks: 1 to 4 shown") || strings.Contains(body, `rel="next"`) {
		t.Errorf("one page of four tasks:\n%s", first(body, 3000))
	}
	if body := f.do("GET", "/tasks?page=9", "viewer", nil).Body.String(); !strings.Contains(body, "1 to 4 shown") {
		t.Error("a page past the end does not show the last page")
	}
}
