package engine

import (
	"slices"
	"sort"
	"time"

	"github.com/rampart-dev/rampart"
)

// Job is one resource to scan: its integration and the checks of its kind.
type Job struct {
	Resource    *rampart.Resource
	Integration *rampart.Integration
	// Checks are the checks of the resource's kind, built-in and CEL,
	// sorted by id.
	Checks []*rampart.Check
}

// Filter narrows a scan; empty fields match everything.
type Filter struct {
	CheckIDs    []string
	ResourceIDs []string
}

// Plan pairs each resource with its kind's integration and checks. Resources
// of a kind no integration collects (the inventory kinds, whose controls are
// evidenced by reviews) get no job and are returned as inventory; so are
// resources whose kind has an integration but no check. Resources whose
// checks the filter leaves out entirely are neither. Jobs keep the order of
// resources.
func Plan(resources []*rampart.Resource, integrations []*rampart.Integration, checks []*rampart.Check, f Filter) (jobs []Job, inventory []*rampart.Resource) {
	byKind := map[rampart.Kind]*rampart.Integration{}
	for _, in := range integrations {
		byKind[in.Kind] = in
	}
	kindChecks := map[rampart.Kind][]*rampart.Check{}
	for _, c := range checks {
		kindChecks[c.Kind] = append(kindChecks[c.Kind], c)
	}
	for k := range kindChecks {
		sort.SliceStable(kindChecks[k], func(i, j int) bool { return kindChecks[k][i].ID < kindChecks[k][j].ID })
	}
	for _, r := range resources {
		if len(f.ResourceIDs) > 0 && !slices.Contains(f.ResourceIDs, r.ID) {
			continue
		}
		in := byKind[r.Kind]
		all := kindChecks[r.Kind]
		if in == nil || len(all) == 0 {
			inventory = append(inventory, r)
			continue
		}
		var cs []*rampart.Check
		for _, c := range all {
			if len(f.CheckIDs) == 0 || slices.Contains(f.CheckIDs, c.ID) {
				cs = append(cs, c)
			}
		}
		if len(cs) == 0 {
			continue
		}
		jobs = append(jobs, Job{Resource: r, Integration: in, Checks: cs})
	}
	return jobs, inventory
}

// DueItem is one control due for one resource, or for the whole estate when
// the control names no resource kinds.
type DueItem struct {
	Control *rampart.Control
	// Resource is nil for a control reviewed once for the estate.
	Resource    *rampart.Resource
	Periodicity rampart.Periodicity
	// Last is when the control was last done for the resource; zero when
	// never.
	Last time.Time
}

// Due lists what is due at now: each control for each resource of the
// kinds it covers, at the resource's periodicity for it (its override or
// the control's default), or once for a control that covers no kinds. last
// says when a control was last done for a resource (resource id "" for the
// estate-wide item); zero means never. However long ago that was, an item
// is due once: a scheduler that was down for ten days catches up with one
// run, not ten. Items come sorted by control, then resource.
func Due(controls []*rampart.Control, resources []*rampart.Resource, last func(controlID, resourceID string) time.Time, now time.Time) []DueItem {
	var out []DueItem
	for _, c := range controls {
		if len(c.Kinds) == 0 {
			l := last(c.ID, "")
			if c.Periodicity.Due(l, now) {
				out = append(out, DueItem{Control: c, Periodicity: c.Periodicity, Last: l})
			}
			continue
		}
		for _, r := range resources {
			if !slices.Contains(c.Kinds, r.Kind) {
				continue
			}
			p := r.PeriodicityFor(c)
			l := last(c.ID, r.ID)
			if p.Due(l, now) {
				out = append(out, DueItem{Control: c, Resource: r, Periodicity: p, Last: l})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Control.ID != out[j].Control.ID {
			return out[i].Control.ID < out[j].Control.ID
		}
		return resourceID(out[i].Resource) < resourceID(out[j].Resource)
	})
	return out
}

func resourceID(r *rampart.Resource) string {
	if r == nil {
		return ""
	}
	return r.ID
}
