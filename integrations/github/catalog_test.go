package github_test

import (
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/register"
)

// The embedded catalog accepts every check: metadata complete, controls
// that exist, no id twice; and the descriptor is complete, as the
// integration list's own test will require.
func TestCatalogAcceptsChecks(t *testing.T) {
	t.Parallel()
	in := github.Integration
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

// The register decodes the spec, with its defaults, and can describe it
// in its JSON Schema.
func TestRegisterDecodesSpec(t *testing.T) {
	t.Parallel()
	kinds := register.Kinds{Integrations: []*rampart.Integration{github.Integration}}
	if _, err := register.Schema(kinds); err != nil {
		t.Fatalf("schema: %v", err)
	}
	cfg, err := register.Parse("/etc/rampart/rampart.yaml", []byte(`version: 1
resources:
  - id: gh
    kind: github-org
    name: GitHub
    owner: platform
    spec:
      org: acme
      appID: 12
      installationID: 34
      privateKey: file:/etc/rampart/app.pem
      expectedVisibility: {docs: public}
      scanFiles: false
      cacheDir: cache
      maxWait: 5m
`), kinds)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Resources[0].Spec.(*github.Spec)
	if s.AppID != 12 || s.InstallationID != 34 || s.ScanFiles || s.RequiredReviews != 1 || s.CacheDir != "/etc/rampart/cache" ||
		s.MaxWait != 5*time.Minute || s.ExpectedVisibility["docs"] != "public" {
		t.Errorf("spec %+v", s)
	}
	_, err = register.Parse("rampart.yaml", []byte(`version: 1
resources:
  - id: gh
    kind: github-org
    name: GitHub
    owner: platform
    spec:
      org: acme
      token: ghp_0123456789abcdefghijABCDEFGHIJ012345 # gitleaks:allow
`), kinds)
	if err == nil {
		t.Error("a literal token was accepted")
	}
}
