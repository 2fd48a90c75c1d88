package web

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
)

// scanProgress is the state of the scan started through this server.
type scanProgress struct {
	Running    bool      `json:"running"`
	ScanID     int64     `json:"scan_id,omitempty"`
	StartedBy  string    `json:"started_by,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Done       int       `json:"done"`
	Total      int       `json:"total"`
	// Current is the resource that finished last.
	Current  string `json:"current,omitempty"`
	Pass     int    `json:"pass"`
	Fail     int    `json:"fail"`
	Errors   int    `json:"errors"`
	Opened   int    `json:"opened"`
	Reopened int    `json:"reopened"`
	Resolved int    `json:"resolved"`
	// Error says why the scan failed or was cut short, if it was.
	Error string `json:"error,omitempty"`
}

// scanner runs one scan at a time through the engine the CLI uses, in
// the background, so that the request that starts it returns at once.
type scanner struct {
	s      *Server
	mu     sync.Mutex
	cur    scanProgress
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

func (sc *scanner) progress() scanProgress {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.cur
}

// start begins a scan of the selected resources (all when none is named)
// and returns its first progress; a scan already running is a conflict.
func (sc *scanner) start(r *http.Request, p *principal, b scanBody) (scanProgress, error) {
	eng := sc.s.opts.Engine
	if eng == nil {
		return scanProgress{}, errorf(kindUnavailable, "scans cannot be started from this server (it has no scan engine)")
	}
	resources := sc.s.opts.Resources
	if len(b.Resources) > 0 {
		resources = nil
		for _, id := range b.Resources {
			i := slices.IndexFunc(sc.s.opts.Resources, func(r *rampart.Resource) bool { return r.ID == id })
			if i < 0 {
				return scanProgress{}, errorf(rampart.KindInvalid, "unknown resource %q", id)
			}
			resources = append(resources, sc.s.opts.Resources[i])
		}
	}
	for _, id := range b.Checks {
		if sc.s.opts.Catalog.Check(id) == nil {
			return scanProgress{}, errorf(rampart.KindInvalid, "unknown check %q", id)
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	switch {
	case sc.closed:
		return scanProgress{}, errorf(kindUnavailable, "the server is shutting down")
	case sc.cur.Running:
		return scanProgress{}, errorf(rampart.KindConflict, "a scan started by %s is running (%d of %d resources done)",
			sc.cur.StartedBy, sc.cur.Done, sc.cur.Total)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(sc.s.changeCtx(r, p)))
	sc.stop = cancel
	sc.cur = scanProgress{Running: true, StartedBy: p.actor(), StartedAt: sc.s.now(), Total: len(resources)}
	run := *eng // the engine is read-only during a scan: a copy gets its own progress hook
	run.Progress = func(pr engine.Progress) {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		sc.cur.Done, sc.cur.Total = pr.Done, pr.Total
		if pr.Resource != nil {
			sc.cur.Current = pr.Resource.ID
		}
	}
	opts := engine.Options{Trigger: "api", Actor: p.actor(), CheckIDs: b.Checks}
	sc.wg.Go(func() {
		defer cancel()
		sum, err := run.Scan(ctx, resources, opts)
		sc.mu.Lock()
		defer sc.mu.Unlock()
		sc.cur.Running, sc.cur.FinishedAt = false, sc.s.now()
		if sum != nil {
			sc.cur.ScanID = sum.Run.ID
			sc.cur.Pass, sc.cur.Fail, sc.cur.Errors = sum.Run.Pass, sum.Run.Fail, sum.Run.Errors
			sc.cur.Opened, sc.cur.Reopened, sc.cur.Resolved = sum.Opened, sum.Reopened, sum.Resolved
		}
		if err != nil {
			sc.cur.Error = err.Error()
			sc.s.log.Warn("scan failed", "started_by", sc.cur.StartedBy, "err", err)
		}
		sc.s.view.invalidate()
	})
	return sc.cur, nil
}

// cancel stops a running scan (at shutdown) and refuses new ones.
func (sc *scanner) cancel() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.closed = true
	if sc.stop != nil {
		sc.stop()
	}
}

func (sc *scanner) wait() { sc.wg.Wait() }
