package tree

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Ignore is a parsed .rampartignore: gitignore-style globs, one a line.
// A pattern without a slash matches a file or directory name at any depth;
// one with a slash is anchored at the root; a trailing slash matches only
// directories; `**` spans directories; `!` re-includes; `#` starts a
// comment line. The last matching pattern wins, as in gitignore.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	glob    string
	dirOnly bool
	negate  bool
	line    int
}

// ParseIgnore reads the patterns of an ignore file.
func ParseIgnore(text string) (*Ignore, error) {
	ig := &Ignore{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{line: i + 1}
		if strings.HasPrefix(line, "!") {
			r.negate = true
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = strings.TrimRight(line, "/")
		}
		anchored := strings.Contains(line, "/")
		line = strings.TrimPrefix(line, "/")
		if line == "" {
			return nil, fmt.Errorf("line %d: empty pattern", i+1)
		}
		if !anchored {
			line = "**/" + line
		}
		if !doublestar.ValidatePattern(line) {
			return nil, fmt.Errorf("line %d: invalid pattern %q", i+1, line)
		}
		r.glob = line
		ig.rules = append(ig.rules, r)
	}
	return ig, nil
}

// Match reports whether the slash-separated path p (a directory when dir is
// set) is ignored. Callers skip an ignored directory's whole subtree, so
// files are matched against their own path only.
func (ig *Ignore) Match(p string, dir bool) bool {
	ignored := false
	for _, r := range ig.rules {
		if r.dirOnly && !dir {
			continue
		}
		if doublestar.MatchUnvalidated(r.glob, p) {
			ignored = !r.negate
		}
	}
	return ignored
}
