package schedule

import (
	"sort"
	"time"

	"github.com/rampart-dev/rampart"
)

// State is how a job stands at one moment.
type State string

// Job states, as `rampart schedule` shows them.
const (
	// StateScheduled: done for its current period; next due at NextDue.
	StateScheduled State = "scheduled"
	// StateDue: its period started (and its jitter passed); it runs at the
	// scheduler's next pass.
	StateDue State = "due"
	// StateOverdue: a scan due for more than a whole period, or a review
	// open past its due-by time.
	StateOverdue State = "overdue"
	// StateRunning: claimed by a scheduler that is running it.
	StateRunning State = "running"
	// StateOpen: a review waiting for its person, within its grace.
	StateOpen State = "open"
)

// Item is one job as the plan sees it at one moment.
type Item struct {
	Job   Job   `json:"job"`
	State State `json:"state"`
	// Due is set when the job must run now, for the period starting at
	// Period.
	Due    bool      `json:"due"`
	Period time.Time `json:"period,omitzero"`
	// Last is the start of the period the job was last done for; zero when
	// never.
	Last time.Time `json:"last,omitzero"`
	// NextDue is when the job comes due next (jitter included), or came
	// due when it is due now; zero for a job never done.
	NextDue time.Time `json:"next_due,omitzero"`
	// Review is a review job's latest review.
	Review *rampart.Review `json:"review,omitempty"`
}

// Plan computes each job's state at now in loc from the latest run of
// each scan job and the latest review of each review job. However long
// since a job was last done, it is due once, for the period now is in:
// after ten days down, a daily job runs once, not ten times. Items come
// in job order.
func Plan(jobs []Job, runs []rampart.ScheduleRun, latest []rampart.Review, now time.Time, loc *time.Location) []Item {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	runOf := make(map[string]rampart.ScheduleRun, len(runs))
	for _, r := range runs {
		runOf[r.Job] = r
	}
	type key struct{ control, resource string }
	reviewOf := make(map[key]*rampart.Review, len(latest))
	for i := range latest {
		reviewOf[key{latest[i].ControlID, latest[i].ResourceID}] = &latest[i]
	}
	out := make([]Item, 0, len(jobs))
	for _, j := range jobs {
		it := Item{Job: j}
		eff := now.Add(-j.Jitter)
		var last time.Time
		switch j.Kind {
		case JobScan:
			run, ok := runOf[j.Key]
			switch {
			case !ok:
			case !run.FinishedAt.IsZero():
				last = run.DueAt
			case run.ClaimedUntil.After(now):
				it.State, it.Period, it.Last = StateRunning, run.DueAt.In(loc), run.DueAt.In(loc)
				out = append(out, it)
				continue
			default:
				// A claim that lapsed unfinished: its holder died. The job
				// is due again, for the period now is in.
			}
		case JobReview:
			rid := ""
			if j.Resource != nil {
				rid = j.Resource.ID
			}
			if r := reviewOf[key{j.Control.ID, rid}]; r != nil {
				it.Review = r
				last = r.DueAt
			}
		}
		if !last.IsZero() {
			it.Last = last.In(loc)
			it.NextDue = j.dueAfter(last, loc)
		}
		if it.NextDue.IsZero() && !last.IsZero() {
			// The periodicity never comes round again (a cron date that
			// does not exist): nothing to do.
			it.State = StateScheduled
			out = append(out, it)
			continue
		}
		it.Due = last.IsZero() || !it.NextDue.After(now)
		if it.Due {
			it.Period = PeriodStart(j.Periodicity, eff)
			if it.Period.IsZero() {
				it.Due = false
				it.State = StateScheduled
				out = append(out, it)
				continue
			}
			if it.NextDue.IsZero() {
				it.NextDue = now
			}
		}
		it.State = state(&it, now, loc)
		out = append(out, it)
	}
	return out
}

func state(it *Item, now time.Time, loc *time.Location) State {
	if it.Review != nil && it.Review.Overdue(now) {
		return StateOverdue
	}
	if it.Due {
		// A scan that missed a whole period is overdue: the scheduler has
		// not been running.
		if it.Job.Kind == JobScan && !it.Last.IsZero() {
			if n := next(it.Job.Periodicity, it.NextDue.Add(-it.Job.Jitter).In(loc)); !n.IsZero() && !n.Add(it.Job.Jitter).After(now) {
				return StateOverdue
			}
		}
		return StateDue
	}
	if it.Review != nil && it.Review.Status == rampart.ReviewOpen {
		return StateOpen
	}
	return StateScheduled
}

// Upcoming sorts items for people: overdue first, then due, running, open,
// and scheduled ones by when they come due.
func Upcoming(items []Item) []Item {
	rank := map[State]int{StateOverdue: 0, StateDue: 1, StateRunning: 2, StateOpen: 3, StateScheduled: 4}
	out := append([]Item(nil), items...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.State] != rank[b.State] {
			return rank[a.State] < rank[b.State]
		}
		if !a.NextDue.Equal(b.NextDue) {
			return a.NextDue.Before(b.NextDue)
		}
		return a.Job.Key < b.Job.Key
	})
	return out
}
