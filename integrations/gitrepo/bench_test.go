package gitrepo_test

import (
	"context"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
)

// BenchmarkCheckDir measures `rampart check` on a generated tree, cold
// (nothing cached: every file parsed) and warm (a second run over an
// unchanged tree: everything from the cache). files/s counts the tree's
// files, parsed/op what was parsed rather than taken from the cache.
func BenchmarkCheckDir(b *testing.B) {
	dir := b.TempDir()
	n, err := scantest.Generate(dir, scantest.Estate{
		Manifests: 1000, Charts: 20, Terraform: 200, Workflows: 50, Dockerfiles: 50, Other: 500,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	report := func(b *testing.B, parsed int64) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
		b.ReportMetric(float64(parsed)/float64(b.N), "parsed/op")
	}
	b.Run("cold", func(b *testing.B) {
		var parsed int64
		for b.Loop() {
			rep, err := gitrepo.CheckDir(ctx, dir, gitrepo.CheckOptions{NoCache: true, Getenv: noEnv})
			if err != nil {
				b.Fatal(err)
			}
			parsed += rep.Stats.Parsed
		}
		report(b, parsed)
	})
	b.Run("warm", func(b *testing.B) {
		opt := gitrepo.CheckOptions{CacheDir: b.TempDir(), Getenv: noEnv}
		if _, err := gitrepo.CheckDir(ctx, dir, opt); err != nil {
			b.Fatal(err)
		}
		var parsed int64
		for b.Loop() {
			rep, err := gitrepo.CheckDir(ctx, dir, opt)
			if err != nil {
				b.Fatal(err)
			}
			parsed += rep.Stats.Parsed
		}
		report(b, parsed)
	})
}

// BenchmarkSecretsHistory measures the history scan of a generated
// repository, cold and warm (each commit's result cached by its sha).
func BenchmarkSecretsHistory(b *testing.B) {
	dir := b.TempDir()
	const commits = 2000
	if err := scantest.GenerateHistory(dir, commits); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	opt := gitrepo.CheckOptions{Scanners: []string{"secrets"}, Getenv: noEnv}
	opt.HistoryDepth = commits
	b.Run("cold", func(b *testing.B) {
		o := opt
		o.NoCache = true
		for b.Loop() {
			if _, err := gitrepo.CheckDir(ctx, dir, o); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(commits)*float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("warm", func(b *testing.B) {
		o := opt
		o.CacheDir = b.TempDir()
		if _, err := gitrepo.CheckDir(ctx, dir, o); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := gitrepo.CheckDir(ctx, dir, o); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(commits)*float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
}
