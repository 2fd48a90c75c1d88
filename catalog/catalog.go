// Package catalog holds Rampart's control catalog: the frameworks whose
// criteria controls map to (SOC 2 Trust Services Criteria, ISO/IEC
// 27001:2022 Annex A), the areas of the register's index, and the company's
// controls, all embedded as YAML. Load merges the user's own control files
// over the embedded ones, derives each control's checks from the checks
// that name it, and validates the whole before anyone relies on it.
package catalog

import (
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Catalog is a loaded, validated catalog with its lookups. Treat it as
// read-only: its indexes are built once, by Load.
type Catalog struct {
	Frameworks []*rampart.Framework
	Areas      []rampart.Area
	Controls   []*rampart.Control
	Checks     []*rampart.Check

	// Groups are the frameworks' criteria groups ("CC6 Logical and
	// physical access", "A.8 Technological controls"), in framework order.
	Groups []Group

	controls   map[string]*rampart.Control
	checks     map[string]*rampart.Check
	criteria   map[string]rampart.Criterion
	groupOf    map[string]Group
	areas      map[string]*rampart.Area
	byCriteria map[string][]*rampart.Control
}

// Group is a set of criteria of one framework that belong together: a
// SOC 2 series (CC1 "Control environment", P4 "Use, retention and
// disposal") or an ISO Annex A theme. Rampart's domain Criterion carries
// the category only; reports that want the series name ask the catalog.
type Group struct {
	Framework string `json:"framework"`
	ID        string `json:"id"` // "CC6", "A.8"
	Title     string `json:"title"`
	Category  string `json:"category"`
	// Criteria lists the group's criterion ids in order.
	Criteria []string `json:"criteria"`
}

// String renders a group for menus: "CC6 Logical and physical access".
func (g Group) String() string { return g.ID + " " + g.Title }

// Control returns the control with id, or nil.
func (c *Catalog) Control(id string) *rampart.Control { return c.controls[id] }

// Check returns the check with id, or nil.
func (c *Catalog) Check(id string) *rampart.Check { return c.checks[id] }

// Criterion returns the criterion with id, whatever its framework.
func (c *Catalog) Criterion(id string) (rampart.Criterion, bool) {
	cr, ok := c.criteria[id]
	return cr, ok
}

// GroupOf returns the group of the criterion with id.
func (c *Catalog) GroupOf(criterionID string) (Group, bool) {
	g, ok := c.groupOf[criterionID]
	return g, ok
}

// Framework returns the framework with id ("soc2", "iso27001"), or nil.
func (c *Catalog) Framework(id string) *rampart.Framework {
	for _, f := range c.Frameworks {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// Area returns the area with id, or nil.
func (c *Catalog) Area(id string) *rampart.Area { return c.areas[id] }

// ControlsForCriterion returns the controls that support the criterion, in
// catalog order.
func (c *Catalog) ControlsForCriterion(id string) []*rampart.Control {
	return slices.Clone(c.byCriteria[id])
}

// ControlsInArea returns the controls of the area and of the areas under
// it: "infrastructure" holds those of "infrastructure/ceph" too, while
// "infra" holds nothing.
func (c *Catalog) ControlsInArea(id string) []*rampart.Control {
	var out []*rampart.Control
	for _, ctl := range c.Controls {
		if InArea(ctl.Area, id) {
			out = append(out, ctl)
		}
	}
	return out
}

// InArea reports whether area is parent or lies under it, segment by
// segment.
func InArea(area, parent string) bool {
	return area == parent || strings.HasPrefix(area, parent+"/")
}

// AreaOfCheck returns the area of the check's first control, or "" for an
// unknown check.
func (c *Catalog) AreaOfCheck(checkID string) string {
	ch := c.checks[checkID]
	if ch == nil || len(ch.Controls) == 0 {
		return ""
	}
	if ctl := c.controls[ch.Controls[0]]; ctl != nil {
		return ctl.Area
	}
	return ""
}

// ChecksOfControl returns the checks that evidence the control, sorted by
// id.
func (c *Catalog) ChecksOfControl(id string) []*rampart.Check {
	ctl := c.controls[id]
	if ctl == nil {
		return nil
	}
	out := make([]*rampart.Check, 0, len(ctl.Checks))
	for _, chID := range ctl.Checks {
		out = append(out, c.checks[chID])
	}
	return out
}

// index builds the lookups; the catalog has been validated, so ids are
// unique.
func (c *Catalog) index() {
	c.controls = make(map[string]*rampart.Control, len(c.Controls))
	for _, ctl := range c.Controls {
		c.controls[ctl.ID] = ctl
	}
	c.checks = make(map[string]*rampart.Check, len(c.Checks))
	for _, ch := range c.Checks {
		c.checks[ch.ID] = ch
	}
	c.criteria = map[string]rampart.Criterion{}
	for _, f := range c.Frameworks {
		for _, cr := range f.Criteria {
			c.criteria[cr.ID] = cr
		}
	}
	c.groupOf = map[string]Group{}
	for _, g := range c.Groups {
		for _, id := range g.Criteria {
			c.groupOf[id] = g
		}
	}
	c.areas = make(map[string]*rampart.Area, len(c.Areas))
	for i := range c.Areas {
		c.areas[c.Areas[i].ID] = &c.Areas[i]
	}
	c.byCriteria = map[string][]*rampart.Control{}
	for _, ctl := range c.Controls {
		for _, cr := range ctl.Criteria {
			c.byCriteria[cr] = append(c.byCriteria[cr], ctl)
		}
	}
}
