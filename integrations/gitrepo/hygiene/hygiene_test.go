package hygiene_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo/hygiene"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestChecks(t *testing.T) {
	// Testdata cannot hold a git history: signatures are tested below.
	scantest.Run(t, hygiene.New(), "testdata", *update, "REPO-SIGNED-COMMITS")
}

// signingKey makes an ssh key pair and returns the private key's path and
// the allowed-signers line for it.
func signingKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is not installed")
	}
	key := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key, "test@example.com " + strings.TrimSpace(string(pub)) + "\n"
}

func commit(t *testing.T, dir, key, name string) {
	t.Helper()
	scantest.WriteFiles(t, dir, map[string]string{name: name + "\n"})
	scantest.Git(t, dir, "add", "-A")
	args := []string{"-c", "commit.gpgsign=false", "commit", "-q", "-m", name}
	if key != "" {
		args = []string{"-c", "gpg.format=ssh", "-c", "user.signingkey=" + key, "commit", "-q", "-S", "-m", name}
	}
	scantest.Git(t, dir, args...)
}

func TestSignedCommits(t *testing.T) {
	t.Parallel()
	keys := t.TempDir()
	team, teamLine := signingKey(t, keys, "team")
	stranger, _ := signingKey(t, keys, "stranger")
	allowed := filepath.Join(keys, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(teamLine), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		signers []string // per commit: "team", "stranger" or "" (unsigned)
		opt     scan.Options
		plain   bool // not a git repository
		want    string
	}{
		{name: "all signed", signers: []string{"team", "stranger"}, want: "pass (2 of the last 2 commits signed (100%, threshold 100%))"},
		{name: "one unsigned", signers: []string{"team", "", "team"}, want: "fail"},
		{name: "threshold", signers: []string{"team", "", "team"}, opt: scan.Options{SignedCommitsThreshold: 60}, want: "pass (2 of the last 3 commits signed (66%, threshold 60%))"},
		{name: "window", signers: []string{"", "team", "team"}, opt: scan.Options{SignedCommitsWindow: 2}, want: "pass (2 of the last 2 commits signed (100%, threshold 100%))"},
		{name: "verified", signers: []string{"team", "team"}, opt: scan.Options{AllowedSigners: allowed}, want: "pass (2 of the last 2 commits signed by an allowed signer (100%, threshold 100%))"},
		{name: "stranger's signature", signers: []string{"team", "stranger"}, opt: scan.Options{AllowedSigners: allowed}, want: "fail"},
		{name: "missing allowed signers", signers: []string{"team"}, opt: scan.Options{AllowedSigners: "nope/allowed_signers"}, want: "error (allowed signers file: stat "},
		{name: "allowed signers outside", signers: []string{"team"}, opt: scan.Options{AllowedSigners: "../x"}, want: `error (allowed signers file "../x" leaves the repository)`},
		{name: "not a repository", plain: true, want: "error (not a git repository: commit signatures cannot be read)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if !tc.plain {
				dir = scantest.InitRepo(t)
				for i, s := range tc.signers {
					key := map[string]string{"team": team, "stranger": stranger}[s]
					commit(t, dir, key, "f"+string(rune('a'+i)))
				}
			}
			tr := scantest.Tree(t, dir)
			tr.Options = tc.opt
			_, evals := scantest.Evaluate(t, hygiene.New(), tr, scantest.NewCache())
			ev := evals["REPO-SIGNED-COMMITS"]
			got := string(ev.Status)
			if ev.Reason != "" {
				got += " (" + ev.Reason + ")"
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if ev.Status == "fail" && (len(ev.Findings) != 1 || !strings.Contains(ev.Findings[0].Message, "not counted: ")) {
				t.Errorf("findings %+v", ev.Findings)
			}
		})
	}
}

func TestParseCodeOwners(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		line   int
		owners int
	}{
		{"* @a @b\n", 1, 2},
		{"# c\n\n/docs/ @d\n/ @e # root\n", 4, 1},
		{"* @a\n*\n", 2, 0},
		{"/src/ @a\n", 0, 0},
		{"\\#file @a\n", 0, 0},
	} {
		co := hygiene.ParseCodeOwners([]byte(tc.in))
		if co.RootLine != tc.line || len(co.RootOwners) != tc.owners {
			t.Errorf("ParseCodeOwners(%q) = line %d owners %v, want %d, %d", tc.in, co.RootLine, co.RootOwners, tc.line, tc.owners)
		}
	}
}

func FuzzParsePreCommit(f *testing.F) {
	for _, p := range []string{"testdata/good/.pre-commit-config.yaml", "testdata/bad/.pre-commit-config.yaml", "testdata/root-unowned/.pre-commit-config.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("repos: 3"))
	f.Add([]byte("- a\n- b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pc := hygiene.ParsePreCommit(b)
		if pc.Error != "" && len(pc.Hooks) > 0 {
			t.Fatal("hooks from a configuration that did not parse")
		}
		for _, h := range pc.Hooks {
			if h.Line <= 0 {
				t.Fatalf("hook %q without a line", h.ID)
			}
		}
	})
}

func FuzzParseCodeOwners(f *testing.F) {
	f.Add([]byte("* @a\n/docs/ @b # docs\n"))
	f.Add([]byte("# only comments\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		co := hygiene.ParseCodeOwners(b)
		if co.RootLine > co.Rules+strings.Count(string(b), "\n")+1 {
			t.Fatalf("root line %d beyond the file", co.RootLine)
		}
	})
}
