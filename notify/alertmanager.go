package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// Alertmanager posts alerts to Alertmanager's API v2 (POST
// /api/v2/alerts, a JSON array of alerts with labels, annotations,
// startsAt, endsAt and generatorURL). Alertmanager identifies an alert by
// its labels, so a trigger and its resolve carry the same ones; a resolve
// sets endsAt to when it ended. A firing alert is given an endsAt four
// resend intervals ahead and is sent again every interval (Resend), the
// way Prometheus does, so that alerts of a Rampart that stopped end by
// themselves.
type Alertmanager struct {
	Name string
	// URL is Alertmanager's base URL; /api/v2/alerts is appended.
	URL         string
	BearerToken string
	ExternalURL string
	// ResendInterval is how often Resend is called.
	ResendInterval time.Duration
	Client         *http.Client
	Now            func() time.Time
}

// amAlert is one element of the postableAlerts array of Alertmanager's
// OpenAPI specification.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// noticeLife is how long a notice (an event with no resolve of its own)
// stays active in Alertmanager.
const noticeLife = time.Hour

// Send posts one event as one alert.
func (a *Alertmanager) Send(ctx context.Context, e *rampart.OutboxEvent) error {
	return a.post(ctx, []amAlert{a.alert(e)})
}

// Resend posts every firing alert again, so that Alertmanager keeps them
// active (and learns them back after its own restart).
func (a *Alertmanager) Resend(ctx context.Context, firing []rampart.OutboxEvent) error {
	if len(firing) == 0 {
		return nil
	}
	alerts := make([]amAlert, len(firing))
	for i := range firing {
		alerts[i] = a.alert(&firing[i])
	}
	return a.post(ctx, alerts)
}

func (a *Alertmanager) post(ctx context.Context, alerts []amAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return &SendError{Receiver: a.Name, Permanent: true, Err: err}
	}
	h := http.Header{}
	if a.BearerToken != "" {
		h.Set("Authorization", "Bearer "+a.BearerToken)
	}
	return post(ctx, a.Client, a.Name, strings.TrimRight(a.URL, "/")+"/api/v2/alerts", body, h)
}

func (a *Alertmanager) alert(e *rampart.OutboxEvent) amAlert {
	now := a.Now()
	al := amAlert{
		Labels:       AlertLabels(e),
		Annotations:  map[string]string{"summary": e.Title},
		StartsAt:     e.StartsAt.UTC(),
		GeneratorURL: link(a.ExternalURL, e),
	}
	if e.Summary != "" {
		al.Annotations["description"] = e.Summary
	}
	switch e.Action {
	case rampart.ActionResolve:
		al.EndsAt = e.EndsAt.UTC()
	case rampart.ActionNotice:
		al.EndsAt = e.StartsAt.Add(noticeLife).UTC()
		if al.EndsAt.Before(now) {
			al.EndsAt = now.Add(noticeLife).UTC()
		}
	default:
		al.EndsAt = now.Add(4 * a.ResendInterval).UTC()
	}
	if al.StartsAt.After(al.EndsAt) {
		al.StartsAt = al.EndsAt
	}
	return al
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// AlertLabels are the labels that identify an event's alert in
// Alertmanager: alertname ("Rampart" and the event kind in camel case,
// "RampartFindingNew"), severity, rampart_alert (the alert key, or the
// notice's key), and the event's own labels.
func AlertLabels(e *rampart.OutboxEvent) map[string]string {
	l := map[string]string{}
	for k, v := range e.Labels {
		if labelName.MatchString(k) && v != "" {
			l[k] = v
		}
	}
	l["alertname"] = AlertName(e.Kind)
	l["severity"] = e.Severity.String()
	key := e.AlertKey
	if key == "" {
		key = e.Key
	}
	l["rampart_alert"] = key
	return l
}

// AlertName is the alertname of an event kind: "RampartControlFailing".
func AlertName(k rampart.EventKind) string {
	var b strings.Builder
	b.WriteString("Rampart")
	up := true
	for _, r := range string(k) {
		if r == '.' || r == '_' || r == '-' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}
