// Package storetest is the conformance suite every rampart.Store passes,
// whatever database is behind it: run it from the implementation's tests
// with an Opener that gives each test a new, empty store.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

// Opener opens a new, empty store for one test and closes it when the test
// ends. Its second result runs one SQL statement on the same database
// behind the store's back, as someone editing the file or the tables
// would; the suite uses it to tamper with the audit log (table audit,
// columns seq and actor; table audit_head). Statements carry no
// placeholders, so they read the same in every SQL dialect.
type Opener func(t *testing.T) (rampart.Store, func(query string) error)

// Run runs the suite. Tests run in parallel, each on its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s rampart.Store, exec func(string) error)
	}{
		{"ScanLifecycle", testScanLifecycle},
		{"ResultsHistoryAndLatest", testResultsHistoryAndLatest},
		{"OutcomeValidation", testOutcomeValidation},
		{"OutcomeIsAtomic", testOutcomeIsAtomic},
		{"EvidenceStoredOnce", testEvidenceStoredOnce},
		{"FactsEvidenceDeduplicated", testFactsEvidenceDeduplicated},
		{"ReconcileLifecycle", testReconcileLifecycle},
		{"ReconcileItems", testReconcileItems},
		{"TaskFiltersAndOrder", testTaskFiltersAndOrder},
		{"ExceptionsHideUntilExpiry", testExceptionsHideUntilExpiry},
		{"ExceptionForOneFinding", testExceptionForOneFinding},
		{"ExceptionValidation", testExceptionValidation},
		{"UpdateTask", testUpdateTask},
		{"ManualResolveReopensIfStillFailing", testManualResolveReopens},
		{"AuditChain", testAuditChain},
		{"AuditValidation", testAuditValidation},
		{"AuditTamperEdit", testAuditTamperEdit},
		{"AuditTamperDelete", testAuditTamperDelete},
		{"AuditTamperTruncate", testAuditTamperTruncate},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ConcurrentOutcomes", testConcurrentOutcomes},
		{"Reviews", testReviews},
		{"Outbox", testOutbox},
		{"Leases", testLeases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, exec := open(t)
			tc.fn(t, s, exec)
		})
	}
	runUsers(t, open)
}

// t0 has nanoseconds and a zone on purpose: stores keep UTC microseconds.
var t0 = time.Date(2026, 3, 2, 10, 30, 0, 123456789, time.FixedZone("CET", 3600))

func exact(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

var (
	web  = &rampart.Resource{ID: "tls:web", Kind: "tls-endpoint", Name: "web", Owner: "team-web", Criticality: rampart.CriticalityHigh}
	db   = &rampart.Resource{ID: "server:db", Kind: "server", Name: "db", Owner: "team-db", Criticality: rampart.CriticalityCritical}
	wiki = &rampart.Resource{ID: "server:wiki", Kind: "server", Name: "wiki", Owner: "team-docs", Criticality: rampart.CriticalityLow}

	checks = map[string]*rampart.Check{
		"TLS-EXPIRED":            {ID: "TLS-EXPIRED", Title: "Certificate expired", Severity: rampart.SeverityCritical, Kind: "tls-endpoint"},
		"TLS-HOSTNAME":           {ID: "TLS-HOSTNAME", Title: "Certificate matches the host", Severity: rampart.SeverityHigh, Kind: "tls-endpoint"},
		"TLS-KEY-STRENGTH":       {ID: "TLS-KEY-STRENGTH", Title: "Strong key", Severity: rampart.SeverityMedium, Kind: "tls-endpoint"},
		"SRV-SSH-ROOT-LOGIN":     {ID: "SRV-SSH-ROOT-LOGIN", Title: "No root login", Severity: rampart.SeverityHigh, Kind: "server"},
		"SRV-SSH-MAX-AUTH-TRIES": {ID: "SRV-SSH-MAX-AUTH-TRIES", Title: "Few auth tries", Severity: rampart.SeverityLow, Kind: "server"},
	}
	areas = map[string]string{
		"TLS-EXPIRED": "security/pki", "TLS-HOSTNAME": "security/pki", "TLS-KEY-STRENGTH": "security/pki",
		"SRV-SSH-ROOT-LOGIN": "infrastructure/servers", "SRV-SSH-MAX-AUTH-TRIES": "infrastructure/servers",
	}
)

func fail(r *rampart.Resource, checkID string, items ...string) rampart.Result {
	res := rampart.Result{ResourceID: r.ID, CheckID: checkID, Version: 1, Status: rampart.StatusFail, Severity: checks[checkID].Severity}
	for _, it := range items {
		res.Findings = append(res.Findings, rampart.Finding{
			Item: it, Message: it + " is wrong", Location: rampart.Location{Path: "/etc/" + it, Line: 3},
			Fingerprint: rampart.Fingerprint(checkID, r.ID, it),
		})
	}
	return res
}

func pass(r *rampart.Resource, checkID string) rampart.Result {
	return rampart.Result{ResourceID: r.ID, CheckID: checkID, Version: 1, Status: rampart.StatusPass, Severity: checks[checkID].Severity, Reason: "fine"}
}

func errored(r *rampart.Resource, checkID string) rampart.Result {
	return rampart.Result{ResourceID: r.ID, CheckID: checkID, Version: 1, Status: rampart.StatusError, Severity: checks[checkID].Severity, Reason: "connection refused"}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func begin(t *testing.T, s rampart.Store, at time.Time) int64 {
	t.Helper()
	run, err := s.BeginScan(ctx(t), "cli", at)
	if err != nil {
		t.Fatalf("BeginScan: %v", err)
	}
	return run.ID
}

// scanAndSave runs a whole scan of one resource at time at.
func scanAndSave(t *testing.T, s rampart.Store, r *rampart.Resource, at time.Time, facts []byte, results ...rampart.Result) []rampart.TaskUpdate {
	t.Helper()
	return save(t, s, begin(t, s, at), r, at, facts, results...)
}

func save(t *testing.T, s rampart.Store, scan int64, r *rampart.Resource, at time.Time, facts []byte, results ...rampart.Result) []rampart.TaskUpdate {
	t.Helper()
	ups, err := s.SaveOutcome(ctx(t), rampart.ResourceOutcome{
		ScanID: scan, Resource: r, Facts: facts, Results: results, Checks: checks, Area: areas, At: at,
	})
	if err != nil {
		t.Fatalf("SaveOutcome(%s): %v", r.ID, err)
	}
	return ups
}

func wantKind(t *testing.T, what string, err error, kind rampart.ErrorKind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, kind)
		return
	}
	if got := rampart.KindOf(err); got != kind {
		t.Errorf("%s: error %q of kind %s, want %s", what, err, got, kind)
	}
}

func tasks(t *testing.T, s rampart.Store, f rampart.TaskFilter) []rampart.Task {
	t.Helper()
	ts, err := s.Tasks(ctx(t), f)
	if err != nil {
		t.Fatalf("Tasks(%+v): %v", f, err)
	}
	return ts
}

func taskIDs(ts []rampart.Task) []int64 {
	ids := []int64{}
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func auditLog(t *testing.T, s rampart.Store, f rampart.AuditFilter) []rampart.AuditEntry {
	t.Helper()
	es, err := s.AuditLog(ctx(t), f)
	if err != nil {
		t.Fatalf("AuditLog(%+v): %v", f, err)
	}
	return es
}

func actions(es []rampart.AuditEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func verify(t *testing.T, s rampart.Store) rampart.AuditVerification {
	t.Helper()
	v, err := s.VerifyAudit(ctx(t))
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return v
}

func results(t *testing.T, s rampart.Store, f rampart.ResultFilter) []rampart.Result {
	t.Helper()
	rs, err := s.Results(ctx(t), f)
	if err != nil {
		t.Fatalf("Results(%+v): %v", f, err)
	}
	return rs
}

func resultKeys(rs []rampart.Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d %s %s %s", r.ScanID, r.ResourceID, r.CheckID, r.Status))
	}
	return out
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testScanLifecycle(t *testing.T, s rampart.Store, _ func(string) error) {
	first, err := s.BeginScan(ctx(t), "cli", t0)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID <= 0 || first.State != "running" || first.Trigger != "cli" || !first.StartedAt.Equal(exact(t0)) {
		t.Errorf("BeginScan = %+v, want a positive id, running, cli, started %s", first, exact(t0))
	}
	second, err := s.BeginScan(ctx(t), "schedule", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if second.ID <= first.ID {
		t.Errorf("second scan id %d, want above %d", second.ID, first.ID)
	}
	_, err = s.BeginScan(ctx(t), "", t0)
	wantKind(t, "BeginScan without trigger", err, rampart.KindInvalid)

	done := first
	done.FinishedAt, done.Resources, done.Pass, done.Fail, done.Errors = t0.Add(5*time.Minute), 3, 2, 1, 1
	if err := s.FinishScan(ctx(t), done); err != nil {
		t.Fatalf("FinishScan: %v", err)
	}
	wantKind(t, "FinishScan twice", s.FinishScan(ctx(t), done), rampart.KindConflict)
	wantKind(t, "FinishScan of an unknown scan", s.FinishScan(ctx(t), rampart.ScanRun{ID: first.ID + 1000}), rampart.KindNotFound)

	scans, err := s.Scans(ctx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []rampart.ScanRun{
		{ID: second.ID, StartedAt: exact(t0.Add(time.Hour)), State: "running", Trigger: "schedule"},
		{
			ID: first.ID, StartedAt: exact(t0), FinishedAt: exact(t0.Add(5 * time.Minute)), State: "done", Trigger: "cli",
			Resources: 3, Pass: 2, Fail: 1, Errors: 1,
		},
	}
	equal(t, "Scans(0)", scans, want)
	scans, err = s.Scans(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Scans(1)", scans, want[:1])

	es := auditLog(t, s, rampart.AuditFilter{Object: fmt.Sprintf("scan:%d", first.ID)})
	equal(t, "audit actions of the first scan", actions(es), []string{"scan.start", "scan.finish"})
	for _, e := range es {
		if e.Actor != "rampart:scan" {
			t.Errorf("%s by %q, want rampart:scan", e.Action, e.Actor)
		}
	}
}

func testResultsHistoryAndLatest(t *testing.T, s rampart.Store, _ func(string) error) {
	f1, f2 := []byte(`{"not_after":"2026-01-01"}`), []byte(`{"not_after":"2027-01-01"}`)
	s1 := begin(t, s, t0)
	save(t, s, s1, web, t0, f1, fail(web, "TLS-EXPIRED", "leaf certificate"), pass(web, "TLS-HOSTNAME"))
	s2 := begin(t, s, day(1))
	save(t, s, s2, web, day(1), f2, pass(web, "TLS-EXPIRED"))
	save(t, s, s2, db, day(1), nil, errored(db, "SRV-SSH-ROOT-LOGIN"))

	got := results(t, s, rampart.ResultFilter{ScanID: s1})
	equal(t, "results of scan 1", resultKeys(got), []string{
		fmt.Sprintf("%d tls:web TLS-EXPIRED fail", s1), fmt.Sprintf("%d tls:web TLS-HOSTNAME pass", s1),
	})
	if len(got) == 2 {
		want := fail(web, "TLS-EXPIRED", "leaf certificate")
		want.ScanID, want.Evidence, want.At = s1, rampart.ContentHash(f1), exact(t0)
		equal(t, "failing result as stored", got[0], want)
		if got[1].Reason != "fine" || got[1].Evidence != rampart.ContentHash(f1) {
			t.Errorf("passing result = %+v, want reason and evidence kept", got[1])
		}
	}
	equal(t, "results of scan 2", resultKeys(results(t, s, rampart.ResultFilter{ScanID: s2})), []string{
		fmt.Sprintf("%d server:db SRV-SSH-ROOT-LOGIN error", s2), fmt.Sprintf("%d tls:web TLS-EXPIRED pass", s2),
	})
	latest := []string{
		fmt.Sprintf("%d server:db SRV-SSH-ROOT-LOGIN error", s2),
		fmt.Sprintf("%d tls:web TLS-EXPIRED pass", s2),
		fmt.Sprintf("%d tls:web TLS-HOSTNAME pass", s1),
	}
	equal(t, "latest results", resultKeys(results(t, s, rampart.ResultFilter{})), latest)
	if rs := results(t, s, rampart.ResultFilter{ResourceID: db.ID}); len(rs) == 1 && rs[0].Evidence != "" {
		t.Errorf("result saved without facts cites evidence %q", rs[0].Evidence)
	}

	// An older scan saved late joins the history, not the latest.
	s0 := begin(t, s, day(-1))
	save(t, s, s0, web, day(-1), nil, fail(web, "TLS-EXPIRED", "leaf certificate"))
	equal(t, "latest after a late save", resultKeys(results(t, s, rampart.ResultFilter{})), latest)
	equal(t, "results of the late scan", resultKeys(results(t, s, rampart.ResultFilter{ScanID: s0})),
		[]string{fmt.Sprintf("%d tls:web TLS-EXPIRED fail", s0)})

	for _, tc := range []struct {
		name string
		f    rampart.ResultFilter
		want []string
	}{
		{"by check", rampart.ResultFilter{CheckID: "TLS-HOSTNAME"}, latest[2:]},
		{"by resource", rampart.ResultFilter{ResourceID: web.ID}, latest[1:]},
		{"by unknown resource", rampart.ResultFilter{ResourceID: "nothing"}, []string{}},
		{"since", rampart.ResultFilter{Since: t0.Add(time.Hour)}, latest[:2]},
		{"limit", rampart.ResultFilter{Limit: 1}, latest[:1]},
		{"scan and check", rampart.ResultFilter{ScanID: s1, CheckID: "TLS-HOSTNAME"}, []string{fmt.Sprintf("%d tls:web TLS-HOSTNAME pass", s1)}},
	} {
		equal(t, "results "+tc.name, resultKeys(results(t, s, tc.f)), tc.want)
	}
}

func testOutcomeValidation(t *testing.T, s rampart.Store, _ func(string) error) {
	scan := begin(t, s, t0)
	bogus := pass(web, "TLS-EXPIRED")
	bogus.Status = "maybe"
	for _, tc := range []struct {
		name string
		o    rampart.ResourceOutcome
		kind rampart.ErrorKind
	}{
		{"unknown scan", rampart.ResourceOutcome{ScanID: scan + 1000, Resource: web, At: t0}, rampart.KindNotFound},
		{"no resource", rampart.ResourceOutcome{ScanID: scan, At: t0}, rampart.KindInvalid},
		{"result of another resource", rampart.ResourceOutcome{
			ScanID: scan, Resource: web, At: t0,
			Results: []rampart.Result{pass(db, "SRV-SSH-ROOT-LOGIN")},
		}, rampart.KindInvalid},
		{"unknown status", rampart.ResourceOutcome{ScanID: scan, Resource: web, At: t0, Results: []rampart.Result{bogus}}, rampart.KindInvalid},
	} {
		_, err := s.SaveOutcome(ctx(t), tc.o)
		wantKind(t, tc.name, err, tc.kind)
	}
}

func testOutcomeIsAtomic(t *testing.T, s rampart.Store, _ func(string) error) {
	facts := []byte(`{"half":"saved"}`)
	scan := begin(t, s, t0)
	cites := pass(web, "TLS-HOSTNAME")
	cites.Evidence = rampart.ContentHash([]byte("never stored"))
	_, err := s.SaveOutcome(ctx(t), rampart.ResourceOutcome{
		ScanID: scan, Resource: web, Facts: facts, At: t0, Checks: checks,
		// The first result, its facts and its task would be written before
		// the second fails: none of it may stay.
		Results: []rampart.Result{fail(web, "TLS-EXPIRED", "leaf certificate"), cites},
	})
	wantKind(t, "outcome citing missing evidence", err, rampart.KindInvalid)
	if rs := results(t, s, rampart.ResultFilter{}); len(rs) != 0 {
		t.Errorf("latest results after a failed save: %v", resultKeys(rs))
	}
	if rs := results(t, s, rampart.ResultFilter{ScanID: scan}); len(rs) != 0 {
		t.Errorf("results of the scan after a failed save: %v", resultKeys(rs))
	}
	if ts := tasks(t, s, rampart.TaskFilter{Now: t0, IncludeExcepted: true}); len(ts) != 0 {
		t.Errorf("tasks after a failed save: %+v", ts)
	}
	_, _, err = s.Evidence(ctx(t), rampart.ContentHash(facts))
	wantKind(t, "facts of a failed save", err, rampart.KindNotFound)
	equal(t, "audit after a failed save", actions(auditLog(t, s, rampart.AuditFilter{})), []string{"scan.start"})
}

func testEvidenceStoredOnce(t *testing.T, s rampart.Store, _ func(string) error) {
	content := []byte("trivy report\n")
	first := rampart.Evidence{
		SHA256: "not the hash", Kind: rampart.EvidenceReport, MediaType: "application/json", ResourceID: web.ID,
		Description: "first upload", PeriodStart: day(-30), PeriodEnd: t0, ExpiresAt: day(90), CreatedAt: t0,
	}
	got, err := s.PutEvidence(ctx(t), first, content)
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want.SHA256, want.Size = rampart.ContentHash(content), int64(len(content))
	want.PeriodStart, want.PeriodEnd, want.ExpiresAt, want.CreatedAt = exact(day(-30)), exact(t0), exact(day(90)), exact(t0)
	equal(t, "PutEvidence", got, want)

	again := rampart.Evidence{Kind: rampart.EvidenceUpload, MediaType: "text/plain", Description: "second upload", CreatedAt: day(1)}
	got, err = s.PutEvidence(ctx(t), again, content)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "PutEvidence of the same content again keeps the first", got, want)

	for _, sha := range []string{want.SHA256, upper(want.SHA256)} {
		meta, r, err := s.Evidence(ctx(t), sha)
		if err != nil {
			t.Fatalf("Evidence(%s): %v", sha, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		equal(t, "Evidence metadata", meta, want)
		if !bytes.Equal(b, content) {
			t.Errorf("Evidence content = %q, want %q", b, content)
		}
	}
	_, _, err = s.Evidence(ctx(t), rampart.ContentHash([]byte("other")))
	wantKind(t, "Evidence of unknown content", err, rampart.KindNotFound)
	_, _, err = s.Evidence(ctx(t), "../etc/passwd")
	wantKind(t, "Evidence of a malformed hash", err, rampart.KindInvalid)
	_, err = s.PutEvidence(ctx(t), rampart.Evidence{Kind: "rumour"}, content)
	wantKind(t, "PutEvidence of an unknown kind", err, rampart.KindInvalid)

	empty, err := s.PutEvidence(ctx(t), rampart.Evidence{Kind: rampart.EvidenceLink, CreatedAt: t0}, nil)
	if err != nil {
		t.Fatalf("PutEvidence of empty content: %v", err)
	}
	if empty.SHA256 != rampart.ContentHash(nil) || empty.Size != 0 {
		t.Errorf("empty evidence = %+v", empty)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func testFactsEvidenceDeduplicated(t *testing.T, s rampart.Store, _ func(string) error) {
	facts := []byte(`{"ssh":{"permit_root_login":"no"}}`)
	s1, s2 := begin(t, s, t0), begin(t, s, day(1))
	save(t, s, s1, db, t0, facts, pass(db, "SRV-SSH-ROOT-LOGIN"))
	save(t, s, s2, db, day(1), facts, pass(db, "SRV-SSH-ROOT-LOGIN"))
	sha := rampart.ContentHash(facts)
	all := append(results(t, s, rampart.ResultFilter{ScanID: s1}), results(t, s, rampart.ResultFilter{ScanID: s2})...)
	if len(all) != 2 {
		t.Fatalf("results of both scans = %v, want two", resultKeys(all))
	}
	for _, r := range all {
		if r.Evidence != sha {
			t.Errorf("result of scan %d cites %q, want %s", r.ScanID, r.Evidence, sha)
		}
	}
	meta, rc, err := s.Evidence(ctx(t), sha)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	// Stored once: the second save found it and kept the first's metadata.
	want := rampart.Evidence{
		SHA256: sha, Kind: rampart.EvidenceFacts, MediaType: "application/json", Size: int64(len(facts)),
		ResourceID: db.ID, Description: meta.Description, CreatedAt: exact(t0),
	}
	equal(t, "facts evidence", meta, want)
	if !bytes.Equal(b, facts) {
		t.Errorf("facts content = %q, want %q", b, facts)
	}
}

func updateChanges(ups []rampart.TaskUpdate) []string {
	out := []string{}
	for _, u := range ups {
		out = append(out, string(u.Change)+" "+u.Task.Item)
	}
	return out
}

func testReconcileLifecycle(t *testing.T, s rampart.Store, _ func(string) error) {
	failing := fail(web, "TLS-EXPIRED", "leaf certificate")

	ups := scanAndSave(t, s, web, t0, nil, failing)
	equal(t, "first failure", updateChanges(ups), []string{"opened leaf certificate"})
	if len(ups) != 1 {
		t.FailNow()
	}
	opened := ups[0].Task
	if opened.ID <= 0 {
		t.Fatalf("opened task has id %d", opened.ID)
	}
	want := rampart.Task{
		ID: opened.ID, Fingerprint: rampart.Fingerprint("TLS-EXPIRED", web.ID, "leaf certificate"),
		CheckID: "TLS-EXPIRED", ResourceID: web.ID, Item: "leaf certificate", Title: "Certificate expired",
		Message: "leaf certificate is wrong", Location: rampart.Location{Path: "/etc/leaf certificate", Line: 3},
		Severity: rampart.SeverityCritical, Criticality: rampart.CriticalityHigh, Area: "security/pki",
		Owner: "team-web", Status: rampart.TaskOpen, OpenedAt: exact(t0), FirstSeen: exact(t0), LastSeen: exact(t0),
	}
	equal(t, "opened task", opened, want)
	got, err := s.Task(ctx(t), opened.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Task(id)", got, want)
	_, err = s.Task(ctx(t), opened.ID+1000)
	wantKind(t, "Task of an unknown id", err, rampart.KindNotFound)

	ups = scanAndSave(t, s, web, day(1), nil, errored(web, "TLS-EXPIRED"))
	equal(t, "an error changes nothing", updateChanges(ups), []string{})
	equal(t, "tasks after an error", tasks(t, s, rampart.TaskFilter{Now: day(1)}), []rampart.Task{want})

	ups = scanAndSave(t, s, web, day(2), nil, failing)
	equal(t, "still failing", updateChanges(ups), []string{"updated leaf certificate"})
	want.LastSeen = exact(day(2))
	equal(t, "task still failing", tasks(t, s, rampart.TaskFilter{Now: day(2)}), []rampart.Task{want})

	ups = scanAndSave(t, s, web, day(3), nil, pass(web, "TLS-EXPIRED"))
	equal(t, "passing", updateChanges(ups), []string{"resolved leaf certificate"})
	want.Status, want.ResolvedAt = rampart.TaskResolved, exact(day(3))
	equal(t, "resolved task", tasks(t, s, rampart.TaskFilter{Now: day(3)}), []rampart.Task{want})
	equal(t, "open tasks once resolved", taskIDs(tasks(t, s, rampart.TaskFilter{Now: day(3), Status: []rampart.TaskStatus{rampart.TaskOpen}})), []int64{})

	ups = scanAndSave(t, s, web, day(4), nil, failing)
	equal(t, "failing again", updateChanges(ups), []string{"reopened leaf certificate"})
	want.Status, want.ResolvedAt, want.Regression = rampart.TaskOpen, time.Time{}, true
	want.OpenedAt, want.LastSeen = exact(day(4)), exact(day(4))
	equal(t, "reopened task", tasks(t, s, rampart.TaskFilter{Now: day(4)}), []rampart.Task{want})

	es := auditLog(t, s, rampart.AuditFilter{Object: fmt.Sprintf("task:%d", opened.ID)})
	equal(t, "task audit", actions(es), []string{"task.opened", "task.resolved", "task.reopened"})
	if len(es) == 3 {
		var before, after rampart.Task
		if err := json.Unmarshal(es[2].Before, &before); err != nil {
			t.Fatalf("before of task.reopened: %v", err)
		}
		if err := json.Unmarshal(es[2].After, &after); err != nil {
			t.Fatalf("after of task.reopened: %v", err)
		}
		if before.Status != rampart.TaskResolved || after.Status != rampart.TaskOpen || !after.Regression {
			t.Errorf("task.reopened before %s, after %s (regression %v)", before.Status, after.Status, after.Regression)
		}
		if len(es[0].Before) != 0 || es[0].Actor != "rampart:scan" || !es[0].At.Equal(exact(t0)) {
			t.Errorf("task.opened = %+v, want no before, by rampart:scan at %s", es[0], exact(t0))
		}
	}
}

func testReconcileItems(t *testing.T, s rampart.Store, _ func(string) error) {
	scan := begin(t, s, t0)
	ups, err := s.SaveOutcome(ctx(t), rampart.ResourceOutcome{
		ScanID: scan, Resource: db, Checks: checks, At: t0, Actor: "user:carol",
		Results: []rampart.Result{fail(db, "SRV-SSH-ROOT-LOGIN", "sshd_config", "sshd_config.d/10.conf")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 2 {
		t.Fatalf("two failing items gave %v", updateChanges(ups))
	}
	ups = scanAndSave(t, s, db, day(1), nil, fail(db, "SRV-SSH-ROOT-LOGIN", "sshd_config"))
	equal(t, "an item no longer reported", updateChanges(ups), []string{"resolved sshd_config.d/10.conf", "updated sshd_config"})
	es := auditLog(t, s, rampart.AuditFilter{Actor: "user:carol"})
	equal(t, "audit by the outcome's actor", actions(es), []string{"task.opened", "task.opened"})
}

func testTaskFiltersAndOrder(t *testing.T, s rampart.Store, _ func(string) error) {
	scan := begin(t, s, t0)
	wikiTask := save(t, s, scan, wiki, t0, nil, fail(wiki, "SRV-SSH-MAX-AUTH-TRIES", "sshd_config"))[0].Task
	webTasks := save(t, s, scan, web, t0, nil, fail(web, "TLS-KEY-STRENGTH", "leaf", "intermediate"))
	dbTask := save(t, s, scan, db, t0, nil, fail(db, "SRV-SSH-ROOT-LOGIN", "sshd_config"))[0].Task
	webIDs := []int64{webTasks[0].Task.ID, webTasks[1].Task.ID}
	sort.Slice(webIDs, func(i, j int) bool { return webIDs[i] < webIDs[j] })

	now := day(1)
	all := tasks(t, s, rampart.TaskFilter{Now: now})
	// New high on a critical server first, then the two medium web tasks
	// (equal priority: by id), then low on a low-criticality wiki.
	equal(t, "task order", taskIDs(all), []int64{dbTask.ID, webIDs[0], webIDs[1], wikiTask.ID})
	for i := 1; i < len(all); i++ {
		if all[i-1].Priority(now) < all[i].Priority(now) {
			t.Errorf("task %d (priority %v) sorts before task %d (priority %v)",
				all[i-1].ID, all[i-1].Priority(now), all[i].ID, all[i].Priority(now))
		}
	}
	if _, err := s.UpdateTask(ctx(t), webIDs[1], rampart.TaskInProgress, "", "user:alice"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    rampart.TaskFilter
		want []int64
	}{
		{"owner", rampart.TaskFilter{Owner: "team-web"}, webIDs},
		{"area", rampart.TaskFilter{Area: "infrastructure/servers"}, []int64{dbTask.ID, wikiTask.ID}},
		{"resource", rampart.TaskFilter{ResourceID: wiki.ID}, []int64{wikiTask.ID}},
		{"in progress", rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskInProgress}}, webIDs[1:]},
		{"open or in progress", rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskOpen, rampart.TaskInProgress}, Owner: "team-web"}, webIDs},
		{"resolved", rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskResolved}}, []int64{}},
		{"owner and area", rampart.TaskFilter{Owner: "team-web", Area: "infrastructure/servers"}, []int64{}},
	} {
		tc.f.Now = now
		equal(t, "tasks by "+tc.name, taskIDs(tasks(t, s, tc.f)), tc.want)
	}
}

func testExceptionsHideUntilExpiry(t *testing.T, s rampart.Store, _ func(string) error) {
	task := scanAndSave(t, s, web, t0, nil, fail(web, "TLS-EXPIRED", "leaf certificate"))[0].Task
	other := scanAndSave(t, s, db, t0, nil, fail(db, "SRV-SSH-ROOT-LOGIN", "sshd_config"))[0].Task
	e, err := s.AddException(ctx(t), rampart.Exception{
		CheckID: "TLS-EXPIRED", ResourceID: web.ID, Reason: "internal host, replaced next month",
		Approver: "ciso", CreatedBy: "user:alice", CreatedAt: t0, ExpiresAt: day(30),
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID <= 0 || !e.CreatedAt.Equal(exact(t0)) || !e.ExpiresAt.Equal(exact(day(30))) {
		t.Errorf("AddException = %+v", e)
	}

	equal(t, "tasks while excepted", taskIDs(tasks(t, s, rampart.TaskFilter{Now: day(1)})), []int64{other.ID})
	shown := tasks(t, s, rampart.TaskFilter{Now: day(1), IncludeExcepted: true, ResourceID: web.ID})
	if len(shown) != 1 || shown[0].Exception == nil || shown[0].Exception.ID != e.ID {
		t.Errorf("excepted task with IncludeExcepted = %+v, want task %d with exception %d", shown, task.ID, e.ID)
	}
	// Expiry is exclusive: at the expiry instant the task is back.
	for _, now := range []time.Time{day(30), day(31)} {
		back := tasks(t, s, rampart.TaskFilter{Now: now, ResourceID: web.ID})
		if len(back) != 1 || back[0].ID != task.ID || back[0].Exception != nil {
			t.Errorf("tasks at %s, after expiry = %+v, want task %d without exception", now, back, task.ID)
		}
	}

	active, err := s.Exceptions(ctx(t), day(1))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "exceptions active while valid", active, []rampart.Exception{e})
	active, err = s.Exceptions(ctx(t), day(31))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "exceptions active after expiry", len(active), 0)

	if err := s.RevokeException(ctx(t), e.ID, "user:bob", day(2)); err != nil {
		t.Fatal(err)
	}
	// Both new; the critical certificate outranks the high server finding.
	equal(t, "tasks once revoked", taskIDs(tasks(t, s, rampart.TaskFilter{Now: day(3)})), []int64{task.ID, other.ID})
	every, err := s.Exceptions(ctx(t), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	revoked := e
	revoked.RevokedAt = exact(day(2))
	equal(t, "every exception", every, []rampart.Exception{revoked})
	wantKind(t, "revoke twice", s.RevokeException(ctx(t), e.ID, "user:bob", day(3)), rampart.KindConflict)
	wantKind(t, "revoke an unknown exception", s.RevokeException(ctx(t), e.ID+1000, "user:bob", day(3)), rampart.KindNotFound)

	es := auditLog(t, s, rampart.AuditFilter{Object: fmt.Sprintf("exception:%d", e.ID)})
	equal(t, "exception audit", actions(es), []string{"exception.create", "exception.revoke"})
	if len(es) == 2 && (es[0].Actor != "user:alice" || es[1].Actor != "user:bob") {
		t.Errorf("exception audit actors %q, %q; want user:alice, user:bob", es[0].Actor, es[1].Actor)
	}
}

func testExceptionForOneFinding(t *testing.T, s rampart.Store, _ func(string) error) {
	ups := scanAndSave(t, s, db, t0, nil, fail(db, "SRV-SSH-ROOT-LOGIN", "a", "b"))
	byItem := map[string]rampart.Task{}
	for _, u := range ups {
		byItem[u.Task.Item] = u.Task
	}
	short, err := s.AddException(ctx(t), rampart.Exception{
		CheckID: "SRV-SSH-ROOT-LOGIN", ResourceID: db.ID, Fingerprint: byItem["a"].Fingerprint,
		Reason: "break-glass account", Approver: "ciso", CreatedBy: "user:alice", CreatedAt: t0, ExpiresAt: day(10),
	})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "tasks with one finding excepted", taskIDs(tasks(t, s, rampart.TaskFilter{Now: day(1)})), []int64{byItem["b"].ID})
	// A longer exception over the whole check: the task shows the one
	// that hides it longest.
	long, err := s.AddException(ctx(t), rampart.Exception{
		CheckID: "SRV-SSH-ROOT-LOGIN", ResourceID: db.ID, Reason: "host retired soon",
		Approver: "ciso", CreatedBy: "user:alice", CreatedAt: t0, ExpiresAt: day(20),
	})
	if err != nil {
		t.Fatal(err)
	}
	all := tasks(t, s, rampart.TaskFilter{Now: day(1), IncludeExcepted: true})
	if len(all) != 2 {
		t.Fatalf("tasks = %+v", all)
	}
	for _, task := range all {
		if task.Exception == nil || task.Exception.ID != long.ID {
			t.Errorf("task %s carries exception %+v, want %d (not %d)", task.Item, task.Exception, long.ID, short.ID)
		}
	}
	equal(t, "tasks between the two expiries", len(tasks(t, s, rampart.TaskFilter{Now: day(15)})), 0)
	equal(t, "tasks after both expiries", len(tasks(t, s, rampart.TaskFilter{Now: day(20)})), 2)
}

func testExceptionValidation(t *testing.T, s rampart.Store, _ func(string) error) {
	ok := rampart.Exception{
		CheckID: "TLS-EXPIRED", ResourceID: web.ID, Reason: "r", Approver: "ciso",
		CreatedBy: "user:alice", CreatedAt: t0, ExpiresAt: day(1),
	}
	for _, tc := range []struct {
		name string
		edit func(e *rampart.Exception)
	}{
		{"no reason", func(e *rampart.Exception) { e.Reason = "" }},
		{"no approver", func(e *rampart.Exception) { e.Approver = "" }},
		{"no check", func(e *rampart.Exception) { e.CheckID = "" }},
		{"no expiry", func(e *rampart.Exception) { e.ExpiresAt = time.Time{} }},
		{"expired at creation", func(e *rampart.Exception) { e.ExpiresAt = t0 }},
		{"expired before creation", func(e *rampart.Exception) { e.ExpiresAt = day(-1) }},
		{"no author", func(e *rampart.Exception) { e.CreatedBy = "" }},
	} {
		e := ok
		tc.edit(&e)
		_, err := s.AddException(ctx(t), e)
		wantKind(t, tc.name, err, rampart.KindInvalid)
	}
	every, err := s.Exceptions(ctx(t), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "exceptions after refusals", len(every), 0)
	equal(t, "audit after refusals", len(auditLog(t, s, rampart.AuditFilter{})), 0)
}

func testUpdateTask(t *testing.T, s rampart.Store, _ func(string) error) {
	task := scanAndSave(t, s, web, t0, nil, fail(web, "TLS-EXPIRED", "leaf certificate"))[0].Task

	got, err := s.UpdateTask(ctx(t), task.ID, rampart.TaskInProgress, "alice", "user:alice")
	if err != nil {
		t.Fatal(err)
	}
	want := task
	want.Status, want.Assignee = rampart.TaskInProgress, "alice"
	equal(t, "task in progress", got, want)

	got, err = s.UpdateTask(ctx(t), task.ID, "", "bob", "user:alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Assignee != "bob" || got.Status != rampart.TaskInProgress {
		t.Errorf("reassigned task = %s to %q, want in_progress to bob", got.Status, got.Assignee)
	}

	got, err = s.UpdateTask(ctx(t), task.ID, rampart.TaskResolved, "", "user:bob")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != rampart.TaskResolved || got.ResolvedAt.IsZero() {
		t.Errorf("resolved task = %s resolved at %s", got.Status, got.ResolvedAt)
	}
	got, err = s.UpdateTask(ctx(t), task.ID, rampart.TaskOpen, "", "user:bob")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != rampart.TaskOpen || !got.ResolvedAt.IsZero() || !got.OpenedAt.After(task.OpenedAt) {
		t.Errorf("reopened task = %s resolved at %s opened at %s", got.Status, got.ResolvedAt, got.OpenedAt)
	}

	es := auditLog(t, s, rampart.AuditFilter{Action: "task.update"})
	if len(es) != 4 {
		t.Fatalf("task.update entries = %d, want 4", len(es))
	}
	var before, after rampart.Task
	if err := json.Unmarshal(es[0].Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(es[0].After, &after); err != nil {
		t.Fatal(err)
	}
	if es[0].Actor != "user:alice" || es[0].Object != fmt.Sprintf("task:%d", task.ID) ||
		before.Status != rampart.TaskOpen || after.Status != rampart.TaskInProgress || after.Assignee != "alice" {
		t.Errorf("first task.update = %s on %s, %s → %s (%q)", es[0].Actor, es[0].Object, before.Status, after.Status, after.Assignee)
	}

	_, err = s.UpdateTask(ctx(t), task.ID+1000, rampart.TaskOpen, "", "user:bob")
	wantKind(t, "update of an unknown task", err, rampart.KindNotFound)
	_, err = s.UpdateTask(ctx(t), task.ID, "done", "", "user:bob")
	wantKind(t, "update to an unknown status", err, rampart.KindInvalid)
	_, err = s.UpdateTask(ctx(t), task.ID, rampart.TaskOpen, "", "")
	wantKind(t, "update by nobody", err, rampart.KindInvalid)
	equal(t, "task.update entries after refusals", len(auditLog(t, s, rampart.AuditFilter{Action: "task.update"})), 4)
}

func testManualResolveReopens(t *testing.T, s rampart.Store, _ func(string) error) {
	failing := fail(web, "TLS-EXPIRED", "leaf certificate")
	task := scanAndSave(t, s, web, t0, nil, failing)[0].Task
	if _, err := s.UpdateTask(ctx(t), task.ID, rampart.TaskResolved, "", "user:alice"); err != nil {
		t.Fatal(err)
	}
	ups := scanAndSave(t, s, web, day(1), nil, failing)
	equal(t, "a check still failing after a manual resolve", updateChanges(ups), []string{"reopened leaf certificate"})
}

func testAuditChain(t *testing.T, s rampart.Store, _ func(string) error) {
	var appended []rampart.AuditEntry
	for i := range 5 {
		e, err := s.Audit(ctx(t), rampart.AuditEntry{
			At: t0.Add(time.Duration(i) * time.Second), Actor: fmt.Sprintf("user:u%d", i%2), Action: "task.update",
			Object: fmt.Sprintf("task:%d", i%3), Before: json.RawMessage(`{"status":"open"}`),
			After: json.RawMessage(`{"status": "in_progress"}`), Source: "192.0.2.7",
			Seq: 99, Prev: "forged", Hash: "forged",
		})
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, e)
	}
	prev := ""
	for i, e := range appended {
		if e.Seq != int64(i+1) || e.Prev != prev || e.Hash != e.ChainHash() || e.Hash == "" {
			t.Errorf("entry %d: seq %d prev %q hash %q (want seq %d, prev %q, its chain hash)", i, e.Seq, e.Prev, e.Hash, i+1, prev)
		}
		if want := exact(t0.Add(time.Duration(i) * time.Second)); !e.At.Equal(want) || e.At.Location() != time.UTC {
			t.Errorf("entry %d at %s, want %s in UTC", i, e.At, want)
		}
		prev = e.Hash
	}
	equal(t, "VerifyAudit", verify(t, s), rampart.AuditVerification{Entries: 5, OK: true})

	equal(t, "AuditLog", auditLog(t, s, rampart.AuditFilter{}), appended)
	seqs := func(es []rampart.AuditEntry) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    rampart.AuditFilter
		want []int64
	}{
		{"actor", rampart.AuditFilter{Actor: "user:u1"}, []int64{2, 4}},
		{"object", rampart.AuditFilter{Object: "task:0"}, []int64{1, 4}},
		{"action", rampart.AuditFilter{Action: "task.update", Limit: 2}, []int64{1, 2}},
		{"after", rampart.AuditFilter{AfterSeq: 3}, []int64{4, 5}},
		{"nothing", rampart.AuditFilter{Action: "scan.start"}, []int64{}},
	} {
		equal(t, "audit by "+tc.name, seqs(auditLog(t, s, tc.f)), tc.want)
	}
}

func testAuditValidation(t *testing.T, s rampart.Store, _ func(string) error) {
	for _, tc := range []struct {
		name string
		e    rampart.AuditEntry
	}{
		{"no actor", rampart.AuditEntry{Action: "a", Object: "o"}},
		{"no action", rampart.AuditEntry{Actor: "a", Object: "o"}},
		{"no object", rampart.AuditEntry{Actor: "a", Action: "a"}},
		{"before not JSON", rampart.AuditEntry{Actor: "a", Action: "a", Object: "o", Before: json.RawMessage(`{`)}},
		{"after not JSON", rampart.AuditEntry{Actor: "a", Action: "a", Object: "o", After: json.RawMessage(`nope`)}},
	} {
		_, err := s.Audit(ctx(t), tc.e)
		wantKind(t, tc.name, err, rampart.KindInvalid)
	}
	e, err := s.Audit(ctx(t), rampart.AuditEntry{Actor: "a", Action: "a", Object: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 1 || e.At.IsZero() {
		t.Errorf("first valid entry = %+v, want seq 1 and a time", e)
	}
}

func appendN(t *testing.T, s rampart.Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Audit(ctx(t), rampart.AuditEntry{At: t0, Actor: "user:a", Action: "test", Object: fmt.Sprintf("o:%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func tamper(t *testing.T, exec func(string) error, query string) {
	t.Helper()
	if err := exec(query); err != nil {
		t.Fatalf("tamper %q: %v", query, err)
	}
}

func testAuditTamperEdit(t *testing.T, s rampart.Store, exec func(string) error) {
	appendN(t, s, 5)
	tamper(t, exec, `UPDATE audit SET actor = 'user:mallory' WHERE seq = 3`)
	v := verify(t, s)
	if v.OK || v.BrokenAt != 3 || v.Entries != 3 || v.Problem == "" {
		t.Errorf("after editing entry 3: %+v, want broken at 3 with a problem", v)
	}
	appendN(t, s, 1) // the store goes on; the break stays visible
	if v := verify(t, s); v.OK || v.BrokenAt != 3 {
		t.Errorf("after appending past an edit: %+v, want still broken at 3", v)
	}
}

func testAuditTamperDelete(t *testing.T, s rampart.Store, exec func(string) error) {
	appendN(t, s, 5)
	tamper(t, exec, `DELETE FROM audit WHERE seq = 2`)
	if v := verify(t, s); v.OK || v.BrokenAt != 2 || v.Problem == "" {
		t.Errorf("after deleting entry 2: %+v, want broken at 2", v)
	}
}

func testAuditTamperTruncate(t *testing.T, s rampart.Store, exec func(string) error) {
	appendN(t, s, 5)
	tamper(t, exec, `DELETE FROM audit WHERE seq >= 4`)
	if v := verify(t, s); v.OK || v.BrokenAt != 4 || v.Problem == "" {
		t.Errorf("after deleting the last two entries: %+v, want broken at 4", v)
	}
}

func testConcurrentAppends(t *testing.T, s rampart.Store, _ func(string) error) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Audit(ctx(t), rampart.AuditEntry{
					Actor: fmt.Sprintf("writer:%d", w), Action: "test", Object: fmt.Sprintf("n:%d", i),
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Audit: %v", err)
	}
	es := auditLog(t, s, rampart.AuditFilter{})
	if len(es) != writers*each {
		t.Fatalf("%d entries, want %d", len(es), writers*each)
	}
	next := map[string]int{}
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		// Each writer's entries keep its order.
		if want := fmt.Sprintf("n:%d", next[e.Actor]); e.Object != want {
			t.Errorf("seq %d: %s wrote %s, want %s", e.Seq, e.Actor, e.Object, want)
		}
		next[e.Actor]++
	}
	equal(t, "VerifyAudit", verify(t, s), rampart.AuditVerification{Entries: writers * each, OK: true})
}

func testConcurrentOutcomes(t *testing.T, s rampart.Store, _ func(string) error) {
	scan := begin(t, s, t0)
	const resources = 8
	var wg sync.WaitGroup
	errs := make(chan error, resources)
	for i := range resources {
		wg.Go(func() {
			r := &rampart.Resource{ID: fmt.Sprintf("server:%d", i), Kind: "server", Owner: "ops"}
			_, err := s.SaveOutcome(ctx(t), rampart.ResourceOutcome{
				ScanID: scan, Resource: r, Facts: fmt.Appendf(nil, `{"host":%d}`, i), Checks: checks, At: t0,
				Results: []rampart.Result{fail(r, "SRV-SSH-ROOT-LOGIN", "sshd_config"), pass(r, "SRV-SSH-MAX-AUTH-TRIES")},
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent SaveOutcome: %v", err)
		}
	}
	equal(t, "results", len(results(t, s, rampart.ResultFilter{ScanID: scan})), 2*resources)
	equal(t, "tasks", len(tasks(t, s, rampart.TaskFilter{Now: t0})), resources)
	equal(t, "VerifyAudit", verify(t, s), rampart.AuditVerification{Entries: 1 + resources, OK: true})
}
