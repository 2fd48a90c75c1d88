package web

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
)

// taskCache keeps task lists for a moment: the list and the board are
// the pages people reload most, and each read sorts every open task by
// priority. Changes made through this server drop the cache at once;
// changes made elsewhere (the CLI, another replica) show within taskTTL.
type taskCache struct {
	mu      sync.Mutex
	entries map[string]*taskEntry
}

type taskEntry struct {
	at    time.Time
	tasks []rampart.Task
	err   error
	done  chan struct{} // closed once tasks and err are set

	mu       sync.Mutex
	rendered map[string]template.HTML
}

func (e *taskEntry) content(key string) (template.HTML, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, ok := e.rendered[key]
	return h, ok
}

func (e *taskEntry) keep(key string, h template.HTML) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rendered == nil || len(e.rendered) >= 16 {
		e.rendered = map[string]template.HTML{}
	}
	e.rendered[key] = h
}

const (
	taskTTL        = 2 * time.Second
	maxTaskEntries = 256
)

func (c *taskCache) invalidate() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

func taskKey(f rampart.TaskFilter) string {
	st := make([]string, len(f.Status))
	for i, s := range f.Status {
		st[i] = string(s)
	}
	slices.Sort(st)
	return strings.Join([]string{strings.Join(st, ","), f.Owner, f.Area, f.ResourceID, strconv.FormatBool(f.IncludeExcepted)}, "\x00")
}

// tasksCached lists tasks through the cache; concurrent requests for the
// same list wait for one query rather than each running it. The returned
// slice is shared: callers must not modify it.
func (s *Server) tasksCached(r *http.Request, f rampart.TaskFilter) ([]rampart.Task, error) {
	e, err := s.taskEntry(r, f)
	if err != nil {
		return nil, err
	}
	return e.tasks, nil
}

// taskEntry returns the cache entry of a task list, filled.
func (s *Server) taskEntry(r *http.Request, f rampart.TaskFilter) (*taskEntry, error) {
	now := s.now()
	if f.Now.IsZero() {
		f.Now = now
	}
	key := taskKey(f)
	s.tasks.mu.Lock()
	e, ok := s.tasks.entries[key]
	if ok {
		select {
		case <-e.done:
			ok = e.err == nil && now.Sub(e.at) < taskTTL && now.Sub(e.at) >= 0
		default: // in flight: share it
		}
	}
	if ok {
		s.tasks.mu.Unlock()
		select {
		case <-e.done:
			return e, e.err
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	e = &taskEntry{at: now, done: make(chan struct{})}
	if s.tasks.entries == nil || len(s.tasks.entries) >= maxTaskEntries {
		s.tasks.entries = map[string]*taskEntry{}
	}
	s.tasks.entries[key] = e
	s.tasks.mu.Unlock()
	// Not the request's own context: others wait for this query too.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	e.tasks, e.err = s.opts.Store.Tasks(ctx, f)
	close(e.done)
	return e, e.err
}

// verifyCache keeps the audit chain's verification for a minute: walking
// the whole chain on every view of the audit page would grow with the log.
type verifyCache struct {
	mu sync.Mutex
	at time.Time
	v  rampart.AuditVerification
}

const verifyTTL = time.Minute

func (s *Server) verification(r *http.Request) (rampart.AuditVerification, time.Time, error) {
	now := s.now()
	s.verify.mu.Lock()
	defer s.verify.mu.Unlock()
	if !s.verify.at.IsZero() && now.Sub(s.verify.at) < verifyTTL {
		return s.verify.v, s.verify.at, nil
	}
	v, err := s.opts.Store.VerifyAudit(r.Context())
	if err != nil {
		return v, now, err
	}
	s.verify.v, s.verify.at = v, now
	return v, now, nil
}

func ioReadFull(r io.Reader, buf []byte) (int, error) { return io.ReadFull(r, buf) }

// authCache remembers who a session or a token is for a few seconds, so
// that a page view does not cost two queries before it starts. Sign-outs,
// user changes and token revocations made through this server take effect
// at once; made elsewhere (the CLI, another replica), within authTTL.
type authCache struct {
	mu sync.Mutex
	m  map[string]authEntry
}

type authEntry struct {
	p          principal
	until      time.Time // when the entry is stale
	expires    time.Time // when the session or token ends
	tokenID    int64
	refreshing bool
}

const (
	authTTL        = 5 * time.Second
	authGrace      = 2 * time.Second
	maxAuthEntries = 10000
)

// get returns a usable entry. Once an entry is stale, the first caller
// gets a miss and refreshes it while the others go on with the stale one
// for up to authGrace, so that a busy session costs one lookup per
// authTTL rather than one per request in flight.
func (c *authCache) get(key string, now time.Time) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	switch {
	case !ok || !now.Before(e.expires):
		return authEntry{}, false
	case now.Before(e.until):
		return e, true
	case !e.refreshing:
		e.refreshing = true
		c.m[key] = e
		return authEntry{}, false
	case now.Before(e.until.Add(authGrace)):
		return e, true
	}
	return authEntry{}, false
}

func (c *authCache) put(key string, e authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxAuthEntries {
		c.m = map[string]authEntry{}
	}
	c.m[key] = e
}

func (c *authCache) drop(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

func (c *authCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// exceptionCache keeps the active exceptions for a moment, for the
// overview; changes made here drop it.
type exceptionCache struct {
	mu     sync.Mutex
	at     time.Time
	active []rampart.Exception
}

func (s *Server) activeExceptions(r *http.Request) ([]rampart.Exception, time.Time, error) {
	now := s.now()
	s.excs.mu.Lock()
	defer s.excs.mu.Unlock()
	if !s.excs.at.IsZero() && now.Sub(s.excs.at) < taskTTL && now.Sub(s.excs.at) >= 0 {
		return s.excs.active, s.excs.at, nil
	}
	active, err := s.opts.Store.Exceptions(r.Context(), now)
	if err != nil {
		return nil, now, err
	}
	s.excs.at, s.excs.active = now, active
	return active, now, nil
}

func (c *exceptionCache) invalidate() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}
