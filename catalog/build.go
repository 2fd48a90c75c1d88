package catalog

import (
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// builder merges control files in order and remembers, for each control
// field, the position it was last set at, so that a problem found after
// merging points at the line that caused it.
type builder struct {
	cat     *Catalog
	areaPos map[string]rampart.Position
	entries map[string]*entry
	order   []*entry
}

type entry struct {
	ctl *rampart.Control
	// set holds, by field name, where the field was last set.
	set map[string]field
}

func newBuilder(b *base) *builder {
	cat := &Catalog{}
	for _, fw := range b.frameworks {
		cp := *fw
		cp.Criteria = slices.Clone(fw.Criteria)
		cat.Frameworks = append(cat.Frameworks, &cp)
	}
	for _, g := range b.groups {
		g.Criteria = slices.Clone(g.Criteria)
		cat.Groups = append(cat.Groups, g)
	}
	return &builder{cat: cat, areaPos: map[string]rampart.Position{}, entries: map[string]*entry{}}
}

func (b *builder) apply(f *controlFile) {
	for _, p := range f.areas {
		i := slices.IndexFunc(b.cat.Areas, func(a rampart.Area) bool { return a.ID == p.id })
		if i < 0 {
			b.cat.Areas = append(b.cat.Areas, rampart.Area{ID: p.id})
			i = len(b.cat.Areas) - 1
			b.areaPos[p.id] = p.pos
		}
		if t, ok := p.fields["title"]; ok {
			b.cat.Areas[i].Title = t.str
			b.areaPos[p.id] = t.pos
		}
	}
	for _, p := range f.controls {
		e := b.entries[p.id]
		if e == nil {
			e = &entry{ctl: &rampart.Control{ID: p.id, Source: p.pos}, set: map[string]field{}}
			b.entries[p.id] = e
			b.order = append(b.order, e)
		}
		for name, v := range p.fields {
			e.set[name] = v
			c := e.ctl
			switch name {
			case "title":
				c.Title = v.str
			case "statement":
				c.Statement = v.str
			case "area":
				c.Area = v.str
			case "owner":
				c.Owner = v.str
			case "procedure":
				c.Procedure = v.str
			case "periodicity":
				// Parsed once already, when the file was read; a null
				// value leaves it unset for validation to report.
				c.Periodicity, _ = rampart.ParsePeriodicity(v.str)
			case "criteria":
				c.Criteria = slices.Clone(v.list)
			case "kinds":
				c.Kinds = make([]rampart.Kind, len(v.list))
				for i, k := range v.list {
					c.Kinds[i] = rampart.Kind(k)
				}
			}
		}
	}
}

// finish wires the checks to their controls, validates everything and
// builds the indexes.
func (b *builder) finish(checks []*rampart.Check) (*Catalog, error) {
	cat := b.cat
	for _, e := range b.order {
		cat.Controls = append(cat.Controls, e.ctl)
	}
	cat.Checks = slices.Clone(checks)

	var ps problems
	b.validateFrameworks(&ps)
	b.validateAreas(&ps)
	b.wireChecks(&ps)
	b.validateControls(&ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	cat.index()
	return cat, nil
}

func (b *builder) validateFrameworks(ps *problems) {
	seen := map[string]string{}
	for _, fw := range b.cat.Frameworks {
		where := rampart.Position{File: embeddedDir + fw.ID + ".yaml"}
		if fw.ID == "" || fw.Name == "" {
			ps.add(where, "framework lacks an id or a name")
		}
		for _, cr := range fw.Criteria {
			if prev, dup := seen[cr.ID]; dup {
				ps.add(where, "criterion %s is defined twice (also in %s)", cr.ID, prev)
			}
			seen[cr.ID] = fw.ID
			if cr.Title == "" || cr.Category == "" {
				ps.add(where, "criterion %s lacks a title or a category", cr.ID)
			}
		}
	}
}

func (b *builder) validateAreas(ps *problems) {
	for _, a := range b.cat.Areas {
		if a.Title == "" {
			ps.add(b.areaPos[a.ID], "area %s has no title", a.ID)
		}
	}
}

// wireChecks fills Control.Checks from the checks' own Controls lists.
func (b *builder) wireChecks(ps *problems) {
	seen := map[string]bool{}
	for i, ch := range b.cat.Checks {
		if ch == nil {
			ps.add(rampart.Position{}, "check #%d is nil", i)
			continue
		}
		if seen[ch.ID] {
			ps.add(rampart.Position{}, "check %s is declared twice", ch.ID)
			continue
		}
		seen[ch.ID] = true
		if err := rampart.ValidateCheck(ch); err != nil {
			ps.add(rampart.Position{}, "%v", err)
		}
		for _, id := range ch.Controls {
			e := b.entries[id]
			if e == nil {
				ps.add(rampart.Position{}, "check %s names control %q, which is not in the catalog", ch.ID, id)
				continue
			}
			if !slices.Contains(e.ctl.Checks, ch.ID) {
				e.ctl.Checks = append(e.ctl.Checks, ch.ID)
			}
		}
	}
	for _, e := range b.order {
		slices.Sort(e.ctl.Checks)
	}
}

var kindPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (b *builder) validateControls(ps *problems) {
	criteria := map[string]bool{}
	var frameworkIDs []string
	for _, fw := range b.cat.Frameworks {
		frameworkIDs = append(frameworkIDs, fw.ID)
		for _, cr := range fw.Criteria {
			criteria[cr.ID] = true
		}
	}
	areas := map[string]bool{}
	for _, a := range b.cat.Areas {
		areas[a.ID] = true
	}
	for _, e := range b.order {
		c := e.ctl
		at := func(name string) rampart.Position {
			if f, ok := e.set[name]; ok {
				return f.pos
			}
			return c.Source
		}
		var missing []string
		for _, f := range []struct {
			name  string
			unset bool
		}{
			{"title", c.Title == ""},
			{"statement", c.Statement == ""},
			{"area", c.Area == ""},
			{"criteria", len(c.Criteria) == 0},
			{"periodicity", c.Periodicity.IsZero()},
			{"owner", c.Owner == ""},
		} {
			if f.unset {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			ps.add(c.Source, "control %s lacks %s", c.ID, strings.Join(missing, ", "))
		}
		if c.Area != "" && !areas[c.Area] {
			ps.add(at("area"), "control %s: area %q is not in the catalog (add it under `areas`)", c.ID, c.Area)
		}
		seen := map[string]bool{}
		for i, cr := range c.Criteria {
			pos := at("criteria")
			if lp := e.set["criteria"].listPos; i < len(lp) {
				pos = lp[i]
			}
			switch {
			case !criteria[cr]:
				ps.add(pos, "control %s: criterion %q is not in any framework (%s)", c.ID, cr, strings.Join(frameworkIDs, ", "))
			case seen[cr]:
				ps.add(pos, "control %s: criterion %s is listed twice", c.ID, cr)
			}
			seen[cr] = true
		}
		for i, k := range c.Kinds {
			pos := at("kinds")
			if lp := e.set["kinds"].listPos; i < len(lp) {
				pos = lp[i]
			}
			if !kindPattern.MatchString(string(k)) {
				ps.add(pos, "control %s: kind %q is not a resource kind (lower-case words joined by '-')", c.ID, k)
			}
		}
		if len(c.Checks) == 0 && c.Procedure == "" {
			ps.add(at("procedure"), "control %s has neither a check nor a procedure: write the review a person follows under `procedure`, or add a check that names it",
				c.ID)
		}
	}
}
