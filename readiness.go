package rampart

import "sort"

// ControlStatus is a control's state rolled up from its checks' latest
// results across every resource.
type ControlStatus struct {
	ControlID string `json:"control_id"`
	// Status is the worst of its results; StatusNotApplicable when no
	// result exists (a manual control, or no resource of the kind).
	Status Status `json:"status"`
	Pass   int    `json:"pass"`
	Fail   int    `json:"fail"`
	Errors int    `json:"errors"`
}

// ControlStatuses rolls the latest results up to every control.
func ControlStatuses(controls []*Control, latest []Result) map[string]ControlStatus {
	byCheck := map[string][]*Control{}
	out := make(map[string]ControlStatus, len(controls))
	for _, c := range controls {
		out[c.ID] = ControlStatus{ControlID: c.ID, Status: StatusNotApplicable}
		for _, ch := range c.Checks {
			byCheck[ch] = append(byCheck[ch], c)
		}
	}
	for _, r := range latest {
		for _, c := range byCheck[r.CheckID] {
			s := out[c.ID]
			switch r.Status {
			case StatusPass:
				s.Pass++
			case StatusFail:
				s.Fail++
			case StatusError:
				s.Errors++
			}
			s.Status = Worst(s.Status, r.Status)
			out[c.ID] = s
		}
	}
	return out
}

// Readiness is the share of evaluated controls that pass, for one group of
// controls (a criterion, an area, a category).
type Readiness struct {
	Key      string `json:"key"`
	Title    string `json:"title,omitempty"`
	Controls int    `json:"controls"`
	Passing  int    `json:"passing"`
	Failing  int    `json:"failing"`
	Errored  int    `json:"errored"`
	// NotEvaluated counts controls without automated results (manual ones
	// and those with no resource of their kind).
	NotEvaluated int `json:"not_evaluated"`
	// Percent is Passing over the evaluated controls, 0 when none was.
	Percent float64 `json:"percent"`
}

// ReadinessBy groups controls by the keys keyFn gives each (a control
// supports several criteria, so it may count in several groups) and sums
// their statuses. Groups come sorted by key.
func ReadinessBy(controls []*Control, statuses map[string]ControlStatus, keyFn func(*Control) []string) []Readiness {
	groups := map[string]*Readiness{}
	for _, c := range controls {
		for _, k := range keyFn(c) {
			g := groups[k]
			if g == nil {
				g = &Readiness{Key: k}
				groups[k] = g
			}
			g.Controls++
			switch statuses[c.ID].Status {
			case StatusPass:
				g.Passing++
			case StatusFail:
				g.Failing++
			case StatusError:
				g.Errored++
			default:
				g.NotEvaluated++
			}
		}
	}
	out := make([]Readiness, 0, len(groups))
	for _, g := range groups {
		if ev := g.Passing + g.Failing + g.Errored; ev > 0 {
			g.Percent = 100 * float64(g.Passing) / float64(ev)
		}
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
