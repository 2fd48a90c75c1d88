// Package secrets is the git-repo scanner for leaked secrets: it runs
// gitleaks' detector, as a library, over the working tree and over the
// branch's history to a configurable depth. The secret itself never leaves
// the scanner: gitleaks' findings are reduced to rule, file, line, commit
// and fingerprint before anything is stored, printed or logged.
package secrets

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/gitleaks/go-gitdiff/gitdiff"
	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/report"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
)

// Name keys this scanner's facts and cache entries.
const Name = "secrets"

// IgnoreFile lists gitleaks fingerprints to ignore, as gitleaks does.
const IgnoreFile = ".gitleaksignore"

// DefaultHistoryDepth is how many commits back history is read when the
// register does not say.
const DefaultHistoryDepth = 100

// MaxFileSize bounds the working-tree files read; larger ones are counted
// as skipped.
const MaxFileSize = 10 << 20

// cacheKey versions entries with the gitleaks rules they were found with.
const cacheKey = "v1-gitleaks-8.30.1:"

// historyBatch is how many commits one `git log` reads.
const historyBatch = 256

// Facts are the leaks found, without their values.
type Facts struct {
	// Files is how many working-tree files were read; Skipped how many
	// were not (binary or larger than MaxFileSize).
	Files    int    `json:"files"`
	Skipped  int    `json:"skipped,omitempty"`
	Worktree []Leak `json:"worktree"`
	// History is nil for a directory that is not a git repository.
	History *History `json:"history,omitempty"`
}

// History is what the history scan read and found.
type History struct {
	Depth int `json:"depth"`
	// Commits is how many commits were read (fewer than Depth in a short
	// or shallow history).
	Commits int    `json:"commits"`
	Leaks   []Leak `json:"leaks"`
	// Error says why history could not be read; its check then errors.
	Error string `json:"error,omitempty"`
}

// Leak is a redacted gitleaks finding: where and what kind, never the
// value, the matched text or the line holding it.
type Leak struct {
	RuleID      string `json:"ruleId"`
	Description string `json:"description"`
	File        string `json:"file"`
	StartLine   int    `json:"startLine"`
	EndLine     int    `json:"endLine"`
	StartColumn int    `json:"startColumn"`
	EndColumn   int    `json:"endColumn"`
	Commit      string `json:"commit,omitempty"`
	// Fingerprint is gitleaks' own: file:rule:line, or
	// commit:file:rule:line in history, as .gitleaksignore lists them.
	Fingerprint string `json:"fingerprint"`
	// Ignored is set when .gitleaksignore lists the fingerprint.
	Ignored bool `json:"ignored,omitempty"`
}

func redact(f *report.Finding) Leak {
	l := Leak{
		RuleID: f.RuleID, Description: f.Description, File: f.File,
		StartLine: f.StartLine, EndLine: f.EndLine, StartColumn: f.StartColumn, EndColumn: f.EndColumn,
		Commit: f.Commit,
	}
	l.Fingerprint = fingerprint(l)
	return l
}

func fingerprint(l Leak) string {
	if l.Commit != "" {
		return fmt.Sprintf("%s:%s:%s:%d", l.Commit, l.File, l.RuleID, l.StartLine)
	}
	return fmt.Sprintf("%s:%s:%d", l.File, l.RuleID, l.StartLine)
}

var (
	detectorOnce sync.Once
	detector     *detect.Detector
	detectorErr  error
)

// Detector builds gitleaks' default detector once. gitleaks reads its
// rules through the global viper and logs through a global zerolog
// logger, so both are touched here only, and the logger is silenced: its
// trace events would carry the secret.
func Detector() (*detect.Detector, error) {
	detectorOnce.Do(func() {
		logging.Logger = zerolog.Nop()
		detector, detectorErr = detect.NewDetectorDefaultConfig()
		if detectorErr != nil {
			detectorErr = fmt.Errorf("load gitleaks rules: %w", detectorErr)
		}
	})
	return detector, detectorErr
}

// Scanner is the secrets scanner.
type Scanner struct {
	// Git is the git executable; empty means "git" on PATH.
	Git string
}

var _ scan.Scanner = Scanner{}

// New returns the scanner.
func New() Scanner { return Scanner{} }

// Name implements scan.Scanner.
func (Scanner) Name() string { return Name }

// DetectContent runs the detector over one file's content and returns the
// redacted leaks. commit may be empty; startLine is the line the content
// starts at in the file (1 for a whole file, the first added line for a
// hunk), as gitleaks' own sources count, so that fingerprints match the
// gitleaks CLI's and its .gitleaksignore entries apply.
func DetectContent(ctx context.Context, d *detect.Detector, path, commit string, startLine int, content string) []Leak {
	//nolint:staticcheck // v8's DetectContext takes only the deprecated detect.Fragment.
	found := d.DetectContext(ctx, detect.Fragment{Raw: content, FilePath: path, CommitSHA: commit, StartLine: startLine})
	out := make([]Leak, 0, len(found))
	for i := range found {
		out = append(out, redact(&found[i]))
		// Drop every field holding the value before the slice goes away.
		found[i] = report.Finding{}
	}
	return out
}

// Scan implements scan.Scanner.
func (s Scanner) Scan(ctx context.Context, t *scan.Tree, cache scan.Cache) (any, error) {
	d, err := Detector()
	if err != nil {
		return nil, err
	}
	ignore, err := readIgnore(t)
	if err != nil {
		return nil, err
	}
	facts := &Facts{Worktree: []Leak{}}
	perFile := make([][]Leak, len(t.Files))
	skipped := make([]bool, len(t.Files))
	err = scan.ForEach(ctx, len(t.Files), func(i int) error {
		f := t.Files[i]
		if f.Size > MaxFileSize {
			skipped[i] = true
			return nil
		}
		key := cacheKey + f.Hash + ":" + f.Path
		var leaks []Leak
		if cache.Get(Name, key, &leaks) {
			perFile[i] = leaks
			return nil
		}
		b, err := t.Read(f.Path)
		if err != nil {
			return err
		}
		if binary(b) {
			skipped[i] = true
			cache.Put(Name, key, []Leak{})
			return nil
		}
		leaks = DetectContent(ctx, d, f.Path, "", 1, string(b))
		cache.Put(Name, key, leaks)
		perFile[i] = leaks
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	for i := range perFile {
		if skipped[i] {
			facts.Skipped++
			continue
		}
		facts.Files++
		facts.Worktree = append(facts.Worktree, perFile[i]...)
	}
	if t.Commit != "" && t.Options.HistoryDepth >= 0 {
		facts.History = s.history(ctx, t, cache, d)
	}
	mark(facts.Worktree, ignore)
	if facts.History != nil {
		mark(facts.History.Leaks, ignore)
	}
	return facts, nil
}

func binary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

func readIgnore(t *scan.Tree) (map[string]bool, error) {
	ig := map[string]bool{}
	if !tree.HasFile(t, IgnoreFile) {
		return ig, nil
	}
	b, err := t.Read(IgnoreFile)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ig[strings.ReplaceAll(line, `\`, "/")] = true
	}
	return ig, nil
}

func mark(leaks []Leak, ignore map[string]bool) {
	for i := range leaks {
		l := &leaks[i]
		global := fmt.Sprintf("%s:%s:%d", l.File, l.RuleID, l.StartLine)
		l.Ignored = ignore[l.Fingerprint] || ignore[global]
	}
}

func (s Scanner) git() string {
	if s.Git != "" {
		return s.Git
	}
	return "git"
}

// history reads the last Depth commits of the scanned commit. Commits are
// immutable, so each commit's leaks are cached by its sha and a later scan
// reads only the commits it has not seen.
func (s Scanner) history(ctx context.Context, t *scan.Tree, cache scan.Cache, d *detect.Detector) *History {
	depth := t.Options.HistoryDepth
	if depth == 0 {
		depth = DefaultHistoryDepth
	}
	h := &History{Depth: depth, Leaks: []Leak{}}
	if t.Root == "" {
		h.Error = "no checkout on disk to read history from"
		return h
	}
	out, err := exec.CommandContext(ctx, s.git(), "-C", t.Root, "rev-list", fmt.Sprintf("--max-count=%d", depth), t.Commit).Output()
	if err != nil {
		h.Error = "list commits: " + gitError(err)
		return h
	}
	shas := strings.Fields(string(out))
	h.Commits = len(shas)
	byCommit := map[string][]Leak{}
	var todo []string
	for _, sha := range shas {
		var leaks []Leak
		if cache.Get(Name, cacheKey+"commit:"+sha, &leaks) {
			byCommit[sha] = leaks
			continue
		}
		todo = append(todo, sha)
	}
	for batch := range slices.Chunk(todo, historyBatch) {
		found, err := s.readCommits(ctx, t.Root, batch, d)
		if err != nil {
			h.Error = err.Error()
			return h
		}
		for _, sha := range batch {
			leaks := found[sha]
			if leaks == nil {
				leaks = []Leak{}
			}
			cache.Put(Name, cacheKey+"commit:"+sha, leaks)
			byCommit[sha] = leaks
		}
	}
	for _, sha := range shas {
		h.Leaks = append(h.Leaks, byCommit[sha]...)
	}
	return h
}

type fragment struct {
	commit, path string
	start        int
	raw          string
}

// readCommits runs one `git log -p` over the given commits and detects
// leaks in the lines each one added.
func (s Scanner) readCommits(ctx context.Context, root string, shas []string, d *detect.Detector) (map[string][]Leak, error) {
	cmd := exec.CommandContext(ctx, s.git(), "-C", root, "log", "-p", "-U0", "--no-walk=unsorted", "--stdin",
		"--no-color", "--no-ext-diff", "--no-textconv", "--diff-filter=tuxdb", "--format=medium")
	cmd.Stdin = strings.NewReader(strings.Join(shas, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	counted := &countingReader{r: stdout}
	files, err := gitdiff.Parse(counted)
	if err != nil {
		_ = cmd.Wait()
		return nil, fmt.Errorf("read history: parse git log: %w", err)
	}
	var frags []fragment
	for f := range files {
		if f.IsDelete || f.IsBinary || f.PatchHeader == nil {
			continue
		}
		for _, tf := range f.TextFragments {
			if tf == nil {
				continue
			}
			frags = append(frags, fragment{commit: f.PatchHeader.SHA, path: f.NewName, start: int(tf.NewPosition), raw: tf.Raw(gitdiff.OpAdd)})
		}
	}
	// The parser stops quietly on input it does not understand; whatever
	// it left unread means commits went unscanned, which must not be
	// cached as clean.
	rest, _ := io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("read history: git log: %s", strings.TrimSpace(stderr.String()))
	}
	if rest > 0 {
		return nil, fmt.Errorf("read history: git log output not understood after %d bytes", counted.n)
	}
	results := make([][]Leak, len(frags))
	err = scan.ForEach(ctx, len(frags), func(i int) error {
		fr := frags[i]
		results[i] = DetectContent(ctx, d, fr.path, fr.commit, fr.start, fr.raw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]Leak{}
	for i, fr := range frags {
		out[fr.commit] = append(out[fr.commit], results[i]...)
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func gitError(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return err.Error()
}
