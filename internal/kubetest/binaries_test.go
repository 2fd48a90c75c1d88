package kubetest_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-dev/rampart/internal/kubetest"
)

func TestFindBinaries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := func(path string, mode os.FileMode) string {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	etcd := exe(filepath.Join(dir, "bin", "etcd"), 0o755)
	plain := exe(filepath.Join(dir, "bin", "not-executable"), 0o644)
	cached := exe(filepath.Join(dir, "cache", kubetest.Version, "kube-apiserver"), 0o755)

	tests := []struct {
		name          string
		env           map[string]string
		wantAPIServer string
		wantMissing   bool
	}{
		{"explicit paths", map[string]string{"ETCD": etcd, "KUBE_APISERVER": cached}, cached, false},
		{"cache directory", map[string]string{"ETCD": etcd, "RAMPART_KUBE_DIR": filepath.Join(dir, "cache")}, cached, false},
		{"XDG cache", map[string]string{"ETCD": etcd, "XDG_CACHE_HOME": dir}, "", true},
		{"not executable", map[string]string{"ETCD": etcd, "KUBE_APISERVER": plain}, "", true},
		{"etcd missing", map[string]string{"ETCD": filepath.Join(dir, "absent"), "KUBE_APISERVER": cached}, "", true},
	}
	for _, tt := range tests {
		b, err := kubetest.FindBinaries(func(k string) string { return tt.env[k] })
		if tt.wantMissing {
			if !errors.Is(err, kubetest.ErrMissing) {
				t.Errorf("%s: err = %v, want ErrMissing", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if b.APIServer != tt.wantAPIServer || b.Etcd != etcd {
			t.Errorf("%s: found %+v, want kube-apiserver %s and etcd %s", tt.name, b, tt.wantAPIServer, etcd)
		}
	}
}
