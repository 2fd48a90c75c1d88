package github

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/integrations/gitrepo/dockerfile"
	"github.com/rampart-dev/rampart/integrations/gitrepo/hygiene"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/terraform"
	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
	"github.com/rampart-dev/rampart/integrations/gitrepo/workflow"
)

// filesVersion names the selection wanted makes; it keys cached trees, so
// changing wanted must change it.
const filesVersion = "files-1"

// MaxFileSize bounds the files fetched: the scanned files are small, and
// anything larger is most likely generated.
const MaxFileSize = 1 << 20

// FileScanners are the git-repo scanners that run on files fetched
// through the API. The secret scanner is left out: it reads every file
// and the history, which is a clone; GitHub's own secret scanning is
// checked instead (GH-REPO-SECRET-SCANNING).
var FileScanners = []string{hygiene.Name, dockerfile.Name, workflow.Name, terraform.Name}

// wanted reports whether a path is read by one of FileScanners.
func wanted(p string) bool {
	base := path.Base(p)
	switch {
	case workflow.IsWorkflow(p), workflow.IsAction(p), dockerfile.IsDockerfile(p):
		return true
	case slices.Contains(hygiene.CodeOwnersPaths, p), p == hygiene.PreCommitConfig,
		slices.Contains(hygiene.DependencyUpdatesPaths, p), p == tree.IgnoreFile:
		return true
	case base == terraform.LockFile:
		return true
	}
	for _, sp := range hygiene.SecurityPolicyPaths {
		if path.Dir(sp) == path.Dir(p) && strings.EqualFold(path.Base(sp), base) {
			return true
		}
	}
	if strings.HasPrefix(p, ".terraform/") || strings.Contains(p, "/.terraform/") {
		return false
	}
	switch path.Ext(p) {
	case ".tf", ".tofu", ".tfvars":
		return true
	}
	return false
}

// treeFile is one wanted blob of a tree.
type treeFile struct {
	Path string `json:"path"`
	SHA  string `json:"sha"`
	Size int64  `json:"size"`
}

// cachedTree is what Rampart keeps of a git tree: the wanted blobs only.
type cachedTree struct {
	Files     []treeFile `json:"files"`
	Truncated bool       `json:"truncated,omitempty"`
}

// blobRef is a blob to fetch.
type blobRef struct {
	repo, path, oid string
	size            int64
}

// files fetches the wanted files of every repository's default branch
// and runs the file scanners on them. A tree is read once per SHA and a
// blob once per SHA, ever: both are cached by the name that is their
// content, so a second scan of an unchanged organization fetches nothing.
func (cl *client) files(ctx context.Context, f *Facts, heads map[string]head) error {
	type job struct {
		r    *Repository
		h    head
		tree *cachedTree
		err  string
	}
	var jobs []*job
	for i := range f.Repositories {
		r := &f.Repositories[i]
		switch {
		case r.Skipped, r.Errors["notFound"] != "":
			continue
		case r.Empty:
			r.Files = &FileScan{Fetched: []string{}, Error: "the repository is empty"}
			continue
		}
		h, ok := heads[r.Name]
		if !ok {
			reason := "the default branch's head is unknown"
			if e := r.Errors["protection"]; e != "" {
				reason += ": " + e
			}
			r.Files = &FileScan{Fetched: []string{}, Error: reason}
			continue
		}
		jobs = append(jobs, &job{r: r, h: h})
	}

	// Trees, concurrently: the transport bounds what is in flight.
	if err := cl.each(ctx, len(jobs), func(i int) error {
		j := jobs[i]
		t, err := cl.tree(ctx, j.r.Name, j.h.tree)
		if err != nil {
			if fe := cl.fatal(err); fe != nil {
				return fe
			}
			j.err = cl.explain(err, "the repository's file tree", needContents)
			return nil
		}
		j.tree = t
		return nil
	}); err != nil {
		return err
	}

	// Blobs not cached yet, in GraphQL batches across repositories.
	var missing []blobRef
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.tree == nil {
			continue
		}
		for _, tf := range j.tree.Files {
			if tf.Size > MaxFileSize || seen[tf.SHA] {
				continue
			}
			if _, ok := cl.store.object("blob:" + tf.SHA); ok {
				cl.tr.objectsCached.Add(1)
				continue
			}
			seen[tf.SHA] = true
			missing = append(missing, blobRef{repo: j.r.Name, path: tf.Path, oid: tf.SHA, size: tf.Size})
		}
	}
	blobErrs, err := cl.fetchBlobs(ctx, missing)
	if err != nil {
		return err
	}

	// Scan, repository by repository, on every core.
	return scan.ForEach(ctx, len(jobs), func(i int) error {
		j := jobs[i]
		fs := &FileScan{Commit: j.h.commit, Tree: j.h.tree, Fetched: []string{}}
		j.r.Files = fs
		if j.err != "" {
			fs.Error = j.err
			return nil
		}
		if j.tree.Truncated {
			fs.Error = "GitHub truncated the repository's tree (over 100,000 entries or 7 MB): its files were not scanned, clone it as a git-repo resource instead"
			return nil
		}
		fs.Facts, fs.Fetched, fs.Error = cl.scanRepo(ctx, j.r, j.h, j.tree, blobErrs)
		return nil
	})
}

// each runs fn for 0 <= i < n on the spec's concurrency.
func (cl *client) each(ctx context.Context, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(cl.spec.Concurrency, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				if first != nil || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := ctx.Err(); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// tree returns the wanted files of a git tree, from the object cache or
// from GET /repos/{owner}/{repo}/git/trees/{sha}?recursive=1.
func (cl *client) tree(ctx context.Context, repo, sha string) (*cachedTree, error) {
	key := "tree:" + filesVersion + ":" + sha
	if b, ok := cl.store.object(key); ok {
		var t cachedTree
		if json.Unmarshal(b, &t) == nil {
			cl.tr.objectsCached.Add(1)
			return &t, nil
		}
	}
	t, _, err := cl.rest.Git.GetTree(ctx, cl.spec.Org, repo, sha, true)
	if err != nil {
		return nil, err
	}
	out := &cachedTree{Files: []treeFile{}, Truncated: t.GetTruncated()}
	for _, e := range t.Entries {
		if e.GetType() != "blob" || e.GetMode() == "120000" || !wanted(e.GetPath()) {
			continue
		}
		out.Files = append(out.Files, treeFile{Path: e.GetPath(), SHA: e.GetSHA(), Size: int64(e.GetSize())})
	}
	slices.SortFunc(out.Files, func(a, b treeFile) int { return strings.Compare(a.Path, b.Path) })
	if b, err := json.Marshal(out); err == nil {
		cl.store.putObject(key, b)
	}
	return out, nil
}

// Blob batches: GitHub answers a query within ten seconds or not at all,
// so a batch stays small.
const (
	blobBatch      = 100
	blobBatchBytes = 2 << 20
)

// fetchBlobs fetches blobs through GraphQL in batches, and the few that
// GraphQL will not give as text (binary, truncated) through REST. It
// returns, by SHA, why a blob could not be fetched.
func (cl *client) fetchBlobs(ctx context.Context, refs []blobRef) (map[string]string, error) {
	errs := map[string]string{}
	var rest []blobRef
	for start := 0; start < len(refs); {
		end, size := start, int64(0)
		for end < len(refs) && end-start < blobBatch && (end == start || size+refs[end].size <= blobBatchBytes) {
			size += refs[end].size
			end++
		}
		batch := refs[start:end]
		start = end
		query, vars := blobsQuery(batch)
		vars["org"] = cl.spec.Org
		raw := map[string]json.RawMessage{}
		gerrs, err := cl.gql.do(ctx, query, vars, &raw)
		if err != nil {
			if fe := cl.fatal(err); fe != nil {
				return nil, fe
			}
			// Let REST try each one: it says which the token cannot read.
			rest = append(rest, batch...)
			continue
		}
		repoAlias := map[string]string{}
		for _, ref := range batch {
			if _, ok := repoAlias[ref.repo]; !ok {
				repoAlias[ref.repo] = fmt.Sprintf("r%d", len(repoAlias))
			}
		}
		data := map[string]map[string]*gqlBlob{}
		for _, alias := range repoAlias {
			var blobs map[string]*gqlBlob
			if json.Unmarshal(raw[alias], &blobs) == nil {
				data[alias] = blobs
			}
		}
		for j, ref := range batch {
			b := data[repoAlias[ref.repo]][fmt.Sprintf("b%d", j)]
			switch {
			case b == nil:
				if e := gerrs.under(repoAlias[ref.repo]); len(e) > 0 {
					errs[ref.oid] = "GitHub's GraphQL API refused the file: " + e.String()
				} else {
					rest = append(rest, ref)
				}
			case b.Text == nil || b.IsBinary || b.IsTruncated:
				rest = append(rest, ref)
			default:
				cl.store.putObject("blob:"+ref.oid, []byte(*b.Text))
			}
		}
	}
	err := cl.each(ctx, len(rest), func(i int) error {
		ref := rest[i]
		b, _, err := cl.rest.Git.GetBlobRaw(ctx, cl.spec.Org, ref.repo, ref.oid)
		if err != nil {
			if fe := cl.fatal(err); fe != nil {
				return fe
			}
			msg := cl.explain(err, "the file "+ref.path, needContents)
			cl.mu.Lock()
			errs[ref.oid] = msg
			cl.mu.Unlock()
			return nil
		}
		cl.store.putObject("blob:"+ref.oid, b)
		return nil
	})
	return errs, err
}

// scanRepo builds a scan.Tree over a repository's fetched files and runs
// the file scanners on it, as the git-repo integration does on a clone.
func (cl *client) scanRepo(ctx context.Context, r *Repository, h head, t *cachedTree, blobErrs map[string]string) (*gitrepo.Facts, []string, string) {
	contents := map[string][]byte{}
	var files []scan.File
	var problems []string
	for _, tf := range t.Files {
		if tf.Size > MaxFileSize {
			problems = append(problems, fmt.Sprintf("%s: %d bytes, over the %d fetched", tf.Path, tf.Size, MaxFileSize))
			continue
		}
		b, ok := cl.store.object("blob:" + tf.SHA)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s", tf.Path, cmp.Or(blobErrs[tf.SHA], "not fetched")))
			continue
		}
		contents[tf.Path] = b
	}
	if len(problems) > 0 {
		// A scanner that misses a file could pass what it should fail.
		return nil, nil, "some files could not be fetched: " + strings.Join(problems, "; ")
	}
	var ignore *tree.Ignore
	if b, ok := contents[tree.IgnoreFile]; ok {
		ig, err := tree.ParseIgnore(string(b))
		if err != nil {
			return nil, nil, fmt.Sprintf("%s: %v", tree.IgnoreFile, err)
		}
		ignore = ig
	}
	var sup []gitrepo.Suppression
	var total int64
	fetched := []string{}
	for _, tf := range t.Files {
		b, ok := contents[tf.Path]
		if !ok || (ignore != nil && ignored(ignore, tf.Path)) {
			continue
		}
		sum := sha256.Sum256(b)
		files = append(files, scan.File{Path: tf.Path, Hash: hex.EncodeToString(sum[:]), Size: int64(len(b))})
		fetched = append(fetched, tf.Path)
		total += int64(len(b))
		sup = append(sup, gitrepo.ParseSuppressions(tf.Path, b)...)
	}
	slices.SortFunc(sup, func(a, b gitrepo.Suppression) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), a.Line-b.Line)
	})
	st := &scan.Tree{
		Files: files,
		Read: func(p string) ([]byte, error) {
			b, ok := contents[path.Clean(p)]
			if !ok {
				return nil, fmt.Errorf("read %s: not among the files fetched from GitHub", p)
			}
			return b, nil
		},
		Options: scan.Options{Public: r.Visibility == "public", HistoryDepth: -1},
	}
	facts := &gitrepo.Facts{
		Source: strings.TrimSuffix(cl.spec.restBase(), "/") + "/repos/" + cl.spec.Org + "/" + r.Name,
		Commit: h.commit, Branch: r.DefaultBranch, Files: len(files), Bytes: total,
		Scanned: []string{}, Scanners: map[string]any{}, Suppressions: sup,
	}
	for _, s := range gitrepo.Scanners() {
		if !slices.Contains(FileScanners, s.Name()) {
			continue
		}
		facts.Scanned = append(facts.Scanned, s.Name())
		out, err := runScanner(ctx, s, st, cl.scan)
		if err != nil {
			if facts.ScanErrors == nil {
				facts.ScanErrors = map[string]string{}
			}
			facts.ScanErrors[s.Name()] = err.Error()
			continue
		}
		facts.Scanners[s.Name()] = out
	}
	return facts, fetched, ""
}

// ignored applies .rampartignore to a path and each of its directories.
func ignored(ig *tree.Ignore, p string) bool {
	if ig.Match(p, false) {
		return true
	}
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if ig.Match(d, true) {
			return true
		}
	}
	return false
}

// runScanner runs one scanner, turning a panic into an error as the
// git-repo integration does.
func runScanner(ctx context.Context, s scan.Scanner, t *scan.Tree, c scan.Cache) (out any, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("panic: %v", v)
		}
	}()
	return s.Scan(ctx, t, c)
}
