// Package cli is Rampart's command line: one file per command, all of them
// reading the environment only through what main passes in, so that the
// testscript tests under testdata/script run the real wiring.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/register"
)

// Exit codes, documented in docs/cli.md.
const (
	exitOK       = 0
	exitFindings = 1 // --fail-on threshold reached
	exitUsage    = 2 // bad flags, a broken register or catalog
	exitError    = 3 // anything else: an unreadable store, I/O
)

// env is what a command may use of the process around it.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	configPath string
	logLevel   string
	noColor    bool
	log        *slog.Logger
}

// exitError carries a specific exit code out of a command.
type exitCodeError struct {
	code int
	err  error // may be nil: the command already said what it had to
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitCodeError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs the rampart command line with args (without the program name)
// and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			printError(stderr, ec.err)
		}
		return ec.code
	}
	printError(stderr, err)
	var list register.ErrorList
	if errors.As(err, &list) || rampart.KindOf(err) == rampart.KindInvalid || isFlagError(err) {
		return exitUsage
	}
	return exitError
}

func printError(w io.Writer, err error) {
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		fmt.Fprintf(w, "rampart: %d problems:\n%s\n", strings.Count(msg, "\n")+1, msg)
		return
	}
	fmt.Fprintf(w, "rampart: %s\n", msg)
}

// flagError marks cobra's own argument and flag errors.
type flagError struct{ error }

func isFlagError(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "rampart",
		Short: "Rampart runs a SOC 2 program over your own estate",
		Long: `Rampart turns a register of your platform's resources (rampart.yaml) into a
living SOC 2 program: it checks the real systems, maps results to controls and
to SOC 2 Trust Services Criteria and ISO/IEC 27001 Annex A, keeps the
evidence, and keeps a prioritized TODO list.

Start here:
  rampart init            write a starter rampart.yaml holding your register
  rampart validate        check it (errors name file, line and field)
  rampart scan            collect facts and evaluate every check
  rampart status          readiness per criterion and per area
  rampart tasks           the TODO list, most urgent first
  rampart check DIR       scan a directory's code and pipelines (no register)
  rampart demo            a self-contained demonstration on loopback`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			e.log = newLogger(e.stderr, e.logLevel)
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
	root.PersistentFlags().StringVarP(&e.configPath, "config", "c", "", "path of the register (default $RAMPART_CONFIG, else ./rampart.yaml)")
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "warn", "log level: debug, info, warn or error (logs go to stderr)")
	root.PersistentFlags().BoolVar(&e.noColor, "no-color", false, "never colour the output (NO_COLOR is honoured too)")
	root.AddCommand(
		newVersionCmd(e),
		newInitCmd(e),
		newValidateCmd(e),
		newSchemaCmd(e),
		newControlsCmd(e),
		newCriteriaCmd(e),
		newChecksCmd(e),
		newExplainCmd(e),
		newScanCmd(e),
		newStatusCmd(e),
		newTasksCmd(e),
		newExceptCmd(e),
		newAuditCmd(e),
		newCheckCmd(e),
		newDemoCmd(e),
		newServeCmd(e),
		newUserCmd(e),
		newTokenCmd(e),
		newScheduleCmd(e),
		newReviewCmd(e),
		newNotifyCmd(e),
	)
	return root
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// color reports whether output to w may use ANSI colour.
func (e *env) color(w io.Writer) bool {
	if e.noColor || e.getenv("NO_COLOR") != "" || e.getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isTerminal(f)
}

// now is the CLI's clock: the real one, or the instant in RAMPART_NOW
// (RFC 3339), so that scripted tests and rehearsals can look at a later day,
// such as the one after an exception expires.
func (e *env) now() time.Time {
	if s := e.getenv("RAMPART_NOW"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Now()
}
