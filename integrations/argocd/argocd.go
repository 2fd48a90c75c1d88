// Package argocd is the argocd integration: it reads an Argo CD server's
// applications, projects and local accounts through its REST API and
// checks that applications are synced and healthy (with Argo CD's own
// messages), that they sync automatically with prune and self-heal, that
// no project allows any source repository or any destination, and that
// the local admin account is disabled.
package argocd

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/rampart-dev/rampart"
)

// Kind is the resource kind this integration checks.
const Kind rampart.Kind = "argocd"

// DefaultTimeout bounds each request when the spec sets no timeout.
const DefaultTimeout = 30 * time.Second

// Integration describes the argocd kind; the integration list wires it in.
var Integration = &rampart.Integration{
	Kind:  Kind,
	Title: "Argo CD",
	Doc: `An Argo CD server. Rampart reads GET /api/v1/applications (sync and health
status, conditions, the health of each managed resource, the sync policy),
GET /api/v1/projects (source repositories and destinations) and GET
/api/v1/account (the local accounts and whether each is enabled), with a
bearer token, and checks them daily as the seed asks.

spec:
  url: the Argo CD server's URL, e.g. https://argocd.example.com (required)
  token: env:NAME or file:PATH of an API token (required); a read-only
    account is enough: applications, projects and accounts "get"
  caBundle: PEM file of the CA that signed the server's certificate
    (relative to rampart.yaml)
  insecureSkipVerify: skip certificate verification (default false)
  requireAutoSync: applications must sync automatically with prune and
    self-heal (default true)
  projects: only these projects' applications (default: all)
  timeout: bound on each request (default 30s)`,
	NewSpec:      func() rampart.Spec { return NewSpec() },
	NewCollector: func(env rampart.Env) rampart.Collector { return &Collector{Env: env} },
	Checks:       Checks(),
}

// Spec is the configuration of one argocd resource.
type Spec struct {
	URL                string            `yaml:"url" json:"url"`
	Token              rampart.SecretRef `yaml:"token" json:"token"`
	CABundle           string            `yaml:"caBundle" json:"caBundle,omitempty"`
	InsecureSkipVerify bool              `yaml:"insecureSkipVerify" json:"insecureSkipVerify,omitempty"`
	RequireAutoSync    bool              `yaml:"requireAutoSync" json:"requireAutoSync"`
	Projects           []string          `yaml:"projects" json:"projects,omitempty"`
	Timeout            time.Duration     `yaml:"timeout" json:"timeout,omitempty"`
}

var (
	_ rampart.Spec        = (*Spec)(nil)
	_ rampart.BaseDirSpec = (*Spec)(nil)
)

// NewSpec returns a spec with its defaults set.
func NewSpec() *Spec { return &Spec{RequireAutoSync: true, Timeout: DefaultTimeout} }

// SetBaseDir resolves a relative caBundle against dir, the directory of
// the file that declared the resource.
func (s *Spec) SetBaseDir(dir string) {
	if s.CABundle != "" && !filepath.IsAbs(s.CABundle) && dir != "" {
		s.CABundle = filepath.Join(dir, s.CABundle)
	}
}

// Validate implements rampart.Spec.
func (s *Spec) Validate() error {
	var errs []error
	if s.URL == "" {
		errs = append(errs, errors.New("url: required (the Argo CD server, e.g. https://argocd.example.com)"))
	} else if u, err := url.Parse(s.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, fmt.Errorf("url: %q is not an http(s) URL", s.URL))
	} else if u.User != nil {
		errs = append(errs, errors.New("url: must not hold credentials: give the token by reference in token"))
	}
	if s.Token == "" {
		errs = append(errs, errors.New("token: required (env:ARGOCD_TOKEN or file:PATH)"))
	}
	if s.InsecureSkipVerify && s.CABundle != "" {
		errs = append(errs, errors.New("insecureSkipVerify: give a caBundle or skip verification, not both"))
	}
	for _, p := range s.Projects {
		if p == "" {
			errs = append(errs, errors.New("projects: an empty project name"))
		}
	}
	if s.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %s must be positive (e.g. 30s)", s.Timeout))
	}
	return errors.Join(errs...)
}
