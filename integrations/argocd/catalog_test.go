package argocd_test

import (
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations/argocd"
)

// The embedded catalog accepts every check: metadata complete, controls
// that exist, no id twice; and the descriptor is complete, as the
// integration list's own test will require.
func TestCatalogAcceptsChecks(t *testing.T) {
	t.Parallel()
	in := argocd.Integration
	if in.Kind == "" || in.Title == "" || in.Doc == "" || in.NewCollector == nil || in.NewSpec == nil || len(in.Checks) == 0 {
		t.Fatal("the descriptor lacks kind, title, doc, spec, collector or checks")
	}
	for _, c := range in.Checks {
		if c.Kind != in.Kind {
			t.Errorf("check %s has kind %s", c.ID, c.Kind)
		}
	}
	if _, err := catalog.Load(in.Checks); err != nil {
		t.Fatal(err)
	}
	if in.NewCollector(rampart.Env{}) == nil {
		t.Error("NewCollector returned nil")
	}
}
