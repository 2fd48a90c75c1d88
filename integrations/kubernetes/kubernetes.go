// Package kubernetes is the kubernetes-cluster integration: it reads a
// cluster through its API server with client-go (paginated lists, no
// watches) and checks workloads against the Pod Security Standards, the
// image registry allow-list, literal secrets in env and token automount;
// namespaces for Pod Security Admission labels and default-deny network
// policies; RBAC for cluster-admin grants, wildcards and bindings to users;
// the platform's Kyverno policies and reports, External Secrets and
// cert-manager certificates; node and pod health; the server version; and
// Flux's Kustomizations, HelmReleases and sources.
package kubernetes

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Kind is the resource kind this integration checks.
const Kind rampart.Kind = "kubernetes-cluster"

// DefaultRestartThreshold is the restart count above which a container is
// reported when the spec sets none.
const DefaultRestartThreshold = 5

// DefaultSystemNamespaces are the namespaces Kubernetes itself runs in;
// workload and namespace checks leave them out unless the spec lists
// others.
var DefaultSystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// Integration describes the kubernetes-cluster kind; the integration list
// wires it in.
var Integration = &rampart.Integration{
	Kind:  Kind,
	Title: "Kubernetes cluster",
	Doc: `A Kubernetes cluster, read through its API server with list requests
(paginated, 500 objects a page; no watch, no write). Credentials come
from a kubeconfig and context, or from the pod's service account when
Rampart runs in the cluster; a token reference overrides the kubeconfig's
user. Read-only rights suffice (get, list on the resources listed in
docs/integrations/kubernetes-cluster.md). A list the credentials may not
make is recorded in the facts and turns the checks that need it into
errors; the other checks still run. Custom resources whose definitions are
not installed (Kyverno, PolicyReports, External Secrets, cert-manager,
Flux) are recorded as not installed.

spec:
  kubeconfig: path of the kubeconfig (file:PATH or PATH), relative to the
    directory of rampart.yaml (default: $KUBECONFIG, else ~/.kube/config)
  context: context of the kubeconfig to use (default: its current one)
  inCluster: use the service account of the pod Rampart runs in
  token: env:NAME or file:PATH of a bearer token used instead of the
    kubeconfig's credentials
  minVersion: oldest Kubernetes version allowed, e.g. v1.30 (rke2/k3s
    suffixes such as +rke2r1 are ignored when comparing)
  allowedRegistries: registries (or registry/path prefixes) images may
    come from, e.g. registry.example.com, ghcr.io/acme
  restartThreshold: container restarts above which a container is
    reported (default 5)
  requireFluxVerification: Flux GitRepositories and OCIRepositories must
    verify signatures (spec.verify)
  systemNamespaces: namespaces left out of the workload and namespace
    checks (default kube-system, kube-public, kube-node-lease)
  allowedClusterAdmins: subjects allowed to hold cluster-admin besides
    system ones, as Kind:name (Group:platform-admins) or
    ServiceAccount:namespace/name`,
	NewSpec:      func() rampart.Spec { return NewSpec() },
	NewCollector: func(env rampart.Env) rampart.Collector { return &Collector{Env: env} },
	Checks:       Checks(),
}

// Spec is the configuration of one kubernetes-cluster resource.
type Spec struct {
	// Kubeconfig is the path of a kubeconfig file; a "file:" prefix is
	// accepted, as for credential references. A relative path is relative
	// to the directory of rampart.yaml: the register calls SetBaseDir.
	Kubeconfig string `yaml:"kubeconfig" json:"kubeconfig,omitempty"`
	// Context selects a context of the kubeconfig; empty means its
	// current context.
	Context string `yaml:"context" json:"context,omitempty"`
	// InCluster uses the service account of the pod Rampart runs in.
	InCluster bool `yaml:"inCluster" json:"inCluster,omitempty"`
	// Token, when set, replaces the kubeconfig's credentials with a
	// bearer token.
	Token rampart.SecretRef `yaml:"token" json:"token,omitempty"`
	// MinVersion is the oldest Kubernetes version allowed ("v1.30").
	MinVersion string `yaml:"minVersion" json:"minVersion,omitempty"`
	// AllowedRegistries lists the registries, or registry/path prefixes,
	// images may come from. Empty means no allow-list.
	AllowedRegistries []string `yaml:"allowedRegistries" json:"allowedRegistries,omitempty"`
	// RestartThreshold is the restart count above which a container is
	// reported.
	RestartThreshold int `yaml:"restartThreshold" json:"restartThreshold"`
	// RequireFluxVerification asks that Flux Git and OCI sources verify
	// signatures.
	RequireFluxVerification bool `yaml:"requireFluxVerification" json:"requireFluxVerification,omitempty"`
	// SystemNamespaces are left out of workload and namespace checks.
	SystemNamespaces []string `yaml:"systemNamespaces" json:"systemNamespaces"`
	// AllowedClusterAdmins are subjects, besides system ones, that may be
	// bound to cluster-admin.
	AllowedClusterAdmins []string `yaml:"allowedClusterAdmins" json:"allowedClusterAdmins,omitempty"`
}

var (
	_ rampart.Spec        = (*Spec)(nil)
	_ rampart.BaseDirSpec = (*Spec)(nil)
)

// NewSpec returns a spec with its defaults set.
func NewSpec() *Spec {
	return &Spec{
		RestartThreshold: DefaultRestartThreshold,
		SystemNamespaces: slices.Clone(DefaultSystemNamespaces),
	}
}

// SetBaseDir resolves a relative kubeconfig path against dir, the
// directory of the file that declared the resource.
func (s *Spec) SetBaseDir(dir string) {
	p := strings.TrimPrefix(s.Kubeconfig, "file:")
	if p != "" && !filepath.IsAbs(p) && dir != "" {
		s.Kubeconfig = filepath.Join(dir, p)
	}
}

// kubeconfigPath is the kubeconfig path without its "file:" prefix.
func (s *Spec) kubeconfigPath() string { return strings.TrimPrefix(s.Kubeconfig, "file:") }

// Validate implements rampart.Spec.
func (s *Spec) Validate() error {
	var errs []error
	if strings.HasPrefix(s.Kubeconfig, "env:") {
		errs = append(errs, errors.New("kubeconfig: a path (file:PATH or PATH), not env:; the token field takes env: references"))
	}
	if s.InCluster && (s.Kubeconfig != "" || s.Context != "") {
		errs = append(errs, errors.New("inCluster: set either inCluster or kubeconfig/context, not both"))
	}
	if s.MinVersion != "" {
		if _, err := ParseVersion(s.MinVersion); err != nil {
			errs = append(errs, fmt.Errorf("minVersion: %w (e.g. v1.30)", err))
		}
	}
	for i, r := range s.AllowedRegistries {
		if r == "" || strings.ContainsAny(r, " \t@") || strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/") {
			errs = append(errs, fmt.Errorf("allowedRegistries[%d]: %q is not a registry or registry/path prefix (e.g. ghcr.io/acme)", i, r))
		}
	}
	if s.RestartThreshold < 0 {
		errs = append(errs, fmt.Errorf("restartThreshold: %d must not be negative", s.RestartThreshold))
	}
	for i, a := range s.AllowedClusterAdmins {
		if _, err := parseSubject(a); err != nil {
			errs = append(errs, fmt.Errorf("allowedClusterAdmins[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// parseSubject reads "Kind:name" or "ServiceAccount:namespace/name".
func parseSubject(s string) (Subject, error) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return Subject{}, fmt.Errorf("%q is not Kind:name (Group:platform-admins, User:alice, ServiceAccount:flux-system/helm-controller)", s)
	}
	switch kind {
	case "User", "Group":
		return Subject{Kind: kind, Name: name}, nil
	case "ServiceAccount":
		ns, n, ok := strings.Cut(name, "/")
		if !ok || ns == "" || n == "" {
			return Subject{}, fmt.Errorf("%q: a service account is ServiceAccount:namespace/name", s)
		}
		return Subject{Kind: kind, Namespace: ns, Name: n}, nil
	}
	return Subject{}, fmt.Errorf("%q: kind %q is not User, Group or ServiceAccount", s, kind)
}

// Checks lists the integration's checks, in the order reports show them.
func Checks() []*rampart.Check {
	return []*rampart.Check{
		PSSBaseline, PSSRestricted, PSAEnforce, ImageRegistry, ImageTag, EnvSecrets, TokenAutomount,
		NetworkDefaultDeny,
		ClusterAdmin, RBACWildcard, RBACUserBinding,
		KyvernoEnforce, PolicyReports, ExternalSecretsReady, CertificatesReady, CertificatesExpiring,
		NodesReady, CrashLoops, Evictions, Restarts,
		Version,
		FluxReady, FluxSuspended, FluxVerification,
	}
}
