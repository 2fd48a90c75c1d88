package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
	"github.com/rampart-dev/rampart/integrations/gitrepo/secrets"
)

// fakeKey is an AWS access key id shaped for gitleaks' rule, built at run
// time so that this repository holds no literal key.
func fakeKey() string { return "AKIA" + strings.ToUpper("qz7xm4lwt2rbv6nj") }

// leakyRepo commits the key, deletes it, and commits it again elsewhere,
// so that it is both in the working tree and twice in history.
func leakyRepo(t *testing.T) (dir string, first, third string) {
	t.Helper()
	dir = scantest.InitRepo(t)
	key := fakeKey()
	first = scantest.Commit(t, dir, "add config", map[string]string{
		"config.env": "REGION=eu-west-1\nAWS_ACCESS_KEY_ID=" + key + "\n",
	})
	scantest.Commit(t, dir, "remove config", map[string]string{"config.env": ""})
	third = scantest.Commit(t, dir, "settings", map[string]string{
		"app/settings.py": "import os\n\n\nDEBUG = False\naws_key = \"" + key + "\"\n",
		"README.md":       "# app\n",
	})
	return dir, first, third
}

func evaluate(t *testing.T, s scan.Scanner, tr *scan.Tree, c scan.Cache) (*secrets.Facts, map[string]rampart.Evaluation) {
	t.Helper()
	facts, evals := scantest.Evaluate(t, s, tr, c)
	return facts.(*secrets.Facts), evals
}

func TestLeaksFoundAndNeverStored(t *testing.T) {
	t.Parallel()
	dir, first, third := leakyRepo(t)
	facts, evals := evaluate(t, secrets.New(), scantest.Tree(t, dir), scantest.NewCache())

	got := scantest.Format(evals)
	want := "SECRET-HISTORY fail\n" +
		"\tapp/settings.py:5@" + third[:12] + " " + third + ":app/settings.py:aws-access-token:5: " + msg("app/settings.py:5 in commit "+third[:12]) + "\n" +
		"\tconfig.env:2@" + first[:12] + " " + first + ":config.env:aws-access-token:2: " + msg("config.env:2 in commit "+first[:12]) + "\n" +
		"SECRET-WORKTREE fail\n" +
		"\tapp/settings.py:5 app/settings.py:aws-access-token:5: " + msg("app/settings.py:5") + "\n"
	if got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
	if facts.History.Commits != 3 {
		t.Errorf("history read %d commits, want 3", facts.History.Commits)
	}

	// The value must appear nowhere: not in facts, not in findings, and
	// not even its distinctive half.
	b, err := json.Marshal(facts)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := json.Marshal(evals)
	if err != nil {
		t.Fatal(err)
	}
	key := fakeKey()
	for _, needle := range []string{key, key[4:], key[10:]} {
		if bytes.Contains(b, []byte(needle)) || bytes.Contains(eb, []byte(needle)) || strings.Contains(got, needle) {
			t.Errorf("the secret (or part %q) appears in the output", needle)
		}
	}
}

func msg(where string) string {
	return "Identified a pattern that may indicate AWS credentials, risking unauthorized cloud resource access and data breaches on AWS platforms. (gitleaks rule aws-access-token) at " + where
}

func TestSecondScanReadsNothing(t *testing.T) {
	t.Parallel()
	dir, _, _ := leakyRepo(t)
	cache := scantest.NewCache()
	f1, _ := evaluate(t, secrets.New(), scantest.Tree(t, dir), cache)
	misses := cache.Misses()
	if misses == 0 {
		t.Fatal("first scan parsed nothing")
	}
	f2, _ := evaluate(t, secrets.New(), scantest.Tree(t, dir), cache)
	if cache.Misses() != misses {
		t.Errorf("second scan re-read %d files or commits", cache.Misses()-misses)
	}
	a, _ := json.Marshal(f1)
	b, _ := json.Marshal(f2)
	if !bytes.Equal(a, b) {
		t.Errorf("second scan's facts differ:\n%s\n%s", a, b)
	}

	// A new commit is the only history read.
	scantest.Commit(t, dir, "more", map[string]string{"docs/x.md": "hello\n"})
	before := cache.Misses()
	evaluate(t, secrets.New(), scantest.Tree(t, dir), cache)
	// The new file and the new commit; every other file and commit hits.
	if n := cache.Misses() - before; n != 2 {
		t.Errorf("after one commit adding one file, %d reads, want 2", n)
	}
}

func TestCases(t *testing.T) {
	t.Parallel()
	key := fakeKey()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (*scan.Tree, secrets.Scanner)
		want  string
	}{
		{
			name: "clean repository",
			setup: func(t *testing.T) (*scan.Tree, secrets.Scanner) {
				dir := scantest.InitRepo(t)
				scantest.Commit(t, dir, "init", map[string]string{"main.go": "package main\n"})
				return scantest.Tree(t, dir), secrets.New()
			},
			want: "SECRET-HISTORY pass\nSECRET-WORKTREE pass\n",
		},
		{
			name: "plain directory",
			setup: func(t *testing.T) (*scan.Tree, secrets.Scanner) {
				dir := t.TempDir()
				scantest.WriteFiles(t, dir, map[string]string{"a/key.txt": "id: " + key + "\n", "bin": "\x00\x01" + key})
				return scantest.Tree(t, dir), secrets.New()
			},
			want: "SECRET-HISTORY not_applicable\nSECRET-WORKTREE fail\n\ta/key.txt:1 a/key.txt:aws-access-token:1: " + msg("a/key.txt:1") + "\n",
		},
		{
			name: "gitleaksignore",
			setup: func(t *testing.T) (*scan.Tree, secrets.Scanner) {
				dir, first, third := leakyRepo(t)
				scantest.Commit(t, dir, "ignore", map[string]string{
					".gitleaksignore": "# rotated\napp/settings.py:aws-access-token:5\n" + first + ":config.env:aws-access-token:2\n",
				})
				_ = third
				return scantest.Tree(t, dir), secrets.New()
			},
			// The global fingerprint covers the working tree and the
			// commit that added the line.
			want: "SECRET-HISTORY pass\nSECRET-WORKTREE pass\n",
		},
		{
			name: "history depth",
			setup: func(t *testing.T) (*scan.Tree, secrets.Scanner) {
				dir, _, _ := leakyRepo(t)
				scantest.Commit(t, dir, "fix", map[string]string{"app/settings.py": "aws_key = os.environ['AWS_KEY']\n"})
				tr := scantest.Tree(t, dir)
				tr.Options.HistoryDepth = 1
				return tr, secrets.New()
			},
			want: "SECRET-HISTORY pass\nSECRET-WORKTREE pass\n",
		},
		{
			name: "git unavailable",
			setup: func(t *testing.T) (*scan.Tree, secrets.Scanner) {
				dir, _, _ := leakyRepo(t)
				tr := scantest.Tree(t, dir)
				return tr, secrets.Scanner{Git: "/nonexistent/git"}
			},
			want: "SECRET-HISTORY error (history not read: list commits: fork/exec /nonexistent/git: no such file or directory)\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, s := tc.setup(t)
			_, evals := evaluate(t, s, tr, scantest.NewCache())
			got := scantest.Format(evals)
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got:\n%s\nwant (prefix):\n%s", got, tc.want)
			}
		})
	}
}

func TestDetectorBuiltOnce(t *testing.T) {
	t.Parallel()
	a, err := secrets.Detector()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := secrets.Detector()
	if a != b {
		t.Error("Detector built twice")
	}
	if leaks := secrets.DetectContent(context.Background(), a, "x", "", 1, "nothing to see"); len(leaks) != 0 {
		t.Errorf("leaks in clean text: %v", leaks)
	}
}
