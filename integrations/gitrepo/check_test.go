package gitrepo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
)

// fakeKey is an AWS access key id shaped for gitleaks' rule, built at run
// time so that this repository holds no literal key.
func fakeKey() string { return "AKIA" + strings.ToUpper("qz7xm4lwt2rbv6nj") }

// vulnerable is the demonstration directory: one problem of each
// family, at a known line.
func vulnerable(key string) map[string]string {
	return map[string]string{
		"Dockerfile": "FROM golang:1.26@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS build\n" +
			"RUN go build -o /app .\n" +
			"FROM alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" +
			"COPY --from=build /app /app\n" +
			"HEALTHCHECK CMD [\"/app\", \"-health\"]\n" +
			"USER root\n",
		".github/workflows/ci.yml": `name: ci
on: pull_request
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: someone/setup-tool@v1
      - run: echo "${{ github.event.pull_request.title }}"
`,
		"infra/main.tf":             "terraform {\n  required_version = \"1.5.7\"\n  required_providers {\n    proxmox = { source = \"bpg/proxmox\" }\n  }\n}\n",
		"infra/.terraform.lock.hcl": "# lock\n",
		"config/settings.env":       "REGION=eu-west-1\nAWS_ACCESS_KEY_ID=" + key + "\n",
		"charts/agent/Chart.yaml":   "apiVersion: v2\nname: agent\nversion: 1.0.0\nappVersion: \"1.0.0\"\n",
		"charts/agent/values.yaml":  "privileged: true\n",
		"charts/agent/templates/daemonset.yaml": `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Release.Name }}-agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
        - name: agent
          image: registry.example.com/agent:1.0.0
          securityContext:
            privileged: {{ .Values.privileged }}
`,
	}
}

type want struct {
	check, path string
	line        int
}

func findings(rep *gitrepo.CheckReport) []want {
	var out []want
	for _, r := range rep.Results {
		for _, f := range r.Findings {
			out = append(out, want{r.CheckID, f.Location.Path, f.Location.Line})
		}
	}
	return out
}

func TestCheckDirFindsEachProblemAndNeverTheSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := fakeKey()
	scantest.WriteFiles(t, dir, vulnerable(key))
	rep, err := gitrepo.CheckDir(context.Background(), dir, gitrepo.CheckOptions{
		CacheDir: t.TempDir(), Getenv: func(string) string { return "" },
		Now: func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := findings(rep)
	for _, w := range []want{
		{"DOCKER-ROOT-USER", "Dockerfile", 6},
		{"GHA-ACTION-PIN", ".github/workflows/ci.yml", 12},
		{"GHA-SCRIPT-INJECTION", ".github/workflows/ci.yml", 13},
		{"TF-PROVIDER-VERSION", "infra/main.tf", 4},
		{"SECRET-WORKTREE", "config/settings.env", 2},
		// The kube scanner places its findings itself; line 0 here only
		// asks for some line in the template.
		{"K8S-PSS-BASELINE", "charts/agent/templates/daemonset.yaml", 0},
	} {
		n := 0
		for _, g := range got {
			if g.check == w.check {
				n++
				if w.line == 0 && g.line > 0 {
					g.line = 0
				}
				if g != w {
					t.Errorf("%s at %s:%d, want %s:%d", w.check, g.path, g.line, w.path, w.line)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d findings, want 1", w.check, n)
		}
	}
	for _, r := range rep.Results {
		if r.ResourceID != "." {
			t.Errorf("result of %s on resource %q", r.CheckID, r.ResourceID)
		}
		for _, f := range r.Findings {
			if f.Fingerprint != rampart.Fingerprint(r.CheckID, ".", f.Item) {
				t.Errorf("%s: fingerprint %q not set from the item", r.CheckID, f.Fingerprint)
			}
		}
	}
	if rep.Facts.Commit != "" {
		t.Errorf("a plain directory has commit %q", rep.Facts.Commit)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte(key[4:])) {
		t.Error("the secret appears in the report")
	}
	if len(rep.Checks) != len(gitrepo.Integration.Checks) || len(rep.Results) != len(rep.Checks) {
		t.Errorf("%d checks and %d results, want %d each", len(rep.Checks), len(rep.Results), len(gitrepo.Integration.Checks))
	}
}

func fingerprints(rep *gitrepo.CheckReport) []string {
	var out []string
	for _, r := range rep.Results {
		for _, f := range r.Findings {
			out = append(out, f.Fingerprint)
		}
	}
	slices.Sort(out)
	return out
}

func TestSecondCheckParsesNothing(t *testing.T) {
	t.Parallel()
	dir := scantest.InitRepo(t)
	files := vulnerable(fakeKey())
	scantest.Commit(t, dir, "one", map[string]string{"README.md": "# app\n"})
	scantest.Commit(t, dir, "two", files)
	opt := gitrepo.CheckOptions{CacheDir: t.TempDir(), Getenv: func(string) string { return "" }}

	first, err := gitrepo.CheckDir(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if first.Stats.Parsed == 0 || first.Stats.CacheHits != 0 {
		t.Fatalf("first check: parsed %d, hits %d; want parses and no hits", first.Stats.Parsed, first.Stats.CacheHits)
	}
	if first.Facts.Commit == "" || first.Facts.Branch != "main" {
		t.Errorf("facts commit %q branch %q", first.Facts.Commit, first.Facts.Branch)
	}
	second, err := gitrepo.CheckDir(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if second.Stats.Parsed != 0 {
		t.Errorf("second check of an unchanged repository parsed %d files or commits", second.Stats.Parsed)
	}
	if second.Stats.CacheHits != first.Stats.Parsed {
		t.Errorf("second check hit the cache %d times, the first parsed %d", second.Stats.CacheHits, first.Stats.Parsed)
	}
	if a, b := fingerprints(first), fingerprints(second); len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("fingerprints differ:\n%v\n%v", a, b)
	}
	fa, _ := json.Marshal(first.Facts)
	fb, _ := json.Marshal(second.Facts)
	if !bytes.Equal(fa, fb) {
		t.Error("facts differ between the two checks")
	}

	// One changed file is one parse per scanner that reads it.
	scantest.WriteFiles(t, dir, map[string]string{"infra/main.tf": "terraform {\n  required_version = \"1.5.7\"\n}\n"})
	third, err := gitrepo.CheckDir(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if third.Stats.Parsed != 2 { // terraform's parse and the secret scan
		t.Errorf("after changing one .tf file, %d parses, want 2", third.Stats.Parsed)
	}
}

func TestInlineSuppression(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	scantest.WriteFiles(t, dir, map[string]string{
		"Dockerfile": ig("# @ignore DOCKER-LATEST base image tracked by Renovate\n" +
			"FROM alpine\n" +
			"# @ignore DOCKER-ROOT-USER\n" +
			"USER root\n"),
		"main.tf": ig("resource \"github_repository\" \"x\" {\n  visibility = \"public\" # @ignore TF-GITHUB-PUBLIC-REPO open source\n}\n" +
			"# @ignore TF-NOPE typo\n"),
	})
	rep, err := gitrepo.CheckDir(context.Background(), dir, gitrepo.CheckOptions{NoCache: true, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	byCheck := map[string]rampart.Result{}
	for _, r := range rep.Results {
		byCheck[r.CheckID] = r
	}
	for _, tc := range []struct {
		check, suppressed string
		line              int
	}{
		{"DOCKER-LATEST", "base image tracked by Renovate", 2},
		{"DOCKER-ROOT-USER", "", 4},
		{"TF-GITHUB-PUBLIC-REPO", "open source", 2},
	} {
		r := byCheck[tc.check]
		if r.Status != rampart.StatusFail || len(r.Findings) != 1 {
			t.Errorf("%s: %s with %d findings, want one reported finding", tc.check, r.Status, len(r.Findings))
			continue
		}
		if f := r.Findings[0]; f.Suppressed != tc.suppressed || f.Location.Line != tc.line {
			t.Errorf("%s: line %d suppressed %q, want line %d suppressed %q", tc.check, f.Location.Line, f.Suppressed, tc.line, tc.suppressed)
		}
	}
	var sup []string
	for _, f := range byCheck["RAMPART-SUPPRESSION"].Findings {
		sup = append(sup, fmt.Sprintf("%s:%d %s", f.Location.Path, f.Location.Line, f.Message))
	}
	wantSup := []string{
		"Dockerfile:3 rampart:ignore DOCKER-ROOT-USER gives no reason, so it suppresses nothing",
		"main.tf:4 rampart:ignore names TF-NOPE, which is not a check",
	}
	if !reflect.DeepEqual(sup, wantSup) {
		t.Errorf("RAMPART-SUPPRESSION findings:\n%s\nwant:\n%s", strings.Join(sup, "\n"), strings.Join(wantSup, "\n"))
	}
	// The suppressed finding does not count for --fail-on; the other does.
	if n := rep.Failing(rampart.SeverityHigh); n != 1 {
		t.Errorf("Failing(high) = %d, want 1 (the unsuppressed DOCKER-ROOT-USER)", n)
	}
}

func TestCheckDirScannerSelectionAndIgnore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	scantest.WriteFiles(t, dir, map[string]string{
		"Dockerfile":                "FROM ubuntu\n",
		"testdata/bad/Dockerfile":   "FROM debian\n",
		gitrepoIgnore:               "testdata/\n",
		"nested/keep/Dockerfile.ci": "FROM alpine\n",
	})
	rep, err := gitrepo.CheckDir(context.Background(), dir, gitrepo.CheckOptions{NoCache: true, Scanners: []string{"dockerfile"}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Facts.Scanned, []string{"dockerfile"}) {
		t.Errorf("scanned %v", rep.Facts.Scanned)
	}
	for _, r := range rep.Results {
		dockerfile := strings.HasPrefix(r.CheckID, "DOCKER-")
		if !dockerfile && r.CheckID != "RAMPART-SUPPRESSION" && r.Status != rampart.StatusNotApplicable {
			t.Errorf("%s: %s, want not_applicable for an unselected scanner", r.CheckID, r.Status)
		}
		for _, f := range r.Findings {
			if strings.HasPrefix(f.Location.Path, "testdata/") {
				t.Errorf("%s reports %s, which .rampartignore excludes", r.CheckID, f.Location.Path)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nested")); err != nil {
		t.Fatal(err)
	}
}

const gitrepoIgnore = ".rampartignore"

func TestCheckDirErrors(t *testing.T) {
	t.Parallel()
	_, err := gitrepo.CheckDir(context.Background(), filepath.Join(t.TempDir(), "missing"), gitrepo.CheckOptions{NoCache: true})
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("CheckDir(missing) = %v", err)
	}
	_, err = gitrepo.CheckDir(context.Background(), t.TempDir(), gitrepo.CheckOptions{Scanners: []string{"nope"}, NoCache: true})
	if err == nil || !strings.Contains(err.Error(), `unknown scanner "nope"`) {
		t.Errorf("CheckDir(unknown scanner) = %v", err)
	}
}
