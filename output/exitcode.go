package output

import "github.com/rampart-dev/rampart"

// Exit codes of `rampart scan` and `rampart check`, documented in
// docs/output.md. ExitCode decides between 0, 1 and 3; callers return 2
// themselves for bad flags or a broken register.
const (
	ExitOK       = 0 // done, and nothing reached --fail-on
	ExitFindings = 1 // an unsuppressed finding at or above --fail-on
	ExitUsage    = 2 // bad flags, register or catalog (the caller's)
	ExitErrors   = 3 // nothing reached --fail-on, but a check could not tell
)

// ExitCode is the exit code for results under a --fail-on threshold:
// ExitFindings when an unsuppressed finding of a failing result has a
// severity at or above failOn (its own override, else its result's; a
// failing result without itemized findings counts as one finding at its
// result's severity); otherwise ExitErrors when any result is an error,
// because a gate that could not look must not pass; otherwise ExitOK.
// checks supplies a check's declared severity for results that do not
// carry one. A finding an active exception covers counts no more than a
// suppressed one. Without --fail-on, callers do not call ExitCode and exit
// 0: the report is the whole point.
func ExitCode(results []rampart.Result, failOn rampart.Severity, checks map[string]*rampart.Check, exceptions ...rampart.Exception) int {
	errored := false
	for i := range results {
		res := &results[i]
		e := entry{res: *res, check: checks[res.CheckID], findings: res.Findings}
		e.severity = severityOf(res, e.check)
		switch e.status() {
		case rampart.StatusError:
			errored = true
		case rampart.StatusFail:
			e.except(exceptions)
			if len(e.findings) == 0 && e.counts(-1) && e.severity >= failOn {
				return ExitFindings
			}
			for j := range e.findings {
				if e.counts(j) && e.findingSeverity(&e.findings[j]) >= failOn {
					return ExitFindings
				}
			}
		}
	}
	if errored {
		return ExitErrors
	}
	return ExitOK
}
