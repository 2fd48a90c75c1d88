package rampart

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Periodicity says how often a control is due: one of the named calendar
// periods or a five-field cron expression. Named periods start at local
// midnight of their first day (weeks on Monday, quarters in January, April,
// July and October, half-years in January and July).
type Periodicity struct {
	name string
	cron *cronSpec
}

// Named periodicities.
const (
	Daily      = "daily"
	Weekly     = "weekly"
	Monthly    = "monthly"
	Quarterly  = "quarterly"
	SemiAnnual = "semi-annual"
	Yearly     = "yearly"
)

// PeriodicityNames lists the named periodicities, shortest first.
func PeriodicityNames() []string {
	return []string{Daily, Weekly, Monthly, Quarterly, SemiAnnual, Yearly}
}

// ParsePeriodicity reads a named periodicity or a cron expression, written
// either bare ("0 6 * * 1") or as "cron: 0 6 * * 1".
func ParsePeriodicity(s string) (Periodicity, error) {
	s = strings.TrimSpace(s)
	for _, n := range PeriodicityNames() {
		if strings.EqualFold(s, n) {
			return Periodicity{name: n}, nil
		}
	}
	switch strings.ToLower(s) {
	case "semiannual", "semi-annually", "six-monthly", "half-yearly":
		return Periodicity{name: SemiAnnual}, nil
	case "annual", "annually":
		return Periodicity{name: Yearly}, nil
	}
	expr := strings.TrimSpace(strings.TrimPrefix(s, "cron:"))
	if len(strings.Fields(expr)) == 5 {
		c, err := parseCron(expr)
		if err != nil {
			return Periodicity{}, Errorf(KindInvalid, "cron expression %q: %v", expr, err)
		}
		return Periodicity{name: "cron: " + strings.Join(strings.Fields(expr), " "), cron: c}, nil
	}
	return Periodicity{}, Errorf(KindInvalid, "unknown periodicity %q (want %s, or a cron expression such as \"0 6 * * 1\")",
		s, strings.Join(PeriodicityNames(), ", "))
}

// MustPeriodicity is ParsePeriodicity for constants known to be valid.
func MustPeriodicity(s string) Periodicity {
	p, err := ParsePeriodicity(s)
	if err != nil {
		panic(err)
	}
	return p
}

// IsZero reports whether p is unset.
func (p Periodicity) IsZero() bool { return p.name == "" }

func (p Periodicity) String() string { return p.name }

// MarshalText implements encoding.TextMarshaler.
func (p Periodicity) MarshalText() ([]byte, error) { return []byte(p.name), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Periodicity) UnmarshalText(b []byte) error {
	v, err := ParsePeriodicity(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Next returns the first period start strictly after t, in t's location.
func (p Periodicity) Next(t time.Time) time.Time {
	loc := t.Location()
	y, m, d := t.Date()
	switch p.name {
	case Daily:
		return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case Weekly:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd+7, 0, 0, 0, 0, loc)
	case Monthly:
		return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	case Quarterly:
		q := (int(m) - 1) / 3
		return time.Date(y, time.Month(q*3+4), 1, 0, 0, 0, 0, loc)
	case SemiAnnual:
		h := (int(m) - 1) / 6
		return time.Date(y, time.Month(h*6+7), 1, 0, 0, 0, 0, loc)
	case Yearly:
		return time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	}
	if p.cron != nil {
		return p.cron.next(t)
	}
	return time.Time{}
}

// Due reports whether work last done at last is due again at now: never
// done, or a period started since. However long the gap, it is due once.
func (p Periodicity) Due(last, now time.Time) bool {
	if p.IsZero() {
		return false
	}
	if last.IsZero() {
		return true
	}
	return !p.Next(last.In(now.Location())).After(now)
}

// cronSpec is a parsed five-field cron expression (minute hour day-of-month
// month day-of-week), each field a bit set.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
}

var cronFields = []struct {
	name     string
	min, max int
	names    []string
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

func parseCron(expr string) (*cronSpec, error) {
	f := strings.Fields(expr)
	sets := make([]uint64, 5)
	for i, field := range f {
		spec := cronFields[i]
		set, err := parseCronField(field, spec.min, spec.max, spec.names)
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %w", spec.name, field, err)
		}
		sets[i] = set
	}
	if sets[4]&(1<<7) != 0 { // 7 is Sunday too
		sets[4] |= 1
	}
	return &cronSpec{
		minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: sets[4],
		domStar: f[2] == "*" || f[2] == "?", dowStar: f[4] == "*" || f[4] == "?",
	}, nil
}

func parseCronField(field string, lo, hi int, names []string) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(field, ",") {
		step := 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("bad step %q", part[i+1:])
			}
			step = n
			part = part[:i]
		}
		from, to := lo, hi
		switch {
		case part == "*" || part == "?":
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			var err error
			if from, err = cronValue(a, lo, hi, names); err != nil {
				return 0, err
			}
			if to, err = cronValue(b, lo, hi, names); err != nil {
				return 0, err
			}
			if from > to {
				return 0, fmt.Errorf("range %s is backwards", part)
			}
		default:
			v, err := cronValue(part, lo, hi, names)
			if err != nil {
				return 0, err
			}
			from, to = v, v
			if step > 1 {
				to = hi
			}
		}
		for v := from; v <= to; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func cronValue(s string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i + lo, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d is outside %d-%d", v, lo, hi)
	}
	return v, nil
}

// next finds the first matching minute after t, searching at most five
// years ahead (an expression such as "0 0 30 2 *" never matches).
func (c *cronSpec) next(t time.Time) time.Time {
	loc := t.Location()
	// Cron reads the wall clock: in the hour a clock change repeats, a
	// minute that matched before the change must not match again after
	// it, so a candidate must be later on the wall clock, not only in
	// absolute time.
	from := wallMinute(t)
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		if c.month&(1<<uint(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !c.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
			continue
		}
		if c.hour&(1<<uint(t.Hour())) == 0 {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
			continue
		}
		if c.minute&(1<<uint(t.Minute())) == 0 || wallMinute(t) <= from {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

// wallMinute numbers a time's wall-clock minute in its own location, so
// that wall-clock times compare whatever their offset.
func wallMinute(t time.Time) int64 {
	y, m, d := t.Date()
	return ((int64(y)*13+int64(m))*32+int64(d))*1440 + int64(t.Hour()*60+t.Minute())
}

// dayMatches follows cron's rule: when both day fields are restricted, a day
// matching either one matches.
func (c *cronSpec) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<uint(t.Day())) != 0
	dow := c.dow&(1<<uint(t.Weekday())) != 0
	switch {
	case c.domStar && c.dowStar:
		return true
	case c.domStar:
		return dow
	case c.dowStar:
		return dom
	default:
		return dom || dow
	}
}
