package register_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/register"
)

var (
	positioned  = regexp.MustCompile(`^fuzz\.yaml:[1-9][0-9]*(:[0-9]+)?: \S`)
	githubToken = regexp.MustCompile(`gh[pousr]_[A-Za-z0-9]{30,}`)
)

// FuzzParse feeds the parser arbitrary registers, seeded with every
// testdata file and the starter. It must not panic; every error must name
// the file and a line; a valid result must be usable; a GitHub token in
// the input must never come back in the errors.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(register.Starter())
	f.Add([]byte("version: 1\nresources:\n  - {id: a, kind: github-org, name: n, owner: o, spec: {token: ghp_" + strings.Repeat("x", 36) + "}}\n"))
	kinds := testKinds()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := register.Parse("fuzz.yaml", data, kinds)
		if err == nil {
			if c == nil {
				t.Fatal("nil config without an error")
			}
			for _, r := range c.Resources {
				if r.Source.Line < 1 || c.Resource(r.ID) != r {
					t.Fatalf("resource %q: source %v, lookup %p, want %p", r.ID, r.Source, c.Resource(r.ID), r)
				}
			}
			return
		}
		var list register.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %T is not an ErrorList: %v", err, err)
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !positioned.MatchString(line) {
				t.Fatalf("error without a position: %q", line)
			}
		}
		for _, tok := range githubToken.FindAllString(string(data), -1) {
			if strings.Contains(err.Error(), tok) {
				t.Fatalf("token %s repeated in the errors:\n%v", tok, err)
			}
		}
	})
}
