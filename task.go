package rampart

import (
	"time"
)

// TaskStatus is where a task stands on the TODO list.
type TaskStatus string

// Task statuses.
const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in_progress"
	TaskResolved   TaskStatus = "resolved"
)

// ParseTaskStatus validates a task status name.
func ParseTaskStatus(s string) (TaskStatus, error) {
	switch TaskStatus(s) {
	case TaskOpen, TaskInProgress, TaskResolved:
		return TaskStatus(s), nil
	}
	return "", Errorf(KindInvalid, "unknown task status %q (want open, in_progress or resolved)", s)
}

// Task is the TODO a failing finding becomes. Its identity is the finding's
// fingerprint, stable across scans.
type Task struct {
	ID          int64       `json:"id"`
	Fingerprint string      `json:"fingerprint"`
	CheckID     string      `json:"check_id"`
	ResourceID  string      `json:"resource_id"`
	Item        string      `json:"item"`
	Title       string      `json:"title"`
	Message     string      `json:"message"`
	Location    Location    `json:"location,omitzero"`
	Severity    Severity    `json:"severity"`
	Criticality Criticality `json:"criticality"`
	Area        string      `json:"area,omitempty"`
	Owner       string      `json:"owner,omitempty"`
	Assignee    string      `json:"assignee,omitempty"`
	Status      TaskStatus  `json:"status"`
	Regression  bool        `json:"regression"`
	// OpenedAt is when the task was last opened (or reopened).
	OpenedAt   time.Time `json:"opened_at"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Exception is the active exception that suppresses the task, if any,
	// as of the time the task was read.
	Exception *Exception `json:"exception,omitempty"`
}

// SLA is how long a task of each severity may stay open.
var SLA = map[Severity]time.Duration{
	SeverityCritical: 7 * 24 * time.Hour,
	SeverityHigh:     30 * 24 * time.Hour,
	SeverityMedium:   90 * 24 * time.Hour,
	SeverityLow:      180 * 24 * time.Hour,
	SeverityInfo:     365 * 24 * time.Hour,
}

// NewWindow is how long a high or critical task counts as new and sorts to
// the top of the list (the seed: "high-risk new vulnerabilities going on the
// top").
const NewWindow = 7 * 24 * time.Hour

// Priority scores a task at time now: severity times the resource's
// criticality, raised as the task ages against its SLA, with new high and
// critical tasks lifted above everything else. Higher is more urgent.
func (t *Task) Priority(now time.Time) float64 {
	sev := float64(t.Severity + 1)     // 1..5
	crit := float64(t.Criticality + 1) // 1..4
	score := sev * sev * crit          // 1..100
	age := now.Sub(t.OpenedAt)
	if sla := SLA[t.Severity]; sla > 0 && age > 0 {
		frac := float64(age) / float64(sla)
		if frac > 2 {
			frac = 2
		}
		score *= 1 + frac/2 // up to double when twice past due
	}
	if t.Severity >= SeverityHigh && age < NewWindow {
		score += 1000
	}
	if t.Regression {
		score += 50
	}
	return score
}

// PriorityLabel buckets a priority score into P1 (most urgent) to P4.
func PriorityLabel(score float64) string {
	switch {
	case score >= 1000 || score >= 60:
		return "P1"
	case score >= 30:
		return "P2"
	case score >= 10:
		return "P3"
	}
	return "P4"
}

// DueBy is when the task breaches its SLA.
func (t *Task) DueBy() time.Time { return t.OpenedAt.Add(SLA[t.Severity]) }

// Exception is an accepted risk: one finding, or one check on one resource,
// suppressed until it expires. Reason, approver and expiry are required.
type Exception struct {
	ID         int64  `json:"id"`
	CheckID    string `json:"check_id"`
	ResourceID string `json:"resource_id"`
	// Fingerprint narrows the exception to one finding; empty covers every
	// finding of the check on the resource.
	Fingerprint string    `json:"fingerprint,omitempty"`
	Reason      string    `json:"reason"`
	Approver    string    `json:"approver"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
}

// Validate refuses an exception without reason, approver or a future expiry.
func (e *Exception) Validate(now time.Time) error {
	switch {
	case e.CheckID == "" || e.ResourceID == "":
		return Errorf(KindInvalid, "an exception names a check and a resource")
	case e.Reason == "":
		return Errorf(KindInvalid, "an exception needs a reason")
	case e.Approver == "":
		return Errorf(KindInvalid, "an exception needs an approver")
	case e.ExpiresAt.IsZero():
		return Errorf(KindInvalid, "an exception needs an expiry date")
	case !e.ExpiresAt.After(now):
		return Errorf(KindInvalid, "the exception's expiry %s is not in the future", e.ExpiresAt.Format(time.DateOnly))
	}
	return nil
}

// Active reports whether the exception suppresses at time now.
func (e *Exception) Active(now time.Time) bool {
	return e.RevokedAt.IsZero() && now.Before(e.ExpiresAt)
}

// Covers reports whether the exception applies to a task.
func (e *Exception) Covers(t *Task) bool {
	return e.CheckID == t.CheckID && e.ResourceID == t.ResourceID &&
		(e.Fingerprint == "" || e.Fingerprint == t.Fingerprint)
}
