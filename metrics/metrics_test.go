package metrics_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
	"github.com/rampart-dev/rampart/metrics"
	"github.com/rampart-dev/rampart/register"
	"github.com/rampart-dev/rampart/store"
)

const registerYAML = `version: 1
resources:
  - {id: shop, kind: tls-endpoint, name: Shop, owner: web, criticality: critical, environment: production, spec: {address: "127.0.0.1:8443"}}
  - {id: blog, kind: tls-endpoint, name: Blog, owner: web, spec: {address: "127.0.0.1:9443"}}
  - {id: vault, kind: vault, name: Vault, owner: platform}
`

// estate is a store with a little of everything in it, seen at now.
type estate struct {
	db  *store.DB
	cat *catalog.Catalog
	cfg *register.Config
	now time.Time
}

var notAfter = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newEstate(t *testing.T) *estate {
	t.Helper()
	cat, err := catalog.Load(tlsendpoint.Checks())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := register.Parse(filepath.Join(t.TempDir(), "rampart.yaml"), []byte(registerYAML),
		register.Kinds{Integrations: []*rampart.Integration{tlsendpoint.Integration}, Inventory: rampart.InventoryKinds})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &estate{db: db, cat: cat, cfg: cfg, now: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}

	checks := map[string]*rampart.Check{}
	for _, c := range cat.Checks {
		checks[c.ID] = c
	}
	scan := func(trigger string, took time.Duration, r *rampart.Resource, facts string, results ...rampart.Result) {
		start := e.now.Add(-took)
		run, err := db.BeginScan(t.Context(), trigger, start)
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			var f []byte // nil: collection failed
			if facts != "" {
				f = []byte(facts)
			}
			if _, err := db.SaveOutcome(t.Context(), rampart.ResourceOutcome{
				ScanID: run.ID, Resource: r, Facts: f,
				Results: results, Checks: checks, Area: map[string]string{"TLS-EXPIRED": "security/pki"}, At: e.now,
			}); err != nil {
				t.Fatal(err)
			}
		}
		run.State, run.FinishedAt = "done", e.now
		if err := db.FinishScan(t.Context(), run); err != nil {
			t.Fatal(err)
		}
	}
	shop, blog, vault := cfg.Resource("shop"), cfg.Resource("blog"), cfg.Resource("vault")
	tlsFacts := fmt.Sprintf(`{"address":"127.0.0.1:8443","chain":[{"position":0,"notAfter":%q}]}`, notAfter.Format(time.RFC3339))
	scan("schedule", 3*time.Second, shop, tlsFacts,
		rampart.Result{
			CheckID: "TLS-EXPIRED", Version: 1, Status: rampart.StatusFail, Severity: rampart.SeverityCritical,
			Findings: []rampart.Finding{{Item: "leaf", Message: "expired", Fingerprint: rampart.Fingerprint("TLS-EXPIRED", "shop", "leaf")}},
		},
		rampart.Result{CheckID: "TLS-TRUST", Version: 1, Status: rampart.StatusPass, Severity: rampart.SeverityHigh})
	scan("cli", 90*time.Second, blog, "", rampart.Result{
		CheckID: "TLS-EXPIRED", Version: 1, Status: rampart.StatusError,
		Severity: rampart.SeverityCritical, Reason: "connection refused",
	})
	scan("schedule", 2*time.Second, vault, `{"usage":{"requests":42}}`,
		rampart.Result{CheckID: "VAULT-AUDIT", Version: 1, Status: rampart.StatusPass})

	if _, err := db.AddException(t.Context(), rampart.Exception{
		CheckID: "TLS-TRUST", ResourceID: "blog", Reason: "lab",
		Approver: "ciso", CreatedBy: "user:alice", CreatedAt: e.now.Add(-time.Hour), ExpiresAt: e.now.Add(3 * 24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	q2 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := db.OpenReview(t.Context(), rampart.Review{
		ControlID: "GH-01", ResourceID: "org", Owner: "platform-lead",
		Area: "source-control/github", Periodicity: "quarterly", DueAt: q2, DueBy: q2.AddDate(0, 0, 14), NextDueAt: q2.AddDate(0, 3, 0),
	},
		"rampart:schedule"); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Enqueue(t.Context(), rampart.OutboxEvent{Key: "n1", Kind: rampart.EventTest, Action: rampart.ActionNotice, Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RouteEvent(t.Context(), evs[0].ID, []string{"pd"}, e.now); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *estate) collector() *metrics.Collector {
	c := metrics.NewCollector(e.db, e.cat, e.cfg)
	c.Now = func() time.Time { return e.now }
	return c
}

func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value returns the sample of name whose labels include want, failing the
// test when there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, want)
	return 0
}

func TestMetricsFromTheStore(t *testing.T) {
	t.Parallel()
	e := newEstate(t)
	fams := gather(t, e.collector())
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rampart_control_status", []string{"control", "PKI-01", "status", "fail"}, 1},
		{"rampart_control_status", []string{"control", "PKI-01", "status", "pass"}, 0},
		{"rampart_control_status", []string{"control", "GH-01", "status", "fail"}, 1}, // overdue review
		{"rampart_control_status", []string{"control", "GH-02", "status", "not_applicable"}, 1},
		{"rampart_criterion_controls", []string{"framework", "soc2", "criterion", "CC6.1", "status", "fail"}, 2}, // PKI-01 and GH-01
		{"rampart_criterion_controls", []string{"framework", "soc2", "criterion", "CC6.1", "status", "pass"}, 1}, // PKI-02
		{"rampart_area_controls", []string{"area", "security/pki", "status", "fail"}, 1},
		{"rampart_area_readiness_ratio", []string{"area", "security/pki"}, 0.5}, // PKI-01 fails, PKI-02 passes
		{"rampart_tasks_open", []string{"priority", "P1", "age", "lt_1d"}, 1},
		{"rampart_tasks_open", []string{"priority", "P4", "age", "gt_90d"}, 0},
		{"rampart_tasks_past_sla", []string{"severity", "critical"}, 0},
		{"rampart_reviews_open", []string{"state", "overdue"}, 1},
		{"rampart_reviews_overdue", []string{"area", "source-control/github", "owner", "platform-lead"}, 1},
		{"rampart_exceptions_active", []string{"expires_in", "lt_7d"}, 1},
		{"rampart_exceptions_active", []string{"expires_in", "gt_90d"}, 0},
		{"rampart_scan_duration_seconds", []string{"trigger", "schedule"}, 2},
		{"rampart_scans_total", []string{"trigger", "cli", "state", "done"}, 1},
		{"rampart_last_scan_timestamp_seconds", []string{"trigger", "cli"}, float64(e.now.Unix())},
		{"rampart_integration_errors", []string{"kind", "tls-endpoint"}, 1},
		{"rampart_integration_resources", []string{"kind", "tls-endpoint"}, 2},
		{"rampart_integration_api_requests", []string{"kind", "vault"}, 42},
		{"rampart_certificate_expiry_timestamp_seconds", []string{"resource", "shop"}, float64(notAfter.Unix())},
		{"rampart_notifications", []string{"receiver", "pd", "state", "pending"}, 1},
		{"rampart_metrics_collect_errors", []string{"part", "facts"}, 0},
	} {
		if got := value(t, fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// The histogram's buckets: one scheduled scan of 2s, one of 3s.
	var h *dto.Histogram
	for _, m := range fams["rampart_scan_duration_seconds"].GetMetric() {
		if m.GetLabel()[0].GetValue() == "schedule" {
			h = m.GetHistogram()
		}
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 5 {
			want = 2
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if h.GetSampleSum() != 5 {
		t.Errorf("scan duration sum = %v, want 5", h.GetSampleSum())
	}
	// No certificate series for a resource whose facts hold none.
	for _, m := range fams["rampart_certificate_expiry_timestamp_seconds"].GetMetric() {
		if m.GetLabel()[0].GetValue() != "shop" {
			t.Errorf("certificate series for %s", m.GetLabel()[0].GetValue())
		}
	}
}

// Several scrapes within the cache's life cost one computation and agree;
// the next computation sees the store's changes.
func TestMetricsCache(t *testing.T) {
	t.Parallel()
	e := newEstate(t)
	c := e.collector()
	before := value(t, gather(t, c), "rampart_exceptions_active", "expires_in", "lt_7d")
	if _, err := e.db.AddException(t.Context(), rampart.Exception{
		CheckID: "TLS-EXPIRED", ResourceID: "shop", Reason: "r",
		Approver: "ciso", CreatedBy: "user:bob", CreatedAt: e.now, ExpiresAt: e.now.Add(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, gather(t, c), "rampart_exceptions_active", "expires_in", "lt_7d"); got != before {
		t.Errorf("within the cache's life: %v, want the cached %v", got, before)
	}
	e.now = e.now.Add(metrics.DefaultCacheTTL)
	if got := value(t, gather(t, c), "rampart_exceptions_active", "expires_in", "lt_7d"); got != before+1 {
		t.Errorf("after the cache's life: %v, want %v", got, before+1)
	}
}

// A store that cannot be read fails the scrape instead of answering zeros.
func TestMetricsStoreDown(t *testing.T) {
	t.Parallel()
	e := newEstate(t)
	h := metrics.Handler(e.db, e.cat, e.cfg)
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("scrape of a closed store: HTTP %d, want 500", rec.Code)
	}
}

// promtool's linter agrees the names, units, types and help texts follow
// Prometheus' conventions.
func TestMetricsLint(t *testing.T) {
	t.Parallel()
	e := newEstate(t)
	srv := httptest.NewServer(metrics.Handler(e.db, e.cat, e.cfg))
	t.Cleanup(srv.Close)
	body := scrape(t, srv.URL)
	promtool := binary(t, "prometheus", "promtool")
	cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(filterRampart(body))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	// Every metric is documented in docs/metrics.md.
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range metricNames(body) {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("%s is not in docs/metrics.md", name)
		}
	}
}

func scrape(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return b
}

// filterRampart keeps the rampart_ lines: the Go and process collectors'
// metrics are client_golang's, not ours to lint.
func filterRampart(body []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		name := ""
		switch {
		case len(f) >= 3 && f[0] == "#":
			name = f[2]
		case len(f) >= 1:
			name = f[0]
		}
		if strings.HasPrefix(name, "rampart_") {
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}

func metricNames(body []byte) []string {
	seen := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "rampart_") {
			seen[f[2]] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// binary finds a program from a Debian package. Without it the test skips,
// unless CI=true, where a missing component is a failure.
func binary(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (apt-get install %s, or run scripts/deps.sh)", names[0], pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
