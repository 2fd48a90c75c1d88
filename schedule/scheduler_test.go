package schedule_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/engine/enginetest"
	"github.com/rampart-dev/rampart/schedule"
	"github.com/rampart-dev/rampart/schedule/scheduletest"
	"github.com/rampart-dev/rampart/store"
)

// estate is a small program: one automated control (daily) on a resource
// a fake integration collects, and manual controls on an inventory
// resource (daily and weekly) and for the whole estate (quarterly).
type estate struct {
	fake      *enginetest.Integration
	controls  []*rampart.Control
	resources []*rampart.Resource
}

func newEstate() *estate {
	fake := &enginetest.Integration{
		Kind: "fake",
		Collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) {
			return &enginetest.Facts{Port: 443, Weak: []string{"tls1.0"}}, nil
		},
		Checks: []*rampart.Check{enginetest.WeakCheck("FAKE-01", "fake", rampart.SeverityHigh)},
	}
	return &estate{
		fake: fake,
		controls: []*rampart.Control{
			{
				ID: "AUTO-01", Title: "Endpoints are strong", Periodicity: rampart.MustPeriodicity("daily"), Owner: "sre",
				Area: "security/pki", Kinds: []rampart.Kind{"fake"}, Checks: []string{"FAKE-01"},
			},
			{
				ID: "MAN-01", Title: "Vault audit devices are reviewed", Periodicity: rampart.MustPeriodicity("daily"), Owner: "security-officer",
				Area: "security/credentials", Kinds: []rampart.Kind{"vault"}, Procedure: "1. Read the audit log.\n2. Sign off.",
			},
			{
				ID: "MAN-02", Title: "Vault policies are reviewed", Periodicity: rampart.MustPeriodicity("weekly"), Owner: "security-officer",
				Area: "security/credentials", Kinds: []rampart.Kind{"vault"}, Procedure: "Review the policies.",
			},
			{
				ID: "MAN-03", Title: "Access is reviewed", Periodicity: rampart.MustPeriodicity("quarterly"), Owner: "platform-lead",
				Area: "people", Procedure: "Export the members and confirm each one.",
			},
		},
		resources: []*rampart.Resource{
			{ID: "web", Kind: "fake", Name: "Web", Owner: "sre", Environment: "production"},
			{ID: "vault", Kind: "vault", Name: "Vault", Owner: "security", Environment: "production"},
		},
	}
}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func (e *estate) scheduler(t *testing.T, db *store.DB, clock schedule.Clock, holder string, jitter time.Duration, edits ...func(*schedule.Config)) *schedule.Scheduler {
	t.Helper()
	cfg := schedule.Config{
		Store: db,
		Scanner: &engine.Engine{
			Store: db, Integrations: []*rampart.Integration{e.fake.Descriptor()}, Checks: e.fake.Checks,
			Now: clock.Now, Concurrency: 2,
		},
		Controls: e.controls, Checks: e.fake.Checks, Integrations: []*rampart.Integration{e.fake.Descriptor()},
		Resources: e.resources, Location: madrid, Jitter: jitter, Clock: clock, Holder: holder,
		LeaseTTL: 30 * time.Second, Interval: time.Hour,
	}
	for _, edit := range edits {
		edit(&cfg)
	}
	s, err := schedule.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runOnce(t *testing.T, s *schedule.Scheduler) *schedule.Pass {
	t.Helper()
	p, err := s.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return p
}

func scheduledScans(t *testing.T, db *store.DB) int {
	t.Helper()
	scans, err := db.Scans(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range scans {
		if s.Trigger == "schedule" {
			n++
		}
	}
	return n
}

func reviewsOf(t *testing.T, db *store.DB, control string) []rampart.Review {
	t.Helper()
	rs, err := db.Reviews(t.Context(), rampart.ReviewFilter{ControlID: control})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func dues(rs []rampart.Review) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.DueAt.In(madrid).Format("2006-01-02 15:04 MST"))
	}
	return out
}

func TestCatchUpAfterTenDaysDownRunsEachJobOnce(t *testing.T) {
	t.Parallel()
	e := newEstate()
	db := openDB(t, filepath.Join(t.TempDir(), "rampart.db"))
	clock := scheduletest.NewClock(at(2026, 3, 20, 9, 0)) // a Friday
	s := e.scheduler(t, db, clock, "one", 0)

	first := runOnce(t, s)
	if !first.Leader || len(first.Scans) != 1 || len(first.Reviews) != 3 {
		t.Fatalf("first pass: leader %v, %d scans, %d reviews; want 1 scan and 3 reviews", first.Leader, len(first.Scans), len(first.Reviews))
	}
	if again := runOnce(t, s); again.Did() {
		t.Errorf("a second pass at the same time did something: %+v", again)
	}

	// Down for ten days, over the change to summer time.
	clock.Advance(10 * 24 * time.Hour)
	back := runOnce(t, s)
	if len(back.Scans) != 1 || len(back.Reviews) != 2 {
		t.Errorf("after ten days: %d scans and %d reviews, want the daily scan once and the daily and weekly reviews once", len(back.Scans), len(back.Reviews))
	}
	if e.fake.Calls() != 2 || scheduledScans(t, db) != 2 {
		t.Errorf("collections %d, scheduled scans %d; want 2 each", e.fake.Calls(), scheduledScans(t, db))
	}
	equal(t, "daily reviews", dues(reviewsOf(t, db, "MAN-01")), []string{"2026-03-20 00:00 CET", "2026-03-30 00:00 CEST"})
	equal(t, "weekly reviews", dues(reviewsOf(t, db, "MAN-02")), []string{"2026-03-16 00:00 CET", "2026-03-30 00:00 CEST"})
	equal(t, "quarterly reviews", dues(reviewsOf(t, db, "MAN-03")), []string{"2026-01-01 00:00 CET"})
	if runOnce(t, s).Did() {
		t.Errorf("a pass right after catching up did something")
	}
	// The quarterly review opened on the 20th for a quarter that began in
	// January: its grace runs from when it was opened, up to the quarter's
	// end.
	if q := reviewsOf(t, db, "MAN-03")[0]; q.Overdue(clock.Now()) || !q.DueBy.Equal(at(2026, 4, 1, 0, 0)) {
		t.Errorf("quarterly review opened late: due by %s, want the quarter's end", q.DueBy.In(madrid))
	}
	// The old daily review was never done: it is overdue, and counts.
	old := reviewsOf(t, db, "MAN-01")[0]
	if !old.Overdue(clock.Now()) {
		t.Errorf("the first daily review is not overdue ten days later: %+v", old)
	}
}

// Two schedulers on one SQLite file stand for two `rampart serve`
// processes: each has its own connections, and only the store stands
// between them. They wake together every hour for four days; each job
// runs once per period all the same.
func TestTwoProcessesRunEachDueJobOnce(t *testing.T) {
	t.Parallel()
	e := newEstate()
	path := filepath.Join(t.TempDir(), "shared.db")
	dbA, dbB := openDB(t, path), openDB(t, path)
	clock := scheduletest.NewClock(at(2026, 3, 27, 0, 30))
	// The lease outlives the hour between passes, as serve renews it:
	// whoever leads first keeps leading.
	longLease := func(c *schedule.Config) { c.LeaseTTL = 2 * time.Hour }
	a := e.scheduler(t, dbA, clock, "process-a", 20*time.Minute, longLease)
	b := e.scheduler(t, dbB, clock, "process-b", 20*time.Minute, longLease)

	var mu sync.Mutex
	var jobs []string
	leaders := map[string]int{}
	// Until the 30th's end in Madrid: 95 hours, as the 29th has 23.
	for clock.Now().Before(at(2026, 3, 31, 0, 0)) {
		var wg sync.WaitGroup
		for name, s := range map[string]*schedule.Scheduler{"a": a, "b": b} {
			wg.Go(func() {
				p, err := s.RunOnce(t.Context())
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if p.Did() {
					leaders[name]++
				}
				jobs = append(jobs, p.Jobs...)
				for _, r := range p.Reviews {
					jobs = append(jobs, fmt.Sprintf("review:%s@%s", r.ControlID, r.DueAt.In(madrid).Format("01-02")))
				}
			})
		}
		wg.Wait()
		clock.Advance(time.Hour)
		if len(leaders) > 1 {
			break
		}
	}
	if len(leaders) != 1 {
		t.Errorf("both processes acted: %v", leaders)
	}
	// Four days from the 27th: the daily jobs ran for the 27th to the
	// 30th, the weekly review for the weeks of the 23rd and 30th.
	counts := map[string]int{}
	for _, j := range jobs {
		counts[j]++
	}
	for j, n := range counts {
		if n != 1 {
			t.Errorf("%s ran %d times", j, n)
		}
	}
	if got := scheduledScans(t, dbA); got != 4 || e.fake.Calls() != 4 {
		t.Errorf("scheduled scans %d, collections %d; want 4 (one a day)", got, e.fake.Calls())
	}
	equal(t, "daily reviews", dues(reviewsOf(t, dbB, "MAN-01")),
		[]string{"2026-03-27 00:00 CET", "2026-03-28 00:00 CET", "2026-03-29 00:00 CET", "2026-03-30 00:00 CEST"})
	equal(t, "weekly reviews", dues(reviewsOf(t, dbA, "MAN-02")), []string{"2026-03-23 00:00 CET", "2026-03-30 00:00 CEST"})
}

// Without the lease, the per-period claims alone still keep a job to one
// run: two schedulers whose lease lapses between their passes (each sees
// the other's as expired) race on the same due jobs.
func TestRunClaimsHoldWithoutTheLease(t *testing.T) {
	t.Parallel()
	e := newEstate()
	path := filepath.Join(t.TempDir(), "shared.db")
	dbA, dbB := openDB(t, path), openDB(t, path)
	start := at(2026, 5, 4, 8, 0)
	clockA := scheduletest.NewClock(start)
	// B's clock runs a minute ahead: A's lease has lapsed by the time B
	// looks, so both lead.
	clockB := scheduletest.NewClock(start.Add(time.Minute))
	a := e.scheduler(t, dbA, clockA, "a", 0)
	b := e.scheduler(t, dbB, clockB, "b", 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ran []string
	for _, s := range []*schedule.Scheduler{a, b} {
		wg.Go(func() {
			p, err := s.RunOnce(t.Context())
			if err != nil {
				t.Errorf("RunOnce: %v", err)
				return
			}
			mu.Lock()
			ran = append(ran, p.Jobs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Strings(ran)
	equal(t, "scan jobs run", ran, []string{"scan:AUTO-01:web@2026-05-04T00:00:00+02:00"})
	if e.fake.Calls() != 1 {
		t.Errorf("collected %d times, want once", e.fake.Calls())
	}
	if n := len(reviewsOf(t, dbA, "MAN-01")); n != 1 {
		t.Errorf("%d daily reviews, want 1", n)
	}
}

func TestLeaseFailover(t *testing.T) {
	t.Parallel()
	e := newEstate()
	path := filepath.Join(t.TempDir(), "shared.db")
	dbA, dbB := openDB(t, path), openDB(t, path)
	clock := scheduletest.NewClock(at(2026, 5, 4, 8, 0))
	a := e.scheduler(t, dbA, clock, "a", 0)
	b := e.scheduler(t, dbB, clock, "b", 0)
	if !runOnce(t, a).Leader {
		t.Fatal("a is not the leader of an empty store")
	}
	// a dies without letting go: b waits for the lease to lapse.
	clock.Advance(20 * time.Second)
	if runOnce(t, b).Leader {
		t.Errorf("b led while a's lease was live")
	}
	clock.Advance(11 * time.Second)
	if !runOnce(t, b).Leader {
		t.Errorf("b did not take over a lapsed lease")
	}

	// A scheduler that stops releases the lease: the other leads at once.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if err := clock.WaitForTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !runOnce(t, a).Leader {
		t.Errorf("a did not lead at once after b stopped")
	}
}

// Run sleeps until the next job comes due (jitter included) and runs it
// then, on the fake clock.
func TestRunWakesWhenDue(t *testing.T) {
	t.Parallel()
	e := newEstate()
	db := openDB(t, filepath.Join(t.TempDir(), "rampart.db"))
	clock := scheduletest.NewClock(at(2026, 6, 1, 23, 0))
	var passes sync.WaitGroup
	passes.Add(2) // the first pass, and the one at midnight
	s2, err := schedule.New(schedule.Config{
		Store: db, Scanner: &engine.Engine{Store: db, Integrations: []*rampart.Integration{e.fake.Descriptor()}, Checks: e.fake.Checks, Now: clock.Now},
		Controls: e.controls[:1], Checks: e.fake.Checks, Integrations: []*rampart.Integration{e.fake.Descriptor()},
		Resources: e.resources, Location: madrid, Jitter: 30 * time.Minute, Clock: clock, Holder: "one",
		LeaseTTL: 2 * time.Hour, Interval: 24 * time.Hour, AfterPass: passes.Done,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s2.Run(ctx) }()
	job := s2.Jobs()[0]
	if err := clock.WaitForTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if e.fake.Calls() != 1 {
		t.Fatalf("first pass collected %d times, want once", e.fake.Calls())
	}
	// Just before the job's due time nothing runs; at it, the scan does.
	due := at(2026, 6, 2, 0, 0).Add(job.Jitter)
	clock.Set(due.Add(-time.Second))
	if err := clock.WaitForTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if e.fake.Calls() != 1 {
		t.Errorf("collected before the job was due (jitter %s)", job.Jitter)
	}
	clock.Set(due)
	passes.Wait()
	if e.fake.Calls() != 2 {
		t.Errorf("collected %d times by the due time, want 2", e.fake.Calls())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A manual review goes due, is completed with an uploaded file, shows in
// the audit log, and goes due again at the next period.
func TestReviewLifecycle(t *testing.T) {
	t.Parallel()
	e := newEstate()
	db := openDB(t, filepath.Join(t.TempDir(), "rampart.db"))
	clock := scheduletest.NewClock(at(2026, 4, 1, 8, 0))
	s := e.scheduler(t, db, clock, "one", time.Hour)
	runOnce(t, s)
	open := reviewsOf(t, db, "MAN-03")
	if len(open) != 1 {
		t.Fatalf("quarterly reviews = %+v, want one", open)
	}
	r := open[0]
	if !r.DueAt.Equal(at(2026, 4, 1, 0, 0)) || !r.NextDueAt.Equal(at(2026, 7, 1, 0, 0)) || !r.DueBy.Equal(at(2026, 4, 15, 8, 0)) || // fourteen days from when it was opened
		r.Owner != "platform-lead" || r.Procedure == "" || r.Status != rampart.ReviewOpen {
		t.Errorf("opened review = %+v", r)
	}

	clock.Advance(3 * 24 * time.Hour)
	file := []byte("alice,owner\nbob,member\n")
	done, err := db.CompleteReview(t.Context(), r.ID, rampart.ReviewCompletion{
		By: "user:alice", Statement: "All members confirmed by their managers.", At: clock.Now(),
		Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceUpload, Name: "members.csv", Content: file}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(done.Evidence) != 1 || !done.Evidence[0].ExpiresAt.Equal(at(2026, 7, 1, 0, 0)) {
		t.Errorf("evidence = %+v, want the file expiring on the next due date", done.Evidence)
	}
	_, body, err := db.Evidence(t.Context(), done.Evidence[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	_ = body.Close()
	if string(got) != string(file) {
		t.Errorf("stored file = %q", got)
	}
	log, err := db.AuditLog(t.Context(), rampart.AuditFilter{Object: r.Object()})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, a := range log {
		acts = append(acts, a.Actor+" "+a.Action)
	}
	equal(t, "audit", acts, []string{"rampart:schedule review.open", "user:alice review.complete"})

	// Nothing more this quarter; the next one opens a new review.
	clock.Set(at(2026, 6, 30, 23, 0))
	for _, r := range runOnce(t, s).Reviews {
		if r.ControlID == "MAN-03" {
			t.Errorf("quarterly review opened before the next quarter: %+v", r)
		}
	}
	job := jobOf(t, s, "review:MAN-03:")
	clock.Set(at(2026, 7, 1, 0, 0).Add(job.Jitter))
	p := runOnce(t, s)
	var again []rampart.Review
	for _, r := range p.Reviews {
		if r.ControlID == "MAN-03" {
			again = append(again, r)
		}
	}
	if len(again) != 1 || !again[0].DueAt.Equal(at(2026, 7, 1, 0, 0)) || again[0].Status != rampart.ReviewOpen {
		t.Errorf("next quarter's review = %+v", again)
	}
}

func jobOf(t *testing.T, s *schedule.Scheduler, key string) schedule.Job {
	t.Helper()
	for _, j := range s.Jobs() {
		if j.Key == key {
			return j
		}
	}
	t.Fatalf("no job %s", key)
	return schedule.Job{}
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}
