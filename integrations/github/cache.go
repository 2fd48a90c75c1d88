package github

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// cacheFormat versions the on-disk layout: bump it when an entry's
// encoding changes so that old entries are ignored rather than misread.
const cacheFormat = "v1"

// etagEntry is a cached REST response: what a 304 stands for.
type etagEntry struct {
	ETag        string `json:"etag"`
	Link        string `json:"link,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Body        []byte `json:"body"`
}

// store keeps ETags with their response bodies, and git objects by SHA,
// in memory and, when it has a directory, on disk. The disk may hold
// private repository content: its directories are 0700 and files 0600.
// A failed write only costs a request later, so it is not an error.
type store struct {
	dir string // empty: memory only

	mu      sync.Mutex
	etags   map[string]*etagEntry
	objects map[string][]byte
}

func openStore(dir string) (*store, error) {
	s := &store{dir: dir, etags: map[string]*etagEntry{}, objects: map[string][]byte{}}
	if dir == "" {
		return s, nil
	}
	s.dir = filepath.Join(dir, cacheFormat)
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("open cache %s: %w", dir, err)
	}
	return s, nil
}

func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func (s *store) file(kind, key string) string {
	name := hashKey(key)
	return filepath.Join(s.dir, kind, name[:2], name)
}

// etag returns the cached response for key.
func (s *store) etag(key string) *etagEntry {
	s.mu.Lock()
	e, ok := s.etags[key]
	s.mu.Unlock()
	if ok || s.dir == "" {
		return e
	}
	b, err := os.ReadFile(s.file("etag", key))
	if err != nil {
		return nil
	}
	e = new(etagEntry)
	if json.Unmarshal(b, e) != nil || e.ETag == "" {
		return nil
	}
	s.mu.Lock()
	s.etags[key] = e
	s.mu.Unlock()
	return e
}

func (s *store) putETag(key string, e *etagEntry) {
	s.mu.Lock()
	s.etags[key] = e
	s.mu.Unlock()
	if s.dir == "" {
		return
	}
	if b, err := json.Marshal(e); err == nil {
		s.write(s.file("etag", key), b)
	}
}

// object returns a git object (or what Rampart derived from one) by its
// key, which names its content, so it never goes stale.
func (s *store) object(key string) ([]byte, bool) {
	s.mu.Lock()
	b, ok := s.objects[key]
	s.mu.Unlock()
	if ok || s.dir == "" {
		return b, ok
	}
	b, err := os.ReadFile(s.file("object", key))
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	s.objects[key] = b
	s.mu.Unlock()
	return b, true
}

func (s *store) putObject(key string, b []byte) {
	s.mu.Lock()
	s.objects[key] = b
	s.mu.Unlock()
	if s.dir != "" {
		s.write(s.file("object", key), b)
	}
}

// write replaces path atomically, so a reader never sees half an entry.
func (s *store) write(path string, b []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
	}
}

// defaultCacheDir is $XDG_CACHE_HOME/rampart/github or
// ~/.cache/rampart/github; empty (memory only) when neither is set.
func defaultCacheDir(getenv func(string) string) string {
	if getenv == nil {
		return ""
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "rampart", "github")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "rampart", "github")
	}
	return ""
}
