package cache_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo/cache"
)

type entry struct {
	Lines []int `json:"lines"`
}

func TestDirRoundTripAndCounts(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	c, err := cache.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var got entry
	if c.Get("dockerfile", "v1:abc", &got) {
		t.Fatal("hit in an empty cache")
	}
	c.Put("dockerfile", "v1:abc", entry{Lines: []int{1, 5}})
	// A second handle on the same directory, as the next run would be.
	c2, err := cache.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Get("dockerfile", "v1:abc", &got) || len(got.Lines) != 2 || got.Lines[1] != 5 {
		t.Fatalf("Get after Put = %+v", got)
	}
	if c2.Get("terraform", "v1:abc", &got) {
		t.Error("keys are not separated by scanner")
	}
	if s := c.Stats(); s.Hits != 0 || s.Misses != 1 || s.Writes != 1 {
		t.Errorf("stats %+v", s)
	}
	if s := c2.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	c, err := cache.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	c.Put("s", "k", entry{Lines: []int{1}})
	files, _ := filepath.Glob(filepath.Join(root, "*", "s", "*", "*.json"))
	if len(files) != 1 {
		t.Fatalf("entries %v", files)
	}
	if err := os.WriteFile(files[0], []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got entry
	if c.Get("s", "k", &got) {
		t.Error("a corrupt entry was a hit")
	}
}

func TestDisabledAndDefaultRoot(t *testing.T) {
	t.Parallel()
	d := cache.Disabled()
	d.Put("s", "k", entry{})
	var got entry
	if d.Get("s", "k", &got) || d.Stats().Misses != 1 {
		t.Error("Disabled cached something")
	}
	env := map[string]string{"HOME": "/home/u"}
	if r, _ := cache.DefaultRoot(func(k string) string { return env[k] }); r != "/home/u/.cache/rampart" {
		t.Errorf("DefaultRoot = %s", r)
	}
	env["XDG_CACHE_HOME"] = "/var/cache"
	if r, _ := cache.DefaultRoot(func(k string) string { return env[k] }); r != "/var/cache/rampart" {
		t.Errorf("DefaultRoot = %s", r)
	}
	if _, err := cache.DefaultRoot(func(string) string { return "" }); err == nil {
		t.Error("DefaultRoot without HOME")
	}
}
