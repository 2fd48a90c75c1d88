package engine_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/engine/enginetest"
	"github.com/rampart-dev/rampart/store"
)

func openStore(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "rampart.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// The engine against the real SQLite store: outcomes, evidence, tasks and
// the audit chain survive, and a second scan updates rather than duplicates.
func TestScanWithSQLiteStore(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	weak := &enginetest.Facts{Port: 443, Weak: []string{"rsa-1024"}}
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(map[string]*enginetest.Facts{"r002": weak})}
	e := newEngine(db, fake)
	e.AreaOfCheck = func(string) string { return "security/pki" }
	org := &rampart.Resource{ID: "org", Kind: "github-org"}
	rs := append(resources(5), org)

	first, err := e.Scan(t.Context(), rs, engine.Options{Trigger: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.Scan(t.Context(), rs, engine.Options{Trigger: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Opened != 1 || second.Opened != 0 || len(second.Updates) != 1 {
		t.Errorf("first scan opened %d, second opened %d with %d updates; want 1, 0, 1", first.Opened, second.Opened, len(second.Updates))
	}

	scans, err := db.Scans(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 2 {
		t.Fatalf("%d scans stored, want 2", len(scans))
	}
	for _, s := range scans {
		if s.State != "done" || s.Resources != 5 || s.Pass != 4 || s.Fail != 1 {
			t.Errorf("stored scan %+v, want done with 5 resources, 4 passes, 1 failure", s)
		}
	}

	latest, err := db.Results(t.Context(), rampart.ResultFilter{ResourceID: "r002"})
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || latest[0].ScanID != second.Run.ID || latest[0].Status != rampart.StatusFail {
		t.Fatalf("latest results of r002 = %+v, want one failure of scan %d", latest, second.Run.ID)
	}
	ev, rc, err := db.Evidence(t.Context(), latest[0].Evidence)
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rampart.FactsJSON(weak)
	if string(content) != string(want) || ev.ResourceID != "r002" {
		t.Errorf("evidence %+v = %s, want r002's facts %s", ev, content, want)
	}

	tasks, err := db.Tasks(t.Context(), rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskOpen}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Fingerprint != rampart.Fingerprint("FAKE-WEAK", "r002", "rsa-1024") || tasks[0].Area != "security/pki" {
		t.Errorf("open tasks = %+v, want r002's rsa-1024 in security/pki", tasks)
	}
	if v, err := db.VerifyAudit(t.Context()); err != nil || !v.OK {
		t.Errorf("audit chain: %+v, %v", v, err)
	}
}

func TestCancelledScanWithSQLiteStore(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fake := &enginetest.Integration{Kind: fakeKind}
	fake.Collect = func(cctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
		if r.ID == "r001" {
			cancel()
			<-cctx.Done()
			return nil, cctx.Err()
		}
		return &enginetest.Facts{Port: 443}, nil
	}
	e := newEngine(db, fake)
	e.Concurrency = 1
	sum, err := e.Scan(ctx, resources(4), engine.Options{})
	if err == nil || !sum.Cancelled {
		t.Fatalf("Scan = %v, cancelled %v; want a cancelled scan", err, sum != nil && sum.Cancelled)
	}
	scans, err := db.Scans(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if scans[0].State != "interrupted" || scans[0].Resources != 2 {
		t.Errorf("stored run = %+v, want interrupted after 2 resources", scans[0])
	}
	results, err := db.Results(t.Context(), rampart.ResultFilter{ScanID: sum.Run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].ResourceID != "r000" {
		t.Errorf("saved results = %+v, want only r000's", results)
	}
}

// BenchmarkScanSQLite scans 1,000 resources into a real SQLite file: what
// saving costs per resource.
func BenchmarkScanSQLite(b *testing.B) {
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(map[string]*enginetest.Facts{
		"r007": {Port: 443, Weak: []string{"a", "b"}},
	})}
	rs := resources(1000)
	db := openStore(b)
	b.ReportAllocs()
	for b.Loop() {
		e := newEngine(db, fake)
		e.Concurrency = 8
		if _, err := e.Scan(b.Context(), rs, engine.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/resource")
}
