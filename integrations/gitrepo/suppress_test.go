package gitrepo_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo"
)

// ig writes the suppression marker into test input at run time, so that
// this file holds no suppression of its own for Rampart to report.
func ig(s string) string { return strings.ReplaceAll(s, "@ignore", gitrepo.Directive) }

func TestParseSuppressions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content string
		want          []gitrepo.Suppression
	}{
		{
			"hash", "# @ignore DOCKER-LATEST pinned by renovate\nFROM x\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "DOCKER-LATEST", Reason: "pinned by renovate"}},
		},
		{
			"trailing slashes", "x = 1 // @ignore TF-LITERAL-SECRET test fixture\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "TF-LITERAL-SECRET", Reason: "test fixture"}},
		},
		{
			"block comment", "/* @ignore K8S-PROBES batch job */\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "K8S-PROBES", Reason: "batch job"}},
		},
		{
			"html", "<!-- @ignore SECRET-WORKTREE example key -->\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "SECRET-WORKTREE", Reason: "example key"}},
		},
		{
			"helm template", "{{/* @ignore K8S-SA-TOKEN needs the API */}}\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "K8S-SA-TOKEN", Reason: "needs the API"}},
		},
		{
			"no reason", "\n\n  # @ignore DOCKER-ROOT-USER\n",
			[]gitrepo.Suppression{{Path: "f", Line: 3, Check: "DOCKER-ROOT-USER"}},
		},
		{"no check", "# @ignore\n", []gitrepo.Suppression{{Path: "f", Line: 1}}},
		{"prose", "Write @ignore CHECK-ID reason in a comment.\n", nil},
		{"prose in a comment", "// Suppressions are the @ignore comments found.\n", nil},
		{"binary", "\x00\x01# @ignore DOCKER-LATEST x\n", nil},
		{"tab after marker", "#@ignore\tK8S-PROBES\tjob\n", []gitrepo.Suppression{{Path: "f", Line: 1, Check: "K8S-PROBES", Reason: "job"}}},
		{"other word", "# @ignored DOCKER-LATEST x\n", nil},
		{"none", "FROM alpine\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := gitrepo.ParseSuppressions("f", []byte(ig(tc.content)))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseSuppressions = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseSuppressions(f *testing.F) {
	f.Add([]byte(ig("# @ignore DOCKER-LATEST reason here\n")))
	f.Add([]byte(ig("// @ignore\n/* @ignore X-Y */\n")))
	f.Add([]byte(ig("@ignore @ignore # @ignore")))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines := 1
		for _, c := range b {
			if c == '\n' {
				lines++
			}
		}
		for _, s := range gitrepo.ParseSuppressions("f", b) {
			if s.Line < 1 || s.Line > lines {
				t.Fatalf("suppression at line %d of %d", s.Line, lines)
			}
			if s.Reason != "" && s.Check == "" {
				t.Fatal("a reason without a check")
			}
		}
	})
}
