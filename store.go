package rampart

import (
	"context"
	"io"
	"time"
)

// ScanRun is one run of `rampart scan` or of a scheduled scan.
type ScanRun struct {
	ID         int64     `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// State is "running", "done", or "interrupted" (a run that never
	// finished, found when the store is next opened).
	State     string `json:"state"`
	Trigger   string `json:"trigger"` // "cli", "schedule", "api"
	Resources int    `json:"resources"`
	Pass      int    `json:"pass"`
	Fail      int    `json:"fail"`
	Errors    int    `json:"errors"`
}

// ResourceOutcome is everything one resource's scan produced, saved in one
// transaction: the facts (as evidence), the results, and the task updates
// reconciliation derives from them.
type ResourceOutcome struct {
	ScanID   int64
	Resource *Resource
	// Facts is the canonical JSON of the collected facts; nil when
	// collection failed.
	Facts   []byte
	Results []Result
	Checks  map[string]*Check
	Area    map[string]string
	At      time.Time
	Actor   string
}

// ResultFilter selects results.
type ResultFilter struct {
	ResourceID string
	CheckID    string
	ScanID     int64 // 0: the latest result of each check and resource
	Since      time.Time
	Limit      int
}

// TaskFilter selects tasks. Empty fields match everything.
type TaskFilter struct {
	Status     []TaskStatus
	Owner      string
	Area       string
	ResourceID string
	// IncludeExcepted lists tasks that an active exception suppresses too.
	IncludeExcepted bool
	Now             time.Time
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Actor    string
	Action   string
	Object   string
	AfterSeq int64
	Limit    int
}

// Store is where Rampart keeps what it learns. One implementation serves
// SQLite and PostgreSQL; store/storetest holds the conformance suite both
// pass.
type Store interface {
	// BeginScan records a new scan run and returns it with its id.
	BeginScan(ctx context.Context, trigger string, at time.Time) (ScanRun, error)
	// SaveOutcome stores one resource's outcome and reconciles its tasks in
	// one transaction, appending audit entries for every task change. It
	// returns the task updates made.
	SaveOutcome(ctx context.Context, o ResourceOutcome) ([]TaskUpdate, error)
	// FinishScan closes a scan run with its tallies.
	FinishScan(ctx context.Context, run ScanRun) error
	Scans(ctx context.Context, limit int) ([]ScanRun, error)

	Results(ctx context.Context, f ResultFilter) ([]Result, error)
	Tasks(ctx context.Context, f TaskFilter) ([]Task, error)
	Task(ctx context.Context, id int64) (Task, error)
	// UpdateTask changes a task's status or assignee as a person asks.
	UpdateTask(ctx context.Context, id int64, status TaskStatus, assignee string, actor string) (Task, error)

	AddException(ctx context.Context, e Exception) (Exception, error)
	RevokeException(ctx context.Context, id int64, actor string, at time.Time) error
	Exceptions(ctx context.Context, activeAt time.Time) ([]Exception, error)

	// PutEvidence stores content once under its SHA-256 and returns it.
	PutEvidence(ctx context.Context, e Evidence, content []byte) (Evidence, error)
	Evidence(ctx context.Context, sha256 string) (Evidence, io.ReadCloser, error)

	// Audit appends an entry to the chain (Seq, Prev and Hash are set by
	// the store).
	Audit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	VerifyAudit(ctx context.Context) (AuditVerification, error)

	Close() error
}
