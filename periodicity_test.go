package rampart_test

import (
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

func TestParsePeriodicity(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{
		{in: "daily", want: "daily"},
		{in: "Weekly", want: "weekly"},
		{in: "six-monthly", want: "semi-annual"},
		{in: "annually", want: "yearly"},
		{in: "0 6 * * 1", want: "cron: 0 6 * * 1"},
		{in: "cron:  */15  *  * * *", want: "cron: */15 * * * *"},
		{in: "0 6 * * mon-fri", want: "cron: 0 6 * * mon-fri"},
		{in: "fortnightly", bad: true},
		{in: "61 * * * *", bad: true},
		{in: "* * * *", bad: true},
		{in: "5-1 * * * *", bad: true},
		{in: "*/0 * * * *", bad: true},
		{in: "", bad: true},
	} {
		p, err := rampart.ParsePeriodicity(tt.in)
		switch {
		case tt.bad && err == nil:
			t.Errorf("ParsePeriodicity(%q) = %q, want an error", tt.in, p)
		case tt.bad:
			if rampart.KindOf(err) != rampart.KindInvalid {
				t.Errorf("ParsePeriodicity(%q): error kind %s, want invalid", tt.in, rampart.KindOf(err))
			}
		case err != nil:
			t.Errorf("ParsePeriodicity(%q): %v", tt.in, err)
		case p.String() != tt.want:
			t.Errorf("ParsePeriodicity(%q) = %q, want %q", tt.in, p, tt.want)
		}
	}
}

func TestPeriodicityNext(t *testing.T) {
	t.Parallel()
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, madrid)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		period, from, want string
	}{
		{"daily", "2026-01-31 23:59", "2026-02-01 00:00"},
		{"daily", "2026-02-28 10:00", "2026-03-01 00:00"},
		{"weekly", "2026-11-22 10:00", "2026-11-23 00:00"}, // a Sunday: next Monday
		{"weekly", "2026-11-23 00:00", "2026-11-30 00:00"}, // a Monday at midnight: the week after
		{"monthly", "2026-12-15 08:00", "2027-01-01 00:00"},
		{"quarterly", "2026-02-10 08:00", "2026-04-01 00:00"},
		{"quarterly", "2026-12-31 23:00", "2027-01-01 00:00"},
		{"semi-annual", "2026-03-01 00:00", "2026-07-01 00:00"},
		{"semi-annual", "2026-07-01 00:00", "2027-01-01 00:00"},
		{"yearly", "2026-06-01 00:00", "2027-01-01 00:00"},
		// Across the spring change (2026-03-29 02:00 -> 03:00): midnight is midnight.
		{"daily", "2026-03-28 12:00", "2026-03-29 00:00"},
		{"daily", "2026-03-29 12:00", "2026-03-30 00:00"},
		{"0 6 * * 1", "2026-11-22 10:00", "2026-11-23 06:00"},
		{"30 1 31 * *", "2026-02-01 00:00", "2026-03-31 01:30"}, // February has no 31st
		{"0 0 1 1,7 *", "2026-02-01 00:00", "2026-07-01 00:00"},
		{"15 2 * * *", "2026-03-28 03:00", "2026-03-30 02:15"}, // 02:15 does not exist on the 29th
		{"*/20 * * * *", "2026-05-05 10:41", "2026-05-05 11:00"},
		{"0 12 13 * 5", "2026-11-01 00:00", "2026-11-06 12:00"}, // day-of-month OR day-of-week
	} {
		p := rampart.MustPeriodicity(tt.period)
		if got := p.Next(at(tt.from)); !got.Equal(at(tt.want)) {
			t.Errorf("%s.Next(%s) = %s, want %s", tt.period, tt.from, got.Format("2006-01-02 15:04 MST"), tt.want)
		}
	}
}

// TestCronRepeatedHour checks that in the hour the autumn clock change
// repeats, a cron time runs once: 02:30 happens at CEST and again at CET.
func TestCronRepeatedHour(t *testing.T) {
	t.Parallel()
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	p := rampart.MustPeriodicity("30 2 * * *")
	// A run at 02:30 CEST, the first of the two 02:30s of 2026-10-25.
	first := time.Date(2026, 10, 25, 0, 0, 0, 0, madrid).Add(150 * time.Minute)
	if _, off := first.Zone(); off != 2*3600 {
		t.Fatalf("fixture %s is not the CEST 02:30", first)
	}
	next := p.Next(first)
	if next.Day() != 26 || next.Hour() != 2 || next.Minute() != 30 {
		t.Errorf("after %s the next run is %s, want 2026-10-26 02:30 (the repeated hour runs once)", first, next)
	}
}

func TestPeriodicityDue(t *testing.T) {
	t.Parallel()
	day := rampart.MustPeriodicity("daily")
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		last time.Time
		want bool
	}{
		{"never run", time.Time{}, true},
		{"ran this morning", now.Add(-time.Hour), false},
		{"ran yesterday", now.Add(-24 * time.Hour), true},
		{"ran ten days ago: due, once", now.Add(-240 * time.Hour), true},
	} {
		if got := day.Due(tt.last, now); got != tt.want {
			t.Errorf("%s: Due = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (rampart.Periodicity{}).Due(time.Time{}, now) {
		t.Error("an unset periodicity is never due")
	}
}

func FuzzParsePeriodicity(f *testing.F) {
	for _, s := range []string{"daily", "0 6 * * 1", "*/5 1-3 1,15 jan-mar mon", "cron: 59 23 31 12 7", "7 7 7 7 7 7"} {
		f.Add(s)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := rampart.ParsePeriodicity(s)
		if err != nil {
			return
		}
		q, err := rampart.ParsePeriodicity(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("%q parses to %q, which does not parse back to itself: %v", s, p, err)
		}
		if next := p.Next(from); !next.IsZero() && !next.After(from) {
			t.Fatalf("%q: Next(%s) = %s is not later", s, from, next)
		}
	})
}
