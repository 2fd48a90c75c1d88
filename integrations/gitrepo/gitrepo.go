// Package gitrepo is the git-repo integration: a repository, local or
// cloned, whose files are walked once and handed to scanners for its
// governance files, leaked secrets, Dockerfiles, GitHub Actions workflows,
// Kubernetes manifests and Helm charts, and Terraform. It is also the
// offline `rampart check DIR` (CheckDir), which runs the same scanners on
// a directory without a register or a store.
package gitrepo

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/dockerfile"
	"github.com/rampart-dev/rampart/integrations/gitrepo/hygiene"
	"github.com/rampart-dev/rampart/integrations/gitrepo/kube"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/secrets"
	"github.com/rampart-dev/rampart/integrations/gitrepo/terraform"
	"github.com/rampart-dev/rampart/integrations/gitrepo/workflow"
)

// Kind is the resource kind this integration checks.
const Kind rampart.Kind = "git-repo"

// Scanners is the one list of scanners, in report order. A test fails
// when a scanner folder under integrations/gitrepo is missing from it.
func Scanners() []scan.Scanner {
	return []scan.Scanner{
		hygiene.New(),
		secrets.New(),
		dockerfile.New(),
		workflow.New(),
		kube.New(),
		terraform.New(),
	}
}

// Integration describes the git-repo kind; the integration list wires it
// in.
var Integration = &rampart.Integration{
	Kind:  Kind,
	Title: "Git repository",
	Doc: `A git repository, local or cloned, scanned for its governance files
(CODEOWNERS, SECURITY.md, pre-commit hooks, Renovate or Dependabot, signed
commits), leaked secrets in its files and history (gitleaks), Dockerfiles,
GitHub Actions workflows, Kubernetes manifests and Helm charts, and
Terraform/OpenTofu. Requires the git executable. Facts record the commit
scanned. Inline "rampart:ignore CHECK-ID reason" comments suppress a
finding on their line or the next; .rampartignore excludes paths.

spec:
  path: local directory to scan (relative to rampart.yaml), or
  url: HTTPS or SSH clone URL (https://host/org/repo.git,
    ssh://git@host/org/repo.git, git@host:org/repo.git)
  branch: branch to clone (default: the remote's default branch)
  token: env:NAME or file:PATH, for HTTPS (sent as an HTTP header
    through git's environment, never on a command line)
  sshKey: env:NAME or file:PATH, a private key for SSH
  knownHosts: known_hosts file for SSH (default: trust on first use,
    kept in the cache directory)
  scanners: the scanners to run (default: all; each finds its files)
  cacheDir: where clones and parse results are kept (default
    $XDG_CACHE_HOME/rampart or ~/.cache/rampart)
  allowedBaseImages, allowedRegistries, valuesFiles, terraformVersion,
  public, historyDepth (default 100; -1 turns history off),
  signedCommitsWindow (default 50), signedCommitsThreshold (percent,
  default 100), allowedSigners: scanner settings`,
	NewSpec:      func() rampart.Spec { return NewSpec() },
	NewCollector: func(env rampart.Env) rampart.Collector { return &Collector{Env: env} },
	Checks:       Checks(),
}

// Checks returns every check of every scanner, wrapped to read that
// scanner's facts out of the git-repo facts and to apply inline
// suppressions, then the suppression check itself.
func Checks() []*rampart.Check {
	var out []*rampart.Check
	for _, s := range Scanners() {
		for _, c := range s.Checks() {
			out = append(out, wrap(s.Name(), c))
		}
	}
	return append(out, SuppressionCheck)
}

// Spec is the configuration of one git-repo resource.
type Spec struct {
	// Path is a local directory; relative to rampart.yaml.
	Path string `yaml:"path" json:"path,omitempty"`
	// URL is an HTTPS or SSH clone URL.
	URL    string `yaml:"url" json:"url,omitempty"`
	Branch string `yaml:"branch" json:"branch,omitempty"`
	// Token authenticates HTTPS clones.
	Token rampart.SecretRef `yaml:"token" json:"token,omitempty"`
	// SSHKey is a private key for SSH clones.
	SSHKey rampart.SecretRef `yaml:"sshKey" json:"sshKey,omitempty"`
	// KnownHosts is an ssh known_hosts file; relative to rampart.yaml.
	KnownHosts string `yaml:"knownHosts" json:"knownHosts,omitempty"`
	// Scanners selects scanners by name; empty runs them all.
	Scanners []string `yaml:"scanners" json:"scanners,omitempty"`
	// CacheDir holds clones and parse results; relative to rampart.yaml.
	CacheDir     string `yaml:"cacheDir" json:"cacheDir,omitempty"`
	scan.Options `yaml:",inline"`
}

var _ rampart.Spec = (*Spec)(nil)

// NewSpec returns a spec with its defaults set.
func NewSpec() *Spec {
	return &Spec{Options: scan.Options{
		HistoryDepth:           secrets.DefaultHistoryDepth,
		SignedCommitsWindow:    hygiene.DefaultSignedCommitsWindow,
		SignedCommitsThreshold: 100,
	}}
}

// SetBaseDir resolves relative local paths against dir, the directory of
// the file that declared the resource.
func (s *Spec) SetBaseDir(dir string) {
	for _, p := range []*string{&s.Path, &s.KnownHosts, &s.CacheDir} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
}

var (
	scpURL    = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]*@[A-Za-z0-9.][A-Za-z0-9.-]*:[^-\s][^\s]*$`)
	branchRef = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._/-]*$`)
)

// transport says how a clone URL is reached: "https", "ssh", or "" for a
// URL Rampart refuses.
func transport(raw string) string {
	if scpURL.MatchString(raw) {
		return "ssh"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || strings.HasPrefix(u.Host, "-") || strings.HasPrefix(u.User.Username(), "-") {
		return ""
	}
	switch u.Scheme {
	case "https":
		if _, hasPassword := u.User.Password(); hasPassword {
			return ""
		}
		return "https"
	case "ssh":
		return "ssh"
	}
	return ""
}

// Validate implements rampart.Spec.
func (s *Spec) Validate() error {
	var errs []error
	switch {
	case s.Path == "" && s.URL == "":
		errs = append(errs, errors.New("path: required, or url (one of the two)"))
	case s.Path != "" && s.URL != "":
		errs = append(errs, errors.New("url: give path or url, not both"))
	}
	tr := ""
	if s.URL != "" {
		tr = transport(s.URL)
		if tr == "" {
			errs = append(errs, errors.New("url: want an HTTPS (https://host/org/repo.git, credentials in token) or SSH (ssh://git@host/org/repo.git, git@host:org/repo.git) clone URL"))
		}
	}
	if s.Token != "" && tr != "https" {
		errs = append(errs, errors.New("token: only for an https:// url"))
	}
	if s.SSHKey != "" && tr != "ssh" {
		errs = append(errs, errors.New("sshKey: only for an SSH url"))
	}
	if s.KnownHosts != "" && tr != "ssh" {
		errs = append(errs, errors.New("knownHosts: only for an SSH url"))
	}
	if s.Branch != "" && (!branchRef.MatchString(s.Branch) || strings.Contains(s.Branch, "..")) {
		errs = append(errs, fmt.Errorf("branch: %q is not a branch name", s.Branch))
	}
	known := scannerNames()
	for _, n := range s.Scanners {
		if !slices.Contains(known, n) {
			errs = append(errs, fmt.Errorf("scanners: unknown scanner %q (want some of %s)", n, strings.Join(known, ", ")))
		}
	}
	if s.HistoryDepth < -1 {
		errs = append(errs, errors.New("historyDepth: want a number of commits, or -1 to turn history off"))
	}
	if s.SignedCommitsWindow < 0 {
		errs = append(errs, errors.New("signedCommitsWindow: want a positive number of commits"))
	}
	if s.SignedCommitsThreshold < 0 || s.SignedCommitsThreshold > 100 {
		errs = append(errs, errors.New("signedCommitsThreshold: want a percentage, 0 to 100"))
	}
	return errors.Join(errs...)
}

func scannerNames() []string {
	var names []string
	for _, s := range Scanners() {
		names = append(names, s.Name())
	}
	return names
}
