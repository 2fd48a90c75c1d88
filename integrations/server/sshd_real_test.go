package server_test

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/testenv"

	"github.com/rampart-dev/rampart/integrations/server"
)

// sshdKeywords are the keywords the checks read, compared with sshd -T.
var sshdKeywords = []string{
	"passwordauthentication", "permitrootlogin", "pubkeyauthentication", "maxauthtries",
	"kbdinteractiveauthentication", "authenticationmethods",
}

// TestAgainstRealSSHD compares the parser's effective values with what
// OpenSSH itself prints with sshd -T, globally and for connections that
// match the Match blocks, on configurations with Include, Match blocks in
// included files, Include inside Match and first-value-wins. It needs
// /usr/sbin/sshd (Debian's openssh-server), ssh-keygen, root and
// unshare(1) to show sshd a fixture /etc/ssh in a private mount
// namespace; it is skipped when any is missing.
func TestAgainstRealSSHD(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	for _, bin := range []string{"/usr/sbin/sshd", "ssh-keygen", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, "%s not installed (apt-get install openssh-server)", bin)
		}
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		testenv.Missing(t, "sshd needs /run/sshd: %v", err)
	}
	profile := func(p string) string {
		b, err := os.ReadFile(filepath.Join("servertest/roots", p, "root/etc/ssh/sshd_config"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		// conns are sshd -T -C connection specs (user and addr only:
		// the test evaluates User and Address criteria itself).
		conns [][2]string
	}{
		{
			name: "include and match",
			files: map[string]string{
				"sshd_config": `Include /etc/ssh/sshd_config.d/*.conf
PasswordAuthentication yes
PermitRootLogin no
UsePAM yes
Match User backup
	PasswordAuthentication yes
	Include backup.d/*.conf
Match Address 10.0.0.0/8
	PermitRootLogin prohibit-password
	MaxAuthTries 2
Match User backup Address 10.0.0.0/8
	PubkeyAuthentication yes
	MaxAuthTries 1
	AuthenticationMethods publickey,password
`,
				"sshd_config.d/10-hardening.conf": "PasswordAuthentication no\nChallengeResponseAuthentication no\nMaxAuthTries 3\nMatch User admin\n\tMaxAuthTries 5\n",
				"sshd_config.d/20-pubkey.conf":    "PubkeyAuthentication=yes\nMaxAuthTries 9\n",
				"sshd_config.d/README":            "PermitRootLogin yes\n",
				"backup.d/keys.conf":              "PubkeyAuthentication no\n",
			},
			conns: [][2]string{{"alice", "192.0.2.1"}, {"backup", "192.0.2.1"}, {"admin", "192.0.2.1"}, {"alice", "10.1.2.3"}, {"backup", "10.1.2.3"}},
		},
		{
			name:  "defaults",
			files: map[string]string{"sshd_config": "Port 22\n"},
		},
		{name: "hardened profile", files: map[string]string{"sshd_config": profile("hardened")}},
		{name: "weak profile", files: map[string]string{"sshd_config": profile("weak")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			etc := filepath.Join(root, "etc/ssh")
			for name, content := range tc.files {
				p := filepath.Join(etc, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(etc, "sshd_config.d"), 0o755); err != nil {
				t.Fatal(err)
			}
			keygen := exec.CommandContext(t.Context(), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(etc, "ssh_host_ed25519_key"))
			if out, err := keygen.CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v\n%s", err, out)
			}
			cfg, err := server.ReadSSHDConfig(os.DirFS(root), server.SSHDConfigPath)
			if err != nil {
				t.Fatal(err)
			}

			real := sshdT(t, etc, "")
			for _, kw := range append([]string{"usepam"}, sshdKeywords...) {
				if got, want := normalize(cfg.Effective(kw).Value), real[kw]; got != want {
					t.Errorf("global %s: parser %q, sshd -T %q", kw, got, want)
				}
			}
			for _, c := range tc.conns {
				real := sshdT(t, etc, "user="+c[0]+",host=client.test,addr="+c[1])
				for _, kw := range sshdKeywords {
					got := normalize(effectiveFor(t, cfg, c[0], c[1], kw))
					if got != real[kw] {
						t.Errorf("user %s from %s, %s: parser %q, sshd -T %q", c[0], c[1], kw, got, real[kw])
					}
				}
			}
		})
	}
}

// sshdT runs sshd -T with etc mounted over /etc/ssh in a private mount
// namespace, and returns its keyword/value lines.
func sshdT(t *testing.T, etc, conn string) map[string]string {
	t.Helper()
	script := `mount --bind "$1" /etc/ssh && exec /usr/sbin/sshd -T -f /etc/ssh/sshd_config ${2:+-C "$2"}`
	cmd := exec.CommandContext(t.Context(), "unshare", "-m", "sh", "-c", script, "sh", etc, conn)
	out, err := cmd.CombinedOutput()
	if err != nil {
		testenv.Missing(t, "sshd -T in a mount namespace: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k] = normalize(v)
		}
	}
	return m
}

// effectiveFor applies sshd's rule for one connection: among the Match
// blocks it matches, in order, the first that sets the keyword wins;
// otherwise the global value.
func effectiveFor(t *testing.T, cfg *server.SSHDConfig, user, addr, kw string) string {
	t.Helper()
	for i := range cfg.Matches {
		m := &cfg.Matches[i]
		if !matches(t, m.Criteria, user, addr) {
			continue
		}
		if d, ok := m.Directives[kw]; ok {
			return d.Value
		}
	}
	return cfg.Effective(kw).Value
}

func matches(t *testing.T, criteria, user, addr string) bool {
	t.Helper()
	f := strings.Fields(criteria)
	for i := 0; i+1 < len(f); i += 2 {
		switch strings.ToLower(f[i]) {
		case "user":
			if f[i+1] != user {
				return false
			}
		case "address":
			p, err := netip.ParsePrefix(f[i+1])
			if err != nil {
				t.Fatalf("criteria %q: %v", criteria, err)
			}
			if !p.Contains(netip.MustParseAddr(addr)) {
				return false
			}
		default:
			t.Fatalf("criteria %q: the test evaluates only User and Address", criteria)
		}
	}
	return true
}

// normalize folds the spellings sshd -T prints differently from the
// configuration.
func normalize(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "prohibit-password" {
		return "without-password"
	}
	return v
}
