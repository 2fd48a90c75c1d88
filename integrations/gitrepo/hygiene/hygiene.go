// Package hygiene is the git-repo scanner for the repository's own
// governance files and history: CODEOWNERS covering the root, a security
// policy, pre-commit hooks that scan for secrets and lint, automated
// dependency updates, and the share of signed commits on the branch.
package hygiene

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
)

// Name keys this scanner's facts.
const Name = "hygiene"

// DefaultSignedCommitsWindow is how many recent commits the signature
// check reads when the register does not say.
const DefaultSignedCommitsWindow = 50

// Where GitHub looks for these files, in its order.
var (
	CodeOwnersPaths        = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}
	SecurityPolicyPaths    = []string{"SECURITY.md", ".github/SECURITY.md", "docs/SECURITY.md"}
	PreCommitConfig        = ".pre-commit-config.yaml"
	DependencyUpdatesPaths = []string{
		"renovate.json", "renovate.json5", ".github/renovate.json", ".github/renovate.json5",
		".gitlab/renovate.json", ".gitlab/renovate.json5", ".renovaterc", ".renovaterc.json", ".renovaterc.json5",
		".github/dependabot.yml", ".github/dependabot.yaml",
	}
)

// Facts are what the hygiene checks read.
type Facts struct {
	// CodeOwners is nil when there is no CODEOWNERS file.
	CodeOwners *CodeOwners `json:"codeOwners,omitempty"`
	// SecurityPolicy is the path of the security policy, or empty.
	SecurityPolicy string `json:"securityPolicy,omitempty"`
	// PreCommit is nil when there is no pre-commit configuration.
	PreCommit *PreCommit `json:"preCommit,omitempty"`
	// DependencyUpdates lists the Renovate and Dependabot configurations.
	DependencyUpdates []string    `json:"dependencyUpdates,omitempty"`
	Signatures        *Signatures `json:"signatures"`
}

// CodeOwners is the CODEOWNERS file GitHub uses.
type CodeOwners struct {
	Path  string `json:"path"`
	Rules int    `json:"rules"`
	// RootLine is the line of the last rule matching every file (* or /),
	// 0 if none; RootOwners its owners (none means it un-owns the root).
	RootLine   int      `json:"rootLine,omitempty"`
	RootOwners []string `json:"rootOwners,omitempty"`
}

// PreCommit is the pre-commit configuration.
type PreCommit struct {
	Path      string `json:"path"`
	Error     string `json:"error,omitempty"`
	ErrorLine int    `json:"errorLine,omitempty"`
	Hooks     []Hook `json:"hooks"`
}

// Hook is one configured pre-commit hook.
type Hook struct {
	Repo string `json:"repo"`
	ID   string `json:"id"`
	Line int    `json:"line"`
	// SecretScanner and Linter classify the hook by its id and repository.
	SecretScanner bool `json:"secretScanner,omitempty"`
	Linter        bool `json:"linter,omitempty"`
}

// Signatures is the share of signed commits in the recent history.
type Signatures struct {
	Window    int `json:"window"`
	Threshold int `json:"threshold"`
	Commits   int `json:"commits"`
	Signed    int `json:"signed"`
	// AllowedSigners is set when signatures are verified against an
	// allowed-signers file; Verified then counts good signatures by
	// listed signers.
	AllowedSigners string `json:"allowedSigners,omitempty"`
	Verified       int    `json:"verified,omitempty"`
	// Failing lists the commits that count against the share: unsigned,
	// or not verified when verifying.
	Failing []string `json:"failing,omitempty"`
	// Error says why signatures could not be read.
	Error string `json:"error,omitempty"`
}

// Scanner is the hygiene scanner.
type Scanner struct {
	// Git is the git executable; empty means "git" on PATH.
	Git string
}

var _ scan.Scanner = Scanner{}

// New returns the scanner.
func New() Scanner { return Scanner{} }

// Name implements scan.Scanner.
func (Scanner) Name() string { return Name }

// Scan implements scan.Scanner.
func (s Scanner) Scan(ctx context.Context, t *scan.Tree, _ scan.Cache) (any, error) {
	f := &Facts{}
	if p := first(t, CodeOwnersPaths); p != "" {
		b, err := t.Read(p)
		if err != nil {
			return nil, fmt.Errorf("hygiene: %w", err)
		}
		co := ParseCodeOwners(b)
		co.Path = p
		f.CodeOwners = co
	}
	f.SecurityPolicy = firstFold(t, SecurityPolicyPaths)
	if tree.HasFile(t, PreCommitConfig) {
		b, err := t.Read(PreCommitConfig)
		if err != nil {
			return nil, fmt.Errorf("hygiene: %w", err)
		}
		pc := ParsePreCommit(b)
		pc.Path = PreCommitConfig
		f.PreCommit = pc
	}
	for _, p := range DependencyUpdatesPaths {
		if tree.HasFile(t, p) {
			f.DependencyUpdates = append(f.DependencyUpdates, p)
		}
	}
	f.Signatures = s.signatures(ctx, t)
	return f, nil
}

func first(t *scan.Tree, paths []string) string {
	for _, p := range paths {
		if tree.HasFile(t, p) {
			return p
		}
	}
	return ""
}

// firstFold finds the first of paths in the tree, ignoring the case of the
// file name as GitHub does for SECURITY.md.
func firstFold(t *scan.Tree, paths []string) string {
	for _, p := range paths {
		for _, f := range t.Files {
			if path.Dir(f.Path) == path.Dir(p) && strings.EqualFold(path.Base(f.Path), path.Base(p)) {
				return f.Path
			}
		}
	}
	return ""
}

// ParseCodeOwners reads a CODEOWNERS file: a pattern and its owners per
// line, # comments. The last rule matching the whole repository decides
// who owns the root.
func ParseCodeOwners(b []byte) *CodeOwners {
	co := &CodeOwners{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		co.Rules++
		switch fields[0] {
		case "*", "/", "/*", "**", "/**":
			co.RootLine, co.RootOwners = n, fields[1:]
		}
	}
	return co
}

// secretScanners and linters classify hooks by id (or repository).
var (
	secretScanners = []string{"gitleaks", "trufflehog", "detect-secrets", "ggshield", "rampart"}
	linterIDs      = []string{
		"golangci-lint", "staticcheck", "go-vet", "ruff", "flake8", "pylint", "mypy", "bandit", "eslint",
		"shellcheck", "hadolint", "yamllint", "markdownlint", "tflint", "terraform_validate", "terraform_tflint",
		"terraform_tfsec", "terraform_checkov", "terraform_trivy", "checkov", "actionlint", "check-yaml",
		"check-json", "check-toml", "rubocop", "stylelint", "gosec", "semgrep", "kube-linter", "helmlint",
		"rampart",
	}
)

func classify(h *Hook) {
	id, repo := strings.ToLower(h.ID), strings.ToLower(h.Repo)
	for _, s := range secretScanners {
		if strings.Contains(id, s) || (strings.Contains(repo, "/"+s) && !strings.Contains(repo, "pre-commit-hooks")) {
			h.SecretScanner = true
		}
	}
	h.Linter = strings.Contains(id, "lint") || slices.ContainsFunc(linterIDs, func(l string) bool { return id == l || strings.HasPrefix(id, l+"-") })
}

// ParsePreCommit reads a .pre-commit-config.yaml for its hooks.
func ParsePreCommit(b []byte) *PreCommit {
	pc := &PreCommit{Hooks: []Hook{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		pc.Error = err.Error()
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			pc.ErrorLine = yamlErrorLine(err.Error())
		}
		return pc
	}
	if len(doc.Content) == 0 {
		pc.Error = "empty configuration"
		return pc
	}
	root := doc.Content[0]
	repos := mapValue(root, "repos")
	if root.Kind != yaml.MappingNode || repos == nil || repos.Kind != yaml.SequenceNode {
		pc.Error, pc.ErrorLine = "no repos list", root.Line
		return pc
	}
	for _, r := range repos.Content {
		repo := ""
		if v := mapValue(r, "repo"); v != nil && v.Kind == yaml.ScalarNode {
			repo = v.Value
		}
		hooks := mapValue(r, "hooks")
		if hooks == nil || hooks.Kind != yaml.SequenceNode {
			continue
		}
		for _, h := range hooks.Content {
			id := mapValue(h, "id")
			if id == nil || id.Kind != yaml.ScalarNode {
				continue
			}
			hook := Hook{Repo: repo, ID: id.Value, Line: id.Line}
			classify(&hook)
			pc.Hooks = append(pc.Hooks, hook)
		}
	}
	return pc
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlErrorLine reads the line yaml.v3 names in a syntax error ("yaml:
// line 3: …").
func yamlErrorLine(msg string) int {
	var n int
	if _, err := fmt.Sscanf(msg, "yaml: line %d:", &n); err == nil {
		return n
	}
	return 0
}

func (s Scanner) git(ctx context.Context, root string, stdin string, args ...string) ([]byte, error) {
	g := s.Git
	if g == "" {
		g = "git"
	}
	cmd := exec.CommandContext(ctx, g, append([]string{"-C", root}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %s", args[0], msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}

// signatures reads the last Window commits: whether each carries a
// signature (its raw object has a gpgsig header, whatever the format), and
// with an allowed-signers file, whether git verifies it as good.
func (s Scanner) signatures(ctx context.Context, t *scan.Tree) *Signatures {
	sig := &Signatures{Window: t.Options.SignedCommitsWindow, Threshold: t.Options.SignedCommitsThreshold}
	if sig.Window <= 0 {
		sig.Window = DefaultSignedCommitsWindow
	}
	if sig.Threshold <= 0 || sig.Threshold > 100 {
		sig.Threshold = 100
	}
	switch {
	case t.Commit == "":
		sig.Error = "not a git repository: commit signatures cannot be read"
		return sig
	case t.Root == "":
		// A tree of fetched files (no checkout) has no history to read.
		sig.Error = "no checkout on disk: commit signatures cannot be read"
		return sig
	}
	out, err := s.git(ctx, t.Root, "", "rev-list", fmt.Sprintf("--max-count=%d", sig.Window), t.Commit)
	if err != nil {
		sig.Error = err.Error()
		return sig
	}
	shas := strings.Fields(string(out))
	sig.Commits = len(shas)
	if len(shas) == 0 {
		return sig
	}
	raw, err := s.git(ctx, t.Root, strings.Join(shas, "\n")+"\n", "cat-file", "--batch")
	if err != nil {
		sig.Error = err.Error()
		return sig
	}
	signed, err := signedCommits(raw)
	if err != nil {
		sig.Error = err.Error()
		return sig
	}
	good := signed
	if t.Options.AllowedSigners != "" {
		file, err := allowedSigners(t.Root, t.Options.AllowedSigners)
		if err != nil {
			sig.Error = err.Error()
			return sig
		}
		sig.AllowedSigners = t.Options.AllowedSigners
		out, err := s.git(ctx, t.Root, strings.Join(shas, "\n")+"\n",
			"-c", "gpg.ssh.allowedSignersFile="+file, "log", "--no-walk=unsorted", "--stdin", "--format=%H %G?")
		if err != nil {
			sig.Error = err.Error()
			return sig
		}
		good = map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if sha, status, ok := strings.Cut(line, " "); ok && status == "G" {
				good[sha] = true
			}
		}
	}
	for _, sha := range shas {
		if signed[sha] {
			sig.Signed++
		}
		if good[sha] && t.Options.AllowedSigners != "" {
			sig.Verified++
		}
		if !good[sha] {
			sig.Failing = append(sig.Failing, sha)
		}
	}
	return sig
}

// allowedSigners resolves the register's file: absolute as given, or
// relative to the repository root without leaving it.
func allowedSigners(root, p string) (string, error) {
	file := p
	if !filepath.IsAbs(p) {
		clean := path.Clean(filepath.ToSlash(p))
		if !fs.ValidPath(clean) {
			return "", fmt.Errorf("allowed signers file %q leaves the repository", p)
		}
		file = filepath.Join(root, filepath.FromSlash(clean))
	}
	// git verifies nothing, quietly, without the file.
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("allowed signers file: %w", err)
	}
	return file, nil
}

// signedCommits reads `git cat-file --batch` output of commits and reports
// which carry a signature header.
func signedCommits(raw []byte) (map[string]bool, error) {
	out := map[string]bool{}
	r := bufio.NewReader(bytes.NewReader(raw))
	for {
		header, err := r.ReadString('\n')
		if header == "" && err != nil {
			return out, nil
		}
		var sha, typ string
		var size int
		if _, err := fmt.Sscanf(header, "%s %s %d", &sha, &typ, &size); err != nil {
			return nil, fmt.Errorf("git cat-file: unexpected header %q", strings.TrimSpace(header))
		}
		body := make([]byte, size+1) // the object and its trailing newline
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("git cat-file: short object %s", sha)
		}
		hdr, _, _ := bytes.Cut(body, []byte("\n\n"))
		for _, l := range bytes.Split(hdr, []byte("\n")) {
			if bytes.HasPrefix(l, []byte("gpgsig ")) || bytes.HasPrefix(l, []byte("gpgsig-sha256 ")) {
				out[sha] = true
			}
		}
	}
}
