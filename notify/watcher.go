package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// WatchStore is what the Watcher reads and writes.
type WatchStore interface {
	rampart.Store
	rampart.ReviewStore
	rampart.OutboxStore
}

// CertificateChecks are the checks whose failure means a certificate is
// near or past its expiry, with the severity of the alert each raises.
var CertificateChecks = map[string]rampart.Severity{
	"TLS-EXPIRED":      rampart.SeverityCritical,
	"TLS-EXPIRING-7D":  rampart.SeverityCritical,
	"TLS-EXPIRING-30D": rampart.SeverityHigh,
}

// alertPrefixes are the alert keys a Watcher owns: it resolves a firing
// alert of these prefixes that its sweep no longer finds.
var alertPrefixes = []string{"finding:", "control:", "review:", "exception:", "certificate:", "integration:"}

// Watcher compares the store's state with the alerts firing in its outbox
// and enqueues what changed: a trigger for each condition that holds and
// is not firing, a resolve for each firing alert whose condition is gone.
// Being level-triggered, it needs no memory of its own: whatever changed
// the store (a scheduled scan, `rampart scan` from cron, a person in the
// UI), and however long it was stopped, the next sweep catches up, and the
// outbox keeps each transition once.
type Watcher struct {
	Store     WatchStore
	Controls  []*rampart.Control
	Resources []*rampart.Resource
	// AreaOfCheck gives a check's area (catalog.Catalog.AreaOfCheck).
	AreaOfCheck func(checkID string) string
	Logger      *slog.Logger
}

// Sweep enqueues the transitions due at now and returns the events
// enqueued.
func (w *Watcher) Sweep(ctx context.Context, now time.Time) ([]rampart.OutboxEvent, error) {
	desired, err := w.Desired(ctx, now)
	if err != nil {
		return nil, err
	}
	firing, err := w.Store.FiringAlerts(ctx)
	if err != nil {
		return nil, err
	}
	on := map[string]bool{}
	var events []rampart.OutboxEvent
	for _, f := range firing {
		on[f.AlertKey] = true
		if _, still := desired[f.AlertKey]; still || !owned(f.AlertKey) {
			continue
		}
		events = append(events, rampart.OutboxEvent{AlertKey: f.AlertKey, Action: rampart.ActionResolve, EndsAt: now, CreatedAt: now})
		if strings.HasPrefix(f.AlertKey, "exception:") {
			if exp, err := time.Parse(time.RFC3339, f.Labels["expires_at"]); err == nil && !now.Before(exp) {
				events = append(events, exceptionExpired(f, exp, now))
			}
		}
	}
	for k, e := range desired {
		if !on[k] {
			e.CreatedAt = now
			events = append(events, e)
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return key(events[i]) < key(events[j]) })
	if len(events) == 0 {
		return nil, nil
	}
	return w.Store.Enqueue(ctx, events...)
}

func key(e rampart.OutboxEvent) string {
	if e.AlertKey != "" {
		return e.AlertKey + " " + string(e.Action)
	}
	return e.Key
}

func owned(alertKey string) bool {
	for _, p := range alertPrefixes {
		if strings.HasPrefix(alertKey, p) {
			return true
		}
	}
	return false
}

// Desired returns the alerts whose conditions hold at now, by alert key.
func (w *Watcher) Desired(ctx context.Context, now time.Time) (map[string]rampart.OutboxEvent, error) {
	out := map[string]rampart.OutboxEvent{}
	add := func(e rampart.OutboxEvent) {
		e.Action = rampart.ActionTrigger
		out[e.AlertKey] = e
	}
	res := map[string]*rampart.Resource{}
	for _, r := range w.Resources {
		res[r.ID] = r
	}
	env := func(id string) string {
		if r := res[id]; r != nil {
			return r.Environment
		}
		return ""
	}

	tasks, err := w.Store.Tasks(ctx, rampart.TaskFilter{Status: []rampart.TaskStatus{rampart.TaskOpen, rampart.TaskInProgress}, Now: now})
	if err != nil {
		return nil, fmt.Errorf("watch tasks: %w", err)
	}
	for _, t := range tasks {
		if t.Severity < rampart.SeverityHigh {
			continue
		}
		kind, what := rampart.EventFindingNew, "New"
		if t.Regression {
			kind, what = rampart.EventFindingRegression, "Regression"
		}
		add(rampart.OutboxEvent{
			AlertKey: "finding:" + t.Fingerprint, Kind: kind, Severity: t.Severity,
			Title:   fmt.Sprintf("%s %s finding on %s: %s", what, t.Severity, t.ResourceID, t.Title),
			Summary: t.Message,
			Labels: labels("area", t.Area, "resource", t.ResourceID, "check", t.CheckID, "environment", env(t.ResourceID),
				"criticality", t.Criticality.String(), "owner", t.Owner),
			Path: "/tasks/" + strconv.FormatInt(t.ID, 10), StartsAt: t.OpenedAt,
		})
	}

	latest, err := w.Store.Results(ctx, rampart.ResultFilter{})
	if err != nil {
		return nil, fmt.Errorf("watch results: %w", err)
	}
	open, err := w.Store.Reviews(ctx, rampart.ReviewFilter{Status: []rampart.ReviewStatus{rampart.ReviewOpen}})
	if err != nil {
		return nil, fmt.Errorf("watch reviews: %w", err)
	}
	last, err := w.Store.LatestReviews(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch reviews: %w", err)
	}
	reviews := mergeReviews(open, last)
	statuses := rampart.ApplyReviews(rampart.ControlStatuses(w.Controls, latest), reviews, now)
	failing := map[string][]rampart.Result{}
	for _, r := range latest {
		if r.Status == rampart.StatusFail {
			failing[r.CheckID] = append(failing[r.CheckID], r)
		}
	}
	for _, c := range w.Controls {
		st := statuses[c.ID]
		if st.Status != rampart.StatusFail {
			continue
		}
		sev := rampart.SeverityMedium // failing through an overdue review only
		var since time.Time
		found := false
		for _, id := range c.Checks {
			for _, r := range failing[id] {
				if !found || r.Severity > sev {
					sev = r.Severity
				}
				found = true
				if since.IsZero() || r.At.Before(since) {
					since = r.At
				}
			}
		}
		if since.IsZero() {
			since = now
		}
		add(rampart.OutboxEvent{
			AlertKey: "control:" + c.ID, Kind: rampart.EventControlFailing, Severity: sev,
			Title:   fmt.Sprintf("Control failing: %s %s", c.ID, c.Title),
			Summary: fmt.Sprintf("%d failing result(s), %d error(s), %d passing; owner %s.", st.Fail, st.Errors, st.Pass, c.Owner),
			Labels:  labels("area", c.Area, "control", c.ID, "owner", c.Owner),
			Path:    "/controls/" + c.ID, StartsAt: since,
		})
	}
	for i := range open {
		if open[i].Overdue(now) {
			add(rampart.ReviewOverdueAlert(&open[i]))
		}
	}

	exceptions, err := w.Store.Exceptions(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("watch exceptions: %w", err)
	}
	for _, x := range exceptions {
		if x.ExpiresAt.Sub(now) > rampart.ExceptionWarning {
			continue
		}
		area := ""
		if w.AreaOfCheck != nil {
			area = w.AreaOfCheck(x.CheckID)
		}
		start := x.ExpiresAt.Add(-rampart.ExceptionWarning)
		if start.Before(x.CreatedAt) {
			start = x.CreatedAt
		}
		add(rampart.OutboxEvent{
			AlertKey: "exception:" + strconv.FormatInt(x.ID, 10), Kind: rampart.EventExceptionExpiring, Severity: rampart.SeverityMedium,
			Title: fmt.Sprintf("Exception %d expires %s: %s on %s", x.ID, x.ExpiresAt.UTC().Format(time.DateOnly), x.CheckID, x.ResourceID),
			Summary: fmt.Sprintf("Accepted by %s: %s. When it expires its findings come back to the TODO list; renew it or fix them.",
				x.Approver, x.Reason),
			Labels: labels("area", area, "check", x.CheckID, "resource", x.ResourceID, "environment", env(x.ResourceID),
				"expires_at", x.ExpiresAt.UTC().Format(time.RFC3339)),
			Path: "/exceptions/" + strconv.FormatInt(x.ID, 10), StartsAt: start,
		})
	}

	type certState struct {
		sev   rampart.Severity
		since time.Time
		msgs  []string
	}
	certs := map[string]*certState{}
	errorsByKind := map[rampart.Kind][]rampart.Result{}
	for _, r := range latest {
		if sev, ok := CertificateChecks[r.CheckID]; ok && r.Status == rampart.StatusFail {
			c := certs[r.ResourceID]
			if c == nil {
				c = &certState{sev: sev, since: r.At}
				certs[r.ResourceID] = c
			}
			c.sev = max(c.sev, sev)
			for _, f := range r.Findings {
				c.msgs = append(c.msgs, f.Message)
			}
		}
		if r.Status == rampart.StatusError {
			kind := rampart.Kind("unknown")
			if res := res[r.ResourceID]; res != nil {
				kind = res.Kind
			}
			errorsByKind[kind] = append(errorsByKind[kind], r)
		}
	}
	for id, c := range certs {
		sort.Strings(c.msgs)
		add(rampart.OutboxEvent{
			AlertKey: "certificate:" + id, Kind: rampart.EventCertificateExpiring, Severity: c.sev,
			Title: fmt.Sprintf("Certificate near expiry on %s", id), Summary: strings.Join(c.msgs, "; "),
			Labels: labels("resource", id, "environment", env(id), "area", areaOf(w.AreaOfCheck, "TLS-EXPIRED"), "kind", "tls-endpoint"),
			Path:   "/resources/" + id, StartsAt: c.since,
		})
	}
	for kind, rs := range errorsByKind {
		sort.Slice(rs, func(i, j int) bool { return rs[i].ResourceID+rs[i].CheckID < rs[j].ResourceID+rs[j].CheckID })
		var lines []string
		resources := map[string]bool{}
		since := rs[0].At
		for _, r := range rs {
			resources[r.ResourceID] = true
			if len(lines) < 5 {
				lines = append(lines, fmt.Sprintf("%s %s: %s", r.ResourceID, r.CheckID, r.Reason))
			}
			if r.At.Before(since) {
				since = r.At
			}
		}
		if len(rs) > len(lines) {
			lines = append(lines, fmt.Sprintf("and %d more", len(rs)-len(lines)))
		}
		add(rampart.OutboxEvent{
			AlertKey: "integration:" + string(kind), Kind: rampart.EventScanErrors, Severity: rampart.SeverityMedium,
			Title:   fmt.Sprintf("Integration %s could not check %d resource(s)", kind, len(resources)),
			Summary: strings.Join(lines, "\n"),
			Labels:  labels("kind", string(kind)),
			Path:    "/scans", StartsAt: since,
		})
	}
	return out, nil
}

func exceptionExpired(f rampart.OutboxEvent, exp, now time.Time) rampart.OutboxEvent {
	id := strings.TrimPrefix(f.AlertKey, "exception:")
	return rampart.OutboxEvent{
		Key: "exception.expired:" + id, Kind: rampart.EventExceptionExpired, Action: rampart.ActionNotice,
		Severity: rampart.SeverityHigh,
		Title:    strings.Replace(f.Title, "expires", "expired", 1),
		Summary:  "The exception expired: its findings are back on the TODO list.",
		Labels:   f.Labels, Path: f.Path, StartsAt: exp, CreatedAt: now,
	}
}

func mergeReviews(a, b []rampart.Review) []rampart.Review {
	seen := map[int64]bool{}
	var out []rampart.Review
	for _, rs := range [][]rampart.Review{a, b} {
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out
}

func areaOf(fn func(string) string, check string) string {
	if fn == nil {
		return ""
	}
	return fn(check)
}

// labels builds a label map from pairs, leaving out empty values.
func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}
