package notify

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/rampart-dev/rampart"
)

// PagerDuty sends events to PagerDuty's Events API v2
// (https://events.pagerduty.com/v2/enqueue): a trigger opens or updates
// the incident of its dedup_key, a resolve with the same dedup_key closes
// it. The dedup_key is the alert's key, stable across Rampart's restarts
// and replicas (rampart.OutboxEvent.DedupKey).
type PagerDuty struct {
	Name        string
	URL         string
	RoutingKey  string
	ExternalURL string
	Client      *http.Client
}

// pdEvent is an Events API v2 event.
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"` // trigger, acknowledge or resolve
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"` // critical, error, warning or info
	Timestamp     string            `json:"timestamp,omitempty"`
	Component     string            `json:"component,omitempty"`
	Group         string            `json:"group,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// PagerDutySeverity maps Rampart's severities onto PagerDuty's four.
func PagerDutySeverity(s rampart.Severity) string {
	switch s {
	case rampart.SeverityCritical:
		return "critical"
	case rampart.SeverityHigh:
		return "error"
	case rampart.SeverityMedium:
		return "warning"
	}
	return "info"
}

// Send sends one event: a resolve as a resolve, anything else as a trigger.
func (p *PagerDuty) Send(ctx context.Context, e *rampart.OutboxEvent) error {
	ev := pdEvent{RoutingKey: p.RoutingKey, EventAction: "trigger", DedupKey: e.DedupKey()}
	if e.Action == rampart.ActionResolve {
		ev.EventAction = "resolve"
	} else {
		source := e.Labels["resource"]
		if source == "" {
			source = "rampart"
		}
		component := e.Labels["control"]
		if component == "" {
			component = e.Labels["check"]
		}
		details := map[string]string{}
		for _, f := range facts(e) {
			details[f[0]] = f[1]
		}
		if e.Summary != "" {
			details["summary"] = e.Summary
		}
		ev.Payload = &pdPayload{
			Summary: truncate(e.Title, 1024), Source: source, Severity: PagerDutySeverity(e.Severity),
			Timestamp: e.StartsAt.UTC().Format("2006-01-02T15:04:05.000Z"), Component: component,
			Group: e.Labels["area"], Class: string(e.Kind), CustomDetails: details,
		}
		ev.Client = "Rampart"
		if l := link(p.ExternalURL, e); l != "" {
			ev.ClientURL = l
			ev.Links = []pdLink{{Href: l, Text: "Open in Rampart"}}
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return &SendError{Receiver: p.Name, Permanent: true, Err: err}
	}
	return post(ctx, p.Client, p.Name, p.URL, body, nil)
}
