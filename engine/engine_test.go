package engine_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/engine/enginetest"
)

const fakeKind rampart.Kind = "fake"

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func resource(id string) *rampart.Resource {
	return &rampart.Resource{ID: id, Kind: fakeKind, Name: id, Owner: "platform", Criticality: rampart.CriticalityHigh, Environment: "production"}
}

func resources(n int) []*rampart.Resource {
	var rs []*rampart.Resource
	for i := range n {
		rs = append(rs, resource(fmt.Sprintf("r%03d", i)))
	}
	return rs
}

// factsBy serves each resource the facts of the map (healthy facts for the
// others).
func factsBy(m map[string]*enginetest.Facts) func(context.Context, *rampart.Resource) (rampart.Facts, error) {
	return func(_ context.Context, r *rampart.Resource) (rampart.Facts, error) {
		if f, ok := m[r.ID]; ok {
			return f, nil
		}
		return &enginetest.Facts{Port: 443}, nil
	}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func newEngine(st rampart.Store, fake *enginetest.Integration, extra ...*rampart.Check) *engine.Engine {
	checks := append([]*rampart.Check{enginetest.WeakCheck("FAKE-WEAK", fakeKind, rampart.SeverityHigh)}, extra...)
	c := &clock{t: t0}
	e := &engine.Engine{
		Integrations: []*rampart.Integration{fake.Descriptor()},
		Checks:       checks,
		Concurrency:  4,
		Timeout:      5 * time.Second,
		Now:          c.Now,
	}
	if st != nil {
		e.Store = st
	}
	return e
}

func resultOf(t *testing.T, sum *engine.Summary, resourceID, checkID string) rampart.Result {
	t.Helper()
	for _, r := range sum.Results {
		if r.ResourceID == resourceID && r.CheckID == checkID {
			return r
		}
	}
	t.Fatalf("no result of %s on %s in %d results", checkID, resourceID, len(sum.Results))
	return rampart.Result{}
}

func items(fs []rampart.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Item)
	}
	return out
}

func TestScanSavesOutcomes(t *testing.T) {
	t.Parallel()
	weak := &enginetest.Facts{Port: 443, Weak: []string{"rsa-1024", "sha1"}}
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(map[string]*enginetest.Facts{"r001": weak})}
	st := enginetest.NewStore()
	e := newEngine(st, fake)
	e.AreaOfCheck = func(id string) string { return "security/pki" }

	sum, err := e.Scan(t.Context(), resources(3), engine.Options{Trigger: "schedule", Actor: "user:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Run.ID != 1 || sum.Run.State != "done" || sum.Run.Trigger != "schedule" {
		t.Errorf("run = %+v, want scan 1, done, schedule", sum.Run)
	}
	if sum.Run.Resources != 3 || sum.Run.Pass != 2 || sum.Run.Fail != 1 || sum.Run.Errors != 0 {
		t.Errorf("tallies = %d resources, %d pass, %d fail, %d errors; want 3, 2, 1, 0",
			sum.Run.Resources, sum.Run.Pass, sum.Run.Fail, sum.Run.Errors)
	}

	res := resultOf(t, sum, "r001", "FAKE-WEAK")
	js, err := rampart.FactsJSON(weak)
	if err != nil {
		t.Fatal(err)
	}
	want := rampart.Result{
		ScanID: 1, ResourceID: "r001", CheckID: "FAKE-WEAK", Version: 1, Status: rampart.StatusFail,
		Severity: rampart.SeverityHigh, Evidence: rampart.ContentHash(js), At: t0,
		Findings: []rampart.Finding{
			{Item: "rsa-1024", Message: "rsa-1024 is weak", Fingerprint: rampart.Fingerprint("FAKE-WEAK", "r001", "rsa-1024")},
			{Item: "sha1", Message: "sha1 is weak", Fingerprint: rampart.Fingerprint("FAKE-WEAK", "r001", "sha1")},
		},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result =\n%+v\nwant\n%+v", res, want)
	}

	if sum.Opened != 2 || sum.Reopened != 0 || sum.Resolved != 0 || len(sum.Updates) != 2 {
		t.Errorf("updates: %d opened, %d reopened, %d resolved of %d; want 2 opened", sum.Opened, sum.Reopened, sum.Resolved, len(sum.Updates))
	}
	for _, u := range sum.Updates {
		if u.Task.Area != "security/pki" || u.Task.Title != "Nothing is weak" || u.Task.Owner != "platform" {
			t.Errorf("task %+v lacks area, title or owner", u.Task)
		}
	}

	outs := st.Outcomes()
	if len(outs) != 3 {
		t.Fatalf("store holds %d outcomes, want 3", len(outs))
	}
	for _, o := range outs {
		if o.ScanID != 1 || o.Actor != "user:alice" || o.Facts == nil || o.Checks["FAKE-WEAK"] == nil || o.At != t0 {
			t.Errorf("outcome of %s = scan %d, actor %q, facts %d bytes, checks %v, at %v",
				o.Resource.ID, o.ScanID, o.Actor, len(o.Facts), o.Checks, o.At)
		}
	}
	scans, err := st.Scans(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if scans[0].State != "done" || scans[0].Fail != 1 {
		t.Errorf("stored scan = %+v, want done with 1 failure", scans[0])
	}
	if fake.Collectors() != 1 {
		t.Errorf("built %d collectors for one scan, want 1", fake.Collectors())
	}
}

// Fingerprints depend on check, resource and item only, so a second scan of
// the same estate updates the same tasks, a fix resolves them and a
// regression reopens them.
func TestTasksFollowFindingsAcrossScans(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	weak := []string{"rsa-1024"}
	fake := &enginetest.Integration{Kind: fakeKind, Collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) {
		mu.Lock()
		defer mu.Unlock()
		return &enginetest.Facts{Port: 443, Weak: weak}, nil
	}}
	st := enginetest.NewStore()
	e := newEngine(st, fake)
	rs := resources(1)
	scan := func(w []string) *engine.Summary {
		t.Helper()
		mu.Lock()
		weak = w
		mu.Unlock()
		sum, err := e.Scan(t.Context(), rs, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}

	first := scan([]string{"rsa-1024"})
	second := scan([]string{"rsa-1024"})
	fp1 := resultOf(t, first, "r000", "FAKE-WEAK").Findings[0].Fingerprint
	fp2 := resultOf(t, second, "r000", "FAKE-WEAK").Findings[0].Fingerprint
	if fp1 != fp2 || fp1 != rampart.Fingerprint("FAKE-WEAK", "r000", "rsa-1024") {
		t.Errorf("fingerprints %s and %s differ across scans", fp1, fp2)
	}
	if first.Opened != 1 || second.Opened != 0 || len(second.Updates) != 1 || second.Updates[0].Change != rampart.TaskUpdated {
		t.Errorf("first scan opened %d, second opened %d with updates %+v; want 1, then one update", first.Opened, second.Opened, second.Updates)
	}
	if fixed := scan(nil); fixed.Resolved != 1 {
		t.Errorf("fixed scan resolved %d tasks, want 1", fixed.Resolved)
	}
	if again := scan([]string{"rsa-1024"}); again.Reopened != 1 || !again.Updates[0].Task.Regression {
		t.Errorf("regression reopened %d tasks (%+v), want 1 marked as a regression", again.Reopened, again.Updates)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	const limit = 3
	release := make(chan struct{})
	fake := &enginetest.Integration{Kind: fakeKind}
	fake.Collect = func(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
		<-release
		return &enginetest.Facts{Port: 443}, nil
	}
	e := newEngine(nil, fake)
	e.Concurrency = limit
	// Hold every collector until the limit is reached, then a little
	// longer, so that a pool that ignored the limit would show it.
	go func() {
		deadline := time.Now().Add(5 * time.Second)
		for fake.MaxInFlight() < limit && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	sum, err := e.Scan(t.Context(), resources(30), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.MaxInFlight(); got != limit {
		t.Errorf("at most %d collectors ran at once, want %d", got, limit)
	}
	if fake.Calls() != 30 || sum.Run.Pass != 30 {
		t.Errorf("%d calls, %d passes; want 30 each", fake.Calls(), sum.Run.Pass)
	}
}

func TestCollectionFailures(t *testing.T) {
	t.Parallel()
	forever := make(chan struct{})
	t.Cleanup(func() { close(forever) })
	tests := []struct {
		name    string
		collect func(context.Context, *rampart.Resource) (rampart.Facts, error)
		want    string
	}{{
		name: "error",
		collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) {
			return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
		},
		want: "collect: dial tcp 127.0.0.1:1: connect: connection refused",
	}, {
		name:    "panic",
		collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) { panic("boom") },
		want:    "collect: panic: boom",
	}, {
		name: "timeout honoured",
		collect: func(ctx context.Context, _ *rampart.Resource) (rampart.Facts, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
		want: "collect: timed out after 50ms",
	}, {
		name: "timeout ignored by the collector",
		collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) {
			<-forever
			return &enginetest.Facts{}, nil
		},
		want: "collect: timed out after 50ms",
	}, {
		name:    "no facts",
		collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) { return nil, nil },
		want:    "collect: the collector returned no facts and no error",
	}, {
		name: "facts that cannot be encoded",
		collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) {
			return map[string]any{"f": func() {}}, nil
		},
		want: "collect: encode facts: json: unsupported type: func()",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &enginetest.Integration{Kind: fakeKind}
			fake.Collect = func(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
				if r.ID == "bad" {
					return tt.collect(ctx, r)
				}
				return &enginetest.Facts{Port: 443}, nil
			}
			st := enginetest.NewStore()
			e := newEngine(st, fake, enginetest.WeakCheck("FAKE-WEAK-2", fakeKind, rampart.SeverityLow))
			e.Timeout = 50 * time.Millisecond
			rs := append(resources(2), resource("bad"))
			sum, err := e.Scan(t.Context(), rs, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"FAKE-WEAK", "FAKE-WEAK-2"} {
				r := resultOf(t, sum, "bad", id)
				if r.Status != rampart.StatusError || r.Reason != tt.want || r.Evidence != "" {
					t.Errorf("%s on bad = %s %q evidence %q, want error %q without evidence", id, r.Status, r.Reason, r.Evidence, tt.want)
				}
				if r := resultOf(t, sum, "r001", id); r.Status != rampart.StatusPass {
					t.Errorf("%s on r001 = %s (%s), want pass: one failure must not stop the scan", id, r.Status, r.Reason)
				}
			}
			wantErrs := []engine.ResourceError{{ResourceID: "bad", Reason: tt.want}}
			if got := sum.Errors[fakeKind]; !reflect.DeepEqual(got, wantErrs) {
				t.Errorf("errors = %+v, want %+v", got, wantErrs)
			}
			if sum.Run.Errors != 2 || sum.Run.Pass != 4 {
				t.Errorf("tallies: %d errors, %d passes; want 2 and 4", sum.Run.Errors, sum.Run.Pass)
			}
			// The error results are saved: the run says it could not tell.
			if n := len(st.Outcomes()); n != 3 {
				t.Errorf("saved %d outcomes, want 3", n)
			}
		})
	}
}

func TestCheckFailures(t *testing.T) {
	t.Parallel()
	check := func(id string, run func(context.Context, rampart.Facts) rampart.Evaluation) *rampart.Check {
		return &rampart.Check{ID: id, Title: id + " title", Severity: rampart.SeverityMedium, Kind: fakeKind, Controls: []string{"TEST-01"}, Run: run}
	}
	tests := []struct {
		name      string
		check     *rampart.Check
		want      rampart.Status
		reason    string
		wantItems []string
	}{{
		name:   "panic",
		check:  check("PANICS", func(context.Context, rampart.Facts) rampart.Evaluation { panic("nil map") }),
		want:   rampart.StatusError,
		reason: "check PANICS panicked: nil map",
	}, {
		name:   "unknown status",
		check:  check("NO-STATUS", func(context.Context, rampart.Facts) rampart.Evaluation { return rampart.Evaluation{} }),
		want:   rampart.StatusError,
		reason: `check NO-STATUS returned the unknown status ""`,
	}, {
		name:   "not applicable",
		check:  check("NA", func(context.Context, rampart.Facts) rampart.Evaluation { return rampart.NotApplicable("no TLS here") }),
		want:   rampart.StatusNotApplicable,
		reason: "no TLS here",
	}, {
		name: "fail without findings gets one",
		check: check("BARE-FAIL", func(context.Context, rampart.Facts) rampart.Evaluation {
			return rampart.Evaluation{Status: rampart.StatusFail, Reason: "port 80 is open"}
		}),
		want:      rampart.StatusFail,
		reason:    "port 80 is open",
		wantItems: []string{"BARE-FAIL"},
	}, {
		name: "duplicate items are one finding",
		check: check("DUPS", func(context.Context, rampart.Facts) rampart.Evaluation {
			return rampart.Failed(rampart.Finding{Item: "a", Message: "first"}, rampart.Finding{Item: "a", Message: "second"})
		}),
		want:      rampart.StatusFail,
		wantItems: []string{"a"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(nil)}
			st := enginetest.NewStore()
			e := newEngine(st, fake, tt.check)
			sum, err := e.Scan(t.Context(), resources(1), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := resultOf(t, sum, "r000", tt.check.ID)
			if r.Status != tt.want || r.Reason != tt.reason {
				t.Errorf("result = %s %q, want %s %q", r.Status, r.Reason, tt.want, tt.reason)
			}
			if got := items(r.Findings); !reflect.DeepEqual(got, tt.wantItems) {
				t.Errorf("items = %q, want %q", got, tt.wantItems)
			}
			if r.Severity != rampart.SeverityMedium {
				t.Errorf("severity = %s, want the check's", r.Severity)
			}
			// The resource's other check is unaffected.
			if other := resultOf(t, sum, "r000", "FAKE-WEAK"); other.Status != rampart.StatusPass {
				t.Errorf("FAKE-WEAK = %s (%s), want pass", other.Status, other.Reason)
			}
			if tt.want != rampart.StatusFail && sum.Opened != 0 {
				t.Errorf("a %s result opened %d tasks", tt.want, sum.Opened)
			}
			if tt.want == rampart.StatusFail && sum.Opened != len(tt.wantItems) {
				t.Errorf("opened %d tasks, want %d", sum.Opened, len(tt.wantItems))
			}
		})
	}
}

// The timeout bounds evaluation too: checks not yet run when it expires
// end in error, those that finished keep their result.
func TestEvaluationTimeout(t *testing.T) {
	t.Parallel()
	slow := &rampart.Check{
		ID: "A-SLOW", Title: "slow", Kind: fakeKind, Controls: []string{"TEST-01"},
		Run: func(context.Context, rampart.Facts) rampart.Evaluation {
			time.Sleep(80 * time.Millisecond)
			return rampart.Pass("slow but fine")
		},
	}
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(nil)}
	e := newEngine(nil, fake, slow)
	e.Timeout = 50 * time.Millisecond
	sum, err := e.Scan(t.Context(), resources(1), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := resultOf(t, sum, "r000", "A-SLOW"); r.Status != rampart.StatusPass {
		t.Errorf("A-SLOW = %s (%s), want its pass kept", r.Status, r.Reason)
	}
	if r := resultOf(t, sum, "r000", "FAKE-WEAK"); r.Status != rampart.StatusError || r.Reason != "evaluate: timed out after 50ms" {
		t.Errorf("FAKE-WEAK = %s %q, want error %q", r.Status, r.Reason, "evaluate: timed out after 50ms")
	}
}

func TestCELCheckRunsOnFacts(t *testing.T) {
	t.Parallel()
	user, err := celcheck.Parse("acme.yaml", []byte(`checks:
  - id: ACME-PORT
    title: Served on 443
    severity: low
    kind: fake
    controls: [TEST-01]
    remediation: Move it.
    doc: Reads the port.
    expr: facts.port == 443
  - id: ACME-WEAK
    title: Nothing weak in production
    severity: critical
    kind: fake
    controls: [TEST-01]
    remediation: Fix it.
    doc: Lists weak things.
    items: facts.weak
    when: resource.environment == "production" && resource.id == "r000"
`))
	if err != nil {
		t.Fatal(err)
	}
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(map[string]*enginetest.Facts{
		"r000": {Port: 8443, Weak: []string{"tls1.0"}},
	})}
	e := newEngine(enginetest.NewStore(), fake, user...)
	sum, err := e.Scan(t.Context(), resources(2), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		resource, check string
		want            rampart.Status
		items           []string
	}{
		{"r000", "ACME-PORT", rampart.StatusFail, []string{"ACME-PORT"}},
		{"r001", "ACME-PORT", rampart.StatusPass, nil},
		{"r000", "ACME-WEAK", rampart.StatusFail, []string{"tls1.0"}},
		// r001's facts have no weak field: the when clause makes the
		// check not applicable before items would fail on the missing key.
		{"r001", "ACME-WEAK", rampart.StatusNotApplicable, nil},
	}
	for _, tt := range tests {
		r := resultOf(t, sum, tt.resource, tt.check)
		if r.Status != tt.want || !reflect.DeepEqual(items(r.Findings), tt.items) {
			t.Errorf("%s on %s = %s %q (%s), want %s %q", tt.check, tt.resource, r.Status, items(r.Findings), r.Reason, tt.want, tt.items)
		}
		if tt.want == rampart.StatusFail && r.Findings[0].Fingerprint != rampart.Fingerprint(tt.check, tt.resource, tt.items[0]) {
			t.Errorf("%s on %s: finding without its fingerprint", tt.check, tt.resource)
		}
	}
	if r := resultOf(t, sum, "r000", "ACME-WEAK"); r.Severity != rampart.SeverityCritical {
		t.Errorf("severity = %s, want critical", r.Severity)
	}
}

func TestInventoryKinds(t *testing.T) {
	t.Parallel()
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(nil)}
	st := enginetest.NewStore()
	e := newEngine(st, fake)
	org := &rampart.Resource{ID: "acme-org", Kind: "github-org"}
	device := &rampart.Resource{ID: "laptops", Kind: "device-fleet"}
	sum, err := e.Scan(t.Context(), []*rampart.Resource{org, resource("r000"), device}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sum.Inventory, []*rampart.Resource{org, device}) {
		t.Errorf("inventory = %v, want the org and the device fleet", sum.Inventory)
	}
	if len(sum.Results) != 1 || sum.Run.Resources != 1 || len(sum.Errors) != 0 {
		t.Errorf("%d results, %d resources, errors %v; want one result of r000 and no error", len(sum.Results), sum.Run.Resources, sum.Errors)
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fake := &enginetest.Integration{Kind: fakeKind}
	fake.Collect = func(cctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
		if r.ID == "r002" {
			cancel()
			<-cctx.Done()
			return nil, cctx.Err()
		}
		return &enginetest.Facts{Port: 443}, nil
	}
	st := enginetest.NewStore()
	e := newEngine(st, fake)
	e.Concurrency = 1
	sum, err := e.Scan(ctx, resources(10), engine.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan error = %v, want it to wrap context.Canceled", err)
	}
	if sum == nil || !sum.Cancelled {
		t.Fatalf("summary = %+v, want one marked cancelled", sum)
	}
	if r := resultOf(t, sum, "r002", "FAKE-WEAK"); r.Status != rampart.StatusError || r.Reason != "scan cancelled" {
		t.Errorf("in-flight resource = %s %q, want error %q", r.Status, r.Reason, "scan cancelled")
	}
	var saved []string
	for _, o := range st.Outcomes() {
		saved = append(saved, o.Resource.ID)
	}
	if !reflect.DeepEqual(saved, []string{"r000", "r001"}) {
		t.Errorf("saved %q, want the two finished before the cancellation", saved)
	}
	if len(sum.Skipped) != 7 || sum.Skipped[0].ID != "r003" || fake.Calls() != 3 {
		t.Errorf("skipped %d from %v after %d calls, want 7 from r003 after 3", len(sum.Skipped), sum.Skipped, fake.Calls())
	}
	scans, err := st.Scans(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if scans[0].State != "interrupted" || scans[0].Resources != 3 || scans[0].Pass != 2 {
		t.Errorf("stored run = %+v, want interrupted with 3 resources and 2 passes", scans[0])
	}
}

func TestWithoutStore(t *testing.T) {
	t.Parallel()
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(map[string]*enginetest.Facts{"r000": {Weak: []string{"x"}}})}
	st := enginetest.NewStore()

	for _, tt := range []struct {
		name string
		e    *engine.Engine
		opt  engine.Options
	}{
		{"nil store", newEngine(nil, fake), engine.Options{}},
		{"dry run", newEngine(st, fake), engine.Options{DryRun: true}},
	} {
		sum, err := tt.e.Scan(t.Context(), resources(2), tt.opt)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if sum.Run.ID != 0 || sum.Run.State != "done" || sum.Run.Fail != 1 || len(sum.Updates) != 0 {
			t.Errorf("%s: run %+v with %d updates, want unsaved, done, one failure, no task", tt.name, sum.Run, len(sum.Updates))
		}
		if r := resultOf(t, sum, "r000", "FAKE-WEAK"); len(r.Findings) != 1 || r.Findings[0].Fingerprint == "" {
			t.Errorf("%s: findings %+v, want one with its fingerprint", tt.name, r.Findings)
		}
	}
	if scans, _ := st.Scans(t.Context(), 0); len(scans) != 0 {
		t.Errorf("dry run left %d scans in the store", len(scans))
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(nil)}
	e := newEngine(nil, fake, enginetest.WeakCheck("OTHER", fakeKind, rampart.SeverityLow))
	sum, err := e.Scan(t.Context(), resources(3), engine.Options{CheckIDs: []string{"OTHER"}, ResourceIDs: []string{"r002", "r000"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sum.Results {
		got = append(got, r.ResourceID+"/"+r.CheckID)
	}
	if want := []string{"r000/OTHER", "r002/OTHER"}; !reflect.DeepEqual(got, want) {
		t.Errorf("results %q, want %q", got, want)
	}

	_, err = e.Scan(t.Context(), resources(3), engine.Options{CheckIDs: []string{"NOPE"}, ResourceIDs: []string{"r009"}})
	if rampart.KindOf(err) != rampart.KindNotFound || !strings.Contains(err.Error(), "check NOPE, resource r009") {
		t.Errorf("unknown ids: %v, want a not-found error naming both", err)
	}
}

func TestInvalidChecks(t *testing.T) {
	t.Parallel()
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(nil)}
	e := newEngine(nil, fake, enginetest.WeakCheck("FAKE-WEAK", "server", rampart.SeverityLow))
	_, err := e.Scan(t.Context(), resources(1), engine.Options{})
	if rampart.KindOf(err) != rampart.KindInvalid || !strings.Contains(err.Error(), "check id FAKE-WEAK is used twice") {
		t.Errorf("duplicate check: %v, want an invalid error", err)
	}

	_, err = engine.AllChecks([]*rampart.Integration{fake.Descriptor()}, []*rampart.Check{{ID: "X", Kind: fakeKind}})
	if err == nil || !strings.Contains(err.Error(), "check X has no function") {
		t.Errorf("AllChecks with a check without Run: %v", err)
	}
}

func TestSaves(t *testing.T) {
	t.Parallel()
	fake := &enginetest.Integration{Kind: fakeKind, Collect: factsBy(nil)}
	st := enginetest.NewStore()
	st.SaveDelay = time.Millisecond
	st.FailSave = func(o rampart.ResourceOutcome) error {
		if o.Resource.ID == "r004" {
			return errors.New("disk I/O error")
		}
		return nil
	}
	e := newEngine(st, fake)
	e.Concurrency = 8
	var progress []engine.Progress
	e.Progress = func(p engine.Progress) { progress = append(progress, p) }
	sum, err := e.Scan(t.Context(), resources(12), engine.Options{})
	if err == nil || !strings.Contains(err.Error(), "save 1 of 12 resources; first: r004: disk I/O error") {
		t.Errorf("Scan error = %v, want one naming the refused save", err)
	}
	if !reflect.DeepEqual(sum.SaveErrors, []engine.ResourceError{{ResourceID: "r004", Reason: "disk I/O error"}}) {
		t.Errorf("save errors = %+v", sum.SaveErrors)
	}
	if n := len(st.Outcomes()); n != 11 {
		t.Errorf("saved %d outcomes, want the 11 others", n)
	}
	// One writer: saves never overlap, whatever the pool size.
	if n := st.MaxConcurrentSaves(); n != 1 {
		t.Errorf("%d saves overlapped, want 1 writer", n)
	}
	if len(progress) != 12 || progress[11].Done != 12 || progress[0].Done != 1 || progress[0].Total != 12 {
		t.Errorf("progress reports %+v, want 12 counting up to 12", progress)
	}
	if scans, _ := st.Scans(t.Context(), 1); scans[0].State != "done" {
		t.Errorf("run = %+v, want done despite the refused save", scans[0])
	}
}
