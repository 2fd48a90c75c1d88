package gitrepo_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/integrations/gitrepo/hygiene"
)

// notScanners are the folders under integrations/gitrepo that hold no
// scanner.
var notScanners = []string{"scan", "scantest", "tree", "cache", "testdata"}

func TestEveryScannerFolderIsListed(t *testing.T) {
	t.Parallel()
	var listed []string
	for _, s := range gitrepo.Scanners() {
		if slices.Contains(listed, s.Name()) {
			t.Errorf("scanner %s listed twice", s.Name())
		}
		listed = append(listed, s.Name())
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(notScanners, e.Name()) && !slices.Contains(listed, e.Name()) {
			t.Errorf("folder integrations/gitrepo/%s is not in gitrepo.Scanners() (the folder is named for the scanner)", e.Name())
		}
	}
}

func TestChecksAreComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	prefixes := []string{"REPO-", "SECRET-", "DOCKER-", "GHA-", "HELM-", "K8S-", "TF-", "RAMPART-"}
	for _, c := range gitrepo.Integration.Checks {
		if err := rampart.ValidateCheck(c); err != nil {
			t.Error(err)
		}
		if seen[c.ID] {
			t.Errorf("check %s listed twice", c.ID)
		}
		seen[c.ID] = true
		if c.Kind != gitrepo.Kind {
			t.Errorf("check %s of kind %s", c.ID, c.Kind)
		}
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(c.ID, p) }) {
			t.Errorf("check %s has no scanner prefix", c.ID)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(s *gitrepo.Spec)
		want string // substring of the error, "" for valid
	}{
		{"path", func(s *gitrepo.Spec) { s.Path = "." }, ""},
		{"https with token", func(s *gitrepo.Spec) { s.URL, s.Token = "https://github.com/org/repo.git", "env:GITHUB_TOKEN" }, ""},
		{"scp-like ssh", func(s *gitrepo.Spec) { s.URL, s.SSHKey = "git@github.com:org/repo.git", "file:/k" }, ""},
		{"ssh url", func(s *gitrepo.Spec) { s.URL, s.Branch = "ssh://git@host/org/repo.git", "release/1.2" }, ""},
		{"neither", func(s *gitrepo.Spec) {}, "path: required"},
		{"both", func(s *gitrepo.Spec) { s.Path, s.URL = ".", "https://h/r" }, "url: give path or url"},
		{"http", func(s *gitrepo.Spec) { s.URL = "http://h/r.git" }, "url: want an HTTPS"},
		{"file", func(s *gitrepo.Spec) { s.URL = "file:///tmp/r" }, "url: want an HTTPS"},
		{"password in url", func(s *gitrepo.Spec) { s.URL = "https://u:p@h/r.git" }, "url: want an HTTPS"},
		{"option as url", func(s *gitrepo.Spec) { s.URL = "--upload-pack=touch x" }, "url: want an HTTPS"},
		{"token over ssh", func(s *gitrepo.Spec) { s.URL, s.Token = "git@h:r.git", "env:T" }, "token: only for an https:// url"},
		{"key over https", func(s *gitrepo.Spec) { s.URL, s.SSHKey = "https://h/r.git", "env:K" }, "sshKey: only for an SSH url"},
		{"option as branch", func(s *gitrepo.Spec) { s.Path, s.Branch = ".", "--force" }, "branch:"},
		{"unknown scanner", func(s *gitrepo.Spec) { s.Path, s.Scanners = ".", []string{"docker"} }, `scanners: unknown scanner "docker"`},
		{"history", func(s *gitrepo.Spec) { s.Path, s.HistoryDepth = ".", -2 }, "historyDepth:"},
		{"threshold", func(s *gitrepo.Spec) { s.Path, s.SignedCommitsThreshold = ".", 101 }, "signedCommitsThreshold:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := gitrepo.NewSpec()
			tc.edit(s)
			err := s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSetBaseDir(t *testing.T) {
	t.Parallel()
	s := &gitrepo.Spec{Path: "repos/app", KnownHosts: "/etc/ssh/known", CacheDir: "cache"}
	s.SetBaseDir("/srv/rampart")
	if s.Path != "/srv/rampart/repos/app" || s.KnownHosts != "/etc/ssh/known" || s.CacheDir != "/srv/rampart/cache" {
		t.Errorf("SetBaseDir: %+v", s)
	}
}

// TestPreCommitHookDefinition reads the repository's own
// .pre-commit-hooks.yaml the way the hygiene scanner reads a project's
// configuration: the rampart hook must count as a secret scanner and a
// linter, and run `rampart check` on the whole tree.
func TestPreCommitHookDefinition(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []map[string]any
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 {
		t.Fatalf("%d hooks, want 1", len(hooks))
	}
	h := hooks[0]
	for k, v := range map[string]any{"id": "rampart", "entry": "rampart check", "language": "golang", "pass_filenames": false} {
		if h[k] != v {
			t.Errorf("%s = %v, want %v", k, h[k], v)
		}
	}
	pc := hygiene.ParsePreCommit([]byte("repos:\n  - repo: https://github.com/rampart-dev/rampart\n    rev: v0.1.0\n    hooks:\n      - id: rampart\n"))
	if len(pc.Hooks) != 1 || !pc.Hooks[0].SecretScanner || !pc.Hooks[0].Linter {
		t.Errorf("the rampart hook is not recognised as a secret scanner and linter: %+v", pc.Hooks)
	}
}

// TestEveryCheckIsDocumented: docs/integrations/git-repo.md names every
// check of the integration.
func TestEveryCheckIsDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/integrations/git-repo.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range gitrepo.Integration.Checks {
		if !strings.Contains(string(b), "`"+c.ID+"`") {
			t.Errorf("docs/integrations/git-repo.md does not document %s", c.ID)
		}
	}
}

// TestCatalogAcceptsTheChecks: every control a check names exists in the
// embedded catalog.
func TestCatalogAcceptsTheChecks(t *testing.T) {
	t.Parallel()
	if _, err := catalog.Load(gitrepo.Integration.Checks); err != nil {
		t.Fatal(err)
	}
}
