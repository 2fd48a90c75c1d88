package schedule_test

import (
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/schedule"
)

var madrid = mustLoad("Europe/Madrid")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a wall-clock time in Madrid.
func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, madrid)
}

// nextDue plans one job last done for the period starting at last, without
// jitter, and returns when it is due next.
func nextDue(t *testing.T, per string, last time.Time) time.Time {
	t.Helper()
	job := oneJob(t, per)
	items := schedule.Plan([]schedule.Job{job}, []rampart.ScheduleRun{{
		Job: job.Key, DueAt: last, Holder: "x", StartedAt: last, ClaimedUntil: last, FinishedAt: last,
	}}, nil, last, madrid)
	if items[0].Due {
		t.Fatalf("%s: due again at the very start of the period it was done for", per)
	}
	return items[0].NextDue
}

func oneJob(t *testing.T, per string) schedule.Job {
	t.Helper()
	c := &rampart.Control{ID: "AUTO-01", Periodicity: rampart.MustPeriodicity(per), Checks: []string{"FAKE-01"}}
	jobs := schedule.Jobs([]*rampart.Control{c}, []*rampart.Check{{ID: "FAKE-01", Kind: "fake"}},
		[]*rampart.Integration{{Kind: "fake"}}, []*rampart.Resource{{ID: "web", Kind: "fake"}}, 0)
	if len(jobs) != 1 {
		t.Fatalf("jobs = %+v, want one", jobs)
	}
	return jobs[0]
}

// Madrid moves from CET (+01) to CEST (+02) at 02:00 on 2026-03-29 and back
// at 03:00 on 2026-10-25.
func TestDueTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		per  string
		last time.Time
		want time.Time
	}{
		{"daily", "daily", at(2026, 3, 27, 0, 0), at(2026, 3, 28, 0, 0)},
		{"daily into summer time (a 23-hour day)", "daily", at(2026, 3, 29, 0, 0), at(2026, 3, 30, 0, 0)},
		{"daily out of summer time (a 25-hour day)", "daily", at(2026, 10, 25, 0, 0), at(2026, 10, 26, 0, 0)},
		{"daily across a month end", "daily", at(2026, 4, 30, 0, 0), at(2026, 5, 1, 0, 0)},
		{"daily across a leap day", "daily", at(2028, 2, 28, 0, 0), at(2028, 2, 29, 0, 0)},
		{"weekly across a month end and the clock change", "weekly", at(2026, 3, 23, 0, 0), at(2026, 3, 30, 0, 0)},
		{"weekly across a year end", "weekly", at(2026, 12, 28, 0, 0), at(2027, 1, 4, 0, 0)},
		{"monthly from January 31st's month", "monthly", at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0)},
		{"monthly across February", "monthly", at(2026, 2, 1, 0, 0), at(2026, 3, 1, 0, 0)},
		{"monthly across a year end", "monthly", at(2026, 12, 1, 0, 0), at(2027, 1, 1, 0, 0)},
		{"quarterly into summer time", "quarterly", at(2026, 1, 1, 0, 0), at(2026, 4, 1, 0, 0)},
		{"quarterly across a year end", "quarterly", at(2026, 10, 1, 0, 0), at(2027, 1, 1, 0, 0)},
		{"semi-annual", "semi-annual", at(2026, 1, 1, 0, 0), at(2026, 7, 1, 0, 0)},
		{"semi-annual across a year end", "semi-annual", at(2026, 7, 1, 0, 0), at(2027, 1, 1, 0, 0)},
		{"yearly", "yearly", at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0)},
		{"cron Mondays 06:00 across the clock change", "0 6 * * 1", at(2026, 3, 23, 6, 0), at(2026, 3, 30, 6, 0)},
		{"cron on the 31st skips short months", "0 9 31 * *", at(2026, 1, 31, 9, 0), at(2026, 3, 31, 9, 0)},
		{"cron last day of February in a leap year", "0 0 29 2 *", at(2024, 2, 29, 0, 0), at(2028, 2, 29, 0, 0)},
		{"cron every 15 minutes across the hour", "*/15 * * * *", at(2026, 5, 31, 23, 45), at(2026, 6, 1, 0, 0)},
		// 02:30 does not exist on 2026-03-29: that day has no such period.
		{"cron in the hour the clocks skip", "30 2 * * *", at(2026, 3, 28, 2, 30), at(2026, 3, 30, 2, 30)},
		// 02:30 comes twice on 2026-10-25 (CEST, then CET): it runs once.
		{"cron in the hour the clocks repeat", "30 2 * * *", time.Date(2026, 10, 25, 2, 30, 0, 0, time.FixedZone("CEST", 2*3600)), at(2026, 10, 26, 2, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := nextDue(t, tc.per, tc.last)
			if !got.Equal(tc.want) {
				t.Errorf("next due after %s = %s, want %s", tc.last, got, tc.want)
			}
		})
	}
}

func TestPeriodStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		per  string
		t    time.Time
		want time.Time
	}{
		{"daily", at(2026, 3, 29, 12, 0), at(2026, 3, 29, 0, 0)},
		{"daily", at(2026, 3, 29, 0, 0), at(2026, 3, 29, 0, 0)},
		{"weekly", at(2026, 4, 2, 10, 0), at(2026, 3, 30, 0, 0)},
		{"monthly", at(2026, 3, 1, 0, 0).Add(-time.Nanosecond), at(2026, 2, 1, 0, 0)},
		{"quarterly", at(2026, 5, 17, 13, 0), at(2026, 4, 1, 0, 0)},
		{"semi-annual", at(2026, 12, 31, 23, 59), at(2026, 7, 1, 0, 0)},
		{"yearly", at(2026, 6, 1, 0, 0), at(2026, 1, 1, 0, 0)},
		{"*/5 * * * *", at(2026, 6, 1, 12, 7), at(2026, 6, 1, 12, 5)},
		{"0 6 * * 1", at(2026, 4, 1, 0, 0), at(2026, 3, 30, 6, 0)},
		{"0 0 1 1 *", at(2026, 6, 1, 0, 0), at(2026, 1, 1, 0, 0)},
		{"0 0 30 2 *", at(2026, 6, 1, 0, 0), time.Time{}},
	} {
		got := schedule.PeriodStart(rampart.MustPeriodicity(tc.per), tc.t)
		if !got.Equal(tc.want) {
			t.Errorf("PeriodStart(%s, %s) = %s, want %s", tc.per, tc.t, got, tc.want)
		}
	}
}

func TestJobs(t *testing.T) {
	t.Parallel()
	weekly := rampart.MustPeriodicity("weekly")
	controls := []*rampart.Control{
		// Checks for tls-endpoint (collected) and a procedure: scanned on
		// the endpoint, reviewed on the pki inventory resource.
		{
			ID: "PKI-01", Periodicity: rampart.MustPeriodicity("daily"), Kinds: []rampart.Kind{"tls-endpoint", "pki"},
			Checks: []string{"TLS-EXPIRED", "TLS-TRUST"}, Procedure: "Check the CA.",
		},
		// A manual control on an inventory kind, overridden for one resource.
		{ID: "PVE-03", Periodicity: rampart.MustPeriodicity("semi-annual"), Kinds: []rampart.Kind{"proxmox"}, Procedure: "Lifecycle."},
		// No kinds, no checks: once for the estate.
		{ID: "PPL-03", Periodicity: rampart.MustPeriodicity("yearly"), Procedure: "Training."},
		// Checks of a kind nobody collects and no procedure: nothing.
		{ID: "GH-09", Periodicity: weekly, Checks: []string{"GH-ORG-2FA"}},
	}
	checks := []*rampart.Check{
		{ID: "TLS-EXPIRED", Kind: "tls-endpoint"}, {ID: "TLS-TRUST", Kind: "tls-endpoint"}, {ID: "GH-ORG-2FA", Kind: "github-org"},
	}
	resources := []*rampart.Resource{
		{ID: "web", Kind: "tls-endpoint"},
		{ID: "ca", Kind: "pki"},
		{ID: "pve-a", Kind: "proxmox"},
		{ID: "pve-b", Kind: "proxmox", Periodicity: map[string]rampart.Periodicity{"PVE-03": rampart.MustPeriodicity("quarterly")}},
		{ID: "org", Kind: "github-org"},
	}
	jobs := schedule.Jobs(controls, checks, []*rampart.Integration{{Kind: "tls-endpoint"}}, resources, time.Hour)
	type row struct {
		key, per string
		checks   int
	}
	var got []row
	for _, j := range jobs {
		got = append(got, row{j.Key, j.Periodicity.String(), len(j.Checks)})
		if limit := time.Hour; j.Jitter < 0 || j.Jitter >= limit {
			t.Errorf("%s: jitter %s outside [0, %s)", j.Key, j.Jitter, limit)
		}
	}
	want := []row{
		{"review:PKI-01:ca", "daily", 0},
		{"review:PPL-03:", "yearly", 0},
		{"review:PVE-03:pve-a", "semi-annual", 0},
		{"review:PVE-03:pve-b", "quarterly", 0},
		{"scan:PKI-01:web", "daily", 2},
	}
	if len(got) != len(want) {
		t.Fatalf("jobs = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("job %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	again := schedule.Jobs(controls, checks, []*rampart.Integration{{Kind: "tls-endpoint"}}, resources, time.Hour)
	for i := range jobs {
		if again[i].Jitter != jobs[i].Jitter {
			t.Errorf("%s: jitter %s, then %s; want it fixed per job", jobs[i].Key, jobs[i].Jitter, again[i].Jitter)
		}
	}
	// A cron job every five minutes never waits more than a tenth of that.
	fast := schedule.Jobs([]*rampart.Control{{ID: "X", Periodicity: rampart.MustPeriodicity("*/5 * * * *"), Procedure: "p"}}, nil, nil, nil, time.Hour)
	if fast[0].Jitter >= 30*time.Second {
		t.Errorf("five-minute job's jitter %s, want under 30s", fast[0].Jitter)
	}
}

func TestPlanStates(t *testing.T) {
	t.Parallel()
	job := oneJob(t, "daily")
	day := at(2026, 6, 10, 0, 0)
	review := schedule.Jobs([]*rampart.Control{{ID: "MAN-01", Periodicity: rampart.MustPeriodicity("quarterly"), Procedure: "p"}}, nil, nil, nil, 0)[0]
	q2 := at(2026, 4, 1, 0, 0)
	open := rampart.Review{ControlID: "MAN-01", DueAt: q2, DueBy: q2.Add(14 * 24 * time.Hour), NextDueAt: at(2026, 7, 1, 0, 0), Status: rampart.ReviewOpen}
	done := open
	done.Status = rampart.ReviewCompleted
	for _, tc := range []struct {
		name    string
		job     schedule.Job
		runs    []rampart.ScheduleRun
		reviews []rampart.Review
		now     time.Time
		state   schedule.State
		due     bool
		period  time.Time
	}{
		{"never run", job, nil, nil, day.Add(9 * time.Hour), schedule.StateDue, true, day},
		{"done today", job, []rampart.ScheduleRun{{Job: job.Key, DueAt: day, FinishedAt: day}}, nil, day.Add(9 * time.Hour), schedule.StateScheduled, false, time.Time{}},
		{"done yesterday", job, []rampart.ScheduleRun{{Job: job.Key, DueAt: day.AddDate(0, 0, -1), FinishedAt: day}}, nil, day.Add(time.Hour), schedule.StateDue, true, day},
		{"ten days down", job, []rampart.ScheduleRun{{Job: job.Key, DueAt: day.AddDate(0, 0, -10), FinishedAt: day}}, nil, day.Add(time.Hour), schedule.StateOverdue, true, day},
		{"running", job, []rampart.ScheduleRun{{Job: job.Key, DueAt: day, ClaimedUntil: day.Add(2 * time.Hour)}}, nil, day.Add(time.Hour), schedule.StateRunning, false, day},
		{"claim lapsed", job, []rampart.ScheduleRun{{Job: job.Key, DueAt: day, ClaimedUntil: day.Add(time.Hour)}}, nil, day.Add(2 * time.Hour), schedule.StateDue, true, day},
		{"review open", review, nil, []rampart.Review{open}, q2.Add(24 * time.Hour), schedule.StateOpen, false, time.Time{}},
		{"review overdue", review, nil, []rampart.Review{open}, q2.Add(15 * 24 * time.Hour), schedule.StateOverdue, false, time.Time{}},
		{"review completed", review, nil, []rampart.Review{done}, q2.Add(15 * 24 * time.Hour), schedule.StateScheduled, false, time.Time{}},
		{"next quarter's review", review, nil, []rampart.Review{done}, at(2026, 7, 2, 0, 0), schedule.StateDue, true, at(2026, 7, 1, 0, 0)},
	} {
		items := schedule.Plan([]schedule.Job{tc.job}, tc.runs, tc.reviews, tc.now, madrid)
		it := items[0]
		if it.State != tc.state || it.Due != tc.due || !it.Period.Equal(tc.period) {
			t.Errorf("%s: state %s, due %v, period %s; want %s, %v, %s", tc.name, it.State, it.Due, it.Period, tc.state, tc.due, tc.period)
		}
	}
}
