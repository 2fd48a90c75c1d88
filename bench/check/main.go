// Command check benchmarks `rampart check` on a generated repository:
// Kubernetes manifests, Helm charts, Terraform files, workflows and
// Dockerfiles in the working tree, and a long git history for the secret
// scanner. It reports wall time, files per second, peak RSS and CPU time
// (cores used) of the rampart process, cold (empty parse cache) and warm
// (the same tree again), against a baseline measured in the same run:
// reading every file of the tree, and `git log -p` over the same history.
//
//	go run ./bench/check -rampart bin/rampart
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type sizes struct{ manifests, charts, terraform, workflows, dockerfiles, commits int }

func main() {
	bin := flag.String("rampart", "bin/rampart", "the rampart binary")
	var s sizes
	flag.IntVar(&s.manifests, "manifests", 10000, "Kubernetes manifest files")
	flag.IntVar(&s.charts, "charts", 200, "Helm charts")
	flag.IntVar(&s.terraform, "terraform", 2000, "Terraform files")
	flag.IntVar(&s.workflows, "workflows", 500, "GitHub Actions workflows")
	flag.IntVar(&s.dockerfiles, "dockerfiles", 500, "Dockerfiles")
	flag.IntVar(&s.commits, "commits", 10000, "commits of history for the secret scanner")
	keep := flag.String("dir", "", "work directory (default a temporary one, removed after)")
	flag.Parse()
	if err := run(*bin, s, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type measure struct {
	Name        string  `json:"name"`
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	CoresUsed   float64 `json:"cores_used"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	FilesPerSec float64 `json:"files_per_second,omitempty"`
	Ratio       float64 `json:"ratio_to_baseline,omitempty"`
}

func run(bin string, s sizes, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "rampart-check-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	tree := filepath.Join(dir, "tree")
	start := time.Now()
	files, err := generateTree(tree, s)
	if err != nil {
		return err
	}
	hist := filepath.Join(dir, "history")
	if err := generateHistory(hist, s.commits); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generated %d files and %d commits in %s\n", files, s.commits, time.Since(start).Round(time.Millisecond))

	var out []measure
	// Baseline: read every file once.
	t0 := time.Now()
	if err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			_, err = os.ReadFile(p)
		}
		return err
	}); err != nil {
		return err
	}
	readAll := time.Since(t0)
	out = append(out, measure{Name: "baseline: read every file of the tree", WallSeconds: readAll.Seconds(), FilesPerSec: float64(files) / readAll.Seconds()})

	cache := filepath.Join(dir, "cache")
	treeArgs := []string{
		"check", tree, "-o", "json", "--output-file", os.DevNull, "--cache-dir", cache,
		"--scanner", "dockerfile,workflow,kube,terraform", "--stats",
	}
	for _, name := range []string{"rampart check tree, cold cache", "rampart check tree, warm cache"} {
		m, err := timed(name, bin, treeArgs...)
		if err != nil {
			return err
		}
		m.FilesPerSec = float64(files) / m.WallSeconds
		m.Ratio = m.WallSeconds / readAll.Seconds()
		out = append(out, m)
	}

	// Baseline for history: git log -p over the same commits.
	gl, err := timed("baseline: git log -p over the history", "git", "-C", hist, "log", "-p", "--no-color", "-n", fmt.Sprint(s.commits))
	if err != nil {
		return err
	}
	out = append(out, gl)
	histArgs := []string{
		"check", hist, "-o", "json", "--output-file", os.DevNull, "--cache-dir", filepath.Join(dir, "cache-h"),
		"--scanner", "secrets", "--history-depth", fmt.Sprint(s.commits), "--stats",
	}
	for _, name := range []string{"rampart check history (secrets), cold cache", "rampart check history (secrets), warm cache"} {
		m, err := timed(name, bin, histArgs...)
		if err != nil {
			return err
		}
		m.Ratio = m.WallSeconds / gl.WallSeconds
		out = append(out, m)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"files": files, "commits": s.commits, "runs": out})
}

func timed(name, bin string, args ...string) (measure, error) {
	cmd := exec.CommandContext(context.Background(), bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = nil
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	// rampart check exits 1 when it finds something: that is the point.
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() > 1) {
		return measure{}, fmt.Errorf("%s: %w\n%s", name, err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, s)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measure{
		Name: name, WallSeconds: wall.Seconds(), CPUSeconds: cpu.Seconds(), CoresUsed: cpu.Seconds() / wall.Seconds(),
		PeakRSSMiB: float64(ru.Maxrss) / 1024,
	}, nil
}

func write(path, body string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

// generateTree writes the working tree and returns how many files it holds.
func generateTree(root string, s sizes) (int, error) {
	n := 0
	put := func(path, body string) error { n++; return write(filepath.Join(root, path), body) }
	for i := range s.manifests {
		priv := i%7 == 0
		if err := put(fmt.Sprintf("k8s/app%03d/deploy-%05d.yaml", i%500, i), manifest(i, priv)); err != nil {
			return n, err
		}
	}
	for i := range s.charts {
		c := fmt.Sprintf("charts/chart%03d", i)
		if err := put(c+"/Chart.yaml", fmt.Sprintf("apiVersion: v2\nname: chart%03d\nversion: 1.%d.0\n", i, i)); err != nil {
			return n, err
		}
		if err := put(c+"/values.yaml", fmt.Sprintf("replicas: 2\nimage: registry.example.com/app%03d:1.0.%d\nprivileged: %t\n", i, i, i%5 == 0)); err != nil {
			return n, err
		}
		if err := put(c+"/templates/deployment.yaml", chartTemplate); err != nil {
			return n, err
		}
		if err := put(c+"/templates/service.yaml", chartService); err != nil {
			return n, err
		}
	}
	for i := range s.terraform {
		if err := put(fmt.Sprintf("terraform/mod%03d/main-%04d.tf", i%100, i), terraformFile(i)); err != nil {
			return n, err
		}
	}
	for i := range s.workflows {
		if err := put(fmt.Sprintf(".github/workflows/wf-%03d.yml", i), workflow(i)); err != nil {
			return n, err
		}
	}
	for i := range s.dockerfiles {
		if err := put(fmt.Sprintf("services/svc%03d/Dockerfile", i), dockerfile(i)); err != nil {
			return n, err
		}
	}
	return n, nil
}

func manifest(i int, privileged bool) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%05d
  namespace: team-%02d
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%05d}
  template:
    metadata:
      labels: {app: app-%05d}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:%d.0.0
          securityContext:
            privileged: %t
            runAsNonRoot: true
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: app-%05d
  namespace: team-%02d
spec:
  type: ClusterIP
  selector: {app: app-%05d}
  ports: [{port: 80}]
`, i, i%40, i, i, i%9, privileged, i, i%40, i)
}

const chartTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
          securityContext:
            privileged: {{ .Values.privileged }}
`

const chartService = `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  type: NodePort
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80}]
`

func terraformFile(i int) string {
	return fmt.Sprintf(`terraform {
  required_version = "1.5.7"
  required_providers {
    github = { source = "integrations/github", version = "~> 6.%d" }
  }
}

resource "github_repository" "r%04d" {
  name                 = "repo-%04d"
  visibility           = "%s"
  vulnerability_alerts = %t
}

module "m%04d" {
  source = "git::https://example.com/modules/net.git?ref=v1.%d.0"
}
`, i%9, i, i, map[bool]string{true: "public", false: "private"}[i%11 == 0], i%3 != 0, i, i%20)
}

func workflow(i int) string {
	return fmt.Sprintf(`name: wf-%03d
on:
  pull_request:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}
      - uses: someone/tool-%d@v%d
      - run: make test TARGET=%d
`, i, i%30, i%5+1, i)
}

func dockerfile(i int) string {
	return fmt.Sprintf(`FROM golang:1.%d AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app ./cmd/app

FROM alpine:3.%d
COPY --from=build /out/app /app
USER 10001
ENTRYPOINT ["/app"]
`, 20+i%6, 18+i%3)
}

// generateHistory makes a repository with the given number of commits
// through git fast-import (one process, seconds), every 500th commit
// adding a file that holds a fake key.
func generateHistory(dir string, commits int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	git := func(stdin []byte, args ...string) error {
		cmd := exec.CommandContext(context.Background(), "git", append([]string{"-C", dir}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
			"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := git(nil, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	var b bytes.Buffer
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := range commits {
		body := fmt.Sprintf("package svc\n\n// Version %d of the service.\nconst Version = %d\n", i, i)
		path := fmt.Sprintf("svc/file%03d.go", i%300)
		if i%500 == 250 {
			// A fake key, assembled so this source file holds none.
			body = fmt.Sprintf("[default]\naws_access_key_id = %s%s%04d\n", "AKIA", "QXBENCHMARK", i%10000)
			path = fmt.Sprintf("config/creds-%d.ini", i)
		}
		fmt.Fprintf(&b, "commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\n", ts+int64(i)*60, len("commit "+fmt.Sprint(i)), "commit "+fmt.Sprint(i))
		fmt.Fprintf(&b, "M 644 inline %s\ndata %d\n%s\n", path, len(body), body)
	}
	if err := git(b.Bytes(), "fast-import", "--quiet"); err != nil {
		return err
	}
	return git(nil, "checkout", "-q", "main")
}
