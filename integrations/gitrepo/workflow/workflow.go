// Package workflow is the git-repo scanner for GitHub Actions: it reads
// every workflow (.github/workflows/*.yml) and action metadata file
// (action.yml) with actionlint's parser and checks that third-party
// actions are pinned to commits, that the GITHUB_TOKEN is granted least
// privilege, that untrusted pull-request code and event text never reach
// a privileged context or a shell, and that secrets and runners are not
// exposed. actionlint's own diagnostics are reported as a low-severity
// check.
package workflow

import (
	"context"
	"fmt"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// Name keys this scanner's facts and cache entries.
const Name = "workflow"

// cacheKey versions cached parses: bump it when File changes shape or
// parsing changes what it records.
const cacheKey = "v1:"

// Scanner is the GitHub Actions scanner.
type Scanner struct{}

var _ scan.Scanner = Scanner{}

// New returns the scanner.
func New() Scanner { return Scanner{} }

// Name implements scan.Scanner.
func (Scanner) Name() string { return Name }

// Checks implements scan.Scanner.
func (Scanner) Checks() []*rampart.Check { return Checks() }

// Scan implements scan.Scanner. It reads workflows and action metadata
// files on every core, each parsed once per content hash.
func (Scanner) Scan(ctx context.Context, tree *scan.Tree, cache scan.Cache) (any, error) {
	var files []scan.File
	for _, f := range tree.Files {
		if IsWorkflow(f.Path) || IsAction(f.Path) {
			files = append(files, f)
		}
	}
	facts := &Facts{Public: tree.Options.Public, Files: make([]*File, len(files))}
	err := scan.ForEach(ctx, len(files), func(i int) error {
		kind, parse := KindWorkflow, ParseWorkflow
		if !IsWorkflow(files[i].Path) {
			kind, parse = KindAction, ParseAction
		}
		key := cacheKey + kind + ":" + files[i].Hash
		f := new(File)
		if cache == nil || !cache.Get(Name, key, f) {
			b, err := tree.Read(files[i].Path)
			if err != nil {
				return fmt.Errorf("read %s: %w", files[i].Path, err)
			}
			f = parse(b)
			if cache != nil {
				cache.Put(Name, key, f)
			}
		}
		// A copy, so that a cache holding f keeps no path.
		named := *f
		named.Path = files[i].Path
		facts.Files[i] = &named
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	return facts, nil
}
