package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/output"
)

func newCheckCmd(e *env) *cobra.Command {
	var flags scanFlags
	var opt gitrepo.CheckOptions
	var stats bool
	var terraformVersion string
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check a directory's code and pipelines, offline, for CI and pre-commit",
		Long: `Check runs the git-repo scanners on DIR (default .) as an ad-hoc repository,
with no register and no store: repository hygiene (CODEOWNERS, SECURITY.md,
pre-commit hooks, Renovate/Dependabot, signed commits), leaked secrets
(gitleaks, working tree and history), Dockerfiles, GitHub Actions workflows,
Kubernetes manifests and Helm charts (Pod Security Standards), and Terraform.

Parse results are cached by content hash (--cache-dir), so a second run on
an unchanged tree re-parses nothing. A comment "rampart:ignore CHECK-ID
reason" on a finding's line or the line above suppresses it; suppressed
findings are reported as such.

  rampart check . --fail-on high
  rampart check . -o sarif --output-file rampart.sarif

Exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it;
2 a usage error; 3 a check could not tell (with --fail-on) or another error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, failOn, err := flags.parse()
			if err != nil {
				return err
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return usageErrorf("%s is not a directory", dir)
			}
			opt.Getenv = e.getenv
			opt.TerraformVersion = terraformVersion
			start := time.Now()
			rep, err := gitrepo.CheckDir(cmd.Context(), dir, opt)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(dir)
			w, closeFn, err := flags.writer(e)
			if err != nil {
				return err
			}
			out := &output.Report{
				Tool:    output.ToolInfo{Name: "rampart", Version: Version()},
				Results: rep.Results,
				Checks:  rep.Checks,
				Resources: map[string]*rampart.Resource{
					rep.ResourceID: {ID: rep.ResourceID, Kind: gitrepo.Integration.Kind, Name: abs},
				},
				Root: abs,
			}
			if err := output.Write(w, format, out, output.Options{Color: format == output.FormatTable && e.color(w)}); err != nil {
				_ = closeFn() // the write error is the one to report
				return err
			}
			if err := closeFn(); err != nil {
				return err
			}
			if stats {
				fmt.Fprintf(e.stderr, "checked %d files (%d bytes) in %s: %d parsed, %d from cache\n",
					rep.Stats.Files, rep.Stats.Bytes, time.Since(start).Round(time.Millisecond), rep.Stats.Parsed, rep.Stats.CacheHits)
			}
			if failOn != nil {
				if code := output.ExitCode(rep.Results, *failOn, rep.Checks); code != 0 {
					return &exitCodeError{code: code}
				}
			}
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().StringSliceVar(&opt.Scanners, "scanner", nil, "run only these scanners (hygiene, secrets, dockerfile, workflow, kube, terraform)")
	cmd.Flags().StringVar(&opt.CacheDir, "cache-dir", "", "parse cache directory (default $XDG_CACHE_HOME/rampart)")
	cmd.Flags().BoolVar(&opt.NoCache, "no-cache", false, "parse everything, keep nothing")
	cmd.Flags().IntVar(&opt.HistoryDepth, "history-depth", 0, "commits of history the secret scanner reads (default: the scanner's)")
	cmd.Flags().StringSliceVar(&opt.AllowedBaseImages, "allowed-base-image", nil, "base image prefixes Dockerfiles may use (default scratch, alpine, gcr.io/distroless/)")
	cmd.Flags().StringSliceVar(&opt.AllowedRegistries, "allowed-registry", nil, "registry prefixes workload images may come from")
	cmd.Flags().StringVar(&terraformVersion, "terraform-version", "", "the Terraform/OpenTofu version required_version must pin")
	cmd.Flags().BoolVar(&opt.Public, "public", false, "the repository is public (self-hosted runners become findings)")
	cmd.Flags().BoolVar(&stats, "stats", false, "print files read, parsed and taken from the cache to stderr")
	return cmd
}
