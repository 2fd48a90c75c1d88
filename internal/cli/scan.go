package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/output"
)

// scanFlags are shared by scan and check: output format and CI exit policy.
type scanFlags struct {
	output string
	failOn string
	out    string
}

func (f *scanFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table, json, sarif, junit or csv")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "", "exit 1 when a finding of this severity or higher is open: info, low, medium, high, critical")
	cmd.Flags().StringVar(&f.out, "output-file", "", "write the report to this file instead of stdout")
}

func (f *scanFlags) parse() (output.Format, *rampart.Severity, error) {
	format, err := output.ParseFormat(f.output)
	if err != nil {
		return "", nil, usageErrorf("%v", err)
	}
	if f.failOn == "" {
		return format, nil, nil
	}
	s, err := rampart.ParseSeverity(f.failOn)
	if err != nil {
		return "", nil, usageErrorf("--fail-on: %v", err)
	}
	return format, &s, nil
}

// writer opens the report destination.
func (f *scanFlags) writer(e *env) (io.Writer, func() error, error) {
	if f.out == "" {
		return e.stdout, func() error { return nil }, nil
	}
	file, err := os.Create(f.out)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", f.out, err)
	}
	return file, file.Close, nil
}

func newScanCmd(e *env) *cobra.Command {
	var flags scanFlags
	var resources, checks []string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Collect facts from every resource and evaluate every check",
		Long: `Scan collects the facts of every resource of the register (concurrently, with
a per-resource timeout), evaluates every applicable check, stores the
results, the facts as evidence and the audit trail, and reconciles the TODO
list: new failures open tasks, passing checks resolve them, regressions
reopen them.

A resource whose collection fails gets 'error' results with the reason; the
scan goes on. Output is a table for people, or json, sarif (SARIF 2.1.0, for
GitHub code scanning), junit or csv for machines.

Exit codes: 0 done; 1 a finding at or above --fail-on; 2 a usage or
register error; 3 another error (the store could not be opened).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, failOn, err := flags.parse()
			if err != nil {
				return err
			}
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			selected, err := selectResources(a, resources)
			if err != nil {
				return err
			}
			for _, id := range checks {
				if a.cat.Check(id) == nil {
					return usageErrorf("unknown check %q (see `rampart checks`)", id)
				}
			}
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			eng := a.engine(e, db)
			progress := newProgress(e, len(selected))
			eng.Progress = progress.update
			sum, err := eng.Scan(cmd.Context(), selected, engine.Options{Trigger: "cli", Actor: "rampart:scan", CheckIDs: checks})
			progress.done()
			if err != nil {
				return err
			}
			exceptions, err := db.Exceptions(cmd.Context(), e.now())
			if err != nil {
				return err
			}
			w, closeFn, err := flags.writer(e)
			if err != nil {
				return err
			}
			rep := &output.Report{
				Exceptions: exceptions,
				Tool:       output.ToolInfo{Name: "rampart", Version: Version()},
				Results:    sum.Results,
				Checks:     a.checkMap(),
				Resources:  a.resourceMap(),
				Controls:   a.controlMap(),
			}
			if err := output.Write(w, format, rep, output.Options{Color: format == output.FormatTable && e.color(w)}); err != nil {
				_ = closeFn() // the write error is the one to report
				return err
			}
			if err := closeFn(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "scan %d: %d resources in %s; tasks: %d opened, %d reopened, %d resolved\n",
				sum.Run.ID, sum.Run.Resources, sum.Duration.Round(time.Millisecond),
				sum.Opened, sum.Reopened, sum.Resolved)
			if failOn != nil {
				if code := output.ExitCode(sum.Results, *failOn, a.checkMap(), exceptions...); code != 0 {
					return &exitCodeError{code: code}
				}
			}
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().StringSliceVar(&resources, "resource", nil, "scan only these resource ids (repeatable)")
	cmd.Flags().StringSliceVar(&checks, "check", nil, "evaluate only these check ids (repeatable)")
	return cmd
}

func selectResources(a *app, ids []string) ([]*rampart.Resource, error) {
	if len(ids) == 0 {
		return a.cfg.Resources, nil
	}
	var out []*rampart.Resource
	for _, id := range ids {
		r := a.cfg.Resource(id)
		if r == nil {
			return nil, usageErrorf("unknown resource %q (see rampart.yaml)", id)
		}
		out = append(out, r)
	}
	return out, nil
}

// engine builds the scan engine the CLI, scheduler and API share.
func (a *app) engine(e *env, st rampart.Store) *engine.Engine {
	return &engine.Engine{
		Store:        st,
		Integrations: a.integrations,
		Checks:       a.cat.Checks,
		AreaOfCheck:  a.cat.AreaOfCheck,
		Concurrency:  a.cfg.Settings.Concurrency,
		Timeout:      a.cfg.Settings.Timeout,
		Env:          rampart.Env{Getenv: e.getenv, ReadFile: os.ReadFile},
		Now:          e.now,
		Logger:       e.log,
	}
}

// progress draws a bar on a terminal's stderr and nothing elsewhere.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	total int
	n     int
	start time.Time
}

func newProgress(e *env, total int) *progress {
	return &progress{w: e.stderr, on: e.color(e.stderr), total: total, start: time.Now()}
}

func (p *progress) update(engine.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if !p.on || p.total == 0 {
		return
	}
	const width = 30
	filled := width * p.n / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d resources %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.n, p.total, time.Since(p.start).Round(time.Second))
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.total > 0 {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
