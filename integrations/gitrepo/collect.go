package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/cache"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
)

// Collector scans git-repo resources.
type Collector struct {
	Env rampart.Env
	// Git is the git executable; empty means "git" on PATH.
	Git string
	// SSH is the ssh program git runs for SSH URLs; empty means "ssh".
	SSH string

	mu    sync.Mutex
	stats Stats
}

var _ rampart.Collector = (*Collector)(nil)

// Stats describe the work of scans: what was walked and how much was
// parsed rather than taken from the cache.
type Stats struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Parsed counts cache misses: files (or commits) read and parsed.
	Parsed int64 `json:"parsed"`
	// CacheHits counts results taken from the cache.
	CacheHits int64 `json:"cacheHits"`
	// Scanners is each scanner's wall time.
	Scanners map[string]time.Duration `json:"scanners"`
	Total    time.Duration            `json:"total"`
}

// Stats returns the counters of the collector's scans so far.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Collector) getenv(k string) string {
	if c.Env.Getenv == nil {
		return ""
	}
	return c.Env.Getenv(k)
}

// Collect implements rampart.Collector.
func (c *Collector) Collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	spec, ok := r.Spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("git-repo %s: spec of type %T, want *gitrepo.Spec", r.ID, r.Spec)
	}
	root := spec.CacheDir
	if root == "" {
		var err error
		if root, err = cache.DefaultRoot(c.getenv); err != nil {
			return nil, err
		}
	}
	dc, err := cache.Open(root)
	if err != nil {
		return nil, err
	}
	g := git{bin: c.Git, env: c.gitEnv()}
	var src source
	if spec.URL != "" {
		src, err = c.clone(ctx, g, spec, root)
	} else {
		src, err = local(ctx, g, spec.Path, spec.Branch)
	}
	if err != nil {
		return nil, err
	}
	facts, st, err := scanTree(ctx, src, spec.Options, spec.Scanners, dc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.stats = addStats(c.stats, st)
	c.mu.Unlock()
	return facts, nil
}

func addStats(a, b Stats) Stats {
	a.Files += b.Files
	a.Bytes += b.Bytes
	a.Parsed += b.Parsed
	a.CacheHits += b.CacheHits
	a.Total += b.Total
	if a.Scanners == nil {
		a.Scanners = map[string]time.Duration{}
	}
	for k, v := range b.Scanners {
		a.Scanners[k] += v
	}
	return a
}

// source is a checked-out tree to scan.
type source struct {
	root, display, commit, branch string
}

// local resolves a directory: its commit and branch when it is the top of
// a git work tree, none otherwise.
func local(ctx context.Context, g git, dir, wantBranch string) (source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return source{}, fmt.Errorf("git-repo path %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return source{}, fmt.Errorf("git-repo path: %w", err)
	}
	if !st.IsDir() {
		return source{}, fmt.Errorf("git-repo path %s is not a directory", dir)
	}
	src := source{root: abs, display: dir}
	if _, err := os.Stat(filepath.Join(abs, ".git")); err != nil {
		if wantBranch != "" {
			return source{}, fmt.Errorf("git-repo path %s is not the top of a git repository, so branch %s cannot be checked", dir, wantBranch)
		}
		return src, nil
	}
	out, err := g.run(ctx, abs, "rev-parse", "HEAD")
	if err != nil {
		return source{}, fmt.Errorf("git-repo path %s: %w", dir, err)
	}
	src.commit = strings.TrimSpace(out)
	if out, err := g.run(ctx, abs, "symbolic-ref", "--quiet", "--short", "HEAD"); err == nil {
		src.branch = strings.TrimSpace(out)
	}
	if wantBranch != "" && src.branch != wantBranch {
		return source{}, fmt.Errorf("git-repo path %s has branch %q checked out, the register names %q", dir, src.branch, wantBranch)
	}
	return src, nil
}

// scanTree walks the source once and runs the selected scanners on it,
// concurrently.
func scanTree(ctx context.Context, src source, opt scan.Options, selected []string, dc *cache.Dir) (*Facts, Stats, error) {
	start := time.Now()
	before := dc.Stats()
	var (
		mu    sync.Mutex
		sup   []Suppression
		bytes atomic.Int64
	)
	t, err := tree.Walk(ctx, src.root, func(path string, content []byte) {
		bytes.Add(int64(len(content)))
		if s := ParseSuppressions(path, content); len(s) > 0 {
			mu.Lock()
			sup = append(sup, s...)
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, Stats{}, err
	}
	slices.SortFunc(sup, func(a, b Suppression) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	t.Commit, t.Options = src.commit, opt
	facts := &Facts{
		Source: src.display, Commit: src.commit, Branch: src.branch,
		Files: len(t.Files), Bytes: bytes.Load(),
		Scanned: []string{}, Scanners: map[string]any{}, Suppressions: sup,
	}
	var scanners []scan.Scanner
	for _, s := range Scanners() {
		if len(selected) == 0 || slices.Contains(selected, s.Name()) {
			scanners = append(scanners, s)
			facts.Scanned = append(facts.Scanned, s.Name())
		}
	}
	type outcome struct {
		facts any
		err   error
		took  time.Duration
	}
	results := make([]outcome, len(scanners))
	var wg sync.WaitGroup
	for i, s := range scanners {
		wg.Go(func() {
			begin := time.Now()
			defer func() {
				if v := recover(); v != nil {
					results[i] = outcome{err: fmt.Errorf("panic: %v", v), took: time.Since(begin)}
				}
			}()
			f, err := s.Scan(ctx, t, dc)
			results[i] = outcome{facts: f, err: err, took: time.Since(begin)}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, Stats{}, err
	}
	st := Stats{Files: facts.Files, Bytes: facts.Bytes, Scanners: map[string]time.Duration{}}
	for i, s := range scanners {
		st.Scanners[s.Name()] = results[i].took
		if results[i].err != nil {
			if facts.ScanErrors == nil {
				facts.ScanErrors = map[string]string{}
			}
			facts.ScanErrors[s.Name()] = results[i].err.Error()
			continue
		}
		facts.Scanners[s.Name()] = results[i].facts
	}
	after := dc.Stats()
	st.Parsed, st.CacheHits = after.Misses-before.Misses, after.Hits-before.Hits
	st.Total = time.Since(start)
	return facts, st, nil
}

// git runs the git executable with a controlled environment.
type git struct {
	bin string
	env []string
}

func (g git) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	bin := g.bin
	if bin == "" {
		bin = "git"
	}
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = g.env
	return cmd
}

func (g git) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := g.command(ctx, dir, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && stderr.Len() > 0 {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return string(out), nil
}

// passEnv are the variables git may see from Rampart's environment: what
// it needs to find programs, proxies and CA certificates, and the ssh
// agent. Everything else, in particular GIT_TRACE* and credential
// settings, stays out.
var passEnv = []string{
	"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO", "SSH_AUTH_SOCK",
}

func (c *Collector) gitEnv() []string {
	env := []string{"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_ASKPASS=", "SSH_ASKPASS="}
	for _, k := range passEnv {
		if v := c.getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if c.getenv("PATH") == "" {
		env = append(env, "PATH="+os.Getenv("PATH"))
	}
	return env
}
