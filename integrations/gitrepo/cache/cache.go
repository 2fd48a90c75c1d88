// Package cache keeps scanners' parsed results on disk between scans,
// keyed by scanner and content hash, so that a scan of an unchanged
// repository parses nothing. It counts hits and misses for `rampart check
// --stats` and for the tests that prove the reuse.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// format versions the layout; bump it when an entry's encoding changes so
// old entries are ignored rather than misread.
const format = "v1"

// Stats counts cache use in one process.
type Stats struct {
	// Hits are values found, so not parsed again.
	Hits int64 `json:"hits"`
	// Misses are values not found: each is one parse.
	Misses int64 `json:"misses"`
	// Writes are values stored; a failed write only costs a parse later.
	Writes int64 `json:"writes"`
}

// Dir is a scan.Cache in a directory, made by Open. Disabled returns one
// that stores nothing but still counts, so that parses are measured either
// way.
type Dir struct {
	root   string
	hits   atomic.Int64
	misses atomic.Int64
	writes atomic.Int64
}

var _ scan.Cache = (*Dir)(nil)

// Open returns the cache under root, creating it.
func Open(root string) (*Dir, error) {
	root = filepath.Join(root, "scan-"+format)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("open cache %s: %w", root, err)
	}
	return &Dir{root: root}, nil
}

// Disabled returns a cache that stores nothing: every Get is a miss.
func Disabled() *Dir { return &Dir{} }

// DefaultRoot is $XDG_CACHE_HOME/rampart, or ~/.cache/rampart.
func DefaultRoot(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "rampart"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "rampart"), nil
	}
	return "", fmt.Errorf("no cache directory: set XDG_CACHE_HOME or HOME, or pass one")
}

func (d *Dir) file(scanner, key string) string {
	h := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(h[:])
	// Scanner names are ours, but keep them from naming other folders.
	scanner = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == '.' {
			return '_'
		}
		return r
	}, scanner)
	return filepath.Join(d.root, scanner, name[:2], name+".json")
}

// Get implements scan.Cache. An unreadable or undecodable entry is a miss.
func (d *Dir) Get(scanner, key string, v any) bool {
	if d.root == "" {
		d.misses.Add(1)
		return false
	}
	b, err := os.ReadFile(d.file(scanner, key))
	if err != nil || json.Unmarshal(b, v) != nil {
		d.misses.Add(1)
		return false
	}
	d.hits.Add(1)
	return true
}

// Put implements scan.Cache. Entries are written to a temporary file and
// renamed, so a concurrent reader sees a whole entry or none.
func (d *Dir) Put(scanner, key string, v any) {
	if d.root == "" {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	p := d.file(scanner, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), p) != nil {
		_ = os.Remove(f.Name())
		return
	}
	d.writes.Add(1)
}

// Stats returns the counters so far.
func (d *Dir) Stats() Stats {
	return Stats{Hits: d.hits.Load(), Misses: d.misses.Load(), Writes: d.writes.Load()}
}
