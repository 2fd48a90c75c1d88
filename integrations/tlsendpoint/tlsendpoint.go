// Package tlsendpoint is the tls-endpoint integration: it connects to a TLS
// service (HTTPS, LDAPS, SMTPS, anything that starts with a TLS
// handshake), records the certificate chain it presents, whether that chain
// is trusted and valid for the name, and which protocol versions it
// accepts, and checks those facts for expiry, trust, hostname, legacy
// protocols, weak keys and SHA-1 signatures.
package tlsendpoint

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// Kind is the resource kind this integration checks.
const Kind rampart.Kind = "tls-endpoint"

// DefaultTimeout bounds each handshake when the spec sets no timeout.
const DefaultTimeout = 10 * time.Second

// Integration describes the tls-endpoint kind; the integration list wires
// it in.
var Integration = &rampart.Integration{
	Kind:  Kind,
	Title: "TLS endpoint",
	Doc: `A TLS endpoint is a host:port that starts with a TLS handshake.
Rampart connects to it, records the presented chain (subject, issuer,
serial, names, validity, key, signature algorithm, SHA-256 fingerprint),
verifies the chain against the system roots or the spec's CA bundle and
the certificate against the server name, and probes whether TLS 1.0 and
1.1 are still accepted. Expiry is computed against the collection time
kept in the facts, so results can be reproduced from the evidence.

spec:
  address: host:port to connect to (required)
  serverName: name sent as SNI and checked against the certificate
    (default: the host of address)
  caBundle: PEM file of the CA certificates to trust instead of the
    system roots (a private PKI such as step-ca); relative to the
    directory of rampart.yaml
  timeout: bound on each handshake (default 10s)`,
	NewSpec:      func() rampart.Spec { return NewSpec() },
	NewCollector: func(env rampart.Env) rampart.Collector { return &Collector{Env: env} },
	Checks:       Checks(),
}

// Checks lists the integration's checks, in the order reports show them.
func Checks() []*rampart.Check {
	return []*rampart.Check{Expired, Expiring7D, Expiring30D, Hostname, Trust, Protocol, KeyStrength, SHA1}
}

// Spec is the configuration of one tls-endpoint resource.
type Spec struct {
	// Address is host:port.
	Address string `yaml:"address" json:"address" doc:"host:port to connect to, e.g. www.example.com:443."`
	// ServerName is sent as SNI and verified against the certificate;
	// it defaults to the host of Address.
	ServerName string `yaml:"serverName" json:"serverName,omitempty" doc:"Name sent as SNI and checked against the certificate; default: the host of address."`
	// CABundle is a PEM file of CA certificates trusted instead of the
	// system roots. A relative path is relative to the directory of
	// rampart.yaml: the register calls SetBaseDir with it.
	CABundle string `yaml:"caBundle" json:"caBundle,omitempty" doc:"PEM file of CA certificates trusted instead of the system roots (a private PKI such as step-ca), relative to this file."`
	// Timeout bounds each handshake.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty" doc:"Bound on each handshake, e.g. 10s (the default)."`
}

var _ rampart.Spec = (*Spec)(nil)

// NewSpec returns a spec with its defaults set.
func NewSpec() *Spec { return &Spec{Timeout: DefaultTimeout} }

// SetBaseDir resolves a relative CABundle against dir, the directory of
// the file that declared the resource. The register calls it after
// decoding; a spec built in code can call it too.
func (s *Spec) SetBaseDir(dir string) {
	if s.CABundle != "" && !filepath.IsAbs(s.CABundle) && dir != "" {
		s.CABundle = filepath.Join(dir, s.CABundle)
	}
}

// Validate implements rampart.Spec.
func (s *Spec) Validate() error {
	var errs []error
	if s.Address == "" {
		errs = append(errs, errors.New("address: required (host:port, e.g. example.com:443)"))
	} else if host, port, err := net.SplitHostPort(s.Address); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("address: %q is not host:port (e.g. example.com:443)", s.Address))
	}
	if strings.ContainsAny(s.ServerName, " /") || (strings.Contains(s.ServerName, ":") && net.ParseIP(s.ServerName) == nil) {
		errs = append(errs, fmt.Errorf("serverName: %q is not a host name", s.ServerName))
	}
	if s.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %s must be positive (e.g. 10s)", s.Timeout))
	}
	return errors.Join(errs...)
}

// serverName is the name sent as SNI and verified: the spec's, or the
// host of the address.
func (s *Spec) serverName() string {
	if s.ServerName != "" {
		return s.ServerName
	}
	host, _, err := net.SplitHostPort(s.Address)
	if err != nil {
		return s.Address
	}
	return host
}
