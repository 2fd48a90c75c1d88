package kubernetes

import (
	"fmt"
	"strings"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// ParseVersion reads a Kubernetes version as servers and distributions
// write it ("v1.30.4", "1.30", "v1.30.4+rke2r1", "v1.30.4+k3s1",
// "v1.30.4-eks-a737599", "v1.30.4-gke.1348000"): major.minor is required,
// and what follows the numbers is ignored. Distributions put their own
// build there, not a pre-release, so comparing the numbers alone is right.
func ParseVersion(s string) (*utilversion.Version, error) {
	v, err := utilversion.ParseGeneric(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is not a Kubernetes version (major.minor[.patch])", s)
	}
	return v, nil
}

// AtLeast reports whether server version have is at least min. Both are
// read by ParseVersion; a missing patch counts as 0.
func AtLeast(have, min string) (bool, error) {
	h, err := ParseVersion(have)
	if err != nil {
		return false, err
	}
	m, err := ParseVersion(min)
	if err != nil {
		return false, err
	}
	return h.AtLeast(m), nil
}

// Distribution names the Kubernetes distribution a server version string
// comes from, from the suffix distributions add: rke2, k3s, eks, gke, aks,
// or upstream when there is none it knows.
func Distribution(gitVersion string) string {
	v := strings.ToLower(gitVersion)
	for _, d := range []struct{ marker, name string }{
		{"+rke2", "rke2"}, {"+k3s", "k3s"}, {"-eks-", "eks"}, {"-gke.", "gke"}, {"-aks", "aks"},
	} {
		if strings.Contains(v, d.marker) {
			return d.name
		}
	}
	return "upstream"
}
