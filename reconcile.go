package rampart

import (
	"sort"
	"time"
)

// TaskChange says what reconciliation did to one task.
type TaskChange string

// Task changes.
const (
	TaskOpened   TaskChange = "opened"
	TaskReopened TaskChange = "reopened" // a regression
	TaskUpdated  TaskChange = "updated"  // still failing
	TaskClosed   TaskChange = "resolved" // the check passes again
)

// TaskUpdate is one task as reconciliation leaves it, and what changed.
type TaskUpdate struct {
	Change TaskChange
	Task   Task
}

// ReconcileInput is what reconciliation needs for one resource.
type ReconcileInput struct {
	Resource *Resource
	Results  []Result
	// Checks gives each result's check, for titles and severities.
	Checks map[string]*Check
	// Area gives the area of a check (through its first control), if known.
	Area map[string]string
	// Existing holds the resource's current tasks, by fingerprint.
	Existing map[string]Task
	Now      time.Time
}

// Reconcile turns one resource's results into task updates: a new failing
// finding opens a task; a failing finding whose task was resolved reopens it
// as a regression; a passing check, or a failing one that no longer reports
// an item, resolves the item's task. Errors and not-applicable results leave
// tasks as they are: Rampart could not tell. Suppressed findings open
// nothing and resolve their task. Updates come sorted by fingerprint.
func Reconcile(in ReconcileInput) []TaskUpdate {
	var out []TaskUpdate
	seen := map[string]bool{}
	decided := map[string]bool{} // checks whose result was pass or fail
	for _, res := range in.Results {
		if res.Status != StatusPass && res.Status != StatusFail {
			continue
		}
		decided[res.CheckID] = true
		if res.Status != StatusFail {
			continue
		}
		chk := in.Checks[res.CheckID]
		for _, f := range res.Findings {
			if f.Suppressed != "" {
				continue
			}
			seen[f.Fingerprint] = true
			t, ok := in.Existing[f.Fingerprint]
			sev := f.EffectiveSeverity(res.Severity)
			switch {
			case !ok:
				t = Task{
					Fingerprint: f.Fingerprint, CheckID: res.CheckID, ResourceID: in.Resource.ID,
					Item: f.Item, Status: TaskOpen, OpenedAt: in.Now, FirstSeen: in.Now,
					Owner: in.Resource.Owner,
				}
				out = append(out, TaskUpdate{Change: TaskOpened, Task: fill(t, f, sev, chk, in)})
			case t.Status == TaskResolved:
				t.Status, t.Regression, t.OpenedAt, t.ResolvedAt = TaskOpen, true, in.Now, time.Time{}
				out = append(out, TaskUpdate{Change: TaskReopened, Task: fill(t, f, sev, chk, in)})
			default:
				out = append(out, TaskUpdate{Change: TaskUpdated, Task: fill(t, f, sev, chk, in)})
			}
		}
	}
	for fp, t := range in.Existing {
		if seen[fp] || t.Status == TaskResolved || !decided[t.CheckID] {
			continue
		}
		t.Status, t.ResolvedAt = TaskResolved, in.Now
		out = append(out, TaskUpdate{Change: TaskClosed, Task: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Task.Fingerprint < out[j].Task.Fingerprint })
	return out
}

func fill(t Task, f Finding, sev Severity, chk *Check, in ReconcileInput) Task {
	t.Message, t.Location, t.Severity, t.LastSeen = f.Message, f.Location, sev, in.Now
	t.Criticality = in.Resource.Criticality
	t.Item = f.Item
	if chk != nil {
		t.Title = chk.Title
	}
	if a, ok := in.Area[t.CheckID]; ok {
		t.Area = a
	}
	return t
}
