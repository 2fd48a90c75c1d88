package integrations_test

import (
	"os"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations"
)

// folderKinds maps each integration folder to the kind it serves.
var folderKinds = map[string]rampart.Kind{
	"tlsendpoint": "tls-endpoint",
	"server":      "server",
	"gitrepo":     "git-repo",
	"kubernetes":  "kubernetes-cluster",
	"github":      "github-org",
	"argocd":      "argocd",
}

func TestEveryFolderIsListed(t *testing.T) {
	t.Parallel()
	listed := map[rampart.Kind]bool{}
	for _, in := range integrations.All() {
		if listed[in.Kind] {
			t.Errorf("kind %s listed twice", in.Kind)
		}
		listed[in.Kind] = true
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "testdata" {
			continue
		}
		kind, ok := folderKinds[e.Name()]
		if !ok {
			t.Errorf("folder integrations/%s is not in folderKinds: add its integration to All() and to this table", e.Name())
			continue
		}
		if !listed[kind] {
			t.Errorf("folder integrations/%s (kind %s) is missing from integrations.All()", e.Name(), kind)
		}
	}
}

// TestCatalogAcceptsEveryCheck loads the embedded catalog with every
// built-in check: each check's metadata is complete and names controls
// that exist, and no two checks share an id.
func TestCatalogAcceptsEveryCheck(t *testing.T) {
	t.Parallel()
	var checks []*rampart.Check
	seen := map[string]bool{}
	for _, in := range integrations.All() {
		for _, c := range in.Checks {
			if seen[c.ID] {
				t.Errorf("check id %s used twice", c.ID)
			}
			seen[c.ID] = true
			if c.Kind != in.Kind {
				t.Errorf("check %s has kind %s inside integration %s", c.ID, c.Kind, in.Kind)
			}
			checks = append(checks, c)
		}
	}
	if _, err := catalog.Load(checks); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationsDescribeThemselves(t *testing.T) {
	t.Parallel()
	for _, in := range integrations.All() {
		if in.Kind == "" || in.Title == "" || in.Doc == "" || in.NewCollector == nil || len(in.Checks) == 0 {
			t.Errorf("integration %q lacks kind, title, doc, collector or checks", in.Kind)
		}
	}
}

// TestControlKindsExist checks that every resource kind the catalog's
// manual reviews name is a kind the register accepts: an integration's or
// an inventory kind.
func TestControlKindsExist(t *testing.T) {
	t.Parallel()
	known := map[rampart.Kind]bool{}
	for _, in := range integrations.All() {
		known[in.Kind] = true
	}
	for _, k := range rampart.InventoryKinds {
		if known[k] {
			t.Errorf("kind %s is both an integration's and an inventory kind", k)
		}
		known[k] = true
	}
	cat, err := catalog.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat.Controls {
		for _, k := range c.Kinds {
			if !known[k] {
				t.Errorf("control %s names kind %q, which the register does not accept", c.ID, k)
			}
		}
	}
}
