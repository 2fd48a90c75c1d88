package gitrepo

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/cache"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// CheckOptions configure CheckDir.
type CheckOptions struct {
	// Options are the scanner settings a register would give.
	scan.Options
	// Scanners selects scanners by name; empty runs them all.
	Scanners []string
	// CacheDir keeps parse results between runs; empty means the default
	// ($XDG_CACHE_HOME/rampart or ~/.cache/rampart).
	CacheDir string
	// NoCache parses everything and keeps nothing.
	NoCache bool
	// ResourceID names the directory in results and fingerprints;
	// default ".", so fingerprints do not depend on where the checkout is.
	ResourceID string
	// Getenv reads the environment (for the default cache directory);
	// nil means os.Getenv.
	Getenv func(string) string
	// Git is the git executable; empty means "git" on PATH.
	Git string
	// Now stamps the results; nil means time.Now.
	Now func() time.Time
}

// CheckReport is what CheckDir found.
type CheckReport struct {
	ResourceID string `json:"resourceId"`
	Facts      *Facts `json:"facts"`
	// Results has one result per check, in Integration.Checks order, with
	// fingerprints set.
	Results []rampart.Result `json:"results"`
	// Checks are the checks that ran, by id.
	Checks map[string]*rampart.Check `json:"-"`
	Stats  Stats                     `json:"stats"`
}

// Failing counts the findings at or above min that no suppression covers:
// what `rampart check --fail-on` decides on.
func (r *CheckReport) Failing(min rampart.Severity) int {
	n := 0
	for _, res := range r.Results {
		if res.Status != rampart.StatusFail {
			continue
		}
		for _, f := range res.Findings {
			if f.Suppressed == "" && f.EffectiveSeverity(res.Severity) >= min {
				n++
			}
		}
	}
	return n
}

// CheckDir runs the git-repo scanners on dir, as an ad-hoc git-repo
// resource with no register and no store: `rampart check DIR`.
func CheckDir(ctx context.Context, dir string, opt CheckOptions) (*CheckReport, error) {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	id := opt.ResourceID
	if id == "" {
		id = "."
	}
	spec := NewSpec()
	spec.Path, spec.Scanners = dir, opt.Scanners
	spec.Options = mergeOptions(spec.Options, opt.Options)
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("check %s: %w", dir, err)
	}
	dc := cache.Disabled()
	if !opt.NoCache {
		root := opt.CacheDir
		if root == "" {
			var err error
			if root, err = cache.DefaultRoot(getenv); err != nil {
				return nil, err
			}
		}
		var err error
		if dc, err = cache.Open(root); err != nil {
			return nil, err
		}
	}
	g := git{bin: opt.Git, env: (&Collector{Env: rampart.Env{Getenv: getenv}}).gitEnv()}
	src, err := local(ctx, g, dir, "")
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(dir); err == nil {
		src.display = abs
	}
	facts, st, err := scanTree(ctx, src, spec.Options, spec.Scanners, dc)
	if err != nil {
		return nil, err
	}
	evidence := ""
	if b, err := rampart.FactsJSON(facts); err == nil {
		evidence = rampart.ContentHash(b)
	}
	rep := &CheckReport{ResourceID: id, Facts: facts, Checks: map[string]*rampart.Check{}, Stats: st}
	at := now()
	for _, c := range Integration.Checks {
		rep.Checks[c.ID] = c
		rep.Results = append(rep.Results, result(ctx, c, id, facts, evidence, at))
	}
	return rep, nil
}

// mergeOptions lays the caller's non-zero options over the defaults.
func mergeOptions(def, o scan.Options) scan.Options {
	if o.AllowedBaseImages != nil {
		def.AllowedBaseImages = o.AllowedBaseImages
	}
	if o.AllowedRegistries != nil {
		def.AllowedRegistries = o.AllowedRegistries
	}
	if o.ValuesFiles != nil {
		def.ValuesFiles = o.ValuesFiles
	}
	if o.TerraformVersion != "" {
		def.TerraformVersion = o.TerraformVersion
	}
	def.Public = def.Public || o.Public
	if o.HistoryDepth != 0 {
		def.HistoryDepth = o.HistoryDepth
	}
	if o.SignedCommitsWindow != 0 {
		def.SignedCommitsWindow = o.SignedCommitsWindow
	}
	if o.SignedCommitsThreshold != 0 {
		def.SignedCommitsThreshold = o.SignedCommitsThreshold
	}
	if o.AllowedSigners != "" {
		def.AllowedSigners = o.AllowedSigners
	}
	return def
}

// result evaluates one check the way the engine does: a panic is an error
// naming the check, a failure without findings gets one, fingerprints are
// set and duplicate items dropped.
func result(ctx context.Context, c *rampart.Check, resourceID string, facts *Facts, evidence string, at time.Time) (res rampart.Result) {
	ev := func() (ev rampart.Evaluation) {
		defer func() {
			if v := recover(); v != nil {
				ev = rampart.Evaluation{Status: rampart.StatusError, Reason: fmt.Sprintf("check %s panicked: %v", c.ID, v)}
			}
		}()
		return c.Run(ctx, facts)
	}()
	res = rampart.Result{
		ResourceID: resourceID, CheckID: c.ID, Version: c.Version, Status: ev.Status,
		Severity: c.Severity, Reason: ev.Reason, Evidence: evidence, At: at,
	}
	findings := ev.Findings
	if ev.Status == rampart.StatusFail && len(findings) == 0 {
		findings = []rampart.Finding{{Item: c.ID, Message: cmp.Or(ev.Reason, c.Title)}}
	}
	seen := map[string]bool{}
	for _, f := range findings {
		f.Fingerprint = rampart.Fingerprint(c.ID, resourceID, f.Item)
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		res.Findings = append(res.Findings, f)
	}
	slices.SortStableFunc(res.Findings, func(a, b rampart.Finding) int {
		return cmp.Or(cmp.Compare(a.Location.Path, b.Location.Path), cmp.Compare(a.Location.Line, b.Location.Line))
	})
	return res
}
