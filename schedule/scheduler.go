// Package schedule runs the compliance program by itself: each control
// comes due at its periodicity (or a resource's override) in the register's
// time zone; automated controls then have their checks run through the
// engine, and manual ones open a review for their owner. One scheduler acts
// at a time when several processes share a store (a lease in the store),
// each due run happens once per period (a claim per job and period), and
// after downtime each job runs once for the period now is in, not once per
// missed period. See docs/schedule.md.
package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
)

// LeaseName is the lease the scheduler holds in the store while it acts.
const LeaseName = "scheduler"

// Defaults of Config's zero fields.
const (
	DefaultJitter      = 5 * time.Minute
	DefaultReviewGrace = 14 * 24 * time.Hour
	DefaultLeaseTTL    = 30 * time.Second
	DefaultInterval    = time.Minute
	DefaultRunTimeout  = 30 * time.Minute
)

// Store is what the scheduler keeps its state in.
type Store interface {
	rampart.ReviewStore
	rampart.LeaseStore
}

// Scanner runs scans; *engine.Engine is one.
type Scanner interface {
	Scan(ctx context.Context, resources []*rampart.Resource, opt engine.Options) (*engine.Summary, error)
}

// Config is what a Scheduler needs.
type Config struct {
	Store   Store
	Scanner Scanner
	// Controls, Checks and Integrations are the catalog's controls, every
	// check, and the integrations that collect facts; with Resources they
	// make the jobs (see Jobs).
	Controls     []*rampart.Control
	Checks       []*rampart.Check
	Integrations []*rampart.Integration
	Resources    []*rampart.Resource
	// Location is where periods start (the register's time zone); UTC
	// when nil.
	Location *time.Location
	// Jitter bounds how long past its period's start a job waits.
	Jitter time.Duration
	// ReviewGrace is how long a review may stay open, from when it is
	// opened, before it is overdue (never past the next period's start).
	ReviewGrace time.Duration
	Clock       Clock
	// Holder names this process in the lease and run claims; a random
	// name from the host and process id when empty.
	Holder string
	// LeaseTTL is how long the lease lasts unless renewed; a scheduler
	// that dies is replaced within it.
	LeaseTTL time.Duration
	// Interval is the longest the scheduler sleeps between passes.
	Interval time.Duration
	// RunTimeout bounds one pass's scans; a run's claim lasts as long, so
	// no other scheduler takes it over while it runs.
	RunTimeout time.Duration
	Logger     *slog.Logger
	// AfterPass, when set, is called after a pass that did something, such
	// as notify.Dispatcher.Wake.
	AfterPass func()
}

// Scheduler runs due work. Create it with New.
type Scheduler struct {
	cfg  Config
	jobs []Job
}

// New checks the configuration, fills its defaults and computes the jobs.
func New(cfg Config) (*Scheduler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("schedule: no store")
	case cfg.Scanner == nil:
		return nil, errors.New("schedule: no scanner")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.ReviewGrace <= 0 {
		cfg.ReviewGrace = DefaultReviewGrace
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	if cfg.Holder == "" {
		cfg.Holder = DefaultHolder()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.RunTimeout <= 0 {
		cfg.RunTimeout = DefaultRunTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	jobs := Jobs(cfg.Controls, cfg.Checks, cfg.Integrations, cfg.Resources, max(cfg.Jitter, 0))
	return &Scheduler{cfg: cfg, jobs: jobs}, nil
}

// DefaultHolder names this process: host, process id and a random suffix,
// so that two processes on one host, or a restarted one, never share it.
func DefaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "rampart"
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Holder is the name this scheduler holds the lease and claims under.
func (s *Scheduler) Holder() string { return s.cfg.Holder }

// Jobs returns the scheduler's jobs.
func (s *Scheduler) Jobs() []Job { return s.jobs }

// Plan returns every job's state now, read from the store.
func (s *Scheduler) Plan(ctx context.Context) ([]Item, error) {
	return s.plan(ctx, s.cfg.Clock.Now())
}

func (s *Scheduler) plan(ctx context.Context, now time.Time) ([]Item, error) {
	runs, err := s.cfg.Store.ScheduleRuns(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := s.cfg.Store.LatestReviews(ctx)
	if err != nil {
		return nil, err
	}
	return Plan(s.jobs, runs, latest, now, s.cfg.Location), nil
}

// Pass is what one pass did.
type Pass struct {
	// Leader is false when another process holds the lease; then nothing
	// was done.
	Leader bool
	// Reviews lists the reviews opened.
	Reviews []rampart.Review
	// Scans lists the scans run, and Jobs the scan jobs they covered, each
	// as its key and period: "scan:PKI-01:web@2026-03-29T00:00:00+01:00".
	Scans []*engine.Summary
	Jobs  []string
	// Next is when the earliest job not yet due comes due.
	Next time.Time
}

// Did reports whether the pass changed anything.
func (p *Pass) Did() bool { return len(p.Reviews) > 0 || len(p.Scans) > 0 }

// Run runs passes until ctx is cancelled, sleeping until the next job
// comes due (at most Interval). It gives the lease up when it returns, so
// that another process takes over at once. It returns nil on cancellation:
// it is meant for serve's background tasks.
func (s *Scheduler) Run(ctx context.Context) error {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.cfg.Store.ReleaseLease(rctx, LeaseName, s.cfg.Holder); err != nil {
			s.cfg.Logger.Warn("release scheduler lease", "err", err)
		}
	}()
	for {
		pass, err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.cfg.Interval
		switch {
		case err != nil:
			s.cfg.Logger.Error("schedule pass", "err", err)
		case !pass.Leader:
			wait = min(wait, s.cfg.LeaseTTL/2)
		default:
			if pass.Did() && s.cfg.AfterPass != nil {
				s.cfg.AfterPass()
			}
			if !pass.Next.IsZero() {
				wait = min(wait, max(pass.Next.Sub(s.cfg.Clock.Now()), time.Second))
			}
			// Wake before the lease lapses, to renew it.
			wait = min(wait, s.cfg.LeaseTTL/2)
		}
		t := s.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// RunOnce takes (or renews) the lease and, when it holds it, opens the
// reviews and runs the scans that are due. The lease is renewed while the
// scans run.
func (s *Scheduler) RunOnce(ctx context.Context) (*Pass, error) {
	now := s.cfg.Clock.Now()
	_, held, err := s.cfg.Store.AcquireLease(ctx, LeaseName, s.cfg.Holder, now, s.cfg.LeaseTTL)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	pass := &Pass{Leader: held}
	if !held {
		return pass, nil
	}
	items, err := s.plan(ctx, now)
	if err != nil {
		return pass, fmt.Errorf("schedule: plan: %w", err)
	}
	stop := s.keepLease(ctx)
	defer stop()

	var errs []error
	var scans []Item
	for _, it := range items {
		if !it.Due {
			if !it.NextDue.IsZero() && it.NextDue.After(now) && (pass.Next.IsZero() || it.NextDue.Before(pass.Next)) {
				pass.Next = it.NextDue
			}
			continue
		}
		switch it.Job.Kind {
		case JobReview:
			r, created, err := s.cfg.Store.OpenReview(ctx, s.review(it, now), "rampart:schedule")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if created {
				pass.Reviews = append(pass.Reviews, r)
				s.cfg.Logger.Info("review opened", "review", r.ID, "control", r.ControlID, "resource", r.ResourceID, "due_by", r.DueBy)
			}
		case JobScan:
			scans = append(scans, it)
		}
	}
	errs = append(errs, s.scan(ctx, now, scans, pass))
	return pass, errors.Join(errs...)
}

func (s *Scheduler) review(it Item, now time.Time) rampart.Review {
	c, p := it.Job.Control, it.Job.Periodicity
	nextDue := next(p, it.Period)
	// The grace runs from when the owner is told: a review opened late
	// (the first run of a new install, or after downtime) is not overdue
	// on arrival.
	from := it.Period
	if now.After(from) {
		from = now
	}
	r := rampart.Review{
		ControlID: c.ID, Title: c.Title, Procedure: c.Procedure, Owner: c.Owner, Area: c.Area,
		Periodicity: p.String(), DueAt: it.Period, NextDueAt: nextDue, DueBy: from.Add(s.cfg.ReviewGrace), CreatedAt: now,
	}
	if r.DueBy.After(nextDue) {
		r.DueBy = nextDue
	}
	if res := it.Job.Resource; res != nil {
		r.ResourceID, r.Environment = res.ID, res.Environment
	}
	return r
}

// scan claims each due scan job for its period and runs the claimed ones,
// one engine scan per set of checks, so that a resource is evaluated
// against exactly the checks that are due.
func (s *Scheduler) scan(ctx context.Context, now time.Time, items []Item, pass *Pass) error {
	type group struct {
		checks    []string
		resources []*rampart.Resource
		items     []Item
	}
	groups := map[string]*group{}
	var order []string
	claimTTL := s.cfg.RunTimeout + time.Minute
	var errs []error
	for _, it := range items {
		ok, err := s.cfg.Store.ClaimRun(ctx, it.Job.Key, it.Period, s.cfg.Holder, now, claimTTL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // another scheduler has it
		}
		// Group per resource first: a resource due for two controls is
		// scanned once with both controls' checks.
		k := it.Job.Resource.ID
		g := groups[k]
		if g == nil {
			g = &group{resources: []*rampart.Resource{it.Job.Resource}}
			groups[k] = g
			order = append(order, k)
		}
		g.checks = union(g.checks, it.Job.Checks)
		g.items = append(g.items, it)
	}
	// Then resources due for the same checks share one scan.
	byChecks := map[string]*group{}
	var scans []string
	for _, k := range order {
		g := groups[k]
		ck := strings.Join(g.checks, ",")
		if m := byChecks[ck]; m != nil {
			m.resources = append(m.resources, g.resources...)
			m.items = append(m.items, g.items...)
			continue
		}
		byChecks[ck] = g
		scans = append(scans, ck)
	}
	for _, ck := range scans {
		g := byChecks[ck]
		sctx, cancel := context.WithTimeout(ctx, s.cfg.RunTimeout)
		sum, err := s.cfg.Scanner.Scan(sctx, g.resources, engine.Options{
			Trigger: "schedule", Actor: "rampart:schedule", CheckIDs: g.checks,
			ResourceIDs: ids(g.resources),
		})
		cancel()
		outcome := ""
		switch {
		case sum != nil && sum.Run.ID != 0:
			outcome = fmt.Sprintf("scan %d", sum.Run.ID)
		case err != nil:
			outcome = "error: " + err.Error()
		}
		if sum != nil {
			pass.Scans = append(pass.Scans, sum)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("scheduled scan of %s: %w", strings.Join(ids(g.resources), ", "), err))
			if sum == nil || sum.Run.ID == 0 {
				// Nothing ran: leave the claims to lapse, so that the
				// jobs are tried again.
				continue
			}
		}
		for _, it := range g.items {
			if err := s.cfg.Store.FinishRun(context.WithoutCancel(ctx), it.Job.Key, it.Period, s.cfg.Holder, s.cfg.Clock.Now(), outcome); err != nil {
				errs = append(errs, err)
				continue
			}
			pass.Jobs = append(pass.Jobs, it.Job.Key+"@"+it.Period.Format(time.RFC3339))
		}
		s.cfg.Logger.Info("scheduled scan", "resources", len(g.resources), "checks", len(g.checks), "outcome", outcome)
	}
	sort.Strings(pass.Jobs)
	return errors.Join(errs...)
}

// keepLease renews the lease in the background until the returned
// function is called, so that a long scan does not let it lapse. It paces
// itself on real time, which is what a scan takes, and reads the time
// from the scheduler's clock.
func (s *Scheduler) keepLease(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.cfg.LeaseTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, held, err := s.cfg.Store.AcquireLease(ctx, LeaseName, s.cfg.Holder, s.cfg.Clock.Now(), s.cfg.LeaseTTL); err != nil {
				s.cfg.Logger.Warn("renew scheduler lease", "err", err)
			} else if !held {
				s.cfg.Logger.Warn("scheduler lease lost during a pass; run claims keep each job once")
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func ids(rs []*rampart.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
