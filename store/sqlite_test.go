package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/store"
	"github.com/rampart-dev/rampart/store/storetest"
)

// rawSQLite opens the file as someone editing it behind Rampart's back.
func rawSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

func openFile(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) (rampart.Store, func(string) error) {
		path := filepath.Join(t.TempDir(), "rampart.db")
		db := openFile(t, path)
		raw := rawSQLite(t, path)
		return db, func(q string) error {
			_, err := raw.ExecContext(context.Background(), q)
			return err
		}
	})
}

// Two DBs on one file stand for two processes: each has its own pool of
// SQLite connections and its own write queue, so only SQLite's file lock
// keeps them from forking the chain.
func TestTwoHandlesShareOneChain(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	testTwoHandles(t, openFile(t, path), openFile(t, path))
}

// testTwoHandles appends from two goroutines on each of two handles on one
// database and checks both see one unbroken chain.
func testTwoHandles(t *testing.T, handles ...*store.DB) {
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(handles))
	for h, db := range handles {
		for w := range 2 {
			wg.Go(func() {
				for i := range each {
					if _, err := db.Audit(t.Context(), rampart.AuditEntry{
						Actor: fmt.Sprintf("process:%d/%d", h, w), Action: "test", Object: fmt.Sprintf("n:%d", i),
					}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Audit: %v", err)
	}
	for i, db := range handles {
		v, err := db.VerifyAudit(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := (rampart.AuditVerification{Entries: int64(2 * each * len(handles)), OK: true}); v != want {
			t.Errorf("VerifyAudit through handle %d = %+v, want %+v", i, v, want)
		}
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "new.db")
	testConcurrentOpens(t, path, rawSQLite(t, path))
}

// testConcurrentOpens opens a new store from four goroutines at once, as
// processes starting together would, and checks each migration ran once.
func testConcurrentOpens(t *testing.T, dsn string, raw *sql.DB) {
	const openers = 4
	dbs := make([]*store.DB, openers)
	errs := make([]error, openers)
	var wg sync.WaitGroup
	for i := range openers {
		wg.Go(func() { dbs[i], errs[i] = store.Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
			continue
		}
		if _, err := dbs[i].Audit(t.Context(), rampart.AuditEntry{Actor: "a", Action: "open", Object: fmt.Sprint(i)}); err != nil {
			t.Errorf("Audit through opener %d: %v", i, err)
		}
		if err := dbs[i].Close(); err != nil {
			t.Error(err)
		}
	}
	var applied, distinct int
	if err := raw.QueryRowContext(t.Context(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != distinct {
		t.Errorf("%d migrations applied for %d versions, want each applied once", applied, distinct)
	}
}

func TestFileIsPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "dir", "rampart.db")
	openFile(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("store file mode %v, want 0600", perm)
	}
}

func scanStates(t *testing.T, db *store.DB) map[int64]string {
	t.Helper()
	scans, err := db.Scans(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, s := range scans {
		out[s.ID] = s.State
	}
	return out
}

func TestUnfinishedScanIsInterruptedOnClose(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	first, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	left, err := first.BeginScan(t.Context(), "cli", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	finished, err := first.BeginScan(t.Context(), "cli", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := first.FinishScan(t.Context(), finished); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	db := openFile(t, path)
	want := map[int64]string{left.ID: "interrupted", finished.ID: "done"}
	if got := scanStates(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scan states = %v, want %v", got, want)
	}
	es, err := db.AuditLog(t.Context(), rampart.AuditFilter{Action: "scan.interrupt"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Object != fmt.Sprintf("scan:%d", left.ID) {
		t.Errorf("scan.interrupt entries = %+v, want one for scan %d", es, left.ID)
	}
}

func TestOpenJudgesRunningScans(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	live := openFile(t, path)
	mine, err := live.BeginScan(t.Context(), "schedule", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw := rawSQLite(t, path)
	now := time.Now()
	insert := func(owner string, lease time.Time) int64 {
		var id int64
		if err := raw.QueryRowContext(t.Context(), `INSERT INTO scans (started_at, state, triggered_by, owner, lease_until)
			VALUES (?, 'running', 'cli', ?, ?) RETURNING id`, now.UnixMicro(), owner, lease.UnixMicro()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Another machine's scans: only their leases can tell.
	lapsed := insert("elsewhere|boot|pid:[1]|0|42|7", now.Add(-time.Minute))
	renewed := insert("elsewhere|boot|pid:[1]|0|42|7", now.Add(time.Minute))
	unknown := insert("not an owner", now.Add(time.Minute))

	openFile(t, path) // another process opening the store
	want := map[int64]string{mine.ID: "running", lapsed: "interrupted", renewed: "running", unknown: "running"}
	if got := scanStates(t, live); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scan states = %v, want %v", got, want)
	}
	if err := live.FinishScan(t.Context(), mine); err != nil {
		t.Errorf("finishing a scan still running: %v", err)
	}
}

func TestUnassign(t *testing.T) {
	t.Parallel()
	db := openFile(t, filepath.Join(t.TempDir(), "rampart.db"))
	scan, err := db.BeginScan(t.Context(), "cli", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := &rampart.Resource{ID: "server:a", Kind: "server"}
	ups, err := db.SaveOutcome(t.Context(), rampart.ResourceOutcome{ScanID: scan.ID, Resource: r, Results: []rampart.Result{{
		CheckID: "SRV-UID0", Status: rampart.StatusFail,
		Findings: []rampart.Finding{{Item: "toor", Fingerprint: rampart.Fingerprint("SRV-UID0", r.ID, "toor")}},
	}}})
	if err != nil || len(ups) != 1 {
		t.Fatalf("SaveOutcome = %v, %v", ups, err)
	}
	id := ups[0].Task.ID
	for _, tc := range []struct{ assignee, want string }{{"alice", "alice"}, {"", "alice"}, {store.Unassign, ""}} {
		status := rampart.TaskStatus("")
		if tc.assignee == "" {
			status = rampart.TaskInProgress
		}
		got, err := db.UpdateTask(t.Context(), id, status, tc.assignee, "user:alice")
		if err != nil {
			t.Fatal(err)
		}
		if got.Assignee != tc.want {
			t.Errorf("UpdateTask(assignee %q) left assignee %q, want %q", tc.assignee, got.Assignee, tc.want)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	const secret = "hunter2"
	for _, dsn := range []string{"", "sqlite:", ":memory:", "file:x.db?mode=memory"} {
		db, err := store.Open(t.Context(), dsn)
		if err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if rampart.KindOf(err) != rampart.KindInvalid {
			t.Errorf("Open(%q): %v, want an invalid-input error", dsn, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%q) error repeats the password: %v", dsn, err)
		}
	}
	notDir := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(t.Context(), filepath.Join(notDir, "rampart.db"))
	if err == nil || !strings.Contains(err.Error(), "store") {
		t.Errorf("Open under a plain file: %v, want an error about the store", err)
	}
}

func TestParseDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want store.DSN
	}{
		{"rampart.db", store.DSN{Driver: "sqlite", Target: "rampart.db"}},
		{"/var/lib/rampart/rampart.db", store.DSN{Driver: "sqlite", Target: "/var/lib/rampart/rampart.db"}},
		{"sqlite:data/r.db", store.DSN{Driver: "sqlite", Target: "data/r.db"}},
		{"sqlite:///var/lib/r.db", store.DSN{Driver: "sqlite", Target: "/var/lib/r.db"}},
		{"SQLite:r.db", store.DSN{Driver: "sqlite", Target: "r.db"}},
		{"a dir/with ?odd# names.db", store.DSN{Driver: "sqlite", Target: "a dir/with ?odd# names.db"}},
		{"postgres://u@h/db", store.DSN{Driver: "postgres", Target: "postgres://u@h/db"}},
		{"postgresql://u@h/db?sslmode=verify-full", store.DSN{Driver: "postgres", Target: "postgresql://u@h/db?sslmode=verify-full"}},
	} {
		got, err := store.ParseDSN(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDSN(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// Odd file names must reach SQLite as the file they name, not as URI
// syntax.
func TestOddFileName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "with space?and#hash%20.db")
	openFile(t, path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "with space?and#hash%20.db") {
			t.Errorf("opening %q made %q", filepath.Base(path), e.Name())
		}
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"rampart.db", "sqlite:r.db", "sqlite:///abs.db", "postgres://u:p@h/d", ":memory:", "file:x", "", "sqlite:", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := store.ParseDSN(s)
		if err != nil {
			if rampart.KindOf(err) != rampart.KindInvalid {
				t.Errorf("ParseDSN(%q): %v is not an invalid-input error", s, err)
			}
			return
		}
		switch d.Driver {
		case "sqlite":
			if d.Target == "" || strings.ContainsRune(d.Target, 0) || d.Target == ":memory:" ||
				strings.HasPrefix(strings.ToLower(d.Target), "file:") || !strings.HasSuffix(s, d.Target) {
				t.Errorf("ParseDSN(%q) = %+v", s, d)
			}
		case "postgres":
			if d.Target != s {
				t.Errorf("ParseDSN(%q) = %+v, want the URL unchanged", s, d)
			}
		default:
			t.Errorf("ParseDSN(%q) = driver %q", s, d.Driver)
		}
	})
}
