package server_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/server"
	"github.com/rampart-dev/rampart/integrations/server/servertest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expect.txt with the results")

// TestGolden runs the collector and every check on each fixture host
// under testdata, in the manner of analysistest: testdata/<case>/ holds
// an optional "profile" file naming a servertest profile to start from,
// an optional root/ overlaid on it, an optional setup.txt (modes, links,
// removals) and expect.txt, the expected status, reason and findings of
// every check. go test -run TestGolden -update rewrites expect.txt.
func TestGolden(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", name)
			root := buildRoot(t, dir)
			facts := collect(t, root)
			got := render(t, facts)
			golden := filepath.Join(dir, "expect.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("results differ from %s (run with -update to accept):\n%s", golden, diff(string(want), got))
			}
		})
	}
	if n < 6 {
		t.Fatalf("found %d golden cases, want at least 6", n)
	}
}

// buildRoot lays out a case's host file system in a temporary directory.
func buildRoot(t *testing.T, caseDir string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "host")
	if b, err := os.ReadFile(filepath.Join(caseDir, "profile")); err == nil {
		if err := servertest.Write(root, servertest.Profile(strings.TrimSpace(string(b)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := servertest.Materialize(root, os.DirFS(caseDir)); err != nil {
		t.Fatal(err)
	}
	return root
}

// collect runs the integration's collector on root. When the test does
// not run as root the fixture's files belong to the test's user; they are
// recorded as root's so that goldens do not depend on who runs them.
func collect(t *testing.T, root string) *server.Facts {
	t.Helper()
	spec := server.NewSpec()
	spec.Root = root
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	c := server.Integration.NewCollector(rampart.Env{})
	facts, err := c.Collect(t.Context(), &rampart.Resource{ID: "server/test", Kind: server.Kind, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	f := facts.(*server.Facts)
	if uid := os.Getuid(); uid != 0 {
		if f.Shadow.UID == uid {
			f.Shadow.UID = 0
		}
		for i := range f.HostKeys.Keys {
			if f.HostKeys.Keys[i].UID == uid {
				f.HostKeys.Keys[i].UID = 0
			}
		}
	}
	return f
}

func evaluate(t *testing.T, f rampart.Facts) map[string]rampart.Evaluation {
	t.Helper()
	out := map[string]rampart.Evaluation{}
	for _, c := range server.Checks() {
		out[c.ID] = c.Run(t.Context(), f)
	}
	return out
}

// render writes every check's evaluation, one block per check in the
// integration's order.
func render(t *testing.T, f *server.Facts) string {
	t.Helper()
	var b strings.Builder
	evals := evaluate(t, f)
	for _, c := range server.Checks() {
		e := evals[c.ID]
		fmt.Fprintf(&b, "%s %s\n", c.ID, e.Status)
		if e.Reason != "" {
			fmt.Fprintf(&b, "\treason: %s\n", e.Reason)
		}
		for _, fd := range e.Findings {
			loc := ""
			switch {
			case fd.Location.Line > 0:
				loc = fmt.Sprintf(" at %s:%d", fd.Location.Path, fd.Location.Line)
			case fd.Location.Path != "":
				loc = " at " + fd.Location.Path
			}
			fmt.Fprintf(&b, "\tfinding %q%s\n\t\t%s\n", fd.Item, loc, fd.Message)
		}
	}
	return b.String()
}

// diff shows the first lines that differ, enough to see what changed.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n\twant %q\n\tgot  %q\n", i+1, wl, gl)
			if shown++; shown == 10 {
				break
			}
		}
	}
	return b.String()
}
