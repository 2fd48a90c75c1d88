package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/notify"
	"github.com/rampart-dev/rampart/notify/notifytest"
	"github.com/rampart-dev/rampart/store"
)

// childEnv makes the test binary a notifier process (see TestMain), so
// that a test can kill -9 it in the middle of a delivery.
const childEnv = "RAMPART_NOTIFY_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// childSpec is what a child notifier runs.
type childSpec struct {
	Store    string
	Notify   rampart.NotifyConfig
	Env      map[string]string
	ClaimTTL time.Duration
}

func runChild(spec string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(spec), &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	db, err := store.Open(ctx, cs.Store)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := dispatcher(db, cs.Notify, cs.Env, "child", cs.ClaimTTL, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_ = d.Run(ctx) // until killed
	return 0
}

// fakes are the four receivers on loopback, configured without routes:
// each gets every event.
type fakes struct {
	pd, slack, teams, hook *notifytest.Receiver
	cfg                    rampart.NotifyConfig
	// env holds what the configuration's references name.
	env map[string]string
}

func newFakes(t *testing.T) *fakes {
	f := &fakes{
		pd: notifytest.NewPagerDuty(routingKey), slack: notifytest.NewSlack(),
		teams: notifytest.NewTeams(), hook: notifytest.NewWebhook([]byte(webhookSecret)),
	}
	for _, r := range f.all() {
		t.Cleanup(r.Close)
	}
	f.env = map[string]string{
		"TEST_PD_KEY": routingKey, "TEST_SLACK_URL": f.slack.URL, "TEST_TEAMS_URL": f.teams.URL, "TEST_HOOK_SECRET": webhookSecret,
		"TEST_WRONG_KEY": "not-the-integration-key",
	}
	f.cfg = rampart.NotifyConfig{
		ExternalURL: "https://rampart.example.com",
		Receivers: []rampart.Receiver{
			{Name: "pd", Type: rampart.ReceiverPagerDuty, URL: f.pd.URL, RoutingKey: "env:TEST_PD_KEY"},
			{Name: "slack", Type: rampart.ReceiverSlack, WebhookURL: "env:TEST_SLACK_URL"},
			{Name: "teams", Type: rampart.ReceiverTeams, WebhookURL: "env:TEST_TEAMS_URL"},
			{Name: "hook", Type: rampart.ReceiverWebhook, URL: f.hook.URL, Secret: "env:TEST_HOOK_SECRET"},
		},
	}
	return f
}

func (f *fakes) all() []*notifytest.Receiver {
	return []*notifytest.Receiver{f.pd, f.slack, f.teams, f.hook}
}

func dispatcher(db *store.DB, cfg rampart.NotifyConfig, env map[string]string, holder string, claimTTL time.Duration, w *notify.Watcher) (*notify.Dispatcher, error) {
	getenv := func(k string) string { return env[k] }
	senders, err := notify.NewSenders(cfg, rampart.Env{Getenv: getenv, ReadFile: os.ReadFile}, &http.Client{Timeout: 5 * time.Second}, nil)
	if err != nil {
		return nil, err
	}
	return notify.NewDispatcher(notify.Config{
		Store: db, Notify: cfg, Senders: senders, Watcher: w, Holder: holder,
		Poll: 20 * time.Millisecond, ClaimTTL: claimTTL, MinBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond,
		Sweep: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
}

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func start(t *testing.T, d *notify.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expected is what each fake must take exactly once, in this order for
// an alert's trigger and resolve.
func expected(f *fakes, evs ...rampart.OutboxEvent) map[*notifytest.Receiver][]string {
	out := map[*notifytest.Receiver][]string{}
	for _, e := range evs {
		pdAction := "trigger"
		if e.Action == rampart.ActionResolve {
			pdAction = "resolve"
		}
		out[f.pd] = append(out[f.pd], e.DedupKey()+" "+pdAction)
		for _, r := range []*notifytest.Receiver{f.slack, f.teams, f.hook} {
			out[r] = append(out[r], e.Key)
		}
	}
	return out
}

func deliveredAll(f *fakes, want map[*notifytest.Receiver][]string) bool {
	for _, r := range f.all() {
		if len(r.IDs()) < len(want[r]) {
			return false
		}
	}
	return true
}

// checkOnce asserts each fake took exactly the wanted deliveries, each
// once, an alert's trigger before its resolve, and refused nothing.
func checkOnce(t *testing.T, f *fakes, want map[*notifytest.Receiver][]string) {
	t.Helper()
	for name, r := range map[string]*notifytest.Receiver{"pagerduty": f.pd, "slack": f.slack, "teams": f.teams, "webhook": f.hook} {
		if ps := r.Problems(); len(ps) > 0 {
			t.Errorf("%s refused payloads: %v", name, ps)
		}
		got := r.IDs()
		sortedGot, sortedWant := slices.Clone(got), slices.Clone(want[r])
		slices.Sort(sortedGot)
		slices.Sort(sortedWant)
		if !slices.Equal(sortedGot, sortedWant) {
			t.Errorf("%s took %v, want each of %v once", name, got, want[r])
		}
		for i, id := range want[r] {
			if !strings.HasSuffix(id, "resolve") && !strings.HasSuffix(id, "#2") {
				continue
			}
			trig := want[r][i-1]
			if slices.Index(got, trig) > slices.Index(got, id) {
				t.Errorf("%s took %s before %s", name, id, trig)
			}
		}
	}
}

// A receiver that answers 500 three times, and a notifier restarted in
// the middle of a delivery: every event reaches every receiver once.
func TestDeliveredOnceThroughFailuresAndRestart(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	path := filepath.Join(t.TempDir(), "rampart.db")
	db := openStore(t, path)
	trig := enqueue(t, db, alert("finding:abc", rampart.SeverityCritical))
	note := enqueue(t, db, notice("review.due:GH-01:org:1"))
	for _, r := range f.all() {
		r.FailNext(3, http.StatusInternalServerError)
	}
	arrived, release := f.hook.HoldNext()
	defer release()

	first, err := dispatcher(db, f.cfg, f.env, "first", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopFirst := start(t, first)
	<-arrived // the webhook's first request is in flight
	stopFirst()

	second, err := dispatcher(openStore(t, path), f.cfg, f.env, "second", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, second)
	want := expected(f, trig, note)
	waitFor(t, "every receiver to take both events", func() bool { return deliveredAll(f, want) })

	// The fix: the alert resolves, and the resolve follows its trigger.
	res := enqueue(t, db, rampart.OutboxEvent{AlertKey: "finding:abc", Action: rampart.ActionResolve})
	second.Wake()
	want = expected(f, trig, res, note)
	waitFor(t, "every receiver to take the resolve", func() bool { return deliveredAll(f, want) })
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show up
	checkOnce(t, f, want)
	for _, r := range f.all() {
		if r.Requests() < 3+3 {
			t.Errorf("a fake saw %d requests; the three failures were not retried", r.Requests())
		}
	}
	ds, err := db.Deliveries(t.Context(), rampart.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.State != rampart.DeliveryDelivered {
			t.Errorf("delivery %d to %s: %s (%s)", d.ID, d.Receiver, d.State, d.LastError)
		}
	}
}

// A notifier killed with SIGKILL in the middle of a delivery leaves its
// claims behind; once they lapse another process delivers, once.
func TestDeliveredOnceAfterKill(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	path := filepath.Join(t.TempDir(), "rampart.db")
	db := openStore(t, path)
	trig := enqueue(t, db, alert("control:GH-01", rampart.SeverityHigh))
	arrived, release := f.hook.HoldNext()
	defer release()
	f.teams.FailNext(3, http.StatusServiceUnavailable)

	spec, err := json.Marshal(childSpec{Store: path, Notify: f.cfg, Env: f.env, ClaimTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+string(spec))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("the child never reached the webhook")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	d, err := dispatcher(db, f.cfg, f.env, "survivor", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	want := expected(f, trig)
	waitFor(t, "delivery after the child's claims lapse", func() bool { return deliveredAll(f, want) })
	time.Sleep(100 * time.Millisecond)
	checkOnce(t, f, want)
}

// Two notifiers on one store share the work and send nothing twice.
func TestTwoNotifiersSendOnce(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	path := filepath.Join(t.TempDir(), "rampart.db")
	dbA, dbB := openStore(t, path), openStore(t, path)
	var evs []rampart.OutboxEvent
	for i := range 10 {
		evs = append(evs, enqueue(t, dbA, notice(fmt.Sprintf("review.due:C-%02d::1", i))))
	}
	for _, db := range []*store.DB{dbA, dbB} {
		d, err := dispatcher(db, f.cfg, f.env, fmt.Sprintf("%p", db), time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		start(t, d)
	}
	want := expected(f, evs...)
	waitFor(t, "all notices", func() bool { return deliveredAll(f, want) })
	time.Sleep(100 * time.Millisecond)
	checkOnce(t, f, want)
}

// A permanent refusal is given up, not retried.
func TestPermanentRefusalGivenUp(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	db := openStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	cfg := f.cfg
	cfg.Receivers = []rampart.Receiver{{Name: "pd", Type: rampart.ReceiverPagerDuty, URL: f.pd.URL, RoutingKey: "env:TEST_WRONG_KEY"}}
	enqueue(t, db, alert("finding:x", rampart.SeverityCritical))
	d, err := dispatcher(db, cfg, f.env, "one", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	var ds []rampart.Delivery
	waitFor(t, "the delivery to be given up", func() bool {
		ds, err = db.Deliveries(t.Context(), rampart.DeliveryFilter{State: []rampart.DeliveryState{rampart.DeliveryFailed}})
		return err == nil && len(ds) == 1
	})
	if ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "routing_key") {
		t.Errorf("given-up delivery = %+v, want one attempt and PagerDuty's reason", ds[0])
	}
	if n := f.pd.Requests(); n != 1 {
		t.Errorf("PagerDuty saw %d requests, want 1", n)
	}
}

func alert(key string, sev rampart.Severity) rampart.OutboxEvent {
	return rampart.OutboxEvent{
		AlertKey: key, Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger, Severity: sev,
		Title: "Firing " + key, Summary: "details of " + key,
		Labels: map[string]string{"area": "security/pki", "resource": "shop"}, Path: "/tasks/1",
	}
}

func notice(key string) rampart.OutboxEvent {
	return rampart.OutboxEvent{
		Key: key, Kind: rampart.EventReviewDue, Action: rampart.ActionNotice, Severity: rampart.SeverityLow,
		Title: "Review due " + key, Labels: map[string]string{"control": "GH-01"},
	}
}

func enqueue(t *testing.T, db *store.DB, e rampart.OutboxEvent) rampart.OutboxEvent {
	t.Helper()
	got, err := db.Enqueue(t.Context(), e)
	if err != nil || len(got) != 1 {
		t.Fatalf("Enqueue %s: %v, %v", e.Key+e.AlertKey, got, err)
	}
	return got[0]
}
