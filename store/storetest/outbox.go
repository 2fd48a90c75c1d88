package storetest

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

func outboxStore(t *testing.T, s rampart.Store) rampart.OutboxStore {
	t.Helper()
	ob, ok := s.(rampart.OutboxStore)
	if !ok {
		t.Fatalf("%T does not implement rampart.OutboxStore", s)
	}
	return ob
}

func trigger(key string, sev rampart.Severity) rampart.OutboxEvent {
	return rampart.OutboxEvent{
		AlertKey: key, Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger, Severity: sev,
		Title: "Certificate expired: " + key, Summary: "renew it", Path: "/tasks/1",
		Labels: map[string]string{"area": "security/pki", "resource": "web"}, StartsAt: t0, CreatedAt: t0,
	}
}

func resolve(key string, at time.Time) rampart.OutboxEvent {
	return rampart.OutboxEvent{AlertKey: key, Action: rampart.ActionResolve, CreatedAt: at}
}

func notice(key string) rampart.OutboxEvent {
	return rampart.OutboxEvent{Key: key, Kind: rampart.EventReviewDue, Action: rampart.ActionNotice, Title: "Review due", StartsAt: t0, CreatedAt: t0}
}

func keys(evs []rampart.OutboxEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, string(e.Action)+" "+e.Key)
	}
	return out
}

func enqueueAll(t *testing.T, ob rampart.OutboxStore, evs ...rampart.OutboxEvent) []rampart.OutboxEvent {
	t.Helper()
	got, err := ob.Enqueue(ctx(t), evs...)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return got
}

func testOutbox(t *testing.T, s rampart.Store, _ func(string) error) {
	ob := outboxStore(t, s)

	t.Run("TransitionsAreIdempotent", func(t *testing.T) {
		got := enqueueAll(t, ob,
			trigger("finding:a", rampart.SeverityCritical),
			trigger("finding:a", rampart.SeverityCritical), // already firing
			resolve("finding:b", day(1)),                   // never fired
			notice("review.due:1"),
			notice("review.due:1"), // same key
		)
		equal(t, "stored", keys(got), []string{"trigger finding:a#1", "notice review.due:1"})
		got = enqueueAll(t, ob, resolve("finding:a", day(1)), resolve("finding:a", day(2)), trigger("finding:a", rampart.SeverityHigh))
		equal(t, "stored", keys(got), []string{"resolve finding:a#2", "trigger finding:a#3"})
		res := got[0]
		if res.Title != "Certificate expired: finding:a" || res.Kind != rampart.EventFindingNew || res.Severity != rampart.SeverityCritical ||
			res.Labels["resource"] != "web" || !res.StartsAt.Equal(exact(t0)) || !res.EndsAt.Equal(exact(day(1))) {
			t.Errorf("resolve = %+v, want its trigger's title, kind, severity, labels and start, ending at day 1", res)
		}
		if !firing(t, ob, "finding:a") {
			t.Errorf("finding:a not firing after its second trigger")
		}
		enqueueAll(t, ob, resolve("finding:a", day(3)))
		if firing(t, ob, "finding:a") {
			t.Errorf("finding:a firing after its resolve")
		}
		_, err := ob.Enqueue(ctx(t), rampart.OutboxEvent{Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger, Title: "x"})
		wantKind(t, "trigger without alert key", err, rampart.KindInvalid)
	})

	t.Run("ConcurrentTriggersStoreOne", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var stored []rampart.OutboxEvent
		for range 8 {
			wg.Go(func() {
				got, err := ob.Enqueue(ctx(t), trigger("control:race", rampart.SeverityHigh))
				if err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
				mu.Lock()
				stored = append(stored, got...)
				mu.Unlock()
			})
		}
		wg.Wait()
		equal(t, "stored by eight racing triggers", keys(stored), []string{"trigger control:race#1"})
	})

	t.Run("RouteOnceClaimAndSettle", func(t *testing.T) {
		ev := enqueueAll(t, ob, trigger("route:x", rampart.SeverityHigh))[0]
		if err := ob.RouteEvent(ctx(t), ev.ID, []string{"pd", "slack"}, t0); err != nil {
			t.Fatal(err)
		}
		if err := ob.RouteEvent(ctx(t), ev.ID, []string{"pd", "slack", "teams"}, t0); err != nil {
			t.Fatal(err)
		}
		ds, err := ob.Deliveries(ctx(t), rampart.DeliveryFilter{EventID: ev.ID})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "deliveries after routing twice", receivers(ds), []string{"pd", "slack"})
		unrouted, err := ob.UnroutedEvents(ctx(t), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range unrouted {
			if u.ID == ev.ID {
				t.Errorf("routed event %d still listed as unrouted", ev.ID)
			}
		}
		wantKind(t, "routing an unknown event", ob.RouteEvent(ctx(t), 987654, []string{"pd"}, t0), rampart.KindNotFound)

		a := claimFor(t, ob, "a", t0, ev.ID)
		b := claimFor(t, ob, "b", t0, ev.ID)
		if len(a) != 2 || len(b) != 0 {
			t.Fatalf("claims: a %d, b %d; want a both, b none while a's claim holds", len(a), len(b))
		}
		if a[0].Event.Title != ev.Title || a[0].Event.Labels["area"] != "security/pki" {
			t.Errorf("claimed delivery's event = %+v", a[0].Event)
		}
		wantKind(t, "settling another's claim", ob.DeliverySucceeded(ctx(t), a[0].ID, "b", t0), rampart.KindConflict)
		if err := ob.DeliverySucceeded(ctx(t), a[0].ID, "a", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := ob.DeliveryFailed(ctx(t), a[1].ID, "a", t0.Add(time.Second), t0.Add(time.Minute), "HTTP 500"); err != nil {
			t.Fatal(err)
		}
		if got := claimFor(t, ob, "b", t0.Add(30*time.Second), ev.ID); len(got) != 0 {
			t.Errorf("a delivery in backoff was claimed: %+v", got)
		}
		retry := claimFor(t, ob, "b", t0.Add(time.Minute), ev.ID)
		if len(retry) != 1 || retry[0].ID != a[1].ID || retry[0].Attempts != 1 || retry[0].LastError != "HTTP 500" {
			t.Fatalf("retry claim = %+v, want the failed delivery after one attempt", retry)
		}
		if err := ob.DeliveryFailed(ctx(t), retry[0].ID, "b", t0.Add(time.Minute), time.Time{}, "HTTP 400: bad payload"); err != nil {
			t.Fatal(err)
		}
		ds, err = ob.Deliveries(ctx(t), rampart.DeliveryFilter{EventID: ev.ID})
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]rampart.DeliveryState{}
		for _, d := range ds {
			states[d.Receiver] = d.State
		}
		equal(t, "states", states, map[string]rampart.DeliveryState{"pd": rampart.DeliveryDelivered, "slack": rampart.DeliveryFailed})
		if got := claimFor(t, ob, "c", day(10), ev.ID); len(got) != 0 {
			t.Errorf("settled deliveries claimed again: %+v", got)
		}
	})

	t.Run("LapsedAndReleasedClaims", func(t *testing.T) {
		ev := enqueueAll(t, ob, notice("lapse"))[0]
		if err := ob.RouteEvent(ctx(t), ev.ID, []string{"hook"}, t0); err != nil {
			t.Fatal(err)
		}
		if got := claimFor(t, ob, "dead", t0, ev.ID); len(got) != 1 {
			t.Fatalf("first claim = %+v", got)
		}
		if got := claimFor(t, ob, "live", t0.Add(10*time.Second), ev.ID); len(got) != 0 {
			t.Errorf("claimed before the first claim lapsed: %+v", got)
		}
		got := claimFor(t, ob, "live", t0.Add(time.Minute), ev.ID)
		if len(got) != 1 {
			t.Fatalf("claim after the first lapsed = %+v", got)
		}
		if err := ob.ReleaseDeliveries(ctx(t), "live"); err != nil {
			t.Fatal(err)
		}
		if got := claimFor(t, ob, "next", t0.Add(time.Minute), ev.ID); len(got) != 1 {
			t.Errorf("claim after release = %+v", got)
		}
	})

	t.Run("AlertOrderPerReceiver", func(t *testing.T) {
		trig := enqueueAll(t, ob, trigger("order:x", rampart.SeverityHigh))[0]
		res := enqueueAll(t, ob, resolve("order:x", day(1)))[0]
		for _, e := range []rampart.OutboxEvent{trig, res} {
			if err := ob.RouteEvent(ctx(t), e.ID, []string{"pd"}, t0); err != nil {
				t.Fatal(err)
			}
		}
		first := claimFor(t, ob, "a", t0, trig.ID, res.ID)
		if len(first) != 1 || first[0].Event.ID != trig.ID {
			t.Fatalf("first claim = %+v, want the trigger alone", first)
		}
		if err := ob.DeliveryFailed(ctx(t), first[0].ID, "a", t0, t0.Add(time.Hour), "timeout"); err != nil {
			t.Fatal(err)
		}
		if got := claimFor(t, ob, "a", t0.Add(time.Minute), trig.ID, res.ID); len(got) != 0 {
			t.Errorf("the resolve was claimed while its trigger waits to be retried: %+v", got)
		}
		again := claimFor(t, ob, "a", t0.Add(time.Hour), trig.ID, res.ID)
		if len(again) != 1 || again[0].Event.ID != trig.ID {
			t.Fatalf("retry claim = %+v, want the trigger", again)
		}
		if err := ob.DeliverySucceeded(ctx(t), again[0].ID, "a", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		last := claimFor(t, ob, "a", t0.Add(time.Hour), trig.ID, res.ID)
		if len(last) != 1 || last[0].Event.ID != res.ID {
			t.Errorf("after the trigger, claim = %+v, want the resolve", last)
		}
	})

	t.Run("ConcurrentClaimersShareWithoutOverlap", func(t *testing.T) {
		var want []int64
		for i := range 30 {
			ev := enqueueAll(t, ob, notice(fmt.Sprintf("share:%d", i)))[0]
			if err := ob.RouteEvent(ctx(t), ev.ID, []string{"hook"}, t0); err != nil {
				t.Fatal(err)
			}
			want = append(want, ev.ID)
		}
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				holder := fmt.Sprintf("w%d", w)
				for {
					ds, err := ob.ClaimDeliveries(ctx(t), holder, t0, time.Hour, 3)
					if err != nil {
						t.Errorf("ClaimDeliveries: %v", err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						if prev, dup := seen[d.Event.ID]; dup {
							t.Errorf("event %d claimed by %s and %s", d.Event.ID, prev, holder)
						}
						seen[d.Event.ID] = holder
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var got []int64
		for id := range seen {
			for _, w := range want {
				if id == w {
					got = append(got, id)
				}
			}
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		equal(t, "claimed", got, want)
	})
}

// claimFor claims at now and keeps the deliveries of the given events.
// Subtests run one after the other on one store: deliveries an earlier one
// left pending are given up here, out of the way.
func claimFor(t *testing.T, ob rampart.OutboxStore, holder string, now time.Time, events ...int64) []rampart.Delivery {
	t.Helper()
	ds, err := ob.ClaimDeliveries(ctx(t), holder, now, 30*time.Second, 1000)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	var out []rampart.Delivery
	for _, d := range ds {
		if slices.Contains(events, d.Event.ID) {
			out = append(out, d)
			continue
		}
		if err := ob.DeliveryFailed(ctx(t), d.ID, holder, now, time.Time{}, "left by an earlier subtest"); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func receivers(ds []rampart.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Receiver)
	}
	sort.Strings(out)
	return out
}
