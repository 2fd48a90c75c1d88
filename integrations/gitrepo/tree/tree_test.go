package tree_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWalk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"b.txt":             "b",
		"a/x.tf":            "x",
		".git/config":       "[core]",
		"vendor/lib/y.go":   "y",
		"build/out.bin":     "o",
		"docs/keep.md":      "k",
		"docs/drop.md":      "d",
		"logs/app.log":      "l",
		".rampartignore":    "# generated\nbuild/\n*.log\ndocs/*.md\n!docs/keep.md\n",
		"nested/build/z.tf": "z",
	})
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	visited := map[string]string{}
	tr, err := tree.Walk(context.Background(), dir, func(p string, b []byte) {
		mu.Lock()
		visited[p] = string(b)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range tr.Files {
		paths = append(paths, f.Path)
		h := sha256.Sum256([]byte(visited[f.Path]))
		if f.Hash != hex.EncodeToString(h[:]) || f.Size != int64(len(visited[f.Path])) {
			t.Errorf("%s: hash or size does not match its content", f.Path)
		}
	}
	want := []string{".rampartignore", "a/x.tf", "b.txt", "docs/keep.md", "vendor/lib/y.go"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("files %v, want %v", paths, want)
	}
	if b, err := tr.Read("a/x.tf"); err != nil || string(b) != "x" {
		t.Errorf("Read = %q, %v", b, err)
	}
	for _, bad := range []string{"../etc/passwd", "/etc/passwd"} {
		if _, err := tr.Read(bad); err == nil {
			t.Errorf("Read(%q) left the tree", bad)
		}
	}
	if !tree.HasFile(tr, "b.txt") || tree.HasFile(tr, "link") {
		t.Error("HasFile")
	}
}

func TestParseIgnoreErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"/\n", "a/[b\n"} {
		if _, err := tree.ParseIgnore(in); err == nil {
			t.Errorf("ParseIgnore(%q) accepted", in)
		}
	}
}

func TestIgnoreMatch(t *testing.T) {
	t.Parallel()
	ig, err := tree.ParseIgnore("*.min.js\n/top.txt\nfixtures/\n**/gen/**\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		dir  bool
		want bool
	}{
		{"a/b/app.min.js", false, true},
		{"top.txt", false, true},
		{"sub/top.txt", false, false},
		{"x/fixtures", true, true},
		{"x/fixtures", false, false},
		{"a/gen/b.go", false, true},
		{"a/b.go", false, false},
	} {
		if got := ig.Match(tc.path, tc.dir); got != tc.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", tc.path, tc.dir, got, tc.want)
		}
	}
}

func FuzzParseIgnore(f *testing.F) {
	f.Add("build/\n*.log\n!keep.log\n# c\n/abs\n**/x/**\n")
	f.Add("[\n")
	f.Fuzz(func(t *testing.T, text string) {
		ig, err := tree.ParseIgnore(text)
		if err != nil {
			return
		}
		ig.Match("a/b/c", false)
		ig.Match("a", true)
	})
}
