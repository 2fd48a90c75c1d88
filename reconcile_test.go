package rampart_test

import (
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	res := &rampart.Resource{ID: "web", Owner: "team", Criticality: rampart.CriticalityHigh}
	finding := func(check, item string) rampart.Finding {
		return rampart.Finding{Item: item, Message: item + " is wrong", Fingerprint: rampart.Fingerprint(check, "web", item)}
	}
	result := func(check string, st rampart.Status, fs ...rampart.Finding) rampart.Result {
		return rampart.Result{ResourceID: "web", CheckID: check, Status: st, Severity: rampart.SeverityHigh, Findings: fs}
	}
	task := func(check, item string, st rampart.TaskStatus) rampart.Task {
		return rampart.Task{ID: 1, Fingerprint: rampart.Fingerprint(check, "web", item), CheckID: check, ResourceID: "web", Item: item, Status: st}
	}
	existing := func(ts ...rampart.Task) map[string]rampart.Task {
		m := map[string]rampart.Task{}
		for _, x := range ts {
			m[x.Fingerprint] = x
		}
		return m
	}
	suppressed := finding("A", "x")
	suppressed.Suppressed = "accepted in code review"
	for _, tt := range []struct {
		name     string
		results  []rampart.Result
		existing map[string]rampart.Task
		want     map[string]rampart.TaskChange // by item
		regress  bool
	}{
		{
			"a new failure opens a task",
			[]rampart.Result{result("A", rampart.StatusFail, finding("A", "x"))},
			nil,
			map[string]rampart.TaskChange{"x": rampart.TaskOpened},
			false,
		},
		{
			"a pass resolves the open task",
			[]rampart.Result{result("A", rampart.StatusPass)},
			existing(task("A", "x", rampart.TaskOpen)),
			map[string]rampart.TaskChange{"x": rampart.TaskClosed},
			false,
		},
		{
			"a failure of a resolved item reopens it as a regression",
			[]rampart.Result{result("A", rampart.StatusFail, finding("A", "x"))},
			existing(task("A", "x", rampart.TaskResolved)),
			map[string]rampart.TaskChange{"x": rampart.TaskReopened},
			true,
		},
		{
			"still failing updates",
			[]rampart.Result{result("A", rampart.StatusFail, finding("A", "x"))},
			existing(task("A", "x", rampart.TaskInProgress)),
			map[string]rampart.TaskChange{"x": rampart.TaskUpdated},
			false,
		},
		{
			"an item no longer reported resolves",
			[]rampart.Result{result("A", rampart.StatusFail, finding("A", "y"))},
			existing(task("A", "x", rampart.TaskOpen)),
			map[string]rampart.TaskChange{"x": rampart.TaskClosed, "y": rampart.TaskOpened},
			false,
		},
		{
			"an error leaves tasks alone",
			[]rampart.Result{result("A", rampart.StatusError)},
			existing(task("A", "x", rampart.TaskOpen)),
			map[string]rampart.TaskChange{},
			false,
		},
		{
			"not applicable leaves tasks alone",
			[]rampart.Result{result("A", rampart.StatusNotApplicable)},
			existing(task("A", "x", rampart.TaskOpen)),
			map[string]rampart.TaskChange{},
			false,
		},
		{
			"another check's result leaves the task alone",
			[]rampart.Result{result("B", rampart.StatusPass)},
			existing(task("A", "x", rampart.TaskOpen)),
			map[string]rampart.TaskChange{},
			false,
		},
		{
			"a suppressed finding opens nothing and resolves its task",
			[]rampart.Result{result("A", rampart.StatusFail, suppressed)},
			existing(task("A", "x", rampart.TaskOpen)),
			map[string]rampart.TaskChange{"x": rampart.TaskClosed},
			false,
		},
	} {
		ups := rampart.Reconcile(rampart.ReconcileInput{
			Resource: res, Results: tt.results, Existing: tt.existing, Now: now,
			Checks: map[string]*rampart.Check{"A": {ID: "A", Title: "Check A"}}, Area: map[string]string{"A": "security/pki"},
		})
		got := map[string]rampart.TaskChange{}
		for _, u := range ups {
			got[u.Task.Item] = u.Change
			if u.Change == rampart.TaskReopened && u.Task.Regression != tt.regress {
				t.Errorf("%s: Regression = %v", tt.name, u.Task.Regression)
			}
			if u.Change == rampart.TaskOpened {
				if u.Task.Title != "Check A" || u.Task.Area != "security/pki" || u.Task.Criticality != rampart.CriticalityHigh || !u.Task.OpenedAt.Equal(now) {
					t.Errorf("%s: opened task lacks its metadata: %+v", tt.name, u.Task)
				}
			}
			if u.Change == rampart.TaskClosed && (u.Task.Status != rampart.TaskResolved || !u.Task.ResolvedAt.Equal(now)) {
				t.Errorf("%s: closed task %+v", tt.name, u.Task)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: changes %v, want %v", tt.name, got, tt.want)
			continue
		}
		for item, ch := range tt.want {
			if got[item] != ch {
				t.Errorf("%s: item %s: %q, want %q", tt.name, item, got[item], ch)
			}
		}
	}
}

func TestFingerprintIsStable(t *testing.T) {
	t.Parallel()
	a := rampart.Fingerprint("TLS-EXPIRED", "web", "leaf")
	if a != rampart.Fingerprint("TLS-EXPIRED", "web", "leaf") || len(a) != 32 {
		t.Fatalf("fingerprint %q not stable or not 32 hex digits", a)
	}
	// The separator keeps ("ab", "c") and ("a", "bc") apart.
	if rampart.Fingerprint("ab", "c", "x") == rampart.Fingerprint("a", "bc", "x") {
		t.Error("fingerprints collide across field boundaries")
	}
}

func TestTaskPriority(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	mk := func(sev rampart.Severity, crit rampart.Criticality, age time.Duration) rampart.Task {
		return rampart.Task{Severity: sev, Criticality: crit, OpenedAt: now.Add(-age)}
	}
	newHigh := mk(rampart.SeverityHigh, rampart.CriticalityLow, time.Hour)
	oldMediumCritical := mk(rampart.SeverityMedium, rampart.CriticalityCritical, 60*24*time.Hour)
	oldHigh := mk(rampart.SeverityHigh, rampart.CriticalityLow, 20*24*time.Hour)
	freshMedium := mk(rampart.SeverityMedium, rampart.CriticalityCritical, time.Hour)
	staleMedium := mk(rampart.SeverityMedium, rampart.CriticalityCritical, 170*24*time.Hour)
	if !(newHigh.Priority(now) > oldMediumCritical.Priority(now)) {
		t.Error("a new high task must sort above older lower-severity ones (the seed: new high-risk on top)")
	}
	if !(newHigh.Priority(now) > oldHigh.Priority(now)) {
		t.Error("a new high task must sort above an old high task of the same resource criticality")
	}
	if !(staleMedium.Priority(now) > freshMedium.Priority(now)) {
		t.Error("age past the SLA must raise priority")
	}
	reg := oldHigh
	reg.Regression = true
	if !(reg.Priority(now) > oldHigh.Priority(now)) {
		t.Error("a regression must rank above the same task without one")
	}
	if got := rampart.PriorityLabel(newHigh.Priority(now)); got != "P1" {
		t.Errorf("new high: %s, want P1", got)
	}
	low := mk(rampart.SeverityLow, rampart.CriticalityLow, 0)
	if got := rampart.PriorityLabel(low.Priority(now)); got != "P4" {
		t.Errorf("low on a low resource: %s, want P4", got)
	}
	if d := oldHigh.DueBy(); !d.Equal(oldHigh.OpenedAt.Add(30 * 24 * time.Hour)) {
		t.Errorf("DueBy %s", d)
	}
}

func TestExceptionRules(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	ok := rampart.Exception{CheckID: "A", ResourceID: "web", Reason: "r", Approver: "ciso", ExpiresAt: now.Add(time.Hour)}
	if err := ok.Validate(now); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*rampart.Exception){
		"no reason":   func(e *rampart.Exception) { e.Reason = "" },
		"no approver": func(e *rampart.Exception) { e.Approver = "" },
		"no expiry":   func(e *rampart.Exception) { e.ExpiresAt = time.Time{} },
		"past expiry": func(e *rampart.Exception) { e.ExpiresAt = now.Add(-time.Second) },
		"no check":    func(e *rampart.Exception) { e.CheckID = "" },
	} {
		e := ok
		mut(&e)
		if err := e.Validate(now); err == nil || rampart.KindOf(err) != rampart.KindInvalid {
			t.Errorf("%s: Validate = %v, want an invalid error", name, err)
		}
	}
	if !ok.Active(now) || ok.Active(now.Add(2*time.Hour)) {
		t.Error("an exception is active until it expires, not after")
	}
	revoked := ok
	revoked.RevokedAt = now
	if revoked.Active(now) {
		t.Error("a revoked exception is not active")
	}
	task := rampart.Task{CheckID: "A", ResourceID: "web", Fingerprint: "f1"}
	if !ok.Covers(&task) {
		t.Error("a check-wide exception covers every finding of the check")
	}
	narrow := ok
	narrow.Fingerprint = "f2"
	if narrow.Covers(&task) {
		t.Error("a one-finding exception covers only that finding")
	}
}
