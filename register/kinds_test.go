package register_test

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/register"
)

// Stand-ins for the integrations the binary wires in: the same spec
// shapes as integrations/tlsendpoint and integrations/server, plus one
// spec exercising every Go type the decoder supports.

type tlsSpec struct {
	Address    string        `yaml:"address" doc:"Host and port to connect to."`
	ServerName string        `yaml:"serverName" doc:"Name to verify the certificate against (SNI)."`
	CABundle   string        `yaml:"caBundle" doc:"PEM file of extra trusted roots."`
	Timeout    time.Duration `yaml:"timeout" doc:"Handshake timeout."`
}

func (s *tlsSpec) SetBaseDir(dir string) {
	if s.CABundle != "" && !filepath.IsAbs(s.CABundle) {
		s.CABundle = filepath.Join(dir, s.CABundle)
	}
}

// Validate words its errors as the real integrations do, "field: problem",
// which the register attaches to the field.
func (s *tlsSpec) Validate() error {
	var errs []error
	if s.Address == "" {
		errs = append(errs, errors.New("address: required (host:port)"))
	} else if _, _, err := net.SplitHostPort(s.Address); err != nil {
		errs = append(errs, fmt.Errorf("address: %q is not host:port", s.Address))
	}
	if s.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %s must be positive", s.Timeout))
	}
	return errors.Join(errs...)
}

type serverSpec struct {
	Mode string `yaml:"mode" doc:"How the files are reached: local."`
	Root string `yaml:"root" doc:"Directory holding the host's file system."`
}

func (s *serverSpec) SetBaseDir(dir string) {
	if s.Root != "" && !filepath.IsAbs(s.Root) {
		s.Root = filepath.Join(dir, s.Root)
	}
}

func (s *serverSpec) Validate() error {
	var errs []error
	if s.Mode != "local" {
		errs = append(errs, fmt.Errorf("mode: %q is not supported (want local)", s.Mode))
	}
	if s.Root == "" {
		errs = append(errs, errors.New("root: required (/ for this host)"))
	}
	// Not about one field: stays on the spec.
	if s.Root == "/nowhere" {
		errs = append(errs, errors.New("the spec names no host"))
	}
	return errors.Join(errs...)
}

type Common struct {
	Region string `yaml:"region"`
}

type probe struct {
	Path   string `yaml:"path"`
	Expect int    `yaml:"expect"`
}

type apiSpec struct {
	Common `yaml:",inline"`
	URL    string            `yaml:"url"`
	Token  rampart.SecretRef `yaml:"token"`
	Auth   struct {
		User string            `yaml:"user"`
		Key  rampart.SecretRef `yaml:"key"`
	} `yaml:"auth"`
	Probes  []probe             `yaml:"probes"`
	Labels  map[string]string   `yaml:"labels"`
	Retries uint8               `yaml:"retries"`
	Ratio   float64             `yaml:"ratio"`
	Every   rampart.Periodicity `yaml:"every"`
	Verify  *bool               `yaml:"verify"`
	Extra   any                 `yaml:"extra"`
	Ignored string              `yaml:"-"`
	// Password is a plain string, as a careless integration might write
	// it; its Validate repeats it.
	Password string `yaml:"password"`
}

func (s *apiSpec) Validate() error {
	if s.URL == "" {
		return errors.New("url: required")
	}
	if s.Password != "" && len(s.Password) < 20 {
		return fmt.Errorf("password %q is too short", s.Password)
	}
	return nil
}

func testKinds() register.Kinds {
	return register.Kinds{
		Integrations: []*rampart.Integration{
			{Kind: "tls-endpoint", Title: "TLS endpoint", NewSpec: func() rampart.Spec { return &tlsSpec{Timeout: 10 * time.Second} }},
			{Kind: "server", Title: "Server", NewSpec: func() rampart.Spec { return &serverSpec{Mode: "local", Root: "/"} }},
			{Kind: "http-api", Title: "HTTP API", NewSpec: func() rampart.Spec { return &apiSpec{Retries: 3} }},
			{Kind: "heartbeat", Title: "Heartbeat"},
		},
		Inventory: testInventory(),
	}
}

// testInventory is the domain's inventory kinds plus the kinds whose real
// integrations live elsewhere: here they take free-form specs, so the
// starter's commented examples of them parse without importing those
// integrations.
func testInventory() []rampart.Kind {
	return append(slices.Clone(rampart.InventoryKinds), "github-org", "git-repo", "kubernetes-cluster", "argocd")
}
