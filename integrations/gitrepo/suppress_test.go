package gitrepo_test

import (
	"reflect"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo"
)

func TestParseSuppressions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content string
		want          []gitrepo.Suppression
	}{
		{"hash", "# rampart:ignore DOCKER-LATEST pinned by renovate\nFROM x\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "DOCKER-LATEST", Reason: "pinned by renovate"}}},
		{"trailing slashes", "x = 1 // rampart:ignore TF-LITERAL-SECRET test fixture\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "TF-LITERAL-SECRET", Reason: "test fixture"}}},
		{"block comment", "/* rampart:ignore K8S-PROBES batch job */\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "K8S-PROBES", Reason: "batch job"}}},
		{"html", "<!-- rampart:ignore SECRET-WORKTREE example key -->\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "SECRET-WORKTREE", Reason: "example key"}}},
		{"helm template", "{{/* rampart:ignore K8S-SA-TOKEN needs the API */}}\n",
			[]gitrepo.Suppression{{Path: "f", Line: 1, Check: "K8S-SA-TOKEN", Reason: "needs the API"}}},
		{"no reason", "\n\n  # rampart:ignore DOCKER-ROOT-USER\n",
			[]gitrepo.Suppression{{Path: "f", Line: 3, Check: "DOCKER-ROOT-USER"}}},
		{"no check", "# rampart:ignore\n", []gitrepo.Suppression{{Path: "f", Line: 1}}},
		{"prose", "Write rampart:ignore CHECK-ID reason in a comment.\n", nil},
		{"other word", "# rampart:ignored DOCKER-LATEST x\n", nil},
		{"none", "FROM alpine\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := gitrepo.ParseSuppressions("f", []byte(tc.content))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseSuppressions = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseSuppressions(f *testing.F) {
	f.Add([]byte("# rampart:ignore DOCKER-LATEST reason here\n"))
	f.Add([]byte("// rampart:ignore\n/* rampart:ignore X-Y */\n"))
	f.Add([]byte("rampart:ignore rampart:ignore # rampart:ignore"))
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
