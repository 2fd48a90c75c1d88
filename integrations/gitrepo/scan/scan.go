// Package scan is the contract between the git-repo integration and the
// scanners that read one family of a repository's files (Dockerfiles,
// workflows, Kubernetes manifests and Helm charts, Terraform, secrets,
// hygiene). The integration walks the tree once and hands every scanner the
// same Tree; each scanner returns its own JSON-encodable facts and checks
// that read them.
package scan

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/rampart-dev/rampart"
)

// File is one regular file of the tree.
type File struct {
	// Path is slash-separated and relative to the repository root.
	Path string
	// Hash is the hex SHA-256 of the content; scanners key their cache on
	// it so that unchanged files are not parsed again.
	Hash string
	Size int64
}

// Tree is a repository's files as scanned: a working tree or a checkout
// of one commit.
type Tree struct {
	// Root is the directory on disk holding the files.
	Root string
	// Commit is the scanned commit, empty for a directory that is not a
	// git repository (as with `rampart check DIR`).
	Commit string
	// Files lists every regular file, sorted by path, without .git.
	Files []File
	// Read returns a file's content by its Path.
	Read func(path string) ([]byte, error)
	// Options holds the resource's scanner settings (allow-lists, values
	// files, required versions), as the register decoded them.
	Options Options
}

// Options are the settings of a git-repo resource that scanners read.
type Options struct {
	// AllowedBaseImages lists base image name prefixes Dockerfiles may use
	// (default: scratch, alpine, gcr.io/distroless/).
	AllowedBaseImages []string `yaml:"allowedBaseImages" json:"allowedBaseImages,omitempty"`
	// AllowedRegistries lists registry prefixes workload images may come
	// from; empty allows any.
	AllowedRegistries []string `yaml:"allowedRegistries" json:"allowedRegistries,omitempty"`
	// ValuesFiles maps a chart directory to extra values files to render
	// it with, besides its defaults.
	ValuesFiles map[string][]string `yaml:"valuesFiles" json:"valuesFiles,omitempty"`
	// TerraformVersion is the Terraform/OpenTofu version required_version
	// must pin (the seed's Atlantis runs 1.5.7).
	TerraformVersion string `yaml:"terraformVersion" json:"terraformVersion,omitempty"`
	// Public says the repository is public (self-hosted runners are then a
	// finding).
	Public bool `yaml:"public" json:"public,omitempty"`
	// HistoryDepth is how many commits back the secret scanner reads.
	HistoryDepth int `yaml:"historyDepth" json:"historyDepth,omitempty"`
	// SignedCommitsWindow is how many recent commits the signature check reads.
	SignedCommitsWindow int `yaml:"signedCommitsWindow" json:"signedCommitsWindow,omitempty"`
	// AllowedSigners is an ssh allowed-signers file to verify signatures.
	AllowedSigners string `yaml:"allowedSigners" json:"allowedSigners,omitempty"`
	// SignedCommitsThreshold is the percentage of signed commits the
	// window must reach; 0 means 100.
	SignedCommitsThreshold int `yaml:"signedCommitsThreshold" json:"signedCommitsThreshold,omitempty"`
}

// Cache keeps parsed results by scanner and content hash, across scans.
// Implementations are safe for concurrent use and count hits and misses,
// so a miss is a parse. The same content under two paths shares a key, so
// a cached value must not hold the file's path; put the path in the facts
// after Get.
type Cache interface {
	// Get decodes the cached value for key into v and reports whether it
	// was there.
	Get(scanner, key string, v any) bool
	// Put stores v (JSON-encodable) under key.
	Put(scanner, key string, v any)
}

// Scanner reads one family of files and checks them.
type Scanner interface {
	// Name is short and stable ("dockerfile"); it keys the facts.
	Name() string
	// Scan reads the files it cares about and returns its facts, a
	// JSON-encodable pointer. It returns an error only when it cannot tell
	// (a file it cannot read); a file it cannot parse is a fact (and
	// usually a finding), not an error.
	Scan(ctx context.Context, tree *Tree, cache Cache) (any, error)
	// Checks are the scanner's checks, of kind "git-repo". Their Run
	// receives the value Scan returned.
	Checks() []*rampart.Check
}

// ForEach calls fn for 0 <= i < n on GOMAXPROCS goroutines, so that a
// scanner with many files uses every core. It returns the first error fn
// returned (the others are dropped) or ctx's error, and stops handing out
// work once either happens. fn must be safe for concurrent use; writing to
// element i of a slice made beforehand is.
func ForEach(ctx context.Context, n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var (
		next    atomic.Int64
		once    sync.Once
		first   error
		stopped atomic.Bool
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		stopped.Store(true)
	}
	for range workers {
		wg.Go(func() {
			for !stopped.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := fn(i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
