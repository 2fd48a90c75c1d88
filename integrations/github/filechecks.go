package github

import (
	"context"
	"fmt"
	"slices"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo"
)

// fileCheckPrefix prefixes the ids of the git-repo checks run on every
// repository's fetched files.
const fileCheckPrefix = "GH-FILES-"

// skippedFileChecks need what the API does not give without a clone: the
// commit history.
var skippedFileChecks = []string{"REPO-SIGNED-COMMITS"}

// FileChecks returns, for each check of the FileScanners, a github-org
// check that runs it on every repository's files: the same rule, metadata
// and controls, findings named by repository.
func FileChecks() []*rampart.Check {
	wrapped := map[string]*rampart.Check{}
	for _, c := range gitrepo.Checks() {
		wrapped[c.ID] = c
	}
	var out []*rampart.Check
	for _, s := range gitrepo.Scanners() {
		if !slices.Contains(FileScanners, s.Name()) {
			continue
		}
		for _, inner := range s.Checks() {
			w, ok := wrapped[inner.ID]
			if !ok || slices.Contains(skippedFileChecks, inner.ID) {
				continue
			}
			out = append(out, fileCheck(w))
		}
	}
	return out
}

// fileCheck adapts one git-repo check (already wrapped by gitrepo to read
// its scanner's facts and honour inline suppressions) to the github-org
// facts.
func fileCheck(inner *rampart.Check) *rampart.Check {
	return &rampart.Check{
		ID: fileCheckPrefix + inner.ID, Version: inner.Version, Kind: Kind,
		Title: inner.Title + " (every repository)", Severity: inner.Severity,
		Controls: inner.Controls, Remediation: inner.Remediation,
		Doc: fmt.Sprintf(`Runs the git-repo check %s on each repository's files at the head of its
default branch, fetched through the API without a clone (spec scanFiles):
one finding per finding of %s, its item prefixed with the repository's
name and its location with the repository's path. Not applicable when
scanFiles is false or no repository holds the files it reads; a
repository whose files could not be fetched makes an error.

%s`, inner.ID, inner.ID, inner.Doc),
		Run: rampart.Typed(func(ctx context.Context, f *Facts) rampart.Evaluation {
			if !f.FilesScanned {
				return rampart.NotApplicable("repository files are not scanned (scanFiles: false)")
			}
			applicable := 0
			ev := repoVerdict(f, nil, func(r *Repository) ([]rampart.Finding, string) {
				fs := r.Files
				switch {
				case fs == nil:
					return nil, "its files were not scanned"
				case r.Empty:
					return nil, ""
				case fs.Error != "":
					return nil, fs.Error
				case fs.Facts == nil:
					return nil, "its files were not scanned"
				}
				e := inner.Run(ctx, fs.Facts)
				switch e.Status {
				case rampart.StatusFail:
					applicable++
					out := make([]rampart.Finding, 0, len(e.Findings))
					for _, fd := range e.Findings {
						fd.Item = r.Name + ": " + fd.Item
						if fd.Location.Path != "" {
							fd.Location.Path = r.Name + "/" + fd.Location.Path
						}
						if fd.Location.Commit == "" && fd.Location.Path != "" {
							fd.Location.Commit = fs.Commit
						}
						fd.Fingerprint = ""
						out = append(out, fd)
					}
					if len(out) == 0 {
						out = append(out, rampart.Finding{Item: r.Name + ": " + inner.ID, Message: orError(e.Reason, inner.Title)})
					}
					return out, ""
				case rampart.StatusError:
					return nil, e.Reason
				case rampart.StatusPass:
					applicable++
				}
				return nil, ""
			}, func(n int) string {
				return fmt.Sprintf("%s passes on the %d repositories holding the files it reads", inner.ID, applicable)
			})
			if ev.Status == rampart.StatusPass && applicable == 0 {
				return rampart.NotApplicable(fmt.Sprintf("no repository holds the files %s reads", inner.ID))
			}
			return ev
		}),
	}
}
