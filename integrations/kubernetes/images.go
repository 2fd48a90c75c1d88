package kubernetes

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Image is an image reference as the container runtime resolves it.
type Image struct {
	// Repository is the fully qualified repository:
	// "docker.io/library/nginx", "ghcr.io/acme/api".
	Repository string
	// Registry is the repository's host: "docker.io", "ghcr.io".
	Registry string
	Tag      string
	Digest   string
}

// ParseImage reads a container image reference, resolving short names as
// the runtime does ("nginx" is docker.io/library/nginx:latest).
func ParseImage(s string) (Image, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Image{}, fmt.Errorf("image %q: %w", s, err)
	}
	img := Image{Repository: named.Name(), Registry: reference.Domain(named)}
	if t, ok := named.(reference.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		img.Digest = d.Digest().String()
	}
	return img, nil
}

// Allowed reports whether the image's repository is under one of the
// allowed registries or registry/path prefixes. Entries match whole path
// segments: "ghcr.io/acme" allows "ghcr.io/acme/api", not
// "ghcr.io/acme-evil/api". Short Docker Hub names in the list are
// normalized as images are ("library" is docker.io/library).
func (img Image) Allowed(allowed []string) bool {
	repo := strings.ToLower(img.Repository)
	for _, a := range allowed {
		a = strings.TrimSuffix(a, "/")
		// The first segment is a registry host by the rules image
		// references follow: a dot, a port, localhost, or upper case.
		host, _, _ := strings.Cut(a, "/")
		isHost := strings.ContainsAny(host, ".:") || host == "localhost" || host != strings.ToLower(host)
		if !isHost {
			// A prefix without a registry host is a Docker Hub path.
			a = "docker.io/" + a
		}
		// Host names are case-insensitive; paths are lower case anyway.
		a = strings.ToLower(a)
		if a == strings.ToLower(img.Registry) || repo == a || strings.HasPrefix(repo, a+"/") {
			return true
		}
	}
	return false
}
