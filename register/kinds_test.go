package register_test

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
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

func (s *tlsSpec) Validate() error {
	if s.Address == "" {
		return rampart.Errorf(rampart.KindInvalid, "address is required (host:port)")
	}
	if _, _, err := net.SplitHostPort(s.Address); err != nil {
		return rampart.Errorf(rampart.KindInvalid, "address %q is not host:port", s.Address)
	}
	if s.Timeout <= 0 {
		return errors.New("timeout must be positive")
	}
	return nil
}

type serverSpec struct {
	Root string `yaml:"root" doc:"Directory the host's files are read under."`
	Mode string `yaml:"mode" doc:"local"`
}

func (s *serverSpec) Validate() error {
	var errs []error
	if !filepath.IsAbs(s.Root) {
		errs = append(errs, fmt.Errorf("root %q must be an absolute path", s.Root))
	}
	if s.Mode != "local" {
		errs = append(errs, fmt.Errorf("mode %q is not supported (want local)", s.Mode))
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
		return errors.New("url is required")
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
			{Kind: "server", Title: "Server", NewSpec: func() rampart.Spec { return &serverSpec{Mode: "local"} }},
			{Kind: "http-api", Title: "HTTP API", NewSpec: func() rampart.Spec { return &apiSpec{Retries: 3} }},
			{Kind: "heartbeat", Title: "Heartbeat"},
		},
		Inventory: rampart.InventoryKinds,
	}
}
