package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Version is the k8s.io/kubernetes version whose kube-apiserver the tests
// run; scripts/kube-apiserver.sh builds the same one by default.
const Version = "v1.37.1"

// Binaries are the paths of the two programs a Server runs.
type Binaries struct {
	Etcd, APIServer string
}

// ErrMissing is returned (wrapped) when a binary cannot be found; the
// message says how to get it.
var ErrMissing = errors.New("kubetest binaries missing")

// FindBinaries looks for etcd and kube-apiserver without building
// anything: $ETCD and $KUBE_APISERVER first, then etcd on $PATH and
// kube-apiserver in the cache scripts/kube-apiserver.sh fills
// ($RAMPART_KUBE_DIR, else $XDG_CACHE_HOME/rampart-kube, else the
// repository's .cache/kube; under a directory named for Version).
func FindBinaries(getenv func(string) string) (Binaries, error) {
	var b Binaries
	var missing []string
	b.Etcd = getenv("ETCD")
	if b.Etcd == "" {
		if p, err := exec.LookPath("etcd"); err == nil {
			b.Etcd = p
		}
	}
	if !executable(b.Etcd) {
		missing = append(missing, "etcd")
	}
	b.APIServer = getenv("KUBE_APISERVER")
	if b.APIServer == "" {
		if dir, err := CacheDir(getenv); err == nil {
			b.APIServer = filepath.Join(dir, Version, "kube-apiserver")
		}
	}
	if !executable(b.APIServer) {
		missing = append(missing, "kube-apiserver "+Version)
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("%w: %s not found; run scripts/kube-apiserver.sh (as root, it also installs etcd; "+
			"the first build of kube-apiserver takes several minutes) or set ETCD and KUBE_APISERVER",
			ErrMissing, strings.Join(missing, " and "))
	}
	return b, nil
}

// BuildBinaries runs scripts/kube-apiserver.sh, the one place that knows
// how to build kube-apiserver, and then finds the binaries. Its progress
// goes to log.
func BuildBinaries(ctx context.Context, getenv func(string) string, log func(string)) (Binaries, error) {
	root, err := RepoRoot()
	if err != nil {
		return Binaries{}, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "kube-apiserver.sh"))
	cmd.Env = append(os.Environ(), "KUBE_VERSION="+Version)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return Binaries{}, fmt.Errorf("run kube-apiserver.sh: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return Binaries{}, fmt.Errorf("run kube-apiserver.sh: %w", err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log(sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return Binaries{}, fmt.Errorf("run kube-apiserver.sh: %w", err)
	}
	// The script prints where it put things; prefer that over guessing.
	paths := map[string]string{}
	for line := range strings.Lines(out.String()) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			paths[k] = v
		}
	}
	return FindBinaries(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return paths[k]
	})
}

// CacheDir is where scripts/kube-apiserver.sh keeps its builds.
func CacheDir(getenv func(string) string) (string, error) {
	if d := getenv("RAMPART_KUBE_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "rampart-kube"), nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "kube"), nil
}

// RepoRoot finds the repository's root from the working directory (a
// package directory under go test).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/rampart-dev/rampart\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of github.com/rampart-dev/rampart above the working directory")
		}
		dir = parent
	}
}

func executable(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
