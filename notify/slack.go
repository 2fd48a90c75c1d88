package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Slack posts to a Slack incoming webhook: a message with a text fallback
// (what notifications show) and Block Kit blocks: a header, the summary, the
// labels as fields and a context line with the event's key and a link.
type Slack struct {
	Name        string
	WebhookURL  string
	ExternalURL string
	Client      *http.Client
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"` // header, section, context
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Block Kit's limits: a header's text, a section's text, a field's text,
// and fields per section.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
	slackFieldsMax  = 10
)

// slackEscape escapes the three characters Slack's mrkdwn gives meaning.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Send posts one event as one message.
func (s *Slack) Send(ctx context.Context, e *rampart.OutboxEvent) error {
	body, err := json.Marshal(slackPayload(s.ExternalURL, e))
	if err != nil {
		return &SendError{Receiver: s.Name, Permanent: true, Err: err}
	}
	return post(ctx, s.Client, s.Name, s.WebhookURL, body, nil)
}

func slackPayload(external string, e *rampart.OutboxEvent) slackMessage {
	head := headline(e)
	m := slackMessage{Text: truncate(head, slackSectionMax)}
	m.Blocks = append(m.Blocks, slackBlock{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate(head, slackHeaderMax)}})
	if e.Summary != "" {
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(slackEscape.Replace(e.Summary), slackSectionMax)}})
	}
	var fields []slackText
	for _, f := range facts(e) {
		if len(fields) == slackFieldsMax {
			break
		}
		fields = append(fields, slackText{Type: "mrkdwn", Text: truncate("*"+f[0]+"*\n"+slackEscape.Replace(f[1]), slackFieldMax)})
	}
	m.Blocks = append(m.Blocks, slackBlock{Type: "section", Fields: fields})
	ctxLine := fmt.Sprintf("Rampart · %s · `%s`", e.StartsAt.UTC().Format("2006-01-02 15:04 UTC"), slackEscape.Replace(e.Key))
	if l := link(external, e); l != "" {
		ctxLine += " · <" + l + "|Open in Rampart>"
	}
	m.Blocks = append(m.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: truncate(ctxLine, slackSectionMax)}}})
	return m
}
