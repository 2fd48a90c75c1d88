// Package metrics exposes Rampart's state as Prometheus metrics: control
// and criterion statuses, readiness per area, open tasks by priority and
// age, overdue reviews, exceptions by time to expiry, scan durations,
// errors and API requests per integration, certificate expiry times, and
// the notification outbox. Everything is computed from the store when
// scraped (with a short cache), so every replica behind a load balancer
// answers the same. Label values come from the catalog and the register,
// never from findings, so the number of series is bounded; docs/metrics.md
// lists each metric and its cardinality.
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
	"github.com/rampart-dev/rampart/register"
)

// Store is what the collector reads. A store that is also a
// rampart.OutboxStore gets the notification metrics too.
type Store interface {
	rampart.Store
	rampart.ReviewStore
}

// DefaultCacheTTL is how long one computation answers scrapes: several
// Prometheus servers (or a dashboard refreshing) cost one set of queries.
const DefaultCacheTTL = 15 * time.Second

// Handler serves the metrics of the store, catalog and register in the
// Prometheus text format, with the Go runtime's and the process's own.
// Mount it at /metrics (web.Options.Metrics).
func Handler(st Store, cat *catalog.Catalog, cfg *register.Config) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(st, cat, cfg),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError, Registry: reg})
}

// Collector is a prometheus.Collector over Rampart's store.
type Collector struct {
	st        Store
	cat       *catalog.Catalog
	resources []*rampart.Resource
	// TTL is how long a computation is reused; Now is the clock; Logger
	// receives what a scrape cannot say.
	TTL    time.Duration
	Now    func() time.Time
	Logger *slog.Logger

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
	err     error
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns the collector with DefaultCacheTTL.
func NewCollector(st Store, cat *catalog.Catalog, cfg *register.Config) *Collector {
	var resources []*rampart.Resource
	if cfg != nil {
		resources = cfg.Resources
	}
	return &Collector{st: st, cat: cat, resources: resources, TTL: DefaultCacheTTL, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics. Their help texts and labels are documented in
// docs/metrics.md; keep both in step.
var (
	descControlStatus = desc("rampart_control_status",
		"Whether each control is in each status (1) or not (0): pass, fail, error or not_applicable, from the latest results and reviews.",
		"control", "area", "status")
	descCriterionControls = desc("rampart_criterion_controls",
		"Controls supporting each criterion, by status (pass, fail, error, not_evaluated).", "framework", "criterion", "status")
	descCriterionReadiness = desc("rampart_criterion_readiness_ratio",
		"Share of the evaluated controls of each criterion that pass (0 to 1); absent when none is evaluated.", "framework", "criterion")
	descAreaControls = desc("rampart_area_controls",
		"Controls of each area of the index, by status (pass, fail, error, not_evaluated).", "area", "status")
	descAreaReadiness = desc("rampart_area_readiness_ratio",
		"Share of the evaluated controls of each area that pass (0 to 1); absent when none is evaluated.", "area")
	descReadiness = desc("rampart_readiness_ratio",
		"Share of all evaluated controls that pass (0 to 1).")
	descTasksOpen = desc("rampart_tasks_open",
		"Open tasks (not excepted) by priority (P1 to P4) and age since opened (lt_1d, 1d_7d, 7d_30d, 30d_90d, gt_90d).", "priority", "age")
	descTasksPastSLA = desc("rampart_tasks_past_sla",
		"Open tasks (not excepted) past their severity's SLA, by severity.", "severity")
	descReviews = desc("rampart_reviews_open",
		"Open periodic reviews by state: due (within their grace) or overdue.", "state")
	descReviewsOverdue = desc("rampart_reviews_overdue",
		"Overdue periodic reviews by area and owner role.", "area", "owner")
	descExceptions = desc("rampart_exceptions_active",
		"Active exceptions (accepted risks) by time to expiry: lt_7d, 7d_30d, 30d_90d, gt_90d.", "expires_in")
	descScanDuration = desc("rampart_scan_duration_seconds",
		"Duration of finished scans, by trigger (cli, schedule, api).", "trigger")
	descScans = desc("rampart_scans_total",
		"Scans run, by trigger and final state (done, interrupted).", "trigger", "state")
	descLastScan = desc("rampart_last_scan_timestamp_seconds",
		"When the latest finished scan of each trigger finished, in Unix seconds.", "trigger")
	descIntegrationErrors = desc("rampart_integration_errors",
		"Latest results in error (Rampart could not tell), by resource kind.", "kind")
	descIntegrationResources = desc("rampart_integration_resources",
		"Resources of each kind with at least one latest result.", "kind")
	descIntegrationRequests = desc("rampart_integration_api_requests",
		"API requests the latest collection of each resource made, summed by kind, for integrations that report them.", "kind")
	descCertExpiry = desc("rampart_certificate_expiry_timestamp_seconds",
		"When the leaf certificate each tls-endpoint resource presented at its latest collection expires, in Unix seconds.", "resource")
	descNotifications = desc("rampart_notifications",
		"Notification deliveries by receiver and state (pending, failed: given up).", "receiver", "state")
	descCollectErrors = desc("rampart_metrics_collect_errors",
		"Parts of the latest metrics computation that failed (1) and were left out.", "part")
)

var allDescs = []*prometheus.Desc{
	descControlStatus, descCriterionControls, descCriterionReadiness, descAreaControls, descAreaReadiness, descReadiness,
	descTasksOpen, descTasksPastSLA, descReviews, descReviewsOverdue, descExceptions, descScanDuration, descScans, descLastScan,
	descIntegrationErrors, descIntegrationResources, descIntegrationRequests, descCertExpiry, descNotifications, descCollectErrors,
}

// ScanBuckets are the scan duration histogram's buckets, in seconds.
var ScanBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it sends the cached metrics,
// computing them again when the cache is older than TTL. A store that
// cannot be read fails the scrape (Prometheus then records up 0), rather
// than answering with gaps that look like a healthy zero.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ms, err := c.snapshot()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descReadiness, err)
		return
	}
	for _, m := range ms {
		ch <- m
	}
}

func (c *Collector) snapshot() ([]prometheus.Metric, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Now()
	if c.metrics != nil && now.Sub(c.at) < c.TTL {
		return c.metrics, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms, err := c.compute(ctx, now)
	c.at, c.metrics, c.err = now, ms, err
	if err != nil {
		c.metrics = nil
	}
	return ms, err
}

// b is a batch of metrics under construction.
type b struct{ out []prometheus.Metric }

func (b *b) gauge(d *prometheus.Desc, v float64, labels ...string) {
	b.out = append(b.out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
}

func (b *b) counter(d *prometheus.Desc, v float64, labels ...string) {
	b.out = append(b.out, prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...))
}

var statusNames = []rampart.Status{rampart.StatusPass, rampart.StatusFail, rampart.StatusError, rampart.StatusNotApplicable}

func (c *Collector) compute(ctx context.Context, now time.Time) ([]prometheus.Metric, error) {
	var out b
	latest, err := c.st.Results(ctx, rampart.ResultFilter{})
	if err != nil {
		return nil, fmt.Errorf("metrics: latest results: %w", err)
	}
	open, err := c.st.Reviews(ctx, rampart.ReviewFilter{Status: []rampart.ReviewStatus{rampart.ReviewOpen}})
	if err != nil {
		return nil, fmt.Errorf("metrics: reviews: %w", err)
	}
	last, err := c.st.LatestReviews(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics: reviews: %w", err)
	}
	reviews := rampart.MergeReviews(open, last)
	controls := c.cat.Controls
	statuses := rampart.ApplyReviews(rampart.ControlStatuses(controls, latest), reviews, now)

	for _, ctl := range controls {
		st := statuses[ctl.ID].Status
		for _, s := range statusNames {
			out.gauge(descControlStatus, boolf(st == s), ctl.ID, ctl.Area, string(s))
		}
	}
	for _, r := range rampart.ReadinessBy(controls, statuses, func(ctl *rampart.Control) []string { return ctl.Criteria }) {
		fw := ""
		if cr, ok := c.cat.Criterion(r.Key); ok {
			fw = cr.Framework
		}
		c.readiness(&out, descCriterionControls, descCriterionReadiness, r, fw, r.Key)
	}
	for _, r := range rampart.ReadinessBy(controls, statuses, func(ctl *rampart.Control) []string { return []string{ctl.Area} }) {
		c.readiness(&out, descAreaControls, descAreaReadiness, r, r.Key)
	}
	if all := rampart.ReadinessBy(controls, statuses, func(*rampart.Control) []string { return []string{""} }); len(all) == 1 {
		out.gauge(descReadiness, all[0].Percent/100)
	}

	tasks, err := c.st.Tasks(ctx, rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskOpen, rampart.TaskInProgress}, Now: now})
	if err != nil {
		return nil, fmt.Errorf("metrics: tasks: %w", err)
	}
	byPrio := map[[2]string]int{}
	pastSLA := map[rampart.Severity]int{}
	for i := range tasks {
		t := &tasks[i]
		byPrio[[2]string{rampart.PriorityLabel(t.Priority(now)), ageBucket(now.Sub(t.OpenedAt))}]++
		if now.After(t.DueBy()) {
			pastSLA[t.Severity]++
		}
	}
	for _, p := range []string{"P1", "P2", "P3", "P4"} {
		for _, a := range ageBuckets {
			out.gauge(descTasksOpen, float64(byPrio[[2]string{p, a}]), p, a)
		}
	}
	for s := rampart.SeverityInfo; s <= rampart.SeverityCritical; s++ {
		out.gauge(descTasksPastSLA, float64(pastSLA[s]), s.String())
	}

	due, overdue := 0, map[[2]string]int{}
	for i := range open {
		if open[i].Overdue(now) {
			overdue[[2]string{open[i].Area, open[i].Owner}]++
		} else {
			due++
		}
	}
	total := 0
	for k, n := range overdue {
		out.gauge(descReviewsOverdue, float64(n), k[0], k[1])
		total += n
	}
	out.gauge(descReviews, float64(due), "due")
	out.gauge(descReviews, float64(total), "overdue")

	exceptions, err := c.st.Exceptions(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("metrics: exceptions: %w", err)
	}
	byExpiry := map[string]int{}
	for _, x := range exceptions {
		byExpiry[expiryBucket(x.ExpiresAt.Sub(now))]++
	}
	for _, bk := range expiryBuckets {
		out.gauge(descExceptions, float64(byExpiry[bk]), bk)
	}

	if err := c.scans(ctx, &out); err != nil {
		return nil, err
	}
	c.integrations(ctx, &out, latest)
	c.notifications(ctx, &out)
	return out.out, nil
}

func (c *Collector) readiness(out *b, counts, ratio *prometheus.Desc, r rampart.Readiness, labels ...string) {
	for _, s := range []struct {
		name string
		n    int
	}{{"pass", r.Passing}, {"fail", r.Failing}, {"error", r.Errored}, {"not_evaluated", r.NotEvaluated}} {
		out.gauge(counts, float64(s.n), append(labels, s.name)...)
	}
	if r.Passing+r.Failing+r.Errored > 0 {
		out.gauge(ratio, r.Percent/100, labels...)
	}
}

func (c *Collector) scans(ctx context.Context, out *b) error {
	runs, err := c.st.Scans(ctx, 0)
	if err != nil {
		return fmt.Errorf("metrics: scans: %w", err)
	}
	type hist struct {
		count   uint64
		sum     float64
		buckets map[float64]uint64
	}
	hists := map[string]*hist{}
	counts := map[[2]string]int{}
	lastAt := map[string]time.Time{}
	for _, r := range runs {
		if r.State == "running" || r.FinishedAt.IsZero() {
			continue
		}
		counts[[2]string{r.Trigger, r.State}]++
		if r.FinishedAt.After(lastAt[r.Trigger]) {
			lastAt[r.Trigger] = r.FinishedAt
		}
		h := hists[r.Trigger]
		if h == nil {
			h = &hist{buckets: map[float64]uint64{}}
			hists[r.Trigger] = h
		}
		d := r.FinishedAt.Sub(r.StartedAt).Seconds()
		h.count++
		h.sum += d
		for _, ub := range ScanBuckets {
			if d <= ub {
				h.buckets[ub]++
			}
		}
	}
	for _, trigger := range sortedKeys(hists) {
		h := hists[trigger]
		out.out = append(out.out, prometheus.MustNewConstHistogram(descScanDuration, h.count, h.sum, h.buckets, trigger))
		out.gauge(descLastScan, float64(lastAt[trigger].UnixMilli())/1000, trigger)
	}
	for k, n := range counts {
		out.counter(descScans, float64(n), k[0], k[1])
	}
	return nil
}

// facts is what the collector reads of a resource's latest facts: the
// GitHub integration's usage report, and a TLS endpoint's chain.
type facts struct {
	Usage *struct {
		Requests int64 `json:"requests"`
	} `json:"usage"`
	tlsendpoint.Facts
}

// integrations reports errors per kind, API requests per kind from the
// facts' usage, and certificate expiry from tls-endpoint facts. A facts
// document that cannot be read is counted under
// rampart_metrics_collect_errors rather than failing the scrape.
func (c *Collector) integrations(ctx context.Context, out *b, latest []rampart.Result) {
	kindOf := map[string]rampart.Kind{}
	for _, r := range c.resources {
		kindOf[r.ID] = r.Kind
	}
	errs := map[rampart.Kind]int{}
	seen := map[rampart.Kind]map[string]bool{}
	evidence := map[string]rampart.Result{} // resource -> its newest result with facts
	for _, r := range latest {
		k, ok := kindOf[r.ResourceID]
		if !ok {
			continue // no longer in the register: not a label to keep
		}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		seen[k][r.ResourceID] = true
		if r.Status == rampart.StatusError {
			errs[k]++
		}
		if e, ok := evidence[r.ResourceID]; r.Evidence != "" && (!ok || r.At.After(e.At)) {
			evidence[r.ResourceID] = r
		}
	}
	for _, k := range sortedKeys(seen) {
		out.gauge(descIntegrationErrors, float64(errs[k]), string(k))
		out.gauge(descIntegrationResources, float64(len(seen[k])), string(k))
	}
	requests := map[rampart.Kind]int64{}
	reported := map[rampart.Kind]bool{}
	bad := 0
	for _, id := range sortedKeys(evidence) {
		k := kindOf[id]
		f, err := c.readFacts(ctx, evidence[id].Evidence)
		if err != nil {
			c.Logger.Warn("metrics: read facts", "resource", id, "err", err)
			bad++
			continue
		}
		if f.Usage != nil {
			requests[k] += f.Usage.Requests
			reported[k] = true
		}
		if k == tlsendpoint.Kind && len(f.Chain) > 0 && !f.Chain[0].NotAfter.IsZero() {
			out.gauge(descCertExpiry, float64(f.Chain[0].NotAfter.Unix()), id)
		}
	}
	for _, k := range sortedKeys(reported) {
		out.gauge(descIntegrationRequests, float64(requests[k]), string(k))
	}
	out.gauge(descCollectErrors, boolf(bad > 0), "facts")
}

// maxFacts bounds one facts document read for metrics.
const maxFacts = 8 << 20

func (c *Collector) readFacts(ctx context.Context, sha string) (facts, error) {
	_, rc, err := c.st.Evidence(ctx, sha)
	if err != nil {
		return facts{}, err
	}
	defer rc.Close()
	var f facts
	if err := json.NewDecoder(io.LimitReader(rc, maxFacts)).Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return facts{}, fmt.Errorf("decode facts %s: %w", sha, err)
	}
	return f, nil
}

func (c *Collector) notifications(ctx context.Context, out *b) {
	ob, ok := c.st.(rampart.OutboxStore)
	if !ok {
		return
	}
	ds, err := ob.Deliveries(ctx, rampart.DeliveryFilter{State: []rampart.DeliveryState{rampart.DeliveryPending, rampart.DeliveryFailed}})
	if err != nil {
		c.Logger.Warn("metrics: deliveries", "err", errors.Unwrap(err))
		out.gauge(descCollectErrors, 1, "notifications")
		return
	}
	out.gauge(descCollectErrors, 0, "notifications")
	counts := map[[2]string]int{}
	for _, d := range ds {
		counts[[2]string{d.Receiver, string(d.State)}]++
	}
	for k, n := range counts {
		out.gauge(descNotifications, float64(n), k[0], k[1])
	}
}

var (
	ageBuckets    = []string{"lt_1d", "1d_7d", "7d_30d", "30d_90d", "gt_90d"}
	expiryBuckets = []string{"lt_7d", "7d_30d", "30d_90d", "gt_90d"}
)

const day = 24 * time.Hour

func ageBucket(d time.Duration) string {
	switch {
	case d < day:
		return "lt_1d"
	case d < 7*day:
		return "1d_7d"
	case d < 30*day:
		return "7d_30d"
	case d < 90*day:
		return "30d_90d"
	}
	return "gt_90d"
}

func expiryBucket(d time.Duration) string {
	switch {
	case d < 7*day:
		return "lt_7d"
	case d < 30*day:
		return "7d_30d"
	case d < 90*day:
		return "30d_90d"
	}
	return "gt_90d"
}

func boolf(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
