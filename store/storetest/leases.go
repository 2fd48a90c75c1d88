package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

func leaseStore(t *testing.T, s rampart.Store) rampart.LeaseStore {
	t.Helper()
	ls, ok := s.(rampart.LeaseStore)
	if !ok {
		t.Fatalf("%T does not implement rampart.LeaseStore", s)
	}
	return ls
}

func acquire(t *testing.T, ls rampart.LeaseStore, name, holder string, now time.Time) (rampart.Lease, bool) {
	t.Helper()
	l, held, err := ls.AcquireLease(ctx(t), name, holder, now, time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
	}
	return l, held
}

func testLeases(t *testing.T, s rampart.Store, _ func(string) error) {
	ls := leaseStore(t, s)

	t.Run("OneHolderUntilExpiry", func(t *testing.T) {
		l, held := acquire(t, ls, "scheduler", "a", t0)
		if !held || l.Holder != "a" || !l.ExpiresAt.Equal(exact(t0.Add(time.Minute))) {
			t.Fatalf("a's lease = %+v, held %v", l, held)
		}
		if l, held := acquire(t, ls, "scheduler", "b", t0.Add(30*time.Second)); held || l.Holder != "a" {
			t.Errorf("b took a live lease: %+v", l)
		}
		l, held = acquire(t, ls, "scheduler", "a", t0.Add(50*time.Second))
		if !held || !l.AcquiredAt.Equal(exact(t0)) || !l.ExpiresAt.Equal(exact(t0.Add(110*time.Second))) {
			t.Errorf("a's renewal = %+v, held %v; want the first acquisition time and a later expiry", l, held)
		}
		if _, held := acquire(t, ls, "scheduler", "b", t0.Add(100*time.Second)); held {
			t.Errorf("b took a renewed lease before it expired")
		}
		l, held = acquire(t, ls, "scheduler", "b", t0.Add(110*time.Second))
		if !held || l.Holder != "b" || !l.AcquiredAt.Equal(exact(t0.Add(110*time.Second))) {
			t.Errorf("b after expiry: %+v, held %v", l, held)
		}
		if _, held := acquire(t, ls, "other", "a", t0); !held {
			t.Errorf("leases of different names excluded each other")
		}
		_, _, err := ls.AcquireLease(ctx(t), "scheduler", "", t0, time.Minute)
		wantKind(t, "no holder", err, rampart.KindInvalid)
		_, _, err = ls.AcquireLease(ctx(t), "scheduler", "a", t0, 0)
		wantKind(t, "no term", err, rampart.KindInvalid)
	})

	t.Run("Release", func(t *testing.T) {
		acquire(t, ls, "released", "a", t0)
		if err := ls.ReleaseLease(ctx(t), "released", "b"); err != nil {
			t.Fatal(err)
		}
		if _, held := acquire(t, ls, "released", "b", t0.Add(time.Second)); held {
			t.Errorf("a release by a non-holder freed the lease")
		}
		if err := ls.ReleaseLease(ctx(t), "released", "a"); err != nil {
			t.Fatal(err)
		}
		if _, held := acquire(t, ls, "released", "b", t0.Add(time.Second)); !held {
			t.Errorf("b could not take a released lease")
		}
	})

	t.Run("ConcurrentAcquireOneWinner", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		for i := range 8 {
			wg.Go(func() {
				holder := fmt.Sprintf("p%d", i)
				_, held, err := ls.AcquireLease(ctx(t), "race", holder, t0, time.Minute)
				if err != nil {
					t.Errorf("AcquireLease: %v", err)
					return
				}
				if held {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Errorf("holders after a race: %v, want exactly one", winners)
		}
	})

	t.Run("RunClaimedOncePerPeriod", func(t *testing.T) {
		due := t0.Truncate(24 * time.Hour)
		claim := func(holder string, now time.Time) bool {
			ok, err := ls.ClaimRun(ctx(t), "scan:PKI-01:web", due, holder, now, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim("a", t0) {
			t.Fatal("first claim refused")
		}
		if claim("b", t0.Add(time.Second)) {
			t.Errorf("second claim of a live run granted")
		}
		if !claim("b", t0.Add(2*time.Minute)) {
			t.Errorf("claim of a lapsed, unfinished run refused")
		}
		wantKind(t, "finishing a run taken over", ls.FinishRun(ctx(t), "scan:PKI-01:web", due, "a", t0.Add(3*time.Minute), "done"), rampart.KindConflict)
		if err := ls.FinishRun(ctx(t), "scan:PKI-01:web", due, "b", t0.Add(3*time.Minute), "scan 7"); err != nil {
			t.Fatal(err)
		}
		if claim("c", t0.Add(time.Hour)) {
			t.Errorf("a finished run was claimed again")
		}
		next := due.Add(24 * time.Hour)
		ok, err := ls.ClaimRun(ctx(t), "scan:PKI-01:web", next, "c", next, time.Minute)
		if err != nil || !ok {
			t.Fatalf("claim of the next period: %v, %v", ok, err)
		}
		runs, err := ls.ScheduleRuns(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		var got []rampart.ScheduleRun
		for _, r := range runs {
			if r.Job == "scan:PKI-01:web" {
				got = append(got, r)
			}
		}
		equal(t, "latest run", got, []rampart.ScheduleRun{{
			Job: "scan:PKI-01:web", DueAt: exact(next), Holder: "c", StartedAt: exact(next), ClaimedUntil: exact(next.Add(time.Minute)),
		}})
		_, err = ls.ClaimRun(ctx(t), "", due, "a", t0, time.Minute)
		wantKind(t, "claim without job", err, rampart.KindInvalid)
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		n := 0
		for i := range 8 {
			wg.Go(func() {
				ok, err := ls.ClaimRun(ctx(t), "review:GH-01:org", t0, fmt.Sprintf("p%d", i), t0, time.Minute)
				if err != nil {
					t.Errorf("ClaimRun: %v", err)
					return
				}
				if ok {
					mu.Lock()
					n++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if n != 1 {
			t.Errorf("%d claims granted in a race, want 1", n)
		}
	})
}
