package argocd_test

import (
	"os"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/integrations/argocd"
)

// TestEveryCheckIsDocumented: docs/integrations/argocd.md names every check.
func TestEveryCheckIsDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/integrations/argocd.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range argocd.Checks() {
		if !strings.Contains(string(b), "`"+c.ID+"`") {
			t.Errorf("docs/integrations/argocd.md does not document %s", c.ID)
		}
	}
}
