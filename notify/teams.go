package notify

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/rampart-dev/rampart"
)

// Teams posts to a Microsoft Teams workflow webhook (a Power Automate
// "when a Teams webhook request is received" flow): a message whose one
// attachment is an Adaptive Card (contentType
// application/vnd.microsoft.card.adaptive) with the headline, the summary,
// the labels as a FactSet and a button to Rampart.
type Teams struct {
	Name        string
	WebhookURL  string
	ExternalURL string
	Client      *http.Client
}

type teamsMessage struct {
	Type        string            `json:"type"` // "message"
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string       `json:"contentType"`
	ContentURL  *string      `json:"contentUrl"` // null, as the workflow expects
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"` // "AdaptiveCard"
	Version string         `json:"version"`
	Body    []cardElement  `json:"body"`
	Actions []cardAction   `json:"actions,omitempty"`
	MSTeams map[string]any `json:"msteams,omitempty"`
}

type cardElement struct {
	Type   string     `json:"type"` // TextBlock or FactSet
	Text   string     `json:"text,omitempty"`
	Weight string     `json:"weight,omitempty"`
	Size   string     `json:"size,omitempty"`
	Color  string     `json:"color,omitempty"`
	Wrap   bool       `json:"wrap,omitempty"`
	Facts  []cardFact `json:"facts,omitempty"`
}

type cardFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type cardAction struct {
	Type  string `json:"type"` // Action.OpenUrl
	Title string `json:"title"`
	URL   string `json:"url"`
}

// AdaptiveCardContentType is the attachment's content type for an
// Adaptive Card.
const AdaptiveCardContentType = "application/vnd.microsoft.card.adaptive"

// Send posts one event as one card.
func (t *Teams) Send(ctx context.Context, e *rampart.OutboxEvent) error {
	body, err := json.Marshal(teamsPayload(t.ExternalURL, e))
	if err != nil {
		return &SendError{Receiver: t.Name, Permanent: true, Err: err}
	}
	return post(ctx, t.Client, t.Name, t.WebhookURL, body, nil)
}

func teamsPayload(external string, e *rampart.OutboxEvent) teamsMessage {
	color := "Default"
	switch {
	case e.Action == rampart.ActionResolve:
		color = "Good"
	case e.Severity >= rampart.SeverityHigh:
		color = "Attention"
	case e.Severity == rampart.SeverityMedium:
		color = "Warning"
	}
	card := adaptiveCard{
		Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		Body: []cardElement{{Type: "TextBlock", Text: headline(e), Weight: "Bolder", Size: "Medium", Color: color, Wrap: true}},
		// Full width reads better for alerts in a channel.
		MSTeams: map[string]any{"width": "Full"},
	}
	if e.Summary != "" {
		card.Body = append(card.Body, cardElement{Type: "TextBlock", Text: e.Summary, Wrap: true})
	}
	fs := cardElement{Type: "FactSet"}
	for _, f := range facts(e) {
		fs.Facts = append(fs.Facts, cardFact{Title: f[0], Value: f[1]})
	}
	fs.Facts = append(fs.Facts, cardFact{Title: "key", Value: e.Key})
	card.Body = append(card.Body, fs)
	if l := link(external, e); l != "" {
		card.Actions = []cardAction{{Type: "Action.OpenUrl", Title: "Open in Rampart", URL: l}}
	}
	return teamsMessage{Type: "message", Attachments: []teamsAttachment{{ContentType: AdaptiveCardContentType, Content: card}}}
}
