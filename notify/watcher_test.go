package notify_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/notify"
	"github.com/rampart-dev/rampart/store"
)

// watched is a small estate: a TLS endpoint in production, a server, and
// the controls their checks evidence.
var (
	shop = &rampart.Resource{ID: "shop", Kind: "tls-endpoint", Name: "Shop", Owner: "web", Criticality: rampart.CriticalityCritical, Environment: "production"}
	db1  = &rampart.Resource{ID: "db1", Kind: "server", Name: "DB", Owner: "data", Environment: "staging"}

	checks = map[string]*rampart.Check{
		"TLS-EXPIRED":        {ID: "TLS-EXPIRED", Title: "Certificate is valid", Severity: rampart.SeverityCritical, Kind: "tls-endpoint"},
		"TLS-HOSTNAME":       {ID: "TLS-HOSTNAME", Title: "Certificate matches", Severity: rampart.SeverityHigh, Kind: "tls-endpoint"},
		"SRV-SSH-ROOT-LOGIN": {ID: "SRV-SSH-ROOT-LOGIN", Title: "No root login", Severity: rampart.SeverityMedium, Kind: "server"},
	}
	controls = []*rampart.Control{
		{
			ID: "PKI-01", Title: "Certificates are valid", Area: "security/pki", Owner: "sre", Checks: []string{"TLS-EXPIRED", "TLS-HOSTNAME"},
			Periodicity: rampart.MustPeriodicity("daily"),
		},
		{
			ID: "SRV-01", Title: "Servers are hardened", Area: "infrastructure/servers", Owner: "platform-lead", Checks: []string{"SRV-SSH-ROOT-LOGIN"},
			Periodicity: rampart.MustPeriodicity("monthly"),
		},
		{
			ID: "GH-01", Title: "Access is reviewed", Area: "source-control/github", Owner: "platform-lead", Procedure: "Review it.",
			Periodicity: rampart.MustPeriodicity("quarterly"),
		},
	}
	areaOf = map[string]string{"TLS-EXPIRED": "security/pki", "TLS-HOSTNAME": "security/pki", "SRV-SSH-ROOT-LOGIN": "infrastructure/servers"}
)

func result(r *rampart.Resource, check string, status rampart.Status, items ...string) rampart.Result {
	res := rampart.Result{ResourceID: r.ID, CheckID: check, Version: 1, Status: status, Severity: checks[check].Severity}
	if status == rampart.StatusError {
		res.Reason = "connection refused"
	}
	for _, it := range items {
		res.Findings = append(res.Findings, rampart.Finding{Item: it, Message: it + " expired yesterday", Fingerprint: rampart.Fingerprint(check, r.ID, it)})
	}
	return res
}

func scan(t *testing.T, db *store.DB, at time.Time, r *rampart.Resource, results ...rampart.Result) {
	t.Helper()
	run, err := db.BeginScan(t.Context(), "schedule", at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveOutcome(t.Context(), rampart.ResourceOutcome{
		ScanID: run.ID, Resource: r, Facts: []byte(`{}`), Results: results, Checks: checks, Area: areaOf, At: at,
	}); err != nil {
		t.Fatal(err)
	}
	run.FinishedAt, run.State = at, "done"
	if err := db.FinishScan(t.Context(), run); err != nil {
		t.Fatal(err)
	}
}

func transitions(evs []rampart.OutboxEvent) []string {
	var out []string
	for _, e := range evs {
		k := e.AlertKey
		if k == "" {
			k = e.Key
		}
		out = append(out, string(e.Action)+" "+string(e.Kind)+" "+strings.SplitN(k, ":", 2)[0])
	}
	slices.Sort(out)
	return out
}

func TestWatcherTriggersAndResolves(t *testing.T) {
	t.Parallel()
	db := openStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	w := &notify.Watcher{
		Store: db, Controls: controls, Resources: []*rampart.Resource{shop, db1},
		AreaOfCheck: func(id string) string { return areaOf[id] },
	}
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	sweep := func(at time.Time) []string {
		t.Helper()
		evs, err := w.Sweep(t.Context(), at)
		if err != nil {
			t.Fatal(err)
		}
		return transitions(evs)
	}

	// An expired certificate on shop (a critical finding), a server the
	// collector could not reach, an exception expiring in three days and
	// a review past its due-by time.
	scan(t, db, now, shop, result(shop, "TLS-EXPIRED", rampart.StatusFail, "leaf"), result(shop, "TLS-HOSTNAME", rampart.StatusPass))
	scan(t, db, now, db1, result(db1, "SRV-SSH-ROOT-LOGIN", rampart.StatusError))
	ex, err := db.AddException(t.Context(), rampart.Exception{
		CheckID: "SRV-SSH-ROOT-LOGIN", ResourceID: "db1", Reason: "migration",
		Approver: "ciso", CreatedBy: "user:alice", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	q2 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	rv, _, err := db.OpenReview(t.Context(), rampart.Review{
		ControlID: "GH-01", ResourceID: "org", Title: "Access is reviewed",
		Owner: "platform-lead", Area: "source-control/github", Periodicity: "quarterly",
		DueAt: q2, DueBy: q2.AddDate(0, 0, 14), NextDueAt: q2.AddDate(0, 3, 0),
	}, "rampart:schedule")
	if err != nil {
		t.Fatal(err)
	}

	got := sweep(now)
	want := []string{
		"trigger certificate.expiring certificate",
		"trigger control.failing control", // PKI-01 (the certificate)
		"trigger control.failing control", // GH-01 (the overdue review)
		"trigger exception.expiring exception",
		"trigger finding.new finding",
		"trigger review.overdue review",
		"trigger scan.errors integration",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("first sweep:\n got %v\nwant %v", got, want)
	}
	if again := sweep(now.Add(time.Minute)); len(again) != 0 {
		t.Errorf("a second sweep with nothing changed enqueued %v", again)
	}
	firing, err := db.FiringAlerts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range firing {
		switch f.AlertKey {
		case "finding:" + rampart.Fingerprint("TLS-EXPIRED", "shop", "leaf"):
			if f.Severity != rampart.SeverityCritical || f.Labels["environment"] != "production" || f.Labels["area"] != "security/pki" {
				t.Errorf("finding alert = %+v", f)
			}
		case "control:PKI-01":
			if f.Severity != rampart.SeverityCritical || f.Labels["owner"] != "sre" {
				t.Errorf("control alert = %+v", f)
			}
		case "integration:server":
			if !strings.Contains(f.Summary, "db1 SRV-SSH-ROOT-LOGIN: connection refused") {
				t.Errorf("integration alert summary = %q", f.Summary)
			}
		}
	}

	// The fix: the certificate renewed, the server reachable and passing,
	// the review completed. The exception then expires.
	later := now.Add(time.Hour)
	scan(t, db, later, shop, result(shop, "TLS-EXPIRED", rampart.StatusPass), result(shop, "TLS-HOSTNAME", rampart.StatusPass))
	scan(t, db, later, db1, result(db1, "SRV-SSH-ROOT-LOGIN", rampart.StatusPass))
	if _, err := db.CompleteReview(t.Context(), rv.ID, rampart.ReviewCompletion{
		By: "user:alice", Statement: "done", At: later,
		Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "https://wiki.example.com/review"}},
	}); err != nil {
		t.Fatal(err)
	}
	got = sweep(later)
	want = []string{
		"resolve certificate.expiring certificate",
		"resolve control.failing control",
		"resolve control.failing control",
		"resolve finding.new finding",
		"resolve scan.errors integration",
	}
	if !slices.Equal(got, want) {
		t.Errorf("after the fix:\n got %v\nwant %v", got, want)
	}
	got = sweep(ex.ExpiresAt.Add(time.Minute))
	want = []string{"notice exception.expired exception.expired", "resolve exception.expiring exception"}
	if !slices.Equal(got, want) {
		t.Errorf("after the exception expired:\n got %v\nwant %v", got, want)
	}
	if left, err := db.FiringAlerts(t.Context()); err != nil || len(left) != 0 {
		t.Errorf("still firing: %v (%v)", left, err)
	}
	// The review's overdue alert was resolved by its completion, in the
	// same transaction, not by the sweep.
	if !slices.Contains(transitionsOf(t, db), "resolve review.overdue review") {
		t.Errorf("no resolve of the review's overdue alert in the outbox")
	}
}

func transitionsOf(t *testing.T, db *store.DB) []string {
	t.Helper()
	evs, err := db.UnroutedEvents(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return transitions(evs)
}
