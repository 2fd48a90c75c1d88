package schedule

import (
	"hash/fnv"
	"slices"
	"sort"
	"time"

	"github.com/rampart-dev/rampart"
)

// JobKind says how a job is carried out.
type JobKind string

// Job kinds.
const (
	// JobScan runs the control's checks on a resource through the engine.
	JobScan JobKind = "scan"
	// JobReview opens a review for a person to carry out the control's
	// procedure.
	JobReview JobKind = "review"
)

// Job is one control due at its periodicity for one resource, or for the
// whole estate when the control covers no resource.
type Job struct {
	// Key names the job in the store's run claims: "scan:PKI-01:web",
	// "review:GH-01:github", "review:PROC-01:" (estate-wide).
	Key         string              `json:"key"`
	Kind        JobKind             `json:"kind"`
	Control     *rampart.Control    `json:"-"`
	Resource    *rampart.Resource   `json:"-"`
	Periodicity rampart.Periodicity `json:"periodicity"`
	// Checks are, for a scan, the control's checks of the resource's kind.
	Checks []string `json:"checks,omitempty"`
	// Jitter delays the job past each period's start, by an amount fixed
	// per job (a hash of its key), so that due work spreads out and every
	// process computes the same delay.
	Jitter time.Duration `json:"jitter"`
}

// Jobs lists the jobs of controls over resources. A control applies to
// the resources of the kinds it names and of its checks' kinds. For each
// such resource, the job is a scan when an integration collects the
// resource's kind and the control has checks of that kind; otherwise it is
// a review when the control has a procedure, and nothing when it has not. A
// control that applies to no resource kind at all is reviewed once for the
// estate. Each resource's periodicity override applies. maxJitter bounds
// the jitter; each job's is also at most a tenth of its period. Jobs come
// sorted by key.
func Jobs(controls []*rampart.Control, checks []*rampart.Check, integrations []*rampart.Integration, resources []*rampart.Resource, maxJitter time.Duration) []Job {
	collected := map[rampart.Kind]bool{}
	for _, in := range integrations {
		collected[in.Kind] = true
	}
	checkByID := map[string]*rampart.Check{}
	for _, c := range checks {
		checkByID[c.ID] = c
	}
	var out []Job
	for _, c := range controls {
		kinds := slices.Clone(c.Kinds)
		byKind := map[rampart.Kind][]string{}
		for _, id := range c.Checks {
			ch := checkByID[id]
			if ch == nil {
				continue
			}
			byKind[ch.Kind] = append(byKind[ch.Kind], id)
			if !slices.Contains(kinds, ch.Kind) {
				kinds = append(kinds, ch.Kind)
			}
		}
		if len(kinds) == 0 {
			if c.Manual() && !c.Periodicity.IsZero() {
				out = append(out, newJob(JobReview, c, nil, c.Periodicity, nil, maxJitter))
			}
			continue
		}
		for _, r := range resources {
			if !slices.Contains(kinds, r.Kind) {
				continue
			}
			p := r.PeriodicityFor(c)
			if p.IsZero() {
				continue
			}
			switch ids := byKind[r.Kind]; {
			case collected[r.Kind] && len(ids) > 0:
				sort.Strings(ids)
				out = append(out, newJob(JobScan, c, r, p, ids, maxJitter))
			case c.Manual():
				out = append(out, newJob(JobReview, c, r, p, nil, maxJitter))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func newJob(kind JobKind, c *rampart.Control, r *rampart.Resource, p rampart.Periodicity, checks []string, maxJitter time.Duration) Job {
	rid := ""
	if r != nil {
		rid = r.ID
	}
	j := Job{Key: string(kind) + ":" + c.ID + ":" + rid, Kind: kind, Control: c, Resource: r, Periodicity: p, Checks: checks}
	j.Jitter = jitter(j.Key, p, maxJitter)
	return j
}

// jitter spreads jobs over [0, max) by a hash of their key, bounded by a
// tenth of the period so that a daily job never drifts by more than a few
// hours nor a five-minute cron job by more than thirty seconds.
func jitter(key string, p rampart.Periodicity, maxJitter time.Duration) time.Duration {
	ref := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	a := next(p, ref)
	if a.IsZero() {
		return 0
	}
	limit := min(maxJitter, next(p, a).Sub(a)/10)
	if limit <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(limit)).Truncate(time.Second) //nolint:gosec // below limit, a positive int64
}

// next is the first period start strictly after t, skipping a start that
// repeats t's wall-clock time: when clocks go back an hour, a cron time in
// that hour comes round twice, and cron runs it once.
func next(p rampart.Periodicity, t time.Time) time.Time {
	n := p.Next(t)
	if !n.IsZero() && sameWallClock(n, t) {
		n = p.Next(n)
	}
	return n
}

func sameWallClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute()
}

// PeriodStart returns the latest start of a period of p at or before t, in
// t's location, or the zero time when p never starts (a cron expression
// such as "0 0 30 2 *").
func PeriodStart(p rampart.Periodicity, t time.Time) time.Time {
	n1 := next(p, t)
	if n1.IsZero() {
		return time.Time{}
	}
	span := next(p, n1).Sub(n1)
	if span <= 0 {
		span = time.Hour
	}
	back := span
	for range 40 {
		s := next(p, t.Add(-back))
		if !s.IsZero() && !s.After(t) {
			for {
				n := next(p, s)
				if n.IsZero() || n.After(t) {
					return s
				}
				s = n
			}
		}
		back *= 2
		if back > 10*366*24*time.Hour {
			break
		}
	}
	return time.Time{}
}

// dueAfter reports when a job last run for the period starting at last is
// next due: the next period's start plus the job's jitter, or now+jitter
// (in effect, at once) for a job never run.
func (j *Job) dueAfter(last time.Time, loc *time.Location) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	n := next(j.Periodicity, last.In(loc))
	if n.IsZero() {
		return time.Time{}
	}
	return n.Add(j.Jitter)
}
