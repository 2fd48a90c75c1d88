// Package scantest runs a git-repo scanner over testdata the way
// analysistest runs an analyzer: each folder under testdata is a case,
// holding input files; the expected results sit beside it in
// <case>.golden, which -update rewrites. Run also fails unless every check
// of the scanner passes in one case and fails in another.
package scantest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
)

// OptionsFile is the file, inside a case folder, holding the case's
// scan.Options as JSON. It is not part of the scanned tree.
const OptionsFile = "options.json"

// Tree walks dir into a scan.Tree with the options in dir/options.json, if
// any; when dir is a git repository, Commit is its HEAD.
func Tree(t testing.TB, dir string) *scan.Tree {
	t.Helper()
	tr, err := tree.Walk(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		tr.Commit = Git(t, dir, "rev-parse", "HEAD")
	}
	tr.Files = slices.DeleteFunc(tr.Files, func(f scan.File) bool { return f.Path == OptionsFile })
	if b, err := os.ReadFile(filepath.Join(dir, OptionsFile)); err == nil {
		if err := json.Unmarshal(b, &tr.Options); err != nil {
			t.Fatalf("%s: %v", filepath.Join(dir, OptionsFile), err)
		}
	}
	return tr
}

// Cache is an in-memory scan.Cache that counts hits and misses. It keeps
// values as JSON, as the disk cache does, so a test sees the same
// round-trip.
type Cache struct {
	mu     sync.Mutex
	m      map[string][]byte
	hits   atomic.Int64
	misses atomic.Int64
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{m: map[string][]byte{}} }

// Get implements scan.Cache.
func (c *Cache) Get(scanner, key string, v any) bool {
	c.mu.Lock()
	b, ok := c.m[scanner+"/"+key]
	c.mu.Unlock()
	if !ok || json.Unmarshal(b, v) != nil {
		c.misses.Add(1)
		return false
	}
	c.hits.Add(1)
	return true
}

// Put implements scan.Cache.
func (c *Cache) Put(scanner, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.mu.Lock()
	c.m[scanner+"/"+key] = b
	c.mu.Unlock()
}

// Hits is how many Gets found their key.
func (c *Cache) Hits() int64 { return c.hits.Load() }

// Misses is how many Gets did not.
func (c *Cache) Misses() int64 { return c.misses.Load() }

// Evaluate scans tree with s and runs every check of s, returning the
// results by check id.
func Evaluate(t testing.TB, s scan.Scanner, tr *scan.Tree, cache scan.Cache) (any, map[string]rampart.Evaluation) {
	t.Helper()
	ctx := context.Background()
	facts, err := s.Scan(ctx, tr, cache)
	if err != nil {
		t.Fatalf("scan %s: %v", tr.Root, err)
	}
	if _, err := json.Marshal(facts); err != nil {
		t.Fatalf("facts of %s do not encode as JSON: %v", s.Name(), err)
	}
	out := map[string]rampart.Evaluation{}
	for _, c := range s.Checks() {
		if err := rampart.ValidateCheck(c); err != nil {
			t.Errorf("check metadata: %v", err)
		}
		if c.Kind != "git-repo" {
			t.Errorf("check %s: kind %q, want git-repo", c.ID, c.Kind)
		}
		out[c.ID] = c.Run(ctx, facts)
	}
	return facts, out
}

// Format renders evaluations as golden text: one line per check with its
// status (and reason for errors), then one indented line per finding with
// its location and item.
func Format(evals map[string]rampart.Evaluation) string {
	ids := make([]string, 0, len(evals))
	for id := range evals {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		ev := evals[id]
		fmt.Fprintf(&b, "%s %s", id, ev.Status)
		if ev.Status == rampart.StatusError {
			fmt.Fprintf(&b, " (%s)", ev.Reason)
		}
		b.WriteByte('\n')
		lines := make([]string, 0, len(ev.Findings))
		for _, f := range ev.Findings {
			loc := f.Location.Path
			if f.Location.Line > 0 {
				loc += fmt.Sprintf(":%d", f.Location.Line)
			}
			if f.Location.Commit != "" {
				loc += "@" + f.Location.Commit[:min(len(f.Location.Commit), 12)]
			}
			if loc == "" {
				loc = "-"
			}
			lines = append(lines, fmt.Sprintf("\t%s %s: %s", loc, f.Item, f.Message))
		}
		slices.Sort(lines)
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Run evaluates s on every case folder under testdata and compares with
// <case>.golden, rewriting it when update is set. It then requires every
// check of s to pass in some case and fail in another, but those listed in
// elsewhere: checks that need what testdata cannot hold (a git history),
// whose pass and fail cases the caller tests itself.
func Run(t *testing.T, s scan.Scanner, testdata string, update bool, elsewhere ...string) {
	t.Helper()
	entries, err := os.ReadDir(testdata)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	passed, failed := map[string]bool{}, map[string]bool{}
	t.Run("cases", func(t *testing.T) {
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(testdata, e.Name())
			t.Run(e.Name(), func(t *testing.T) {
				t.Parallel()
				_, evals := Evaluate(t, s, Tree(t, dir), NewCache())
				mu.Lock()
				for id, ev := range evals {
					switch ev.Status {
					case rampart.StatusPass:
						passed[id] = true
					case rampart.StatusFail:
						failed[id] = true
					}
				}
				mu.Unlock()
				got := Format(evals)
				golden := dir + ".golden"
				if update {
					if err := os.WriteFile(golden, []byte(got), 0o600); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("results differ from %s (run with -update to accept):\n%s", golden, diff(string(want), got))
				}
			})
		}
	})
	for _, c := range s.Checks() {
		if slices.Contains(elsewhere, c.ID) {
			continue
		}
		if !passed[c.ID] {
			t.Errorf("check %s passes in no case under %s", c.ID, testdata)
		}
		if !failed[c.ID] {
			t.Errorf("check %s fails in no case under %s", c.ID, testdata)
		}
	}
}

// diff shows the lines only in want (-) and only in got (+).
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "-%s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+%s\n", l)
		}
	}
	return b.String()
}

// CacheReuse scans tr twice with one cache and fails the test unless the
// first scan parses something, the second parses nothing (every first-run
// parse a hit), and both yield the same facts and evaluations: a scanner
// with a cache must not parse unchanged input again.
func CacheReuse(t testing.TB, s scan.Scanner, tr *scan.Tree) {
	t.Helper()
	cache := NewCache()
	first, ev1 := Evaluate(t, s, tr, cache)
	misses := cache.Misses()
	if misses == 0 || cache.Hits() != 0 {
		t.Fatalf("first scan: %d misses, %d hits; want every input parsed", misses, cache.Hits())
	}
	second, ev2 := Evaluate(t, s, tr, cache)
	if cache.Misses() != misses || cache.Hits() != misses {
		t.Errorf("second scan: %d new misses, %d hits; want none and %d", cache.Misses()-misses, cache.Hits(), misses)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(second)
	if string(a) != string(b) {
		t.Errorf("cached facts differ:\n%s\n%s", a, b)
	}
	if !reflect.DeepEqual(ev1, ev2) {
		t.Error("cached evaluations differ")
	}
}
