package kube

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// Release is how charts are rendered: `helm template`'s release name,
// into the default namespace.
var release = chartutil.ReleaseOptions{Name: "release-name", Namespace: "default", Revision: 1, IsInstall: true}

// chartValues is one values set of a chart: a name (empty for the
// chart's defaults) and the values.
type chartValues struct {
	file string
	vals chartutil.Values
	err  error
}

// analyzeChart loads the chart at dir (on disk, at repository path rel),
// lints and renders it with its defaults and with each values set.
func analyzeChart(dir, rel string, sets []chartValues) *Chart {
	c := &Chart{Dir: rel}
	ch, err := loader.Load(dir)
	if err != nil {
		// The loader returns a chart that failed validation too.
		ch, c.Error = nil, oneLine(err.Error())
	} else {
		c.Name, c.Version = ch.Name(), ch.Metadata.Version
	}
	// Helm's linter renders the templates too, and reports a chart that
	// does not load under several rules: one message each.
	seen := map[string]bool{}
	addLint := func(m LintMessage, key string) {
		if seen[key] || (c.Error != "" && strings.Contains(key, c.Error)) {
			return
		}
		seen[key] = true
		c.Lint = append(c.Lint, m)
	}
	for _, set := range sets {
		if set.err != nil {
			c.Renders = append(c.Renders, &Render{Values: set.file, Error: set.err.Error()})
			addLint(LintMessage{Severity: "ERROR", Path: set.file, Message: set.err.Error(), Values: set.file}, set.err.Error())
			continue
		}
		linter := lint.AllWithKubeVersionAndSchemaValidation(dir, set.vals, release.Namespace, nil, false)
		for _, m := range linter.Messages {
			if m.Severity < support.WarningSev {
				continue
			}
			lm := lintMessage(c, rel, m, set.file)
			addLint(lm, lm.Message)
		}
		if ch == nil {
			continue
		}
		r := render(dir, rel, set)
		if r.Error != "" {
			p, line := errorPlace(c, rel, r.Error)
			addLint(LintMessage{Severity: "ERROR", Path: p, Line: line, Message: "rendering failed: " + r.Error, Values: set.file}, r.Error)
		}
		c.Renders = append(c.Renders, r)
	}
	slices.SortStableFunc(c.Lint, func(a, b LintMessage) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line))
	})
	return c
}

func lintMessage(c *Chart, rel string, m support.Message, values string) LintMessage {
	sev := "WARNING"
	if m.Severity == support.ErrorSev {
		sev = "ERROR"
	}
	msg := oneLine(m.Err.Error())
	p, line := errorPlace(c, rel, msg)
	if line == 0 {
		p = path.Join(rel, strings.TrimSuffix(m.Path, "/"))
	}
	return LintMessage{Severity: sev, Path: p, Line: line, Message: msg, Values: values}
}

// errorPlace finds the template and line a Go template error names
// ("template: app/templates/x.yaml:12:3: executing …"), or else points
// at the chart's templates.
func errorPlace(c *Chart, rel, msg string) (string, int) {
	if c.Name != "" {
		re := regexp.MustCompile(regexp.QuoteMeta(c.Name) + `/((?:charts/[^/\s:]+/)*templates/[^:\s()]+):(\d+)`)
		if m := re.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[2])
			return path.Join(rel, m[1]), n
		}
	}
	return path.Join(rel, "templates"), 0
}

// render renders the chart as `helm template` would, reloading it since
// processing dependencies prunes the chart it is given.
func render(dir, rel string, set chartValues) *Render {
	r := &Render{Values: set.file}
	ch, err := loader.Load(dir)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	vals := set.vals
	if vals == nil {
		vals = chartutil.Values{}
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		r.Error = err.Error()
		return r
	}
	top, err := chartutil.ToRenderValues(ch, vals, release, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		r.Error = err.Error()
		return r
	}
	out, err := engine.Render(ch, top)
	if err != nil {
		r.Error = oneLine(err.Error())
		return r
	}
	sources := templateSources(ch, ch.Name(), map[string][]byte{})
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		base := path.Base(name)
		if base == "NOTES.txt" || strings.HasPrefix(base, "_") || strings.TrimSpace(out[name]) == "" {
			continue
		}
		file := path.Join(rel, strings.TrimPrefix(name, ch.Name()+"/"))
		objs, err := ReadManifest([]byte(out[name]))
		if err != nil {
			r.Error = fmt.Sprintf("%s: rendered YAML: %v", file, err)
		}
		for _, o := range objs {
			o.Path = file
			o.Lines = nil // lines of the rendered text, not of the template
		}
		placeInTemplate(objs, sources[name])
		r.Objects = append(r.Objects, objs...)
	}
	if r.Error != "" {
		r.Objects = nil
	}
	return r
}

// templateSources maps rendered names ("app/charts/db/templates/x.yaml")
// to template sources, for the chart and its subcharts.
func templateSources(ch *chart.Chart, prefix string, out map[string][]byte) map[string][]byte {
	for _, t := range ch.Templates {
		out[prefix+"/"+t.Name] = t.Data
	}
	for _, d := range ch.Dependencies() {
		templateSources(d, prefix+"/charts/"+d.Name(), out)
	}
	return out
}

// placeInTemplate gives rendered objects the line of their `kind:` in
// the template source: a rendered line number would point nowhere in the
// repository. The n-th object of a kind goes to the n-th such line; an
// object whose kind is computed stays at line 1. Containers, their keys
// and the pod's host and volume keys are then looked for below it, by
// their literal text, so findings can point at them too.
func placeInTemplate(objs []*Object, src []byte) {
	lines := strings.Split(string(src), "\n")
	next := map[string]int{}
	for _, o := range objs {
		o.Line = 1
		want := "kind: " + o.Kind
		seen := 0
		for i, l := range lines {
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")) != want {
				continue
			}
			if seen == next[o.Kind] {
				o.Line = i + 1
				break
			}
			seen++
		}
		next[o.Kind]++
		if o.Pod != nil && o.Line > 1 {
			o.Lines = templateLines(lines, o)
		}
	}
}

var (
	podKey       = regexp.MustCompile(`^\s*(hostNetwork|hostPID|hostIPC|volumes|automountServiceAccountToken):`)
	listName     = regexp.MustCompile(`^(\s*)-\s+name:\s*["']?([^"'\s]+)["']?\s*$`)
	containerKey = regexp.MustCompile(`^(\s*)([A-Za-z]+):`)
)

// templateLines finds, from the object's line to the next `kind:` at the
// top, the lines of the pod's keys and of each container (a `- name: X`
// list item with X a container's literal name) and of its keys and env
// entries.
func templateLines(lines []string, o *Object) map[string]int {
	names := map[string]bool{}
	for _, c := range append(slices.Clone(o.Pod.Spec.InitContainers), o.Pod.Spec.Containers...) {
		names[c.Name] = true
	}
	out := map[string]int{}
	set := func(k string, i int) {
		if _, ok := out[k]; !ok {
			out[k] = i + 1
		}
	}
	container, indent := "", -1
	for i := o.Line; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "kind:") || strings.HasPrefix(l, "---") {
			break
		}
		if m := podKey.FindStringSubmatch(l); m != nil && container == "" {
			set("pod/"+m[1], i)
		}
		if m := listName.FindStringSubmatch(l); m != nil && names[m[2]] && (container == "" || len(m[1]) <= indent) {
			container, indent = m[2], len(m[1])
			set("container/"+container, i)
			continue
		}
		if container == "" {
			continue
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "{{") && len(l)-len(strings.TrimLeft(l, " ")) <= indent {
			container, indent = "", -1
			continue
		}
		if m := listName.FindStringSubmatch(l); m != nil {
			set("env/"+container+"/"+m[2], i)
		} else if m := containerKey.FindStringSubmatch(l); m != nil && len(m[1]) == indent+2 {
			set("container/"+container+"/"+m[2], i)
		}
	}
	return out
}

// valuesSets reads the chart's values sets: its defaults, then each
// values file, looked up beside the chart, then from the repository root.
func valuesSets(rel string, files []string, has func(string) bool, read func(string) ([]byte, error)) []chartValues {
	sets := []chartValues{{}}
	for _, f := range files {
		p := path.Clean(path.Join(rel, f))
		if !has(p) {
			p = path.Clean(f)
		}
		set := chartValues{file: p}
		b, err := read(p)
		if err != nil {
			set.err = fmt.Errorf("values file %s: %w", f, err)
		} else if set.vals, err = chartutil.ReadValues(b); err != nil {
			set.err = fmt.Errorf("values file %s: %w", p, err)
		}
		sets = append(sets, set)
	}
	return sets
}

// materialize writes a chart's files to a temporary directory for Helm's
// loader and linter, which read from disk, when the tree has no copy
// on disk.
func materialize(files []string, rel string, read func(string) ([]byte, error)) (string, func(), error) {
	dir, err := os.MkdirTemp("", "rampart-chart-")
	if err != nil {
		return "", nil, fmt.Errorf("chart %s: %w", rel, err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	for _, f := range files {
		b, err := read(f)
		if err != nil {
			cleanup()
			return "", nil, fmt.Errorf("read %s: %w", f, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(f, prefix(rel))))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("chart %s: %w", rel, err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("chart %s: %w", rel, err)
		}
	}
	return dir, cleanup, nil
}

// prefix is the path prefix of files inside directory rel.
func prefix(rel string) string {
	if rel == "." || rel == "" {
		return ""
	}
	return rel + "/"
}

// oneLine folds Helm's multi-line messages into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
