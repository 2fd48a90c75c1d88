package rampart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Status is the outcome of one check on one resource.
type Status string

// The statuses. Error means Rampart could not tell; it is never a pass.
const (
	StatusPass          Status = "pass"
	StatusFail          Status = "fail"
	StatusError         Status = "error"
	StatusNotApplicable Status = "not_applicable"
)

// Check is a named, versioned rule over the facts of one resource kind,
// declared as a value with its metadata, in the manner of go/analysis
// analyzers.
type Check struct {
	ID       string   `json:"id"` // "TLS-EXPIRED"
	Version  int      `json:"version"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	Kind     Kind     `json:"kind"`
	// Controls lists the control ids the check evidences.
	Controls    []string `json:"controls"`
	Remediation string   `json:"remediation"`
	// Doc explains what the check reads and why it matters.
	Doc string `json:"doc"`
	// Run evaluates the check over the facts the kind's collector returned
	// (the integration's own typed value, or for CEL checks the decoded
	// JSON). Use Typed to get a typed function.
	Run func(ctx context.Context, facts Facts) Evaluation `json:"-"`
}

// Typed adapts a function over an integration's facts type F to Check.Run.
// Facts of another type give an error evaluation, never a pass.
func Typed[F any](fn func(ctx context.Context, f *F) Evaluation) func(context.Context, Facts) Evaluation {
	return func(ctx context.Context, facts Facts) Evaluation {
		switch f := facts.(type) {
		case *F:
			return fn(ctx, f)
		case F:
			return fn(ctx, &f)
		}
		return Errored(fmt.Errorf("facts of type %T, want %T", facts, (*F)(nil)))
	}
}

// Evaluation is what a check's function returns.
type Evaluation struct {
	Status Status
	// Reason explains an error or not_applicable status, or summarizes a
	// pass ("certificate valid until 2027-01-02").
	Reason   string
	Findings []Finding
}

// Pass is a passing evaluation with a reason saying what was seen.
func Pass(reason string) Evaluation { return Evaluation{Status: StatusPass, Reason: reason} }

// NotApplicable is an evaluation for a resource the check does not concern.
func NotApplicable(reason string) Evaluation {
	return Evaluation{Status: StatusNotApplicable, Reason: reason}
}

// Errored is an evaluation for a check that could not tell.
func Errored(err error) Evaluation { return Evaluation{Status: StatusError, Reason: err.Error()} }

// Failed is a failing evaluation with its findings.
func Failed(findings ...Finding) Evaluation {
	return Evaluation{Status: StatusFail, Findings: findings}
}

// Verdict turns a list of findings into a pass (with passReason) when it is
// empty, a fail otherwise.
func Verdict(findings []Finding, passReason string) Evaluation {
	if len(findings) == 0 {
		return Pass(passReason)
	}
	return Failed(findings...)
}

// Finding is one exact failing item of a check on a resource.
type Finding struct {
	// Item identifies the failing thing within the resource ("leaf
	// certificate", "/etc/ssh/sshd_config: PermitRootLogin", "Dockerfile
	// stage 2"); it is part of the fingerprint, so it must not contain
	// values that change from run to run.
	Item     string   `json:"item"`
	Message  string   `json:"message"`
	Location Location `json:"location,omitzero"`
	// Severity overrides the check's severity for this finding when set.
	Severity *Severity `json:"severity,omitempty"`
	// Suppressed is set when an inline suppression covers the finding; it
	// is reported, not hidden, and opens no task.
	Suppressed string `json:"suppressed,omitempty"`
	// Fingerprint is filled in by the engine.
	Fingerprint string `json:"fingerprint"`
}

// Location points at the failing item in a file of the resource.
type Location struct {
	Path   string `json:"path,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// Fingerprint is the identity of a finding across runs: check, resource and
// item, hashed.
func Fingerprint(checkID, resourceID, item string) string {
	h := sha256.Sum256([]byte(checkID + "\x00" + resourceID + "\x00" + item))
	return hex.EncodeToString(h[:16])
}

// EffectiveSeverity is the finding's own severity or the check's.
func (f *Finding) EffectiveSeverity(check Severity) Severity {
	if f.Severity != nil {
		return *f.Severity
	}
	return check
}

// Result is the outcome of one check on one resource in one scan.
type Result struct {
	ScanID     int64     `json:"scan_id"`
	ResourceID string    `json:"resource_id"`
	CheckID    string    `json:"check_id"`
	Version    int       `json:"check_version"`
	Status     Status    `json:"status"`
	Severity   Severity  `json:"severity"`
	Reason     string    `json:"reason,omitempty"`
	Findings   []Finding `json:"findings,omitempty"`
	Evidence   string    `json:"evidence,omitempty"` // SHA-256 of the facts
	At         time.Time `json:"at"`
}

// Worst orders statuses for roll-ups: fail, then error, then pass, then
// not applicable.
func Worst(a, b Status) Status {
	rank := func(s Status) int {
		switch s {
		case StatusFail:
			return 3
		case StatusError:
			return 2
		case StatusPass:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// ValidateCheck reports what is missing from a check's metadata.
func ValidateCheck(c *Check) error {
	var missing []string
	if c.ID == "" {
		missing = append(missing, "id")
	}
	if c.Title == "" {
		missing = append(missing, "title")
	}
	if c.Kind == "" {
		missing = append(missing, "kind")
	}
	if len(c.Controls) == 0 {
		missing = append(missing, "controls")
	}
	if c.Remediation == "" {
		missing = append(missing, "remediation")
	}
	if c.Doc == "" {
		missing = append(missing, "doc")
	}
	if c.Run == nil {
		missing = append(missing, "run")
	}
	if len(missing) > 0 {
		return Errorf(KindInvalid, "check %q lacks %s", c.ID, strings.Join(missing, ", "))
	}
	return nil
}
