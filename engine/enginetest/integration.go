package enginetest

import (
	"context"
	"sync/atomic"

	"github.com/rampart-dev/rampart"
)

// Integration is a fake integration: its collector calls Collect and
// counts its calls, how many ran at once, and how many collectors were
// built.
type Integration struct {
	Kind    rampart.Kind
	Collect func(ctx context.Context, r *rampart.Resource) (rampart.Facts, error)
	Checks  []*rampart.Check

	built, calls, running, maxRunning atomic.Int64
}

// Descriptor returns the integration as the engine takes it.
func (f *Integration) Descriptor() *rampart.Integration {
	return &rampart.Integration{
		Kind:  f.Kind,
		Title: "fake " + string(f.Kind),
		Doc:   "A fake integration for tests.",
		NewCollector: func(rampart.Env) rampart.Collector {
			f.built.Add(1)
			return rampart.CollectorFunc(f.collect)
		},
		Checks: f.Checks,
	}
}

func (f *Integration) collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	f.calls.Add(1)
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxRunning.Load()
		if n <= m || f.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
	return f.Collect(ctx, r)
}

// Calls reports how many times Collect was called.
func (f *Integration) Calls() int { return int(f.calls.Load()) }

// MaxInFlight reports the most Collect calls that overlapped.
func (f *Integration) MaxInFlight() int { return int(f.maxRunning.Load()) }

// Collectors reports how many collectors were built.
func (f *Integration) Collectors() int { return int(f.built.Load()) }

// Facts is a small facts document for fake integrations.
type Facts struct {
	Port  int      `json:"port"`
	Weak  []string `json:"weak,omitempty"`
	Owner string   `json:"owner,omitempty"`
}

// WeakCheck fails with one finding per entry of Facts.Weak.
func WeakCheck(id string, kind rampart.Kind, sev rampart.Severity) *rampart.Check {
	return &rampart.Check{
		ID: id, Version: 1, Title: "Nothing is weak", Severity: sev, Kind: kind,
		Controls: []string{"TEST-01"}, Remediation: "Strengthen it.", Doc: "Lists Facts.Weak.",
		Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
			var fs []rampart.Finding
			for _, w := range f.Weak {
				fs = append(fs, rampart.Finding{Item: w, Message: w + " is weak"})
			}
			return rampart.Verdict(fs, "nothing is weak")
		}),
	}
}
