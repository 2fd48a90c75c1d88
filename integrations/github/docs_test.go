package github_test

import (
	"os"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/integrations/github"
)

// TestEveryCheckIsDocumented: docs/integrations/github-org.md names every
// check but the GH-FILES- ones, which it documents as a family.
func TestEveryCheckIsDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/integrations/github-org.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range github.Checks() {
		if strings.HasPrefix(c.ID, "GH-FILES-") {
			continue
		}
		if !strings.Contains(doc, "`"+c.ID+"`") {
			t.Errorf("docs/integrations/github-org.md does not document %s", c.ID)
		}
	}
	for _, s := range github.FileScanners {
		if !strings.Contains(doc, "`"+s+"`") {
			t.Errorf("docs/integrations/github-org.md does not name the file scanner %s", s)
		}
	}
}
