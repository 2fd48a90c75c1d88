package workflow_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
	"github.com/rampart-dev/rampart/integrations/gitrepo/workflow"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestCases(t *testing.T) {
	scantest.Run(t, workflow.New(), "testdata", *update)
}

// TestPositions pins exact columns, which the golden files leave out.
func TestPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir, check, item string
		line, col        int
	}{
		{"injection", "GHA-SCRIPT-INJECTION", ".github/workflows/triage.yml: job triage step label: github.event.issue.title", 14, 24},
		{"injection", "GHA-SCRIPT-INJECTION", ".github/workflows/triage.yml: job triage step #2: github.head_ref", 15, 20},
		{"injection", "GHA-SCRIPT-INJECTION", ".github/workflows/triage.yml: job triage step #3: github.event.pull_request.body", 19, 27},
		{"injection", "GHA-SCRIPT-INJECTION", ".github/actions/notify/action.yml: composite action step #1: github.event.head_commit.message", 8, 26},
		{"unpinned", "GHA-ACTION-PIN", ".github/actions/build/action.yml: composite action step cache: some-org/cache-action@v2", 8, 13},
		{"unpinned", "GHA-ACTION-PIN", ".github/workflows/build.yml: job build step #2: docker/login-action@v3", 10, 15},
		{"pwn-request", "GHA-UNTRUSTED-CHECKOUT", ".github/workflows/pr-target.yml: job test step #1", 12, 16},
		{"pwn-request", "GHA-UNTRUSTED-CHECKOUT", ".github/workflows/after-ci.yml: job report step fetch head", 14, 28},
		{"permissions", "GHA-PERMISSIONS", ".github/workflows/broad.yml: permissions.contents: write", 3, 3},
	}
	evals := map[string]map[string]rampart.Evaluation{}
	for _, tt := range tests {
		if evals[tt.dir] == nil {
			_, evals[tt.dir] = scantest.Evaluate(t, workflow.New(), scantest.Tree(t, filepath.Join("testdata", tt.dir)), scantest.NewCache())
		}
		var found bool
		for _, f := range evals[tt.dir][tt.check].Findings {
			if f.Item != tt.item {
				continue
			}
			found = true
			if f.Location.Line != tt.line || f.Location.Column != tt.col {
				t.Errorf("%s %s: at %d:%d, want %d:%d", tt.check, tt.item, f.Location.Line, f.Location.Column, tt.line, tt.col)
			}
		}
		if !found {
			t.Errorf("%s: no finding %q in %s", tt.check, tt.item, tt.dir)
		}
	}
}

func TestPinRules(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("a1", 20)
	tests := []struct {
		uses   string
		pinned bool
	}{
		{"actions/checkout@v4", true},
		{"github/codeql-action/init@v3", true},
		{"Actions/Cache@main", true},
		{"./.github/actions/local", true},
		{"docker/login-action@" + sha, true},
		{"octo/repo/path/to/action@" + sha, true},
		{"docker://alpine@sha256:" + strings.Repeat("0", 64), true},
		{"docker/login-action@v3", false},
		{"docker/login-action@" + sha[:7], false},
		{"docker/login-action", false},
		{"docker://alpine:3", false},
		{"octo/repo/.github/workflows/x.yml@main", false},
		{"${{ matrix.action }}", false},
	}
	for _, tt := range tests {
		src := fmt.Sprintf("on: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: %q\n", tt.uses)
		f := workflow.ParseWorkflow([]byte(src))
		f.Path = "w.yml"
		ev := workflow.ActionPinned.Run(context.Background(), &workflow.Facts{Files: []*workflow.File{f}})
		if got := ev.Status == rampart.StatusPass; got != tt.pinned {
			t.Errorf("%s: status %s (%v), want pinned=%v", tt.uses, ev.Status, ev.Findings, tt.pinned)
		}
	}
}

func TestUntrustedInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{"github.event.issue.title", []string{"github.event.issue.title"}},
		{"github['event']['pull_request']['body']", []string{"github.event.pull_request.body"}},
		{"github.event.commits[0].author.email", []string{"github.event.commits.*.author.email"}},
		{"join(github.event.commits.*.message, ' ')", []string{"github.event.commits.*.message"}},
		{"github.head_ref || 'main'", []string{"github.head_ref"}},
		{"contains(github.event.issue.title, 'bug')", nil},
		{"github.event.issue.number", nil},
		{"github.sha", nil},
		{"inputs.name", nil},
	}
	for _, tt := range tests {
		src := "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ " + tt.expr + " }}\"\n"
		f := workflow.ParseWorkflow([]byte(src))
		if len(f.Jobs) != 1 || len(f.Jobs[0].Steps) != 1 || f.Jobs[0].Steps[0].Run == nil || len(f.Jobs[0].Steps[0].Run.Exprs) != 1 {
			t.Fatalf("%s: no expression read: %+v", tt.expr, f)
		}
		e := f.Jobs[0].Steps[0].Run.Exprs[0]
		if !reflect.DeepEqual(e.Untrusted, tt.want) {
			t.Errorf("%s: untrusted %v, want %v", tt.expr, e.Untrusted, tt.want)
		}
		if e.Pos != (workflow.Pos{Line: 6, Column: 20}) {
			t.Errorf("%s: at %+v, want 6:20", tt.expr, e.Pos)
		}
	}
}

// TestCacheReuse scans twice with one cache: the second scan parses
// nothing and yields the same facts, so the same findings.
func TestCacheReuse(t *testing.T) {
	t.Parallel()
	scantest.CacheReuse(t, workflow.New(), scantest.Tree(t, filepath.Join("testdata", "injection")))
}

// TestNilCache: the scanner works without a cache.
func TestNilCache(t *testing.T) {
	t.Parallel()
	tr := scantest.Tree(t, filepath.Join("testdata", "clean"))
	facts, err := workflow.New().Scan(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(facts.(*workflow.Facts).Files); n != 2 {
		t.Errorf("%d files, want 2", n)
	}
}

func TestReadError(t *testing.T) {
	t.Parallel()
	tr := scantest.Tree(t, filepath.Join("testdata", "clean"))
	tr.Read = func(string) ([]byte, error) { return nil, os.ErrPermission }
	if _, err := workflow.New().Scan(context.Background(), tr, nil); err == nil {
		t.Error("scan with unreadable files succeeded")
	}
}

func FuzzParseWorkflow(f *testing.F) {
	addSeeds(f, "testdata")
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, file := range []*workflow.File{workflow.ParseWorkflow(src), workflow.ParseAction(src)} {
			file.Path = "f.yml"
			facts := &workflow.Facts{Public: true, Files: []*workflow.File{file}}
			b, err := json.Marshal(facts)
			if err != nil {
				t.Fatal(err)
			}
			var back workflow.Facts
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			for _, c := range workflow.Checks() {
				a, b := c.Run(context.Background(), facts), c.Run(context.Background(), &back)
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("%s differs after a JSON round trip", c.ID)
				}
			}
		}
	})
}

// addSeeds adds every YAML file under dir to the corpus.
func addSeeds(f *testing.F, dir string) {
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
}

// BenchmarkWorkflowScan scans a generated tree of workflows, cold (every
// file parsed) and warm (every file from the cache).
func BenchmarkWorkflowScan(b *testing.B) {
	dir := b.TempDir()
	const n = 500
	for i := range n {
		p := filepath.Join(dir, ".github", "workflows", fmt.Sprintf("w%03d.yml", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(generated(i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tr := scantest.Tree(b, dir)
	s := workflow.New()
	run := func(b *testing.B, c scan.Cache) {
		for b.Loop() {
			facts, err := s.Scan(context.Background(), tr, c)
			if err != nil {
				b.Fatal(err)
			}
			for _, ch := range s.Checks() {
				ch.Run(context.Background(), facts)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
	}
	b.Run("cold", func(b *testing.B) { run(b, nil) })
	b.Run("warm", func(b *testing.B) {
		c := scantest.NewCache()
		if _, err := s.Scan(context.Background(), tr, c); err != nil {
			b.Fatal(err)
		}
		run(b, c)
	})
}

func generated(i int) string {
	return fmt.Sprintf(`name: w%[1]d
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with:
          go-version: "1.26"
      - run: |
          go vet ./...
          go test ./... -run Test%[1]d
          echo "${{ github.event.pull_request.title }}"
  build:
    runs-on: ubuntu-latest
    needs: [test]
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: docker/build-push-action@v6
        with:
          push: false
          tags: example/w%[1]d:latest
`, i)
}
