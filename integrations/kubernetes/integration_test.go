package kubernetes_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations/kubernetes"
	"github.com/rampart-dev/rampart/register"
)

// TestChecksInCatalog loads the embedded catalog with the checks: it
// refuses a check with missing metadata, a duplicate id, or a control it
// does not hold.
func TestChecksInCatalog(t *testing.T) {
	t.Parallel()
	if _, err := catalog.Load(kubernetes.Checks()); err != nil {
		t.Fatal(err)
	}
	for _, c := range kubernetes.Integration.Checks {
		if c.Kind != kubernetes.Kind || !strings.HasPrefix(c.ID, "K8S-") {
			t.Errorf("check %s: kind %s, want %s and a K8S- id", c.ID, c.Kind, kubernetes.Kind)
		}
	}
}

// TestDocumentedRole keeps the ClusterRole of the documentation identical
// to the one the tests prove sufficient.
func TestDocumentedRole(t *testing.T) {
	t.Parallel()
	role, err := os.ReadFile(filepath.Join("testdata", "rampart-reader.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "integrations", "kubernetes-cluster.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, append([]byte("```yaml\n"), role...)) {
		t.Errorf("docs/integrations/kubernetes-cluster.md does not hold testdata/rampart-reader.yaml as a yaml block")
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*kubernetes.Spec)
		wantErr string
	}{
		{"defaults", func(*kubernetes.Spec) {}, ""},
		{"full", func(s *kubernetes.Spec) {
			s.Kubeconfig, s.Context, s.Token, s.MinVersion = "file:k", "prod", "env:TOKEN", "v1.30"
			s.AllowedRegistries = []string{"ghcr.io/acme", "registry.example.com:5000"}
			s.AllowedClusterAdmins = []string{"Group:admins", "ServiceAccount:flux-system/kustomize-controller"}
		}, ""},
		{"env kubeconfig", func(s *kubernetes.Spec) { s.Kubeconfig = "env:KUBECONFIG" }, "kubeconfig: a path"},
		{"in-cluster and kubeconfig", func(s *kubernetes.Spec) { s.InCluster, s.Kubeconfig = true, "k" }, "inCluster"},
		{"bad version", func(s *kubernetes.Spec) { s.MinVersion = "latest" }, "minVersion"},
		{"bad registry", func(s *kubernetes.Spec) { s.AllowedRegistries = []string{"ghcr.io/acme/"} }, "allowedRegistries[0]"},
		{"negative threshold", func(s *kubernetes.Spec) { s.RestartThreshold = -1 }, "restartThreshold"},
		{"bad subject", func(s *kubernetes.Spec) { s.AllowedClusterAdmins = []string{"admins"} }, "allowedClusterAdmins[0]"},
		{"service account without namespace", func(s *kubernetes.Spec) { s.AllowedClusterAdmins = []string{"ServiceAccount:x"} }, "namespace/name"},
	}
	for _, tt := range tests {
		s := kubernetes.NewSpec()
		tt.edit(s)
		err := s.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one about %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestSetBaseDir(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"file:clusters/prod", "/etc/rampart/clusters/prod"},
		{"clusters/prod", "/etc/rampart/clusters/prod"},
		{"/abs/prod", "/abs/prod"},
		{"file:/abs/prod", "file:/abs/prod"},
		{"", ""},
	}
	for _, tt := range tests {
		s := &kubernetes.Spec{Kubeconfig: tt.in}
		s.SetBaseDir("/etc/rampart")
		if s.Kubeconfig != tt.want {
			t.Errorf("SetBaseDir(%q) = %q, want %q", tt.in, s.Kubeconfig, tt.want)
		}
	}
}

// TestFactsOfAnotherType guards the checks' type assertion: facts of
// another integration are an error, never a pass.
func TestFactsOfAnotherType(t *testing.T) {
	t.Parallel()
	for _, c := range kubernetes.Checks() {
		if ev := c.Run(t.Context(), struct{}{}); ev.Status != rampart.StatusError {
			t.Errorf("%s on foreign facts: %s", c.ID, ev.Status)
		}
	}
}

// TestRegister decodes resources as a user writes them in rampart.yaml:
// defaults, the kubeconfig resolved against the register's directory, the
// token kept as a reference, and a literal token refused.
func TestRegister(t *testing.T) {
	t.Parallel()
	kinds := register.Kinds{Integrations: []*rampart.Integration{kubernetes.Integration}}
	doc := `version: 1
resources:
  - id: prod
    kind: kubernetes-cluster
    name: Production
    owner: platform
    spec:
      kubeconfig: file:clusters/prod.kubeconfig
      context: rampart@prod
      token: env:PROD_TOKEN
      minVersion: v1.30
      allowedRegistries: [registry.example.com]
      allowedClusterAdmins: [Group:platform-admins]
  - id: tools
    kind: kubernetes-cluster
    name: Tools
    owner: platform
    spec:
      inCluster: true
`
	cfg, err := register.Parse("/etc/rampart/rampart.yaml", []byte(doc), kinds)
	if err != nil {
		t.Fatal(err)
	}
	prod := cfg.Resource("prod").Spec.(*kubernetes.Spec)
	if prod.Kubeconfig != "/etc/rampart/clusters/prod.kubeconfig" || prod.Token != "env:PROD_TOKEN" || prod.RestartThreshold != 5 {
		t.Errorf("prod spec = %+v", prod)
	}
	tools := cfg.Resource("tools").Spec.(*kubernetes.Spec)
	if !tools.InCluster || len(tools.SystemNamespaces) != 3 {
		t.Errorf("tools spec = %+v", tools)
	}

	literal := strings.Replace(doc, "env:PROD_TOKEN", "eyJhbGciOiJSUzI1NiJ9.secret", 1)
	_, err = register.Parse("/etc/rampart/rampart.yaml", []byte(literal), kinds)
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("a literal token was accepted: %v", err)
	}
	if strings.Contains(err.Error(), "eyJhbGciOiJSUzI1NiJ9") {
		t.Errorf("the error repeats the literal token: %v", err)
	}
}
