package gitrepo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rampart-dev/rampart/integrations/gitrepo/hygiene"
	"github.com/rampart-dev/rampart/integrations/gitrepo/secrets"
)

// cloneLocks serialises scans of one clone directory within the process.
var cloneLocks sync.Map

// clone brings the cached clone of spec's URL to the tip of its branch:
// shallow, as deep as the history scanners read, and with credentials
// passed only through git's environment.
func (c *Collector) clone(ctx context.Context, g git, spec *Spec, cacheRoot string) (source, error) {
	key := sha256.Sum256([]byte(spec.URL + "\x00" + spec.Branch))
	dir := filepath.Join(cacheRoot, "repos", hex.EncodeToString(key[:8]))
	mu, _ := cloneLocks.LoadOrStore(dir, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	auth, cleanup, err := c.credentials(spec, cacheRoot)
	if err != nil {
		return source{}, err
	}
	defer cleanup()
	g.env = append(g.env, auth...)

	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return source{}, fmt.Errorf("clone %s: %w", spec.URL, err)
		}
		if _, err := g.run(ctx, dir, "init", "--quiet"); err != nil {
			return source{}, fmt.Errorf("clone %s: %w", spec.URL, err)
		}
	}
	// The URL is set on every scan, so that a changed register wins; it is
	// an argument, never holding a credential (Validate refuses those).
	_, _ = g.run(ctx, dir, "remote", "remove", "origin")
	if _, err := g.run(ctx, dir, "remote", "add", "origin", "--", spec.URL); err != nil {
		return source{}, fmt.Errorf("clone %s: %w", spec.URL, err)
	}
	ref, branch := "HEAD", spec.Branch
	if branch != "" {
		ref = "refs/heads/" + branch
	} else if out, err := g.run(ctx, dir, "ls-remote", "--symref", "origin", "HEAD"); err == nil {
		branch = defaultBranch(out)
	}
	// Shallow, but as deep as the history scanners read.
	hist, win := spec.HistoryDepth, spec.SignedCommitsWindow
	if hist == 0 {
		hist = secrets.DefaultHistoryDepth
	}
	if win == 0 {
		win = hygiene.DefaultSignedCommitsWindow
	}
	depth := max(hist, win, 1)
	if _, err := g.run(ctx, dir, "fetch", "--quiet", "--no-tags", "--prune", fmt.Sprintf("--depth=%d", depth), "origin", ref); err != nil {
		return source{}, fmt.Errorf("fetch %s: %w", spec.URL, err)
	}
	if _, err := g.run(ctx, dir, "checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"); err != nil {
		return source{}, fmt.Errorf("checkout %s: %w", spec.URL, err)
	}
	if _, err := g.run(ctx, dir, "clean", "-ffdxq"); err != nil {
		return source{}, fmt.Errorf("clean %s: %w", spec.URL, err)
	}
	out, err := g.run(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return source{}, fmt.Errorf("clone %s: %w", spec.URL, err)
	}
	return source{root: dir, display: spec.URL, commit: strings.TrimSpace(out), branch: branch}, nil
}

// defaultBranch reads "ref: refs/heads/main\tHEAD" from ls-remote --symref.
func defaultBranch(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "ref: refs/heads/"); ok {
			name, _, _ := strings.Cut(rest, "\t")
			return name
		}
	}
	return ""
}

// credentials returns the environment that authenticates git: for HTTPS
// an Authorization header set through GIT_CONFIG_* variables (never an
// argument, so never in a process list or an error message), for SSH a
// GIT_SSH_COMMAND naming the key file. An env: key is written to a private
// temporary file that cleanup removes.
func (c *Collector) credentials(spec *Spec, cacheRoot string) (env []string, cleanup func(), err error) {
	cleanup = func() {}
	readFile := c.Env.ReadFile
	if readFile == nil {
		readFile = os.ReadFile
	}
	switch transport(spec.URL) {
	case "https":
		if spec.Token == "" {
			return nil, cleanup, nil
		}
		tok, err := spec.Token.Resolve(c.getenv, readFile)
		if err != nil {
			return nil, cleanup, fmt.Errorf("token: %w", err)
		}
		basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + tok))
		return []string{
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic " + basic,
		}, cleanup, nil
	case "ssh":
		ssh := c.SSH
		if ssh == "" {
			ssh = "ssh"
		}
		known := spec.KnownHosts
		strict := "yes"
		if known == "" {
			known, strict = filepath.Join(cacheRoot, "known_hosts"), "accept-new"
		}
		args := []string{
			shellQuote(ssh), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=" + strict,
			"-o", "UserKnownHostsFile=" + shellQuote(known),
		}
		if spec.SSHKey != "" {
			keyFile, done, err := c.keyFile(spec, readFile)
			if err != nil {
				return nil, cleanup, err
			}
			cleanup = done
			args = append(args, "-o", "IdentitiesOnly=yes", "-i", shellQuote(keyFile))
		}
		return []string{"GIT_SSH_COMMAND=" + strings.Join(args, " ")}, cleanup, nil
	}
	return nil, cleanup, fmt.Errorf("url %q is neither HTTPS nor SSH", spec.URL)
}

// keyFile returns a path ssh can read the key from: the file itself for
// file:, a private temporary copy for env:.
func (c *Collector) keyFile(spec *Spec, readFile func(string) ([]byte, error)) (string, func(), error) {
	if p, ok := strings.CutPrefix(string(spec.SSHKey), "file:"); ok {
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("sshKey: %w", err)
		}
		return p, func() {}, nil
	}
	key, err := spec.SSHKey.Resolve(c.getenv, readFile)
	if err != nil {
		return "", nil, fmt.Errorf("sshKey: %w", err)
	}
	dir, err := os.MkdirTemp("", "rampart-ssh-")
	if err != nil {
		return "", nil, fmt.Errorf("sshKey: %w", err)
	}
	p := filepath.Join(dir, "key")
	if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("sshKey: %w", err)
	}
	return p, func() { _ = os.RemoveAll(dir) }, nil
}

// shellQuote quotes for the shell git runs GIT_SSH_COMMAND with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
