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

func TestExitCodeExceptions(t *testing.T) {
	t.Parallel()
	a := rampart.Finding{Item: "a", Fingerprint: "fp-a"}
	b := rampart.Finding{Item: "b", Fingerprint: "fp-b"}
	noFP := rampart.Finding{Item: "c"}
	res := func(resource, check string, fs ...rampart.Finding) rampart.Result {
		return rampart.Result{ResourceID: resource, CheckID: check, Status: rampart.StatusFail, Severity: rampart.SeverityHigh, Findings: fs}
	}
	ex := func(resource, check, fp string) rampart.Exception {
		return rampart.Exception{ResourceID: resource, CheckID: check, Fingerprint: fp, Reason: "accepted", Approver: "ciso"}
	}
	tests := []struct {
		name       string
		results    []rampart.Result
		exceptions []rampart.Exception
		want       int
	}{
		{"finding excepted", []rampart.Result{res("r", "C", a)}, []rampart.Exception{ex("r", "C", "fp-a")}, output.ExitOK},
		{"other finding still counts", []rampart.Result{res("r", "C", a, b)}, []rampart.Exception{ex("r", "C", "fp-a")}, output.ExitFindings},
		{"whole check excepted", []rampart.Result{res("r", "C", a, b)}, []rampart.Exception{ex("r", "C", "")}, output.ExitOK},
		{"other resource", []rampart.Result{res("r", "C", a)}, []rampart.Exception{ex("s", "C", "")}, output.ExitFindings},
		{"other check", []rampart.Result{res("r", "C", a)}, []rampart.Exception{ex("r", "D", "")}, output.ExitFindings},
		{
			"fingerprint the engine would give",
			[]rampart.Result{res("r", "C", noFP)},
			[]rampart.Exception{ex("r", "C", rampart.Fingerprint("C", "r", "c"))},
			output.ExitOK,
		},
		{"failure without findings excepted", []rampart.Result{res("r", "C")}, []rampart.Exception{ex("r", "C", "")}, output.ExitOK},
		{"failure without findings, finding exception", []rampart.Result{res("r", "C")}, []rampart.Exception{ex("r", "C", "fp-a")}, output.ExitFindings},
	}
	for _, tt := range tests {
		if got := output.ExitCode(tt.results, rampart.SeverityLow, nil, tt.exceptions...); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}
