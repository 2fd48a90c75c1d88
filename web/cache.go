package web

import (
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
	entries map[string]taskEntry
}

type taskEntry struct {
	at    time.Time
	tasks []rampart.Task
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

// tasksCached lists tasks through the cache. The returned slice is shared:
// callers must not modify it.
func (s *Server) tasksCached(r *http.Request, f rampart.TaskFilter) ([]rampart.Task, error) {
	now := s.now()
	if f.Now.IsZero() {
		f.Now = now
	}
	key := taskKey(f)
	s.tasks.mu.Lock()
	e, ok := s.tasks.entries[key]
	s.tasks.mu.Unlock()
	if ok && now.Sub(e.at) < taskTTL && now.Sub(e.at) >= 0 {
		return e.tasks, nil
	}
	tasks, err := s.opts.Store.Tasks(r.Context(), f)
	if err != nil {
		return nil, err
	}
	s.tasks.mu.Lock()
	if s.tasks.entries == nil || len(s.tasks.entries) >= maxTaskEntries {
		s.tasks.entries = map[string]taskEntry{}
	}
	s.tasks.entries[key] = taskEntry{at: now, tasks: tasks}
	s.tasks.mu.Unlock()
	return tasks, nil
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
