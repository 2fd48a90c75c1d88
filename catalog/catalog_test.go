package catalog_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// soc2IDs is every SOC 2 criterion id of the 2017 Trust Services Criteria.
var soc2IDs = []string{
	"CC1.1", "CC1.2", "CC1.3", "CC1.4", "CC1.5",
	"CC2.1", "CC2.2", "CC2.3",
	"CC3.1", "CC3.2", "CC3.3", "CC3.4",
	"CC4.1", "CC4.2",
	"CC5.1", "CC5.2", "CC5.3",
	"CC6.1", "CC6.2", "CC6.3", "CC6.4", "CC6.5", "CC6.6", "CC6.7", "CC6.8",
	"CC7.1", "CC7.2", "CC7.3", "CC7.4", "CC7.5",
	"CC8.1",
	"CC9.1", "CC9.2",
	"A1.1", "A1.2", "A1.3",
	"C1.1", "C1.2",
	"PI1.1", "PI1.2", "PI1.3", "PI1.4", "PI1.5",
	"P1.1", "P2.1", "P3.1", "P3.2", "P4.1", "P4.2", "P4.3", "P5.1", "P5.2",
	"P6.1", "P6.2", "P6.3", "P6.4", "P6.5", "P6.6", "P6.7", "P7.1", "P8.1",
}

// controlIDs is the fixed list of control ids by area, as agreed with the
// check authors: none may go missing or be renamed.
var controlIDs = map[string][]string{
	"source-control/github":     {"GH-01", "GH-02", "GH-03", "GH-04"},
	"source-control/code":       {"SC-01", "SC-02", "SC-03", "SC-04", "SC-05", "SC-06", "SC-07", "SC-08", "SC-09", "SC-10"},
	"containers/images":         {"IMG-01", "IMG-02", "IMG-03", "IMG-04"},
	"containers/helm":           {"HELM-01"},
	"cicd/github-actions":       {"GHA-01", "GHA-02", "GHA-03", "GHA-04", "GHA-05", "GHA-06", "GHA-07", "GHA-08", "GHA-09"},
	"cicd/cd":                   {"CD-01", "CD-02"},
	"infrastructure/proxmox":    {"PVE-01", "PVE-02", "PVE-03"},
	"infrastructure/ceph":       {"CEPH-01", "CEPH-02"},
	"infrastructure/cloudflare": {"CF-01", "CF-02"},
	"infrastructure/terraform":  {"TF-01", "TF-02", "TF-03"},
	"infrastructure/servers": {
		"SRV-01", "SRV-02", "SRV-03", "SRV-04", "SRV-05", "SRV-06",
		"SRV-07", "SRV-08", "SRV-09", "SRV-10", "SRV-11", "SRV-12",
	},
	"infrastructure/kubernetes": {"K8S-01", "K8S-02", "K8S-03", "K8S-04", "K8S-05", "K8S-06", "K8S-07"},
	"infrastructure/monitoring": {"MON-01", "MON-02"},
	"security/firewalls":        {"FW-01", "FW-02", "FW-03", "FW-04"},
	"security/credentials":      {"CRED-01", "CRED-02"},
	"security/backups":          {"BAK-01"},
	"security/pki":              {"PKI-01", "PKI-02", "PKI-03"},
	"people":                    {"PPL-01", "PPL-02", "PPL-03", "PPL-04", "PPL-05"},
	"processes":                 {"PROC-01", "PROC-02", "PROC-03", "PROC-04", "PROC-05", "PROC-06", "PROC-07"},
	"ops":                       {"OPS-01", "OPS-02", "OPS-03", "OPS-04", "OPS-05"},
	"it":                        {"IT-01"},
}

func embedded(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	return c
}

func TestSOC2CriteriaAreExactlyTheTSC(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	fw := c.Framework("soc2")
	if fw == nil {
		t.Fatal("no soc2 framework")
	}
	var got []string
	for _, cr := range fw.Criteria {
		got = append(got, cr.ID)
	}
	if len(soc2IDs) != 61 {
		t.Fatalf("expected list holds %d ids, want 61", len(soc2IDs))
	}
	if !slices.Equal(got, soc2IDs) {
		t.Errorf("soc2 criteria =\n%v\nwant\n%v", got, soc2IDs)
	}
	for _, cr := range fw.Criteria {
		var want string
		switch {
		case strings.HasPrefix(cr.ID, "CC"):
			want = "security"
		case strings.HasPrefix(cr.ID, "A1."):
			want = "availability"
		case strings.HasPrefix(cr.ID, "C1."):
			want = "confidentiality"
		case strings.HasPrefix(cr.ID, "PI1."):
			want = "processing integrity"
		case strings.HasPrefix(cr.ID, "P"):
			want = "privacy"
		}
		if cr.Category != want {
			t.Errorf("%s category = %q, want %q", cr.ID, cr.Category, want)
		}
	}
}

func TestSOC2Groups(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	tests := []struct{ criterion, group, title string }{
		{"CC1.1", "CC1", "Control environment"},
		{"CC6.8", "CC6", "Logical and physical access"},
		{"CC7.5", "CC7", "System operations"},
		{"CC8.1", "CC8", "Change management"},
		{"CC9.2", "CC9", "Risk mitigation"},
		{"P6.7", "P6", "Disclosure and notification"},
		{"A.8.34", "A.8", "Technological controls"},
	}
	for _, tt := range tests {
		g, ok := c.GroupOf(tt.criterion)
		if !ok || g.ID != tt.group || g.Title != tt.title {
			t.Errorf("GroupOf(%s) = %+v, %v; want %s %q", tt.criterion, g, ok, tt.group, tt.title)
		}
		if !slices.Contains(g.Criteria, tt.criterion) {
			t.Errorf("group %s does not list %s", g.ID, tt.criterion)
		}
	}
	if _, ok := c.GroupOf("CC10.1"); ok {
		t.Error("GroupOf(CC10.1) found a group")
	}
}

func TestISO27001AnnexAHas93Controls(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	fw := c.Framework("iso27001")
	if fw == nil {
		t.Fatal("no iso27001 framework")
	}
	if len(fw.Criteria) != 93 {
		t.Errorf("ISO 27001 Annex A has %d controls, want 93", len(fw.Criteria))
	}
	themes := []struct {
		prefix, category string
		n                int
	}{
		{"A.5.", "organizational", 37},
		{"A.6.", "people", 8},
		{"A.7.", "physical", 14},
		{"A.8.", "technological", 34},
	}
	for _, th := range themes {
		var n int
		for _, cr := range fw.Criteria {
			if !strings.HasPrefix(cr.ID, th.prefix) {
				continue
			}
			n++
			if cr.Category != th.category {
				t.Errorf("%s category = %q, want %q", cr.ID, cr.Category, th.category)
			}
		}
		if n != th.n {
			t.Errorf("%s* holds %d controls, want %d", th.prefix, n, th.n)
		}
		for i := 1; i <= th.n; i++ {
			id := th.prefix + strconv.Itoa(i)
			if _, ok := c.Criterion(id); !ok {
				t.Errorf("criterion %s missing", id)
			}
		}
	}
}

func TestCriterionTitlesAreShort(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	for _, fw := range c.Frameworks {
		for _, cr := range fw.Criteria {
			if cr.Title == "" || len(cr.Title) > 90 || cr.Framework != fw.ID {
				t.Errorf("%s: title %q (%d chars), framework %q", cr.ID, cr.Title, len(cr.Title), cr.Framework)
			}
		}
	}
}

func TestEmbeddedControlsAreExactlyTheAgreedIDs(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	want := 0
	for area, ids := range controlIDs {
		want += len(ids)
		got := c.ControlsInArea(area)
		var gotIDs []string
		for _, ctl := range got {
			gotIDs = append(gotIDs, ctl.ID)
		}
		if !slices.Equal(gotIDs, ids) {
			t.Errorf("area %s holds %v, want %v", area, gotIDs, ids)
		}
	}
	if len(c.Controls) != want {
		t.Errorf("catalog holds %d controls, want %d", len(c.Controls), want)
	}
}

func TestEmbeddedControlsAreComplete(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	known := map[rampart.Kind]bool{"git-repo": true, "server": true, "tls-endpoint": true, "github-org": true, "kubernetes-cluster": true, "argocd": true}
	for _, k := range rampart.InventoryKinds {
		known[k] = true
	}
	// Criteria are listed in framework order (SOC 2, then ISO, each in its
	// own order) so that tables and diffs read predictably.
	rank := map[string]int{}
	for _, fw := range c.Frameworks {
		for _, cr := range fw.Criteria {
			rank[cr.ID] = len(rank)
		}
	}
	for _, ctl := range c.Controls {
		if !slices.IsSortedFunc(ctl.Criteria, func(a, b string) int { return rank[a] - rank[b] }) {
			t.Errorf("%s: criteria %v are not in framework order", ctl.ID, ctl.Criteria)
		}
		if ctl.Procedure == "" {
			t.Errorf("%s: no procedure, and the embedded catalog has no checks to evidence it", ctl.ID)
		}
		if !ctl.Manual() || ctl.Automated() {
			t.Errorf("%s: Manual() = %v, Automated() = %v without checks", ctl.ID, ctl.Manual(), ctl.Automated())
		}
		var soc2, iso bool
		for _, id := range ctl.Criteria {
			cr, _ := c.Criterion(id)
			soc2 = soc2 || cr.Framework == "soc2"
			iso = iso || cr.Framework == "iso27001"
		}
		if !soc2 || !iso {
			t.Errorf("%s: criteria %v want at least one SOC 2 and one ISO id", ctl.ID, ctl.Criteria)
		}
		if len(ctl.Title) > 80 {
			t.Errorf("%s: title longer than 80 characters", ctl.ID)
		}
		if !strings.HasSuffix(ctl.Statement, ".") {
			t.Errorf("%s: statement %q is not a sentence", ctl.ID, ctl.Statement)
		}
		for _, k := range ctl.Kinds {
			if !known[k] {
				t.Errorf("%s: kind %q is not a known resource kind", ctl.ID, k)
			}
		}
		if ctl.Source.File != "catalog/data/controls.yaml" || ctl.Source.Line == 0 {
			t.Errorf("%s: source %v", ctl.ID, ctl.Source)
		}
	}
}

// TestSeedPeriodicities pins the periodicities the platform team's register
// sets.
func TestSeedPeriodicities(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	want := map[string]string{
		"IMG-01": "weekly", "IMG-02": "weekly", "IMG-03": "weekly", "IMG-04": "weekly",
		"CD-01": "daily", "CD-02": "daily",
		"CEPH-01": "daily", "CEPH-02": "daily",
		"TF-02":   "quarterly",
		"FW-01":   "daily",
		"PVE-03":  "semi-annual",
		"PROC-02": "weekly",
		"PROC-03": "quarterly",
	}
	for id, p := range want {
		ctl := c.Control(id)
		if ctl == nil {
			t.Errorf("control %s missing", id)
			continue
		}
		if got := ctl.Periodicity.String(); got != p {
			t.Errorf("%s periodicity = %s, want %s", id, got, p)
		}
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	checks := []*rampart.Check{
		fakeCheck("TLS-PROTOCOL", "PKI-02", "SRV-03"),
		fakeCheck("TLS-EXPIRED", "PKI-01"),
		fakeCheck("TLS-TRUST", "PKI-02"),
		fakeCheck("SRV-SSH-ROOT-LOGIN", "SRV-02", "SRV-01"),
	}
	c, err := catalog.Load(checks)
	if err != nil {
		t.Fatal(err)
	}

	if got := c.Control("PKI-02").Checks; !slices.Equal(got, []string{"TLS-PROTOCOL", "TLS-TRUST"}) {
		t.Errorf("PKI-02 checks = %v", got)
	}
	if got := checkIDs(c.ChecksOfControl("PKI-02")); !slices.Equal(got, []string{"TLS-PROTOCOL", "TLS-TRUST"}) {
		t.Errorf("ChecksOfControl(PKI-02) = %v", got)
	}
	if got := c.ChecksOfControl("NOPE-1"); got != nil {
		t.Errorf("ChecksOfControl(NOPE-1) = %v", got)
	}
	if !c.Control("SRV-03").Automated() {
		t.Error("SRV-03 not automated though TLS-PROTOCOL names it")
	}
	if c.Control("GH-01").Automated() {
		t.Error("GH-01 automated without checks")
	}
	if c.Check("TLS-EXPIRED") != checks[1] || c.Check("NOPE") != nil {
		t.Error("Check lookup wrong")
	}
	if c.Control("NOPE-1") != nil {
		t.Error("Control(NOPE-1) found something")
	}

	areaTests := []struct{ check, area string }{
		{"TLS-PROTOCOL", "security/pki"},
		{"SRV-SSH-ROOT-LOGIN", "infrastructure/servers"},
		{"NOPE", ""},
	}
	for _, tt := range areaTests {
		if got := c.AreaOfCheck(tt.check); got != tt.area {
			t.Errorf("AreaOfCheck(%s) = %q, want %q", tt.check, got, tt.area)
		}
	}

	cr, ok := c.Criterion("CC6.1")
	if !ok || cr.Framework != "soc2" || cr.Category != "security" {
		t.Errorf("Criterion(CC6.1) = %+v, %v", cr, ok)
	}
	if _, ok := c.Criterion("A.9.1"); ok {
		t.Error("Criterion(A.9.1) found")
	}
	if a := c.Area("infrastructure/ceph"); a == nil || a.ID != "infrastructure/ceph" || a.Title == "" {
		t.Errorf("Area(infrastructure/ceph) = %+v", a)
	}
	if a := c.Area("infra"); a != nil {
		t.Errorf("Area(infra) = %+v, want nil", a)
	}

	forCC61 := controlIDsOf(c.ControlsForCriterion("CC6.1"))
	for _, id := range []string{"GH-01", "SRV-02", "K8S-06"} {
		if !slices.Contains(forCC61, id) {
			t.Errorf("ControlsForCriterion(CC6.1) lacks %s: %v", id, forCC61)
		}
	}
	if slices.Contains(forCC61, "BAK-01") {
		t.Error("ControlsForCriterion(CC6.1) holds BAK-01")
	}
	if got := c.ControlsForCriterion("CC99.1"); len(got) != 0 {
		t.Errorf("ControlsForCriterion(CC99.1) = %v", controlIDsOf(got))
	}

	inInfra := controlIDsOf(c.ControlsInArea("infrastructure"))
	if !slices.Contains(inInfra, "CEPH-01") || !slices.Contains(inInfra, "SRV-12") || slices.Contains(inInfra, "FW-01") {
		t.Errorf("ControlsInArea(infrastructure) = %v", inInfra)
	}
	if got := c.ControlsInArea("infra"); len(got) != 0 {
		t.Errorf("ControlsInArea(infra) = %v, want none: areas match by whole segments", controlIDsOf(got))
	}
}

func TestLookupsReturnCopies(t *testing.T) {
	t.Parallel()
	c := embedded(t)
	got := c.ControlsForCriterion("CC6.1")
	got[0] = nil
	if c.ControlsForCriterion("CC6.1")[0] == nil {
		t.Error("ControlsForCriterion hands out its index")
	}
}

func TestLoadsAreIndependent(t *testing.T) {
	t.Parallel()
	a := embedded(t)
	a.Control("GH-01").Owner = "changed"
	a.Control("GH-01").Criteria[0] = "changed"
	a.Frameworks[0].Criteria[0].Title = "changed"
	b := embedded(t)
	if b.Control("GH-01").Owner == "changed" || b.Control("GH-01").Criteria[0] == "changed" ||
		b.Frameworks[0].Criteria[0].Title == "changed" {
		t.Error("a change to one loaded catalog shows in the next")
	}
}

func TestInArea(t *testing.T) {
	t.Parallel()
	tests := []struct {
		area, parent string
		want         bool
	}{
		{"infrastructure/ceph", "infrastructure", true},
		{"infrastructure", "infrastructure", true},
		{"infrastructure/ceph", "infrastructure/ceph", true},
		{"infrastructure/ceph", "infra", false},
		{"infrastructure", "infrastructure/ceph", false},
		{"it", "i", false},
	}
	for _, tt := range tests {
		if got := catalog.InArea(tt.area, tt.parent); got != tt.want {
			t.Errorf("InArea(%q, %q) = %v, want %v", tt.area, tt.parent, got, tt.want)
		}
	}
}

// TestEveryDataFileIsRead keeps a YAML file dropped into data/ from being
// silently ignored.
func TestEveryDataFileIsRead(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("data")
	if err != nil {
		t.Fatal(err)
	}
	read := []string{"soc2.yaml", "iso27001.yaml", "areas.yaml", "controls.yaml"}
	for _, e := range entries {
		if !slices.Contains(read, e.Name()) {
			t.Errorf("data/%s is embedded but never loaded", e.Name())
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := catalog.Load(nil, filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("Load(absent) = %v, want a not-exist error naming the file", err)
	}
}

// fakeCheck is a complete check that evidences the given controls.
func fakeCheck(id string, controls ...string) *rampart.Check {
	return &rampart.Check{
		ID: id, Version: 1, Title: "Fake " + id, Severity: rampart.SeverityHigh, Kind: "server",
		Controls: controls, Remediation: "Fix it.", Doc: "A check made for tests.",
		Run: func(context.Context, rampart.Facts) rampart.Evaluation {
			return rampart.Errored(errors.New("fake"))
		},
	}
}

func checkIDs(cs []*rampart.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func controlIDsOf(cs []*rampart.Control) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
