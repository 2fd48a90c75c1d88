package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

const overrideFile = `# Our own tweaks.
controls:
  - id: GH-01
    periodicity: monthly
    owner: security-officer
  - id: ACME-01
    title: Customer data access is logged
    statement: Every read of customer data is logged.
    area: security/credentials
    criteria: [CC6.1, A.8.15]
    periodicity: "0 6 * * 1"
    owner: sre
    kinds: [vault]
    procedure: |
      1. Read the log.
`

func TestOverride(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "controls.yaml")
	if err := os.WriteFile(path, []byte(overrideFile), 0o600); err != nil {
		t.Fatal(err)
	}
	base := embedded(t)
	c, err := catalog.Load(nil, path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	gh := c.Control("GH-01")
	orig := base.Control("GH-01")
	if gh.Periodicity.String() != "monthly" || gh.Owner != "security-officer" {
		t.Errorf("GH-01 periodicity %s owner %s, want the override's monthly, security-officer", gh.Periodicity, gh.Owner)
	}
	if gh.Title != orig.Title || gh.Statement != orig.Statement || gh.Procedure != orig.Procedure ||
		!slices.Equal(gh.Criteria, orig.Criteria) || !slices.Equal(gh.Kinds, orig.Kinds) || gh.Area != orig.Area {
		t.Error("fields the override does not set changed")
	}
	if gh.Source != orig.Source {
		t.Errorf("GH-01 source = %v, want where it is defined, %v", gh.Source, orig.Source)
	}

	acme := c.Control("ACME-01")
	if acme == nil {
		t.Fatal("ACME-01 not added")
	}
	if want := (rampart.Position{File: path, Line: 6, Column: 5}); acme.Source != want {
		t.Errorf("ACME-01 source = %v, want %v", acme.Source, want)
	}
	if acme.Periodicity.String() != "cron: 0 6 * * 1" || acme.Procedure != "1. Read the log." ||
		!slices.Equal(acme.Kinds, []rampart.Kind{"vault"}) {
		t.Errorf("ACME-01 = %+v", acme)
	}
	if !slices.Contains(controlIDsOf(c.ControlsForCriterion("CC6.1")), "ACME-01") {
		t.Error("ACME-01 not found through CC6.1")
	}
	if !slices.Contains(controlIDsOf(c.ControlsForCriterion("A.8.15")), "ACME-01") {
		t.Error("ACME-01 not found through A.8.15")
	}
	if !slices.Contains(controlIDsOf(c.ControlsInArea("security")), "ACME-01") {
		t.Error("ACME-01 not found in area security")
	}
	if len(c.Controls) != len(base.Controls)+1 || c.Controls[len(c.Controls)-1].ID != "ACME-01" {
		t.Errorf("added control not appended: %d controls", len(c.Controls))
	}
}

func TestOverridesApplyInOrder(t *testing.T) {
	t.Parallel()
	first := catalog.Source{Name: "a.yaml", Data: []byte("controls:\n  - {id: GH-02, owner: sre, periodicity: weekly}\n")}
	second := catalog.Source{Name: "b.yaml", Data: []byte("controls:\n  - {id: GH-02, owner: platform-lead}\n")}
	c, err := catalog.LoadSources(nil, first, second)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Control("GH-02"); got.Owner != "platform-lead" || got.Periodicity.String() != "weekly" {
		t.Errorf("GH-02 owner %s periodicity %s, want platform-lead (second file) and weekly (first)", got.Owner, got.Periodicity)
	}
}

func TestAreasCanBeAddedAndRetitled(t *testing.T) {
	t.Parallel()
	src := catalog.Source{Name: "f.yaml", Data: []byte(`areas:
  - {id: custom, title: Our own}
  - {id: it, title: Corporate IT}
controls:
  - id: OWN-1
    title: T
    statement: S.
    area: custom
    criteria: [CC1.1]
    periodicity: yearly
    owner: ceo
    procedure: Do it.
`)}
	c, err := catalog.LoadSources(nil, src)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Area("custom"); a == nil || a.Title != "Our own" {
		t.Errorf("Area(custom) = %+v", a)
	}
	if a := c.Area("it"); a == nil || a.Title != "Corporate IT" {
		t.Errorf("Area(it) = %+v, want the override's title", a)
	}
	if got := controlIDsOf(c.ControlsInArea("custom")); !slices.Equal(got, []string{"OWN-1"}) {
		t.Errorf("ControlsInArea(custom) = %v", got)
	}
}

func TestAnchorsInExtensionFields(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load(nil, "testdata/anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Control("GH-01").Criteria; !slices.Equal(got, []string{"CC6.1", "A.5.15"}) {
		t.Errorf("GH-01 criteria = %v, want the anchored list", got)
	}
}

func TestExampleOverrides(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load(nil, "testdata/example-overrides.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Control("GH-02"); got.Owner != "sre" || got.Periodicity.String() != "weekly" {
		t.Errorf("GH-02 = %s %s", got.Owner, got.Periodicity)
	}
	if !slices.Contains(c.Control("CRED-02").Criteria, "A.5.28") {
		t.Error("CRED-02 criteria not replaced")
	}
	if got := controlIDsOf(c.ControlsForCriterion("A.5.14")); !slices.Contains(got, "CUST-01") {
		t.Errorf("ControlsForCriterion(A.5.14) = %v", got)
	}
}

func TestEmptyUserFile(t *testing.T) {
	t.Parallel()
	for _, data := range []string{"", "# nothing yet\n", "---\n", "controls:\n", "controls: []\nareas: ~\n"} {
		c, err := catalog.LoadSources(nil, catalog.Source{Name: "f.yaml", Data: []byte(data)})
		if err != nil {
			t.Errorf("%q: %v", data, err)
			continue
		}
		if len(c.Controls) != len(embedded(t).Controls) {
			t.Errorf("%q changed the number of controls", data)
		}
	}
}

func TestAProcedureMayGoWhenAChecksEvidences(t *testing.T) {
	t.Parallel()
	src := catalog.Source{Name: "f.yaml", Data: []byte("controls:\n  - id: PKI-01\n    procedure: \"\"\n")}
	c, err := catalog.LoadSources([]*rampart.Check{fakeCheck("TLS-EXPIRED", "PKI-01")}, src)
	if err != nil {
		t.Fatal(err)
	}
	if ctl := c.Control("PKI-01"); ctl.Manual() || !ctl.Automated() {
		t.Errorf("PKI-01 manual %v automated %v, want automated only", ctl.Manual(), ctl.Automated())
	}
	if _, err := catalog.LoadSources(nil, src); err == nil || !strings.Contains(err.Error(), "f.yaml:3:16: control PKI-01 has neither a check nor a procedure") {
		t.Errorf("without the check: %v", err)
	}
}

func TestUserFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       []string
	}{
		{
			name: "unknown criterion",
			data: "controls:\n  - id: GH-01\n    criteria: [CC6.1, CC6.9]\n",
			want: []string{`f.yaml:3:23: control GH-01: criterion "CC6.9" is not in any framework (soc2, iso27001)`},
		},
		{
			name: "unknown criterion in block list",
			data: "controls:\n  - id: GH-01\n    criteria:\n      - CC6.1\n      - A.5.38\n",
			want: []string{`f.yaml:5:9: control GH-01: criterion "A.5.38" is not in any framework`},
		},
		{
			name: "criterion twice",
			data: "controls:\n  - id: GH-01\n    criteria: [CC6.1, CC6.1]\n",
			want: []string{`f.yaml:3:23: control GH-01: criterion CC6.1 is listed twice`},
		},
		{
			name: "unknown field",
			data: "controls:\n  - id: GH-01\n    owners: sre\n",
			want: []string{`f.yaml:3:5: control: unknown field "owners" (known fields: id, title,`},
		},
		{
			name: "checks listed on a control",
			data: "controls:\n  - id: GH-01\n    checks: [GH-2FA]\n",
			want: []string{`f.yaml:3:5: control: unknown field "checks" (a control does not list its checks: each check names the controls it evidences)`},
		},
		{
			name: "unknown top-level field",
			data: "controls: []\ncriteria: []\n",
			want: []string{`f.yaml:2:1: unknown field "criteria" (want controls, areas, or x-… for anchors)`},
		},
		{
			name: "bad periodicity",
			data: "controls:\n  - id: GH-01\n    periodicity: fortnightly\n",
			want: []string{`f.yaml:3:18: control: periodicity: unknown periodicity "fortnightly"`},
		},
		{
			name: "bad cron",
			data: "controls:\n  - id: GH-01\n    periodicity: \"0 25 * * *\"\n",
			want: []string{`f.yaml:3:18: control: periodicity: cron expression "0 25 * * *"`},
		},
		{
			name: "unknown area",
			data: "controls:\n  - id: GH-01\n    area: nowhere\n",
			want: []string{"f.yaml:3:11: control GH-01: area \"nowhere\" is not in the catalog"},
		},
		{
			name: "new control lacks fields",
			data: "controls:\n  - id: NEW-01\n    title: New\n",
			want: []string{
				"f.yaml:2:5: control NEW-01 lacks statement, area, criteria, periodicity, owner",
				"f.yaml:2:5: control NEW-01 has neither a check nor a procedure",
			},
		},
		{
			name: "owner removed",
			data: "controls:\n  - id: GH-01\n    owner: ~\n",
			want: []string{"control GH-01 lacks owner"},
		},
		{
			name: "list where a string belongs",
			data: "controls:\n  - id: GH-01\n    owner: [a, b]\n",
			want: []string{"f.yaml:3:12: control: owner: want a string, got a list"},
		},
		{
			name: "string where a list belongs",
			data: "controls:\n  - id: GH-01\n    criteria: CC6.1\n",
			want: []string{`f.yaml:3:15: control: criteria: want a list, got "CC6.1"`},
		},
		{
			name: "mapping inside a list",
			data: "controls:\n  - id: GH-01\n    kinds: [{a: b}]\n",
			want: []string{"f.yaml:3:13: control: kinds: want a string item, got a mapping"},
		},
		{
			name: "bad kind",
			data: "controls:\n  - id: GH-01\n    kinds: [Server]\n",
			want: []string{`f.yaml:3:13: control GH-01: kind "Server" is not a resource kind`},
		},
		{
			name: "no id",
			data: "controls:\n  - title: X\n",
			want: []string{"f.yaml:2:5: control without an id"},
		},
		{
			name: "bad id",
			data: "controls:\n  - id: GH 01\n",
			want: []string{`f.yaml:2:9: control id "GH 01": use letters, digits`},
		},
		{
			name: "id twice in one file",
			data: "controls:\n  - {id: GH-01, owner: a}\n  - {id: GH-01, owner: b}\n",
			want: []string{"f.yaml:3:10: control GH-01 is defined twice in this file (first at line 2)"},
		},
		{
			name: "field twice",
			data: "controls:\n  - id: GH-01\n    owner: a\n    owner: b\n",
			want: []string{`f.yaml:4:5: control: "owner" is set twice`},
		},
		{
			name: "controls not a list",
			data: "controls: {id: GH-01}\n",
			want: []string{"f.yaml:1:11: want a list of controls, got a mapping"},
		},
		{
			name: "control not a mapping",
			data: "controls:\n  - GH-01\n",
			want: []string{`f.yaml:2:5: want a control (a mapping with id, title, …), got "GH-01"`},
		},
		{
			name: "root not a mapping",
			data: "- id: GH-01\n",
			want: []string{"f.yaml:1:1: want a mapping with `controls`"},
		},
		{
			name: "area without title",
			data: "areas:\n  - id: custom\n",
			want: []string{"f.yaml:2:5: area custom has no title"},
		},
		{
			name: "area title removed",
			data: "areas:\n  - id: it\n    title: \"\"\n",
			want: []string{"f.yaml:3:12: area it has no title"},
		},
		{
			name: "two documents",
			data: "controls: []\n---\ncontrols: []\n",
			want: []string{"f.yaml:2: a control file holds one YAML document"},
		},
		{
			name: "syntax error",
			data: "controls:\n  - id: GH-01\n    title: [unclosed\n",
			want: []string{"f.yaml:"},
		},
		{
			name: "several problems at once",
			data: "controls:\n  - id: GH-01\n    criteria: [XX1]\n  - id: GH-02\n    area: nowhere\n",
			want: []string{`f.yaml:3:16: control GH-01: criterion "XX1"`, `f.yaml:5:11: control GH-02: area "nowhere"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.LoadSources(nil, catalog.Source{Name: "f.yaml", Data: []byte(tt.data)})
			if err == nil {
				t.Fatal("loaded without error")
			}
			if k := rampart.KindOf(err); k != rampart.KindInvalid {
				t.Errorf("error kind %s, want invalid", k)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks\n%s", err, w)
				}
			}
		})
	}
}

func TestSyntaxErrorNamesTheLine(t *testing.T) {
	t.Parallel()
	_, err := catalog.LoadSources(nil, catalog.Source{Name: "f.yaml", Data: []byte("controls: []\nareas: x\n y: z\n")})
	if want := "f.yaml:3: mapping values are not allowed in this context"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	noRun := fakeCheck("NO-RUN", "GH-01")
	noRun.Run = nil
	tests := []struct {
		name   string
		checks []*rampart.Check
		want   string
	}{
		{
			"unknown control",
			[]*rampart.Check{fakeCheck("GH-2FA", "GH-01", "GH-99")},
			`check GH-2FA names control "GH-99", which is not in the catalog`,
		},
		{"incomplete check", []*rampart.Check{noRun}, `check "NO-RUN" lacks run`},
		{"no controls", []*rampart.Check{fakeCheck("ORPHAN")}, `check "ORPHAN" lacks controls`},
		{"duplicate", []*rampart.Check{fakeCheck("TWICE", "GH-01"), fakeCheck("TWICE", "GH-02")}, "check TWICE is declared twice"},
		{"nil", []*rampart.Check{fakeCheck("OK", "GH-01"), nil}, "check #1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.Load(tt.checks)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckControlsAreSortedAndUnique(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load([]*rampart.Check{
		fakeCheck("Z-CHECK", "SRV-02"),
		fakeCheck("A-CHECK", "SRV-02", "SRV-02"),
		fakeCheck("M-CHECK", "SRV-02"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Control("SRV-02").Checks; !slices.Equal(got, []string{"A-CHECK", "M-CHECK", "Z-CHECK"}) {
		t.Errorf("SRV-02 checks = %v", got)
	}
}

// TestAgreedChecksWire loads the check ids the first two integrations
// declare, with their controls, as the integrator will.
func TestAgreedChecksWire(t *testing.T) {
	t.Parallel()
	agreed := map[string][]string{
		"TLS-EXPIRED": {"PKI-01"}, "TLS-EXPIRING-30D": {"PKI-01"}, "TLS-EXPIRING-7D": {"PKI-01"},
		"TLS-HOSTNAME": {"PKI-02"}, "TLS-TRUST": {"PKI-02"}, "TLS-PROTOCOL": {"PKI-02", "SRV-03"},
		"TLS-KEY-STRENGTH": {"PKI-02"}, "TLS-SHA1": {"PKI-02"},
		"SRV-SSH-PASSWORD-AUTH": {"SRV-02"}, "SRV-SSH-ROOT-LOGIN": {"SRV-02", "SRV-01"},
		"SRV-SSH-PUBKEY": {"SRV-02"}, "SRV-SSH-MAX-AUTH-TRIES": {"SRV-02"}, "SRV-AUTO-UPDATES": {"SRV-04"},
		"SRV-REBOOT-PENDING": {"SRV-04"}, "SRV-FIREWALL": {"SRV-11", "FW-04"}, "SRV-AUDITD": {"SRV-07"},
		"SRV-FIM": {"SRV-08", "MON-02"}, "SRV-UID0": {"SRV-01"}, "SRV-SHADOW-PERMS": {"SRV-01", "SRV-09"},
		"SRV-SSH-HOSTKEY-PERMS": {"SRV-02"},
	}
	var checks []*rampart.Check
	for id, ctls := range agreed {
		checks = append(checks, fakeCheck(id, ctls...))
	}
	c, err := catalog.Load(checks)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Control("SRV-02").Checks; len(got) != 5 {
		t.Errorf("SRV-02 checks = %v, want 5", got)
	}
	if got := c.AreaOfCheck("SRV-FIREWALL"); got != "infrastructure/servers" {
		t.Errorf("AreaOfCheck(SRV-FIREWALL) = %q", got)
	}
}
