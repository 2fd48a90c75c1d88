package catalog_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// FuzzLoadSources feeds arbitrary user control files to the loader: it
// must never panic, must classify every failure as invalid input, and a
// file it accepts must leave a catalog whose invariants hold.
func FuzzLoadSources(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "data/controls.yaml", "data/areas.yaml")
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"controls:\n  - id: GH-01\n    owner: x\n",
		"controls:\n  - {id: A, title: t, statement: s, area: it, criteria: [CC1.1], periodicity: daily, owner: o, procedure: p}\n",
		"controls:\n  - id: GH-01\n    criteria: [CC6.9]\n",
		"x-a: &a [CC6.1]\ncontrols: [{id: GH-01, criteria: *a}]\n",
		"controls: *a\n",
		"areas: [{id: new, title: New}]\n",
		"controls:\n  - id: GH-01\n    periodicity: \"*/5 * * * *\"\n",
		"{controls: [[]]}",
		"--- \n...\n",
	} {
		f.Add([]byte(s))
	}
	check := fakeCheck("FUZZ-CHECK", "GH-01")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.LoadSources([]*rampart.Check{check}, catalog.Source{Name: "fuzz.yaml", Data: data})
		if err != nil {
			if k := rampart.KindOf(err); k != rampart.KindInvalid {
				t.Fatalf("error of kind %s: %v", k, err)
			}
			return
		}
		for _, ctl := range c.Controls {
			if c.Control(ctl.ID) != ctl {
				t.Fatalf("control %s not found by id", ctl.ID)
			}
			if c.Area(ctl.Area) == nil {
				t.Fatalf("control %s in unknown area %q", ctl.ID, ctl.Area)
			}
			for _, cr := range ctl.Criteria {
				if _, ok := c.Criterion(cr); !ok {
					t.Fatalf("control %s maps to unknown criterion %q", ctl.ID, cr)
				}
			}
			if ctl.Periodicity.IsZero() || ctl.Owner == "" || ctl.Title == "" {
				t.Fatalf("control %s incomplete: %+v", ctl.ID, ctl)
			}
			if !ctl.Manual() && !ctl.Automated() {
				t.Fatalf("control %s has neither checks nor a procedure", ctl.ID)
			}
		}
		if got := c.Control("GH-01").Checks; len(got) != 1 || got[0] != "FUZZ-CHECK" {
			t.Fatalf("GH-01 checks = %v", got)
		}
	})
}
