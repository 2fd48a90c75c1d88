package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/metrics"
	"github.com/rampart-dev/rampart/notify"
	"github.com/rampart-dev/rampart/schedule"
	"github.com/rampart-dev/rampart/schedule/reviewweb"
	"github.com/rampart-dev/rampart/store"
	"github.com/rampart-dev/rampart/web"
)

func newScheduleCmd(e *env) *cobra.Command {
	var output string
	var all bool
	var within time.Duration
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "What is due next and what is overdue",
		Long: `Schedule shows the program's jobs: each control for each resource it covers,
at its periodicity (or the resource's override) in the register's time zone.
Automated controls are scans of the resources an integration collects;
manual ones are reviews a person carries out and closes with
"rampart review complete".

  overdue    a review past its due-by date, or a scan more than a period late
  due        its period started: the next pass runs it
  open       a review waiting for its owner, within its grace
  running    being run by a scheduler now
  scheduled  done for this period; NEXT says when it comes due

"rampart serve" runs due work by itself; "rampart schedule run" runs one pass
now (from cron, say). Only one scheduler acts at a time on a store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usageErrorf("unknown --output %q (want table or json)", output)
			}
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := a.scheduler(e, db, "")
			if err != nil {
				return err
			}
			items, err := s.Plan(cmd.Context())
			if err != nil {
				return err
			}
			now := e.now()
			items = schedule.Upcoming(items)
			shown := items[:0:0]
			for _, it := range items {
				if all || it.State != schedule.StateScheduled || it.NextDue.Before(now.Add(within)) {
					shown = append(shown, it)
				}
			}
			if output == "json" {
				return writeJSON(e.stdout, scheduleRows(shown, a.cfg.Schedule.TimeZone))
			}
			return printSchedule(e, shown, items, now, a.cfg.Schedule.TimeZone)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().BoolVar(&all, "all", false, "list every job, not only those due, overdue, open, running or due within --within")
	cmd.Flags().DurationVar(&within, "within", 7*24*time.Hour, "also list the jobs that come due within this long")
	cmd.AddCommand(newScheduleRunCmd(e))
	return cmd
}

// scheduleRow is one job as `rampart schedule -o json` shows it.
type scheduleRow struct {
	State       schedule.State `json:"state"`
	Kind        schedule.JobKind
	Job         string    `json:"job"`
	Control     string    `json:"control"`
	Resource    string    `json:"resource,omitempty"`
	Periodicity string    `json:"periodicity"`
	Owner       string    `json:"owner"`
	Next        time.Time `json:"next_due,omitzero"`
	Last        time.Time `json:"last,omitzero"`
	Review      int64     `json:"review,omitempty"`
	DueBy       time.Time `json:"due_by,omitzero"`
}

func scheduleRows(items []schedule.Item, loc *time.Location) []scheduleRow {
	out := make([]scheduleRow, 0, len(items))
	for _, it := range items {
		r := scheduleRow{
			State: it.State, Kind: it.Job.Kind, Job: it.Job.Key, Control: it.Job.Control.ID,
			Periodicity: it.Job.Periodicity.String(), Owner: it.Job.Control.Owner,
			Next: inLoc(it.NextDue, loc), Last: inLoc(it.Last, loc),
		}
		if it.Job.Resource != nil {
			r.Resource = it.Job.Resource.ID
		}
		if it.Review != nil && it.Review.Status == rampart.ReviewOpen {
			r.Review, r.DueBy = it.Review.ID, inLoc(it.Review.DueBy, loc)
		}
		out = append(out, r)
	}
	return out
}

func inLoc(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

func printSchedule(e *env, shown, all []schedule.Item, now time.Time, loc *time.Location) error {
	counts := map[schedule.State]int{}
	for _, it := range all {
		counts[it.State]++
	}
	if len(shown) > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STATE\tNEXT\tKIND\tCONTROL\tRESOURCE\tPERIODICITY\tOWNER\tNOTE")
		for _, r := range scheduleRows(shown, loc) {
			next := "now"
			if r.Next.After(now) {
				next = r.Next.Format("2006-01-02 15:04")
			}
			note := ""
			switch {
			case r.Review != 0 && r.State == schedule.StateOverdue:
				note = fmt.Sprintf("review %d was due by %s", r.Review, r.DueBy.Format(time.DateOnly))
			case r.Review != 0:
				note = fmt.Sprintf("review %d due by %s", r.Review, r.DueBy.Format(time.DateOnly))
			case r.Last.IsZero():
				note = "never run"
			}
			res := r.Resource
			if res == "" {
				res = "(estate)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.State, next, r.Kind, r.Control, res, r.Periodicity, r.Owner, note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "%d jobs: %d overdue, %d due, %d open reviews, %d running, %d scheduled (times in %s)\n",
		len(all), counts[schedule.StateOverdue], counts[schedule.StateDue], counts[schedule.StateOpen],
		counts[schedule.StateRunning], counts[schedule.StateScheduled], loc)
	return nil
}

func newScheduleRunCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run one scheduler pass now: open due reviews, run due scans",
		Long: `Run does what "rampart serve" does at each of its passes: it takes the
scheduler's lease in the store (so it never acts beside a running serve),
opens the reviews that came due and runs the scans that are due, each once
for its period. Run it from cron when serve is not used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := a.scheduler(e, db, cliActor(e)+"/"+fmt.Sprint(os.Getpid()))
			if err != nil {
				return err
			}
			pass, err := s.RunOnce(cmd.Context())
			if pass != nil && !pass.Leader {
				fmt.Fprintln(e.stderr, "rampart: another process holds the scheduler's lease; nothing done")
				return err
			}
			if pass != nil {
				// Give the lease back: a serve started next should not wait.
				if rerr := db.ReleaseLease(context.WithoutCancel(cmd.Context()), schedule.LeaseName, s.Holder()); rerr != nil {
					e.log.Warn("release scheduler lease", "err", rerr)
				}
				for _, r := range pass.Reviews {
					res := r.ResourceID
					if res == "" {
						res = "the estate"
					}
					fmt.Fprintf(e.stdout, "review %d opened: %s on %s, due by %s, for %s\n", r.ID, r.ControlID, res,
						r.DueBy.In(a.cfg.Schedule.TimeZone).Format(time.DateOnly), r.Owner)
				}
				for _, sum := range pass.Scans {
					fmt.Fprintf(e.stdout, "scan %d: %d resources, %d pass, %d fail, %d errors\n",
						sum.Run.ID, sum.Run.Resources, sum.Run.Pass, sum.Run.Fail, sum.Run.Errors)
				}
				fmt.Fprintf(e.stderr, "schedule: %d reviews opened, %d scans run\n", len(pass.Reviews), len(pass.Scans))
			}
			return err
		},
	}
}

// clock is the CLI's schedule clock: e.now (which honours RAMPART_NOW)
// with real timers.
type clock struct{ now func() time.Time }

func (c clock) Now() time.Time { return c.now() }

func (c clock) NewTimer(d time.Duration) schedule.Timer { return schedule.SystemClock().NewTimer(d) }

// scheduler builds the scheduler the CLI and serve share.
func (a *app) scheduler(e *env, db *store.DB, holder string) (*schedule.Scheduler, error) {
	eng := a.engine(e, db)
	return schedule.New(schedule.Config{
		Store: db, Scanner: eng,
		Controls: a.cat.Controls, Checks: a.cat.Checks, Integrations: a.integrations, Resources: a.cfg.Resources,
		Location: a.cfg.Schedule.TimeZone, Jitter: scheduleJitter(a.cfg.Schedule.Jitter), ReviewGrace: a.cfg.Schedule.ReviewGrace,
		Clock: clock{e.now}, Holder: holder, Logger: e.log,
	})
}

// dispatcher builds the notifier the CLI and serve share.
func (a *app) dispatcher(e *env, db *store.DB, holder string) (*notify.Dispatcher, error) {
	senders, err := notify.NewSenders(a.cfg.Notify, rampart.Env{Getenv: e.getenv, ReadFile: os.ReadFile}, nil, e.now)
	if err != nil {
		return nil, err
	}
	return notify.NewDispatcher(notify.Config{
		Store: db, Notify: a.cfg.Notify, Senders: senders, Clock: clock{e.now}, Holder: holder, Logger: e.log,
		Watcher: &notify.Watcher{Store: db, Controls: a.cat.Controls, Resources: a.cfg.Resources, AreaOfCheck: a.cat.AreaOfCheck, Logger: e.log},
	})
}

// serveScheduleAndNotify is `rampart serve`'s addon (see serveAddons):
// the scheduler and the notifier as background jobs, Prometheus metrics at
// /metrics, and the reviews' pages and API, which learn who signed in from
// web's guard.
func serveScheduleAndNotify(e *env, a *app, db *store.DB, opts *web.Options) error {
	holder := schedule.DefaultHolder()
	d, err := a.dispatcher(e, db, holder)
	if err != nil {
		return err
	}
	s, err := schedule.New(schedule.Config{
		Store: db, Scanner: opts.Engine,
		Controls: a.cat.Controls, Checks: a.cat.Checks, Integrations: a.integrations, Resources: a.cfg.Resources,
		Location: a.cfg.Schedule.TimeZone, Jitter: scheduleJitter(a.cfg.Schedule.Jitter), ReviewGrace: a.cfg.Schedule.ReviewGrace,
		Holder: holder, Logger: opts.Logger, AfterPass: d.Wake,
	})
	if err != nil {
		return err
	}
	opts.Background = append(opts.Background, s.Run, d.Run)
	if opts.Metrics == nil {
		opts.Metrics = metrics.Handler(db, a.cat, a.cfg)
	}
	opts.Routes = append(opts.Routes, reviewweb.Routes(reviewweb.Options{
		Store: db, Location: a.cfg.Schedule.TimeZone, Now: e.now,
		Actor: web.ActorOf, CSRF: web.CSRFToken,
		MayComplete: func(r *http.Request) bool { return web.Allows(r, rampart.PermWrite) },
	})...)
	return nil
}

// scheduleJitter is the register's jitter as the scheduler takes it: the
// register's 0 means none, which the scheduler spells below zero (its zero
// is "the default").
func scheduleJitter(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// joinNonEmpty joins the non-empty strings with sep.
func joinNonEmpty(sep string, ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
