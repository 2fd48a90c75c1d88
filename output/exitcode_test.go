package output_test

import (
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/output"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	low, high := rampart.SeverityLow, rampart.SeverityHigh
	checks := map[string]*rampart.Check{
		"HIGH":   {ID: "HIGH", Severity: rampart.SeverityHigh},
		"MEDIUM": {ID: "MEDIUM", Severity: rampart.SeverityMedium},
	}
	fail := func(check string, s rampart.Severity, fs ...rampart.Finding) rampart.Result {
		return rampart.Result{ResourceID: "r", CheckID: check, Status: rampart.StatusFail, Severity: s, Findings: fs}
	}
	finding := rampart.Finding{Item: "a"}
	overrideLow := rampart.Finding{Item: "b", Severity: &low}
	overrideHigh := rampart.Finding{Item: "c", Severity: &high}
	suppressed := rampart.Finding{Item: "d", Suppressed: "accepted"}
	errored := rampart.Result{ResourceID: "r", CheckID: "HIGH", Status: rampart.StatusError, Reason: "timeout"}
	pass := rampart.Result{ResourceID: "r", CheckID: "HIGH", Status: rampart.StatusPass, Severity: rampart.SeverityHigh}
	na := rampart.Result{ResourceID: "r", CheckID: "HIGH", Status: rampart.StatusNotApplicable, Severity: rampart.SeverityHigh}

	tests := []struct {
		name    string
		results []rampart.Result
		failOn  rampart.Severity
		want    int
	}{
		{"nothing", nil, rampart.SeverityInfo, output.ExitOK},
		{"passes and n/a", []rampart.Result{pass, na}, rampart.SeverityInfo, output.ExitOK},
		{"finding at threshold", []rampart.Result{fail("HIGH", rampart.SeverityHigh, finding)}, rampart.SeverityHigh, output.ExitFindings},
		{"finding above threshold", []rampart.Result{fail("HIGH", rampart.SeverityHigh, finding)}, rampart.SeverityMedium, output.ExitFindings},
		{"finding below threshold", []rampart.Result{fail("MEDIUM", rampart.SeverityMedium, finding)}, rampart.SeverityHigh, output.ExitOK},
		{"override lowers below", []rampart.Result{fail("HIGH", rampart.SeverityHigh, overrideLow)}, rampart.SeverityMedium, output.ExitOK},
		{"override raises above", []rampart.Result{fail("MEDIUM", rampart.SeverityMedium, overrideHigh)}, rampart.SeverityHigh, output.ExitFindings},
		{"suppressed does not count", []rampart.Result{fail("HIGH", rampart.SeverityHigh, suppressed)}, rampart.SeverityInfo, output.ExitOK},
		{"one of many counts", []rampart.Result{fail("HIGH", rampart.SeverityHigh, suppressed, overrideLow, finding)}, rampart.SeverityHigh, output.ExitFindings},
		{"failure without findings", []rampart.Result{fail("HIGH", rampart.SeverityHigh)}, rampart.SeverityHigh, output.ExitFindings},
		{"failure without findings below", []rampart.Result{fail("MEDIUM", rampart.SeverityMedium)}, rampart.SeverityHigh, output.ExitOK},
		{"severity from the check when unset", []rampart.Result{fail("HIGH", rampart.SeverityInfo, finding)}, rampart.SeverityHigh, output.ExitFindings},
		{"unknown check keeps its severity", []rampart.Result{fail("OTHER", rampart.SeverityInfo, finding)}, rampart.SeverityLow, output.ExitOK},
		{"error alone", []rampart.Result{pass, errored}, rampart.SeverityCritical, output.ExitErrors},
		{"error and finding below", []rampart.Result{errored, fail("MEDIUM", rampart.SeverityMedium, finding)}, rampart.SeverityHigh, output.ExitErrors},
		{"findings win over errors", []rampart.Result{errored, fail("HIGH", rampart.SeverityHigh, finding)}, rampart.SeverityHigh, output.ExitFindings},
		{"unknown status is an error", []rampart.Result{{ResourceID: "r", CheckID: "HIGH", Status: "maybe"}}, rampart.SeverityCritical, output.ExitErrors},
	}
	for _, tt := range tests {
		if got := output.ExitCode(tt.results, tt.failOn, checks); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}
