// Command check benchmarks `rampart check` on a generated repository:
// Kubernetes manifests, Helm charts, Terraform files, workflows and
// Dockerfiles in the working tree, and a long git history for the secret
// scanner. It reports wall time, files per second, peak RSS and CPU time
// (cores used) of the rampart process, cold (empty parse cache) and warm
// (the same tree again), against a baseline measured in the same run:
// reading every file of the tree, and `git log -p` over the same history.
// The tree and the history come from scantest.Generate and GenerateHistory,
// the generators the git-repo package's own Go benchmarks use.
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

	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
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
	files, err := scantest.Generate(tree, scantest.Estate{
		Manifests: s.manifests, Charts: s.charts, Terraform: s.terraform,
		Workflows: s.workflows, Dockerfiles: s.dockerfiles,
	})
	if err != nil {
		return err
	}
	hist := filepath.Join(dir, "history")
	if err := scantest.GenerateHistory(hist, s.commits); err != nil {
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
