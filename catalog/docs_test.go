package catalog_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/catalog"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/catalog.md")

const (
	docsPath  = "../docs/catalog.md"
	beginMark = "<!-- BEGIN GENERATED: go test ./catalog -run TestDocs -update -->"
	endMark   = "<!-- END GENERATED -->"
)

// TestDocs keeps the tables of docs/catalog.md true to the embedded
// catalog.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), beginMark)
	_, after, ok2 := strings.Cut(rest, endMark)
	if !ok || !ok2 {
		t.Fatalf("%s lacks the %q and %q markers", docsPath, beginMark, endMark)
	}
	want := before + beginMark + "\n" + generatedTables(embedded(t)) + endMark + after
	if want == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the embedded catalog: run go test ./catalog -run TestDocs -update", docsPath)
}

func generatedTables(c *catalog.Catalog) string {
	var b strings.Builder
	soc2, iso := c.Framework("soc2"), c.Framework("iso27001")
	covered := func(ids []string) (n int, missing []string) {
		for _, id := range ids {
			if len(c.ControlsForCriterion(id)) > 0 {
				n++
			} else {
				missing = append(missing, id)
			}
		}
		return n, missing
	}
	var soc2IDs, isoIDs []string
	for _, cr := range soc2.Criteria {
		soc2IDs = append(soc2IDs, cr.ID)
	}
	for _, cr := range iso.Criteria {
		isoIDs = append(isoIDs, cr.ID)
	}
	nSOC2, missSOC2 := covered(soc2IDs)
	nISO, missISO := covered(isoIDs)

	fmt.Fprintf(&b, "\n%d controls in %d areas. They support %d of the %d SOC 2 criteria and %d of the %d ISO/IEC 27001:2022 Annex A controls.\n\n",
		len(c.Controls), len(c.Areas), nSOC2, len(soc2IDs), nISO, len(isoIDs))

	b.WriteString("### Areas\n\n| Area | Title | Controls |\n|---|---|---:|\n")
	for _, a := range c.Areas {
		fmt.Fprintf(&b, "| `%s` | %s | %d |\n", a.ID, a.Title, len(c.ControlsInArea(a.ID)))
	}

	b.WriteString("\n### Controls\n\n| Control | Title | Area | Periodicity | Owner | SOC 2 | ISO 27001 |\n|---|---|---|---|---|---|---|\n")
	for _, ctl := range c.Controls {
		var s, i []string
		for _, id := range ctl.Criteria {
			if cr, _ := c.Criterion(id); cr.Framework == "soc2" {
				s = append(s, id)
			} else {
				i = append(i, id)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %s | %s |\n",
			ctl.ID, ctl.Title, ctl.Area, ctl.Periodicity, ctl.Owner, strings.Join(s, ", "), strings.Join(i, ", "))
	}

	b.WriteString("\n### Criteria no control supports yet\n\n")
	fmt.Fprintf(&b, "SOC 2 (%d): %s.\n\n", len(missSOC2), strings.Join(missSOC2, ", "))
	fmt.Fprintf(&b, "ISO/IEC 27001:2022 Annex A (%d): %s.\n\n", len(missISO), strings.Join(missISO, ", "))
	return b.String()
}
