// Package kube is the git-repo scanner for Kubernetes manifests and Helm
// charts. Manifests are read into k8s.io/api types; charts are linted and
// rendered with the Helm SDK, with their defaults and with each values
// file the register names. Every workload is evaluated against the Pod
// Security Standards with k8s.io/pod-security-admission (baseline and
// restricted, per violated check) and against configuration best
// practices: resources, read-only root filesystem, image tags and
// registries, probes, literal secrets, service-account tokens, network
// policies and exposed services.
package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// Name keys this scanner's facts and cache entries.
const Name = "kube"

// cacheKey versions cached results: bump it when the facts change shape
// or reading changes what it records.
const cacheKey = "v2:"

// Scanner is the Kubernetes manifests and Helm charts scanner.
type Scanner struct{}

var _ scan.Scanner = Scanner{}

// New returns the scanner.
func New() Scanner { return Scanner{} }

// Name implements scan.Scanner.
func (Scanner) Name() string { return Name }

// Checks implements scan.Scanner.
func (Scanner) Checks() []*rampart.Check { return Checks() }

// IsYAML reports whether p names a YAML file.
func IsYAML(p string) bool {
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml"
}

// chartDirs lists the directories holding a Chart.yaml, leaving out
// charts inside another chart (its subcharts, rendered with it).
func chartDirs(files []scan.File) []string {
	var dirs []string
	for _, f := range files {
		if path.Base(f.Path) == "Chart.yaml" {
			dirs = append(dirs, path.Dir(f.Path))
		}
	}
	all := map[string]bool{}
	for _, d := range dirs {
		all[d] = true
	}
	var out []string
	for _, d := range dirs {
		if d != "." {
			if _, nested := chartOf(d, all); nested {
				continue
			}
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// chartOf returns the chart directory p belongs to, if any.
func chartOf(p string, dirs map[string]bool) (string, bool) {
	for d := path.Dir(p); ; d = path.Dir(d) {
		if dirs[d] {
			return d, true
		}
		if d == "." || d == "/" {
			return "", false
		}
	}
}

// Scan implements scan.Scanner. Charts and manifests are read on every
// core, each once per content hash (a chart's key covers all its files
// and values files).
func (Scanner) Scan(ctx context.Context, tree *scan.Tree, cache scan.Cache) (any, error) {
	dirs := chartDirs(tree.Files)
	dirSet := map[string]bool{}
	for _, d := range dirs {
		dirSet[d] = true
	}
	chartFiles := map[string][]scan.File{}
	var manifests []scan.File
	for _, f := range tree.Files {
		if c, ok := chartOf(f.Path, dirSet); ok {
			chartFiles[c] = append(chartFiles[c], f)
			continue
		}
		if IsYAML(f.Path) && !strings.HasPrefix(f.Path, ".github/") {
			manifests = append(manifests, f)
		}
	}
	hashes := make(map[string]string, len(tree.Files))
	for _, f := range tree.Files {
		hashes[f.Path] = f.Hash
	}
	values := map[string][]string{}
	for dir, files := range tree.Options.ValuesFiles {
		d := path.Clean(strings.TrimPrefix(dir, "./"))
		values[d] = append(values[d], files...)
	}

	facts := &Facts{
		AllowedRegistries: tree.Options.AllowedRegistries,
		Charts:            make([]*Chart, len(dirs)),
		Manifests:         make([]*Manifest, len(manifests)),
	}
	// Charts first: they are the slow part, so they start early.
	err := scan.ForEach(ctx, len(dirs)+len(manifests), func(i int) error {
		if i < len(dirs) {
			c, err := scanChart(tree, cache, dirs[i], chartFiles[dirs[i]], values[dirs[i]], hashes)
			facts.Charts[i] = c
			return err
		}
		m, err := scanManifest(tree, cache, manifests[i-len(dirs)])
		facts.Manifests[i-len(dirs)] = m
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	facts.Manifests = slices.DeleteFunc(facts.Manifests, func(m *Manifest) bool {
		return len(m.Objects) == 0 && m.Error == ""
	})
	return facts, nil
}

var (
	apiVersionLine = regexp.MustCompile(`(?m)^\s*apiVersion:`)
	kindLine       = regexp.MustCompile(`(?m)^\s*kind:`)
)

func scanManifest(tree *scan.Tree, cache scan.Cache, f scan.File) (*Manifest, error) {
	key := cacheKey + "manifest:" + f.Hash
	m := new(Manifest)
	if cache == nil || !cache.Get(Name, key, m) {
		b, err := tree.Read(f.Path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Path, err)
		}
		m = readManifest(b)
		if cache != nil {
			cache.Put(Name, key, m)
		}
	}
	// A copy with paths, so that a cache holding m keeps none.
	named := &Manifest{Path: f.Path, Error: m.Error, ErrorLine: m.ErrorLine, Objects: make([]*Object, len(m.Objects))}
	for i, o := range m.Objects {
		c := *o
		c.Path = f.Path
		named.Objects[i] = &c
	}
	return named, nil
}

// readManifest reads one candidate file; one that holds no Kubernetes
// object (other YAML, or a template that is not YAML) gives an empty
// Manifest.
func readManifest(b []byte) *Manifest {
	m := new(Manifest)
	if !looksLikeKube(b) {
		return m
	}
	objs, err := ReadManifest(b)
	m.Objects = objs
	if err != nil {
		kubeish := apiVersionLine.Match(b) && kindLine.Match(b) && !bytes.Contains(b, []byte("{{"))
		var se *SyntaxError
		if (len(objs) > 0 || kubeish) && errors.As(err, &se) {
			m.Error, m.ErrorLine = se.Msg, se.Line
		}
	}
	return m
}

func scanChart(tree *scan.Tree, cache scan.Cache, rel string, files []scan.File, valuesFiles []string, hashes map[string]string) (*Chart, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", rel)
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00", f.Path, f.Hash)
	}
	has := func(p string) bool { _, ok := hashes[p]; return ok }
	for _, v := range valuesFiles {
		p := path.Clean(path.Join(rel, v))
		if !has(p) {
			p = path.Clean(v)
		}
		fmt.Fprintf(h, "values\x00%s\x00%s\x00%s\x00", v, p, hashes[p])
	}
	key := cacheKey + "chart:" + hex.EncodeToString(h.Sum(nil))
	c := new(Chart)
	if cache != nil && cache.Get(Name, key, c) {
		return c, nil
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	dir := ""
	if tree.Root != "" {
		d := filepath.Join(tree.Root, filepath.FromSlash(rel))
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dir = d
		}
	}
	if dir == "" {
		d, cleanup, err := materialize(paths, rel, tree.Read)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		dir = d
	}
	read := func(p string) ([]byte, error) {
		if !has(p) {
			return nil, fmt.Errorf("not in the repository")
		}
		return tree.Read(p)
	}
	c = analyzeChart(dir, rel, valuesSets(rel, valuesFiles, has, read))
	if cache != nil {
		cache.Put(Name, key, c)
	}
	return c, nil
}
