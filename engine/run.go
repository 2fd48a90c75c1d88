package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
)

// reasonCancelled is the reason of every result a cancellation cut short.
const reasonCancelled = "scan cancelled"

// runJob collects one resource and evaluates its checks, under the
// resource's timeout. It never fails: every problem becomes error results.
func (s *scan) runJob(ctx context.Context, j Job) done {
	r := j.Resource
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	d := done{job: j, outcome: rampart.ResourceOutcome{
		ScanID: s.run.ID, Resource: r, Actor: s.opt.Actor,
		Checks: make(map[string]*rampart.Check, len(j.Checks)),
		Area:   map[string]string{},
	}}
	for _, c := range j.Checks {
		d.outcome.Checks[c.ID] = c
		if s.AreaOfCheck != nil {
			if a := s.AreaOfCheck(c.ID); a != "" {
				d.outcome.Area[c.ID] = a
			}
		}
	}

	col := s.collectors[j.Integration.Kind]
	var facts rampart.Facts
	err := col.err
	if err == nil {
		facts, err = s.collect(rctx, col.c, j.Integration.Kind, r)
	}
	var js []byte
	if err == nil {
		if js, err = rampart.FactsJSON(facts); err != nil {
			err = fmt.Errorf("collect: %w", err)
		}
	}
	at := s.now()
	d.outcome.At = at
	if err != nil {
		d.reason, d.cut = failure(ctx, rctx, err, "collect", timeout)
		for _, c := range j.Checks {
			d.outcome.Results = append(d.outcome.Results, s.result(c, r, rampart.Evaluation{Status: rampart.StatusError, Reason: d.reason}, "", at))
		}
		return d
	}
	d.outcome.Facts = js
	evidence := rampart.ContentHash(js)
	// CEL checks read the JSON just encoded instead of encoding again,
	// and judge time against the collection, like built-in checks.
	cctx := celcheck.WithSubject(rctx, r, js, at)
	for _, c := range j.Checks {
		var ev rampart.Evaluation
		if rctx.Err() != nil {
			reason, cut := failure(ctx, rctx, rctx.Err(), "evaluate", timeout)
			ev = rampart.Evaluation{Status: rampart.StatusError, Reason: reason}
			d.cut = d.cut || cut
		} else {
			ev = s.evaluate(cctx, c, facts)
			if ev.Status == rampart.StatusError && ctx.Err() != nil {
				ev.Reason = reasonCancelled
				d.cut = true
			}
		}
		d.outcome.Results = append(d.outcome.Results, s.result(c, r, ev, evidence, at))
	}
	return d
}

// failure words the reason of a resource's failure in a phase (collect,
// evaluate) and says whether the scan's cancellation caused it.
func failure(ctx, rctx context.Context, err error, phase string, timeout time.Duration) (string, bool) {
	switch {
	case ctx.Err() != nil:
		return reasonCancelled, true
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("%s: timed out after %s", phase, timeout), false
	}
	return err.Error(), false
}

// collect runs the collector in its own goroutine, so that one which
// ignores its context cannot hold a worker past the timeout (it is then
// abandoned; its result is dropped when it finally returns), and recovers
// its panics.
func (s *scan) collect(ctx context.Context, c rampart.Collector, kind rampart.Kind, r *rampart.Resource) (rampart.Facts, error) {
	type result struct {
		facts rampart.Facts
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				s.logger().Error("collector panicked", "kind", kind, "resource", r.ID, "panic", v, "stack", stack())
				ch <- result{err: fmt.Errorf("collect: panic: %v", v)}
			}
		}()
		f, err := c.Collect(ctx, r)
		switch {
		case err != nil:
			err = fmt.Errorf("collect: %w", err)
		case f == nil:
			err = errors.New("collect: the collector returned no facts and no error")
		}
		ch <- result{f, err}
	}()
	select {
	case res := <-ch:
		return res.facts, res.err
	case <-ctx.Done():
		// A result that arrived with the deadline still counts.
		select {
		case res := <-ch:
			return res.facts, res.err
		default:
		}
		return nil, ctx.Err()
	}
}

// evaluate runs one check, turning a panic into an error result that names
// the check.
func (s *scan) evaluate(ctx context.Context, c *rampart.Check, facts rampart.Facts) (ev rampart.Evaluation) {
	defer func() {
		if v := recover(); v != nil {
			s.logger().Error("check panicked", "check", c.ID, "panic", v, "stack", stack())
			ev = rampart.Evaluation{Status: rampart.StatusError, Reason: fmt.Sprintf("check %s panicked: %v", c.ID, v)}
		}
	}()
	return c.Run(ctx, facts)
}

// result completes an evaluation into a result: the check's severity and
// version, the evidence, fingerprints, and one finding for a failure that
// named none, so that a task can open.
func (s *scan) result(c *rampart.Check, r *rampart.Resource, ev rampart.Evaluation, evidence string, at time.Time) rampart.Result {
	switch ev.Status {
	case rampart.StatusPass, rampart.StatusFail, rampart.StatusError, rampart.StatusNotApplicable:
	default:
		ev = rampart.Evaluation{Status: rampart.StatusError, Reason: fmt.Sprintf("check %s returned the unknown status %q", c.ID, ev.Status)}
	}
	res := rampart.Result{
		ScanID: s.run.ID, ResourceID: r.ID, CheckID: c.ID, Version: c.Version,
		Status: ev.Status, Severity: c.Severity, Reason: ev.Reason, Evidence: evidence, At: at,
	}
	findings := ev.Findings
	if ev.Status == rampart.StatusFail && len(findings) == 0 {
		msg := ev.Reason
		if msg == "" {
			msg = c.Title
		}
		findings = []rampart.Finding{{Item: c.ID, Message: msg}}
	}
	// The check's slice is copied, not written: a check may return a
	// shared value. Two findings of one item are one task; the first wins.
	seen := make(map[string]bool, len(findings))
	for _, f := range findings {
		f.Fingerprint = rampart.Fingerprint(c.ID, r.ID, f.Item)
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		res.Findings = append(res.Findings, f)
	}
	return res
}

func stack() string { return string(debug.Stack()) }
