// Package engine runs scans: it plans which checks apply to which resource,
// collects each resource's facts concurrently (bounded, with a timeout per
// resource), evaluates the checks over them, and saves each resource's
// outcome in one store transaction, where reconciliation turns findings into
// tasks. The CLI, the scheduler and the API all scan through Engine.Scan.
//
// Nothing a collector or a check does can stop a scan: an error, a panic or
// a timeout becomes an error result with the reason, and the scan goes on
// with the other resources.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
)

// Defaults for the Engine's zero fields.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
)

// Engine scans resources. Its fields are read, never written, by Scan, so
// one Engine may run several scans at once.
type Engine struct {
	// Store keeps the outcomes; nil evaluates only (rampart check).
	Store rampart.Store
	// Integrations collect facts, one per kind.
	Integrations []*rampart.Integration
	// Checks are every check of every kind, built-in and CEL (see
	// AllChecks); an integration's own Checks field is not consulted.
	Checks []*rampart.Check
	// AreaOfCheck gives a check's area for the tasks it opens; may be nil.
	AreaOfCheck func(checkID string) string
	// Concurrency bounds how many resources are collected at once.
	Concurrency int
	// Timeout bounds the collection and evaluation of one resource.
	Timeout time.Duration
	// Env is handed to each integration's NewCollector.
	Env rampart.Env
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives what the results do not carry: panics' stacks,
	// store failures (slog's discard handler when nil).
	Logger *slog.Logger
	// Progress, when set, is called as each resource finishes, from one
	// goroutine at a time.
	Progress func(Progress)
}

// Options says what one scan covers and who asked for it.
type Options struct {
	// Trigger is "cli", "schedule" or "api" ("cli" when empty).
	Trigger string
	// Actor is who asked, for the audit log ("rampart:scan" when empty).
	Actor string
	// CheckIDs and ResourceIDs narrow the scan; an id that names nothing
	// is an error.
	CheckIDs    []string
	ResourceIDs []string
	// DryRun evaluates without saving anything, as when Store is nil.
	DryRun bool
}

// Progress reports one finished resource.
type Progress struct {
	Done, Total int
	Resource    *rampart.Resource
	// Status is the worst of the resource's results.
	Status rampart.Status
	// Reason says why collection failed, if it did.
	Reason string
}

// ResourceError is a failure tied to one resource (and check, if any).
type ResourceError struct {
	ResourceID string `json:"resource_id"`
	CheckID    string `json:"check_id,omitempty"`
	Reason     string `json:"reason"`
}

// Summary is what a scan did.
type Summary struct {
	// Run is the scan run as finished; its ID is 0 when nothing was saved.
	Run rampart.ScanRun
	// Results holds every result, sorted by resource then check, including
	// those of resources a cancellation cut short (which are not saved).
	Results []rampart.Result
	// Updates are the task changes reconciliation made, sorted by
	// resource then fingerprint; the counts tally them.
	Updates                    []rampart.TaskUpdate
	Opened, Reopened, Resolved int
	// Inventory lists resources of kinds no integration checks: their
	// controls are evidenced by reviews, not scans.
	Inventory []*rampart.Resource
	// Skipped lists resources never started because the scan was
	// cancelled.
	Skipped []*rampart.Resource
	// Errors holds error results by kind: collection failures (no check
	// id) and checks that could not tell.
	Errors map[rampart.Kind][]ResourceError
	// SaveErrors lists resources whose outcome the store refused.
	SaveErrors []ResourceError
	Cancelled  bool
	Duration   time.Duration
}

// AllChecks lists the built-in checks of the integrations followed by the
// user's, refusing two checks with one id.
func AllChecks(integrations []*rampart.Integration, user []*rampart.Check) ([]*rampart.Check, error) {
	var all []*rampart.Check
	for _, in := range integrations {
		all = append(all, in.Checks...)
	}
	all = append(all, user...)
	if err := validateChecks(all); err != nil {
		return nil, err
	}
	return all, nil
}

func validateChecks(checks []*rampart.Check) error {
	seen := map[string]*rampart.Check{}
	var errs []error
	for _, c := range checks {
		switch {
		case c == nil:
			errs = append(errs, rampart.Errorf(rampart.KindInvalid, "a check is nil"))
			continue
		case c.ID == "":
			errs = append(errs, rampart.Errorf(rampart.KindInvalid, "a check of kind %q has no id", c.Kind))
		case c.Kind == "":
			errs = append(errs, rampart.Errorf(rampart.KindInvalid, "check %s names no kind", c.ID))
		case c.Run == nil:
			errs = append(errs, rampart.Errorf(rampart.KindInvalid, "check %s has no function", c.ID))
		}
		if prev, dup := seen[c.ID]; dup && c.ID != "" {
			errs = append(errs, rampart.Errorf(rampart.KindInvalid,
				"check id %s is used twice (kinds %s and %s); rename the user check", c.ID, prev.Kind, c.Kind))
		}
		seen[c.ID] = c
	}
	return errors.Join(errs...)
}

func (e *Engine) validate(resources []*rampart.Resource, opt Options) error {
	if err := validateChecks(e.Checks); err != nil {
		return err
	}
	kinds := map[rampart.Kind]bool{}
	for _, in := range e.Integrations {
		if kinds[in.Kind] {
			return rampart.Errorf(rampart.KindInvalid, "two integrations for kind %s", in.Kind)
		}
		if in.NewCollector == nil {
			return rampart.Errorf(rampart.KindInvalid, "integration %s has no collector", in.Kind)
		}
		kinds[in.Kind] = true
	}
	var unknown []string
	for _, id := range opt.CheckIDs {
		if !slices.ContainsFunc(e.Checks, func(c *rampart.Check) bool { return c.ID == id }) {
			unknown = append(unknown, "check "+id)
		}
	}
	for _, id := range opt.ResourceIDs {
		if !slices.ContainsFunc(resources, func(r *rampart.Resource) bool { return r.ID == id }) {
			unknown = append(unknown, "resource "+id)
		}
	}
	if len(unknown) > 0 {
		return rampart.Errorf(rampart.KindNotFound, "no such %s", strings.Join(unknown, ", "))
	}
	return nil
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Scan collects and evaluates the resources the options select, saving
// each resource's outcome as it completes. The summary is returned even
// with an error: when ctx is cancelled (resources in flight end in error
// "scan cancelled" and are not saved; what was saved stays saved and the
// run is closed as interrupted) and when the store refused outcomes.
// Invalid checks, filters naming nothing and a store that cannot begin a
// scan are errors before anything runs.
func (e *Engine) Scan(ctx context.Context, resources []*rampart.Resource, opt Options) (*Summary, error) {
	if err := e.validate(resources, opt); err != nil {
		return nil, err
	}
	start := e.now()
	if opt.Trigger == "" {
		opt.Trigger = "cli"
	}
	if opt.Actor == "" {
		opt.Actor = "rampart:scan"
	}
	jobs, inventory := Plan(resources, e.Integrations, e.Checks, Filter{CheckIDs: opt.CheckIDs, ResourceIDs: opt.ResourceIDs})
	save := e.Store != nil && !opt.DryRun
	run := rampart.ScanRun{StartedAt: start, State: "running", Trigger: opt.Trigger}
	if save {
		var err error
		if run, err = e.Store.BeginScan(ctx, opt.Trigger, start); err != nil {
			return nil, fmt.Errorf("begin scan: %w", err)
		}
	}
	s := &scan{Engine: e, opt: opt, run: run, save: save, collectors: e.collectors(jobs)}
	sum := s.execute(ctx, jobs)
	sum.Inventory = inventory

	sum.Run.FinishedAt = e.now()
	sum.Run.State = "done"
	if sum.Cancelled {
		sum.Run.State = "interrupted"
	}
	sum.Duration = sum.Run.FinishedAt.Sub(start)
	var errs []error
	if len(sum.SaveErrors) > 0 {
		errs = append(errs, fmt.Errorf("save %d of %d resources; first: %s: %s",
			len(sum.SaveErrors), sum.Run.Resources, sum.SaveErrors[0].ResourceID, sum.SaveErrors[0].Reason))
	}
	if save {
		// Close the run even when the scan was cancelled: the tallies of
		// what was saved belong to it.
		if err := e.Store.FinishScan(context.WithoutCancel(ctx), sum.Run); err != nil {
			errs = append(errs, fmt.Errorf("finish scan %d: %w", sum.Run.ID, err))
		}
	}
	if sum.Cancelled {
		errs = append(errs, fmt.Errorf("scan cancelled: %w", context.Cause(ctx)))
	}
	return sum, errors.Join(errs...)
}

// collectors builds one collector per integration that has work, once per
// scan as the Integration contract says. A constructor that panics leaves
// its kind without a collector; its resources then end in error.
func (e *Engine) collectors(jobs []Job) map[rampart.Kind]collector {
	out := map[rampart.Kind]collector{}
	for _, j := range jobs {
		k := j.Integration.Kind
		if _, ok := out[k]; ok {
			continue
		}
		out[k] = e.newCollector(j.Integration)
	}
	return out
}

type collector struct {
	c   rampart.Collector
	err error
}

func (e *Engine) newCollector(in *rampart.Integration) (col collector) {
	defer func() {
		if v := recover(); v != nil {
			e.logger().Error("integration constructor panicked", "kind", in.Kind, "panic", v, "stack", stack())
			col = collector{err: fmt.Errorf("new collector: panic: %v", v)}
		}
	}()
	c := in.NewCollector(e.Env)
	if c == nil {
		return collector{err: errors.New("new collector: the integration returned none")}
	}
	return collector{c: c}
}

// scan is the state of one Scan call.
type scan struct {
	*Engine
	opt        Options
	run        rampart.ScanRun
	save       bool
	collectors map[rampart.Kind]collector
}

// done is one finished job, handed from a worker to the scan's loop.
type done struct {
	job     Job
	outcome rampart.ResourceOutcome
	// cut is set when cancellation cut the job short: its results say
	// "scan cancelled" and are not saved, so that the latest results keep
	// what the previous scan knew.
	cut    bool
	reason string
}

// execute runs the jobs: a feeder hands them to Concurrency workers, which
// hand finished jobs to this goroutine; it reports progress and passes
// outcomes to one writer goroutine. One writer suits SQLite, which allows
// one write transaction at a time: workers never queue on the database
// lock, and the channel between them bounds how far collection runs ahead
// of saving.
func (s *scan) execute(ctx context.Context, jobs []Job) *Summary {
	n := s.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	n = min(n, max(len(jobs), 1))

	todo := make(chan Job)
	finished := make(chan done, n)
	var (
		mu      sync.Mutex
		skipped []*rampart.Resource
	)
	skip := func(js ...Job) {
		mu.Lock()
		defer mu.Unlock()
		for _, j := range js {
			skipped = append(skipped, j.Resource)
		}
	}
	go func() {
		defer close(todo)
		for i, j := range jobs {
			select {
			case <-ctx.Done():
				skip(jobs[i:]...)
				return
			default:
			}
			select {
			case todo <- j:
			case <-ctx.Done():
				skip(jobs[i:]...)
				return
			}
		}
	}()
	var workers sync.WaitGroup
	for range n {
		workers.Go(func() {
			for j := range todo {
				// A job handed over as the scan was cancelled is not
				// started.
				if ctx.Err() != nil {
					skip(j)
					continue
				}
				finished <- s.runJob(ctx, j)
			}
		})
	}
	go func() {
		workers.Wait()
		close(finished)
	}()

	w := s.startWriter(ctx, n)
	sum := &Summary{Run: s.run, Errors: map[rampart.Kind][]ResourceError{}}
	for d := range finished {
		sum.Run.Resources++
		for _, r := range d.outcome.Results {
			switch r.Status {
			case rampart.StatusPass:
				sum.Run.Pass++
			case rampart.StatusFail:
				sum.Run.Fail++
			case rampart.StatusError:
				sum.Run.Errors++
			}
		}
		sum.Results = append(sum.Results, d.outcome.Results...)
		s.tallyErrors(sum, d)
		if d.cut {
			sum.Cancelled = true
		} else if w != nil {
			w.in <- d.outcome
		}
		if s.Progress != nil {
			s.Progress(Progress{
				Done: sum.Run.Resources, Total: len(jobs), Resource: d.job.Resource,
				Status: worst(d.outcome.Results), Reason: d.reason,
			})
		}
	}
	// The feeder and the workers are done: skipped is complete.
	sum.Skipped = skipped
	if len(skipped) > 0 {
		sum.Cancelled = true
	}
	sort.Slice(sum.Skipped, func(i, j int) bool { return sum.Skipped[i].ID < sum.Skipped[j].ID })
	if w != nil {
		close(w.in)
		<-w.done
		sum.Updates, sum.SaveErrors = w.updates, w.errs
	}
	for _, u := range sum.Updates {
		switch u.Change {
		case rampart.TaskOpened:
			sum.Opened++
		case rampart.TaskReopened:
			sum.Reopened++
		case rampart.TaskClosed:
			sum.Resolved++
		}
	}
	sort.SliceStable(sum.Results, func(i, j int) bool {
		a, b := sum.Results[i], sum.Results[j]
		if a.ResourceID != b.ResourceID {
			return a.ResourceID < b.ResourceID
		}
		return a.CheckID < b.CheckID
	})
	sort.SliceStable(sum.Updates, func(i, j int) bool {
		a, b := sum.Updates[i].Task, sum.Updates[j].Task
		if a.ResourceID != b.ResourceID {
			return a.ResourceID < b.ResourceID
		}
		return a.Fingerprint < b.Fingerprint
	})
	sort.Slice(sum.SaveErrors, func(i, j int) bool { return sum.SaveErrors[i].ResourceID < sum.SaveErrors[j].ResourceID })
	return sum
}

func (s *scan) tallyErrors(sum *Summary, d done) {
	k := d.job.Resource.Kind
	if d.reason != "" {
		sum.Errors[k] = append(sum.Errors[k], ResourceError{ResourceID: d.job.Resource.ID, Reason: d.reason})
		return
	}
	for _, r := range d.outcome.Results {
		if r.Status == rampart.StatusError {
			sum.Errors[k] = append(sum.Errors[k], ResourceError{ResourceID: r.ResourceID, CheckID: r.CheckID, Reason: r.Reason})
		}
	}
}

func worst(results []rampart.Result) rampart.Status {
	st := rampart.StatusNotApplicable
	for _, r := range results {
		st = rampart.Worst(st, r.Status)
	}
	return st
}

// writer saves outcomes one at a time.
type writer struct {
	in      chan rampart.ResourceOutcome
	done    chan struct{}
	updates []rampart.TaskUpdate
	errs    []ResourceError
}

func (s *scan) startWriter(ctx context.Context, buffer int) *writer {
	if !s.save {
		return nil
	}
	w := &writer{in: make(chan rampart.ResourceOutcome, buffer), done: make(chan struct{})}
	// An outcome that is complete is saved even if the scan is cancelled
	// meanwhile: it is true, and dropping it would lose work.
	sctx := context.WithoutCancel(ctx)
	go func() {
		defer close(w.done)
		for o := range w.in {
			ups, err := s.Store.SaveOutcome(sctx, o)
			if err != nil {
				s.logger().Error("save outcome", "scan", o.ScanID, "resource", o.Resource.ID, "err", err)
				w.errs = append(w.errs, ResourceError{ResourceID: o.Resource.ID, Reason: err.Error()})
				continue
			}
			// Logged only once committed: a crash test reads these lines
			// to know what the store must hold after a kill -9.
			s.logger().Info("saved", "scan", o.ScanID, "resource", o.Resource.ID, "task_changes", len(ups))
			w.updates = append(w.updates, ups...)
		}
	}()
	return w
}
