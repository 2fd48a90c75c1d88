// Package enginetest holds hand-written fakes for testing code that scans:
// an in-memory Store and an Integration whose collector runs a function and
// counts how it was called.
package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-dev/rampart"
)

// Store is an in-memory rampart.Store. It reconciles tasks with
// rampart.Reconcile, as the real store does, keeps an audit chain, and
// lets a test slow down or refuse saves and see how many ran at once. It
// does not apply exceptions to tasks.
type Store struct {
	// SaveDelay is slept in SaveOutcome before anything is written.
	SaveDelay time.Duration
	// FailSave, when set, may refuse an outcome.
	FailSave func(rampart.ResourceOutcome) error

	saving, maxSaving atomic.Int64

	mu         sync.Mutex
	scans      []rampart.ScanRun
	outcomes   []rampart.ResourceOutcome
	results    []rampart.Result
	tasks      []rampart.Task // by id-1
	evidence   map[string]stored
	audit      []rampart.AuditEntry
	exceptions []rampart.Exception
	closed     bool
}

type stored struct {
	meta    rampart.Evidence
	content []byte
}

var _ rampart.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store { return &Store{evidence: map[string]stored{}} }

// MaxConcurrentSaves reports the most SaveOutcome calls that overlapped.
func (s *Store) MaxConcurrentSaves() int { return int(s.maxSaving.Load()) }

// Outcomes returns the outcomes saved so far, in order.
func (s *Store) Outcomes() []rampart.ResourceOutcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.outcomes)
}

func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return rampart.Errorf(rampart.KindInternal, "store is closed")
	}
	return nil
}

// BeginScan implements rampart.Store.
func (s *Store) BeginScan(ctx context.Context, trigger string, at time.Time) (rampart.ScanRun, error) {
	if err := ctx.Err(); err != nil {
		return rampart.ScanRun{}, err
	}
	if err := s.lock(); err != nil {
		return rampart.ScanRun{}, err
	}
	defer s.mu.Unlock()
	run := rampart.ScanRun{ID: int64(len(s.scans) + 1), StartedAt: at, State: "running", Trigger: trigger}
	s.scans = append(s.scans, run)
	s.appendAudit(rampart.AuditEntry{At: at, Actor: "rampart:scan", Action: "scan.begin", Object: scanObject(run.ID)})
	return run, nil
}

// SaveOutcome implements rampart.Store.
func (s *Store) SaveOutcome(ctx context.Context, o rampart.ResourceOutcome) ([]rampart.TaskUpdate, error) {
	n := s.saving.Add(1)
	defer s.saving.Add(-1)
	for {
		m := s.maxSaving.Load()
		if n <= m || s.maxSaving.CompareAndSwap(m, n) {
			break
		}
	}
	if s.SaveDelay > 0 {
		time.Sleep(s.SaveDelay)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.FailSave != nil {
		if err := s.FailSave(o); err != nil {
			return nil, err
		}
	}
	if o.Resource == nil {
		return nil, rampart.Errorf(rampart.KindInvalid, "an outcome names its resource")
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if o.ScanID < 1 || int(o.ScanID) > len(s.scans) {
		return nil, rampart.Errorf(rampart.KindNotFound, "no scan %d", o.ScanID)
	}
	if st := s.scans[o.ScanID-1].State; st != "running" {
		return nil, rampart.Errorf(rampart.KindConflict, "scan %d is %s", o.ScanID, st)
	}
	if o.Facts != nil {
		s.putEvidence(rampart.Evidence{Kind: rampart.EvidenceFacts, MediaType: "application/json", ResourceID: o.Resource.ID, CreatedAt: o.At}, o.Facts)
	}
	s.outcomes = append(s.outcomes, o)
	s.results = append(s.results, o.Results...)

	existing := map[string]rampart.Task{}
	for _, t := range s.tasks {
		if t.ResourceID == o.Resource.ID {
			existing[t.Fingerprint] = t
		}
	}
	ups := rampart.Reconcile(rampart.ReconcileInput{
		Resource: o.Resource, Results: o.Results, Checks: o.Checks, Area: o.Area,
		Existing: existing, Now: o.At,
	})
	for i, u := range ups {
		if u.Task.ID == 0 {
			u.Task.ID = int64(len(s.tasks) + 1)
			s.tasks = append(s.tasks, u.Task)
		} else {
			s.tasks[u.Task.ID-1] = u.Task
		}
		ups[i] = u
		if u.Change != rampart.TaskUpdated {
			after, _ := json.Marshal(u.Task)
			s.appendAudit(rampart.AuditEntry{
				At: o.At, Actor: o.Actor, Action: "task." + string(u.Change),
				Object: "task:" + itoa(u.Task.ID), After: after,
			})
		}
	}
	return ups, nil
}

// FinishScan implements rampart.Store.
func (s *Store) FinishScan(ctx context.Context, run rampart.ScanRun) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if run.ID < 1 || int(run.ID) > len(s.scans) {
		return rampart.Errorf(rampart.KindNotFound, "no scan %d", run.ID)
	}
	if s.scans[run.ID-1].State != "running" {
		return rampart.Errorf(rampart.KindConflict, "scan %d is already finished", run.ID)
	}
	if run.State == "" || run.State == "running" {
		run.State = "done"
	}
	run.StartedAt = s.scans[run.ID-1].StartedAt
	s.scans[run.ID-1] = run
	s.appendAudit(rampart.AuditEntry{At: run.FinishedAt, Actor: "rampart:scan", Action: "scan.finish", Object: scanObject(run.ID)})
	return nil
}

// Scans implements rampart.Store: the latest first.
func (s *Store) Scans(ctx context.Context, limit int) ([]rampart.ScanRun, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := slices.Clone(s.scans)
	slices.Reverse(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Results implements rampart.Store.
func (s *Store) Results(ctx context.Context, f rampart.ResultFilter) ([]rampart.Result, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	latest := map[[2]string]int{}
	var out []rampart.Result
	for _, r := range s.results {
		switch {
		case f.ResourceID != "" && r.ResourceID != f.ResourceID,
			f.CheckID != "" && r.CheckID != f.CheckID,
			f.ScanID != 0 && r.ScanID != f.ScanID,
			!f.Since.IsZero() && r.At.Before(f.Since):
			continue
		}
		if f.ScanID == 0 {
			key := [2]string{r.ResourceID, r.CheckID}
			if i, ok := latest[key]; ok {
				out[i] = r
				continue
			}
			latest[key] = len(out)
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ResourceID != out[j].ResourceID {
			return out[i].ResourceID < out[j].ResourceID
		}
		return out[i].CheckID < out[j].CheckID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Tasks implements rampart.Store. Exceptions are not applied.
func (s *Store) Tasks(ctx context.Context, f rampart.TaskFilter) ([]rampart.Task, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []rampart.Task
	for _, t := range s.tasks {
		switch {
		case len(f.Status) > 0 && !slices.Contains(f.Status, t.Status),
			f.Owner != "" && t.Owner != f.Owner,
			f.Area != "" && t.Area != f.Area,
			f.ResourceID != "" && t.ResourceID != f.ResourceID:
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// Task implements rampart.Store.
func (s *Store) Task(ctx context.Context, id int64) (rampart.Task, error) {
	if err := s.lock(); err != nil {
		return rampart.Task{}, err
	}
	defer s.mu.Unlock()
	if id < 1 || int(id) > len(s.tasks) {
		return rampart.Task{}, rampart.Errorf(rampart.KindNotFound, "no task %d", id)
	}
	return s.tasks[id-1], nil
}

// UpdateTask implements rampart.Store.
func (s *Store) UpdateTask(ctx context.Context, id int64, status rampart.TaskStatus, assignee, actor string) (rampart.Task, error) {
	if err := s.lock(); err != nil {
		return rampart.Task{}, err
	}
	defer s.mu.Unlock()
	if id < 1 || int(id) > len(s.tasks) {
		return rampart.Task{}, rampart.Errorf(rampart.KindNotFound, "no task %d", id)
	}
	t := &s.tasks[id-1]
	if status != "" {
		t.Status = status
	}
	if assignee != "" {
		t.Assignee = assignee
	}
	after, _ := json.Marshal(t)
	s.appendAudit(rampart.AuditEntry{At: time.Now(), Actor: actor, Action: "task.update", Object: "task:" + itoa(id), After: after})
	return *t, nil
}

// AddException implements rampart.Store.
func (s *Store) AddException(ctx context.Context, e rampart.Exception) (rampart.Exception, error) {
	if err := e.Validate(e.CreatedAt); err != nil {
		return rampart.Exception{}, err
	}
	if err := s.lock(); err != nil {
		return rampart.Exception{}, err
	}
	defer s.mu.Unlock()
	e.ID = int64(len(s.exceptions) + 1)
	s.exceptions = append(s.exceptions, e)
	return e, nil
}

// RevokeException implements rampart.Store.
func (s *Store) RevokeException(ctx context.Context, id int64, actor string, at time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if id < 1 || int(id) > len(s.exceptions) {
		return rampart.Errorf(rampart.KindNotFound, "no exception %d", id)
	}
	s.exceptions[id-1].RevokedAt = at
	return nil
}

// Exceptions implements rampart.Store.
func (s *Store) Exceptions(ctx context.Context, activeAt time.Time) ([]rampart.Exception, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []rampart.Exception
	for _, e := range s.exceptions {
		if activeAt.IsZero() || e.Active(activeAt) {
			out = append(out, e)
		}
	}
	return out, nil
}

// PutEvidence implements rampart.Store.
func (s *Store) PutEvidence(ctx context.Context, e rampart.Evidence, content []byte) (rampart.Evidence, error) {
	if err := s.lock(); err != nil {
		return rampart.Evidence{}, err
	}
	defer s.mu.Unlock()
	return s.putEvidence(e, content), nil
}

func (s *Store) putEvidence(e rampart.Evidence, content []byte) rampart.Evidence {
	e.SHA256 = rampart.ContentHash(content)
	e.Size = int64(len(content))
	if old, ok := s.evidence[e.SHA256]; ok {
		return old.meta
	}
	s.evidence[e.SHA256] = stored{meta: e, content: bytes.Clone(content)}
	return e
}

// Evidence implements rampart.Store.
func (s *Store) Evidence(ctx context.Context, sha256 string) (rampart.Evidence, io.ReadCloser, error) {
	if err := s.lock(); err != nil {
		return rampart.Evidence{}, nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.evidence[sha256]
	if !ok {
		return rampart.Evidence{}, nil, rampart.Errorf(rampart.KindNotFound, "no evidence %s", sha256)
	}
	return e.meta, io.NopCloser(bytes.NewReader(e.content)), nil
}

// Audit implements rampart.Store.
func (s *Store) Audit(ctx context.Context, e rampart.AuditEntry) (rampart.AuditEntry, error) {
	if err := s.lock(); err != nil {
		return rampart.AuditEntry{}, err
	}
	defer s.mu.Unlock()
	return s.appendAudit(e), nil
}

func (s *Store) appendAudit(e rampart.AuditEntry) rampart.AuditEntry {
	e.Seq = int64(len(s.audit) + 1)
	if len(s.audit) > 0 {
		e.Prev = s.audit[len(s.audit)-1].Hash
	}
	e.Hash = e.ChainHash()
	s.audit = append(s.audit, e)
	return e
}

// AuditLog implements rampart.Store.
func (s *Store) AuditLog(ctx context.Context, f rampart.AuditFilter) ([]rampart.AuditEntry, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []rampart.AuditEntry
	for _, e := range s.audit {
		switch {
		case f.Actor != "" && e.Actor != f.Actor,
			f.Action != "" && e.Action != f.Action,
			f.Object != "" && e.Object != f.Object,
			e.Seq <= f.AfterSeq:
			continue
		}
		out = append(out, e)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// VerifyAudit implements rampart.Store.
func (s *Store) VerifyAudit(ctx context.Context) (rampart.AuditVerification, error) {
	if err := s.lock(); err != nil {
		return rampart.AuditVerification{}, err
	}
	defer s.mu.Unlock()
	return rampart.VerifyChain(s.audit), nil
}

// Close implements rampart.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func scanObject(id int64) string { return "scan:" + itoa(id) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
