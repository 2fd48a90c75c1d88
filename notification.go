package rampart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// EventKind names what happened, for routing and for the receivers'
// titles.
type EventKind string

// The events Rampart notifies.
const (
	EventFindingNew          EventKind = "finding.new"          // a critical or high finding opened
	EventFindingRegression   EventKind = "finding.regression"   // a resolved finding came back
	EventControlFailing      EventKind = "control.failing"      // a control turned failing
	EventReviewDue           EventKind = "review.due"           // a periodic review came due
	EventReviewOverdue       EventKind = "review.overdue"       // a review passed its due-by time
	EventExceptionExpiring   EventKind = "exception.expiring"   // an exception expires within 7 days
	EventExceptionExpired    EventKind = "exception.expired"    // an exception expired
	EventCertificateExpiring EventKind = "certificate.expiring" // a TLS certificate is near expiry
	EventScanErrors          EventKind = "scan.errors"          // an integration errored in the latest scan
	EventTest                EventKind = "test"                 // rampart notify test
)

// EventKinds lists every event kind.
func EventKinds() []EventKind {
	return []EventKind{
		EventFindingNew, EventFindingRegression, EventControlFailing, EventReviewDue, EventReviewOverdue,
		EventExceptionExpiring, EventExceptionExpired, EventCertificateExpiring, EventScanErrors, EventTest,
	}
}

// EventAction says what an event does to its alert.
type EventAction string

// Event actions. An alert (identified by its AlertKey) is triggered and
// later resolved; a notice is one message with no alert behind it.
const (
	ActionTrigger EventAction = "trigger"
	ActionResolve EventAction = "resolve"
	ActionNotice  EventAction = "notice"
)

// ExceptionWarning is how long before its expiry an exception is announced.
const ExceptionWarning = 7 * 24 * time.Hour

// OutboxEvent is one notification waiting in the store's outbox to be
// delivered to every receiver its routes name.
type OutboxEvent struct {
	ID int64 `json:"id"`
	// Key identifies the event for deduplication: enqueueing a key already
	// stored does nothing.
	Key string `json:"key"`
	// AlertKey identifies the alert a trigger or resolve belongs to
	// ("finding:<fingerprint>", "control:GH-01"); empty for notices.
	AlertKey string      `json:"alert_key,omitempty"`
	Kind     EventKind   `json:"kind"`
	Action   EventAction `json:"action"`
	Severity Severity    `json:"severity"`
	Title    string      `json:"title"`
	Summary  string      `json:"summary,omitempty"`
	// Labels hold what routes match and receivers show: area,
	// environment, resource, control, check, kind.
	Labels map[string]string `json:"labels,omitempty"`
	// Path is the page about the event in Rampart's web UI ("/reviews/4"),
	// joined to the configured external URL by receivers.
	Path string `json:"path,omitempty"`
	// StartsAt is when the condition began; EndsAt when a resolve ended it.
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate reports what an event lacks before it is enqueued.
func (e *OutboxEvent) Validate() error {
	switch {
	case e.Action != ActionTrigger && e.Action != ActionResolve && e.Action != ActionNotice:
		return Errorf(KindInvalid, "event action %q, want trigger, resolve or notice", e.Action)
	case e.Action == ActionNotice && e.Key == "":
		return Errorf(KindInvalid, "a notice needs a key")
	case e.Action != ActionNotice && e.AlertKey == "":
		return Errorf(KindInvalid, "a %s event needs an alert key", e.Action)
	case e.Action != ActionResolve && (e.Kind == "" || e.Title == ""):
		return Errorf(KindInvalid, "an event needs a kind and a title")
	}
	return nil
}

// DedupKey is a stable key of at most 64 characters for receivers that
// deduplicate (PagerDuty's dedup_key): the alert key for alerts, so that a
// resolve closes what its trigger opened, and the event key for notices.
func (e *OutboxEvent) DedupKey() string {
	k := e.AlertKey
	if k == "" {
		k = e.Key
	}
	k = "rampart/" + k
	if len(k) <= 64 {
		return k
	}
	h := sha256.Sum256([]byte(k))
	return "rampart/" + hex.EncodeToString(h[:20])
}

// DeliveryState is where one event's delivery to one receiver stands.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed" // given up: the receiver refused it for good
)

// Delivery is one event on its way to one receiver.
type Delivery struct {
	ID            int64         `json:"id"`
	Event         OutboxEvent   `json:"event"`
	Receiver      string        `json:"receiver"`
	State         DeliveryState `json:"state"`
	Attempts      int           `json:"attempts"`
	NextAttemptAt time.Time     `json:"next_attempt_at"`
	LastError     string        `json:"last_error,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	DeliveredAt   time.Time     `json:"delivered_at,omitzero"`
}

// DeliveryFilter selects deliveries. Empty fields match everything.
type DeliveryFilter struct {
	Receiver string
	State    []DeliveryState
	EventID  int64
	Limit    int
}

// OutboxStore is the durable outbox of notifications: events are enqueued
// (deduplicated by key; alert transitions are idempotent), routed once to
// their receivers as deliveries, and each delivery is claimed with a lease
// by one sender at a time, retried until delivered, and never made twice
// for one event and receiver.
type OutboxStore interface {
	// Enqueue stores events and returns those newly stored. A notice whose
	// key exists, a trigger of an alert already firing and a resolve of an
	// alert not firing are dropped. A resolve takes its title, labels,
	// severity, kind and start from its trigger.
	Enqueue(ctx context.Context, events ...OutboxEvent) ([]OutboxEvent, error)
	// UnroutedEvents lists up to limit events not routed yet, oldest first.
	UnroutedEvents(ctx context.Context, limit int) ([]OutboxEvent, error)
	// RouteEvent creates the event's deliveries to receivers (none is fine)
	// and marks it routed.
	RouteEvent(ctx context.Context, eventID int64, receivers []string, at time.Time) error
	// ClaimDeliveries claims up to limit pending deliveries due at now for
	// holder until now+ttl, oldest first, never one whose alert has an
	// earlier delivery to the same receiver still pending, so a receiver
	// sees an alert's trigger before its resolve.
	ClaimDeliveries(ctx context.Context, holder string, now time.Time, ttl time.Duration, limit int) ([]Delivery, error)
	// DeliverySucceeded marks a claimed delivery delivered.
	DeliverySucceeded(ctx context.Context, id int64, holder string, at time.Time) error
	// DeliveryFailed records a failed attempt: retried at retryAt, or given
	// up when retryAt is zero.
	DeliveryFailed(ctx context.Context, id int64, holder string, at, retryAt time.Time, reason string) error
	// ReleaseDeliveries lets go of holder's claims, for a sender stopping.
	ReleaseDeliveries(ctx context.Context, holder string) error
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// FiringAlerts lists the trigger of each alert firing now.
	FiringAlerts(ctx context.Context) ([]OutboxEvent, error)
}

// ReceiverType names a kind of receiver.
type ReceiverType string

// Receiver types.
const (
	ReceiverAlertmanager ReceiverType = "alertmanager"
	ReceiverPagerDuty    ReceiverType = "pagerduty"
	ReceiverSlack        ReceiverType = "slack"
	ReceiverTeams        ReceiverType = "teams"
	ReceiverWebhook      ReceiverType = "webhook"
)

// ReceiverTypes lists the receiver types.
func ReceiverTypes() []ReceiverType {
	return []ReceiverType{ReceiverAlertmanager, ReceiverPagerDuty, ReceiverSlack, ReceiverTeams, ReceiverWebhook}
}

// Receiver is where notifications go, as the register configures it.
// Anything that grants the right to post (a Slack or Teams webhook URL, a
// PagerDuty routing key, an HMAC secret, a bearer token) is a reference.
type Receiver struct {
	Name string       `json:"name"`
	Type ReceiverType `json:"type"`
	// URL is an endpoint that holds no credential: Alertmanager's base URL,
	// the generic webhook's URL, or PagerDuty's events endpoint (default
	// https://events.pagerduty.com/v2/enqueue).
	URL string `json:"url,omitempty"`
	// WebhookURL names the Slack or Teams webhook URL, which carries its
	// own token.
	WebhookURL SecretRef `json:"webhook_url,omitempty"`
	// RoutingKey names PagerDuty's integration (routing) key.
	RoutingKey SecretRef `json:"routing_key,omitempty"`
	// Secret names the generic webhook's HMAC-SHA256 signing key.
	Secret SecretRef `json:"secret,omitempty"`
	// BearerToken names a token sent to Alertmanager or the webhook as
	// "Authorization: Bearer".
	BearerToken SecretRef `json:"bearer_token,omitempty"`
	Source      Position  `json:"-"`
}

// Route sends the events it matches to its receivers. Each matcher left
// empty matches everything; the matchers given must all match.
type Route struct {
	Receivers []string `json:"receivers"`
	// Events lists event kinds.
	Events []EventKind `json:"events,omitempty"`
	// MinSeverity keeps events of this severity or higher.
	MinSeverity *Severity `json:"min_severity,omitempty"`
	// Areas lists areas of the catalog's index; an area holds those under
	// it ("security" holds "security/pki").
	Areas []string `json:"areas,omitempty"`
	// Environments lists resource environments; an event about no
	// resource has none, and such a route does not match it.
	Environments []string `json:"environments,omitempty"`
	Source       Position `json:"-"`
}

// Matches reports whether the route takes the event.
func (r *Route) Matches(e *OutboxEvent) bool {
	if len(r.Events) > 0 && !slices.Contains(r.Events, e.Kind) {
		return false
	}
	if r.MinSeverity != nil && e.Severity < *r.MinSeverity {
		return false
	}
	if len(r.Areas) > 0 {
		area := e.Labels["area"]
		if !slices.ContainsFunc(r.Areas, func(a string) bool {
			return area == a || strings.HasPrefix(area, a+"/")
		}) {
			return false
		}
	}
	if len(r.Environments) > 0 && !slices.Contains(r.Environments, e.Labels["environment"]) {
		return false
	}
	return true
}

// NotifyConfig is the register's notify section.
type NotifyConfig struct {
	Receivers []Receiver `json:"receivers,omitempty"`
	// Routes decide which receivers get an event; without routes every
	// receiver gets every event.
	Routes []Route `json:"routes,omitempty"`
	// ExternalURL is Rampart's own address, for links in messages.
	ExternalURL string `json:"external_url,omitempty"`
	// ResendInterval is how often firing alerts are sent to Alertmanager
	// again, which resolves alerts not re-sent for four intervals.
	ResendInterval time.Duration `json:"resend_interval,omitempty"`
}

// Receiver returns the receiver named name, or nil.
func (c *NotifyConfig) Receiver(name string) *Receiver {
	for i := range c.Receivers {
		if c.Receivers[i].Name == name {
			return &c.Receivers[i]
		}
	}
	return nil
}

// ReceiversFor lists the receivers an event goes to, each once, in the
// order of the configuration. A test event goes to no one by routing: it
// is sent to the receiver it names.
func (c *NotifyConfig) ReceiversFor(e *OutboxEvent) []string {
	if e.Kind == EventTest {
		if r := e.Labels["receiver"]; r != "" && c.Receiver(r) != nil {
			return []string{r}
		}
		return nil
	}
	var out []string
	if len(c.Routes) == 0 {
		for _, r := range c.Receivers {
			out = append(out, r.Name)
		}
		return out
	}
	for i := range c.Routes {
		if !c.Routes[i].Matches(e) {
			continue
		}
		for _, name := range c.Routes[i].Receivers {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// ReviewDueEvent is the notice that a review came due.
func ReviewDueEvent(r *Review) OutboxEvent {
	return OutboxEvent{
		Key:      fmt.Sprintf("review.due:%s:%s:%d", r.ControlID, r.ResourceID, r.DueAt.Unix()),
		Kind:     EventReviewDue,
		Action:   ActionNotice,
		Severity: SeverityLow,
		Title:    fmt.Sprintf("Review due: %s %s", r.ControlID, r.Title),
		Summary: fmt.Sprintf("The %s review of %s%s is due by %s, assigned to %s.", r.Periodicity, r.ControlID,
			onResource(r.ResourceID), r.DueBy.Format(time.DateOnly), r.Owner),
		Labels:   reviewLabels(r),
		Path:     "/reviews/" + fmt.Sprint(r.ID),
		StartsAt: r.DueAt,
	}
}

// ReviewOverdueAlert is the alert that a review is overdue; it resolves
// when the review is completed.
func ReviewOverdueAlert(r *Review) OutboxEvent {
	return OutboxEvent{
		AlertKey: r.Object(),
		Kind:     EventReviewOverdue,
		Action:   ActionTrigger,
		Severity: SeverityMedium,
		Title:    fmt.Sprintf("Review overdue: %s %s", r.ControlID, r.Title),
		Summary: fmt.Sprintf("The %s review of %s%s was due by %s and is not completed; its control counts as failing until it is.",
			r.Periodicity, r.ControlID, onResource(r.ResourceID), r.DueBy.Format(time.DateOnly)),
		Labels:   reviewLabels(r),
		Path:     "/reviews/" + fmt.Sprint(r.ID),
		StartsAt: r.DueBy,
	}
}

func reviewLabels(r *Review) map[string]string {
	l := map[string]string{"control": r.ControlID, "owner": r.Owner}
	if r.Area != "" {
		l["area"] = r.Area
	}
	if r.ResourceID != "" {
		l["resource"] = r.ResourceID
	}
	if r.Environment != "" {
		l["environment"] = r.Environment
	}
	return l
}

func onResource(id string) string {
	if id == "" {
		return ""
	}
	return " on " + id
}
