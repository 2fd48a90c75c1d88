// Package notifytest serves fake receivers on loopback (PagerDuty's Events
// API v2, Slack incoming webhooks, Microsoft Teams workflow webhooks and
// Rampart's generic signed webhook) that check every request against the
// documented format and answer as the real services do, so that notify's
// tests catch a payload the real service would refuse. Each fake can be
// told to fail or to hold requests, and records what it accepted.
package notifytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Accepted is one request a fake took.
type Accepted struct {
	// ID identifies what was delivered: PagerDuty's dedup_key and action,
	// the Rampart event key of a Slack, Teams or webhook message.
	ID   string
	Body []byte
}

// Receiver is a fake receiver on loopback.
type Receiver struct {
	// URL is where to post.
	URL string

	srv      *httptest.Server
	validate func(r *http.Request, body []byte) (id string, problems []string)
	okStatus int
	okBody   string
	badBody  func(problems []string) string

	mu       sync.Mutex
	accepted []Accepted
	problems []string
	requests int
	failN    int
	failCode int
	hold     *hold
}

type hold struct {
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newReceiver(validate func(*http.Request, []byte) (string, []string), okStatus int, okBody string, badBody func([]string) string) *Receiver {
	r := &Receiver{validate: validate, okStatus: okStatus, okBody: okBody, badBody: badBody}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/hook"
	return r
}

// Close stops the server.
func (r *Receiver) Close() { r.srv.Close() }

// FailNext makes the next n requests fail with status, as a receiver that
// is down would, without taking them.
func (r *Receiver) FailNext(n, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failN, r.failCode = n, status
}

// HoldNext makes the next request wait until release is called or the
// client gives up; arrived is closed when it comes in. A held request
// whose client gives up is not taken.
func (r *Receiver) HoldNext() (arrived <-chan struct{}, release func()) {
	h := &hold{arrived: make(chan struct{}), release: make(chan struct{})}
	r.mu.Lock()
	r.hold = h
	r.mu.Unlock()
	return h.arrived, func() { h.once.Do(func() { close(h.release) }) }
}

// Accepted lists the requests taken, in order.
func (r *Receiver) Accepted() []Accepted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Accepted(nil), r.accepted...)
}

// IDs lists the ids of the requests taken, in order.
func (r *Receiver) IDs() []string {
	var out []string
	for _, a := range r.Accepted() {
		out = append(out, a.ID)
	}
	return out
}

// Problems lists what invalid requests got wrong.
func (r *Receiver) Problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.problems...)
}

// Requests counts every request that arrived, taken or not.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests++
	h := r.hold
	r.hold = nil
	fail := r.failN > 0
	code := r.failCode
	if fail {
		r.failN--
	}
	r.mu.Unlock()
	if h != nil {
		close(h.arrived)
		select {
		case <-h.release:
		case <-req.Context().Done():
			return // the sender gave up: nothing was taken
		}
	}
	if fail {
		http.Error(w, http.StatusText(code), code)
		return
	}
	var problems []string
	if req.Method != http.MethodPost {
		problems = append(problems, "method "+req.Method+", want POST")
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problems = append(problems, fmt.Sprintf("Content-Type %q, want application/json", req.Header.Get("Content-Type")))
	}
	id, more := r.validate(req, body)
	problems = append(problems, more...)
	if len(problems) > 0 {
		r.mu.Lock()
		r.problems = append(r.problems, problems...)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, r.badBody(problems))
		return
	}
	if req.Context().Err() != nil {
		return
	}
	r.mu.Lock()
	r.accepted = append(r.accepted, Accepted{ID: id, Body: body})
	r.mu.Unlock()
	w.WriteHeader(r.okStatus)
	_, _ = io.WriteString(w, strings.ReplaceAll(r.okBody, "{id}", jsonEscape(id)))
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// strict decodes body into v refusing unknown fields and trailing data.
func strict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// --- PagerDuty Events API v2 --------------------------------------------

// PagerDuty's event, as its Events API v2 documents it.
type pdEvent struct {
	RoutingKey  string           `json:"routing_key"`
	EventAction string           `json:"event_action"`
	DedupKey    string           `json:"dedup_key"`
	Payload     *pdPayload       `json:"payload"`
	Images      []map[string]any `json:"images"`
	Links       []struct {
		Href string `json:"href"`
		Text string `json:"text"`
	} `json:"links"`
	Client    string `json:"client"`
	ClientURL string `json:"client_url"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component"`
	Group         string         `json:"group"`
	Class         string         `json:"class"`
	CustomDetails map[string]any `json:"custom_details"`
}

// NewPagerDuty serves the Events API v2 enqueue endpoint for one routing
// key: 202 with status "success" for a valid event, 400 with status
// "invalid event" and the errors otherwise.
func NewPagerDuty(routingKey string) *Receiver {
	return newReceiver(func(_ *http.Request, body []byte) (string, []string) {
		var e pdEvent
		if err := strict(body, &e); err != nil {
			return "", []string{"not an Events API v2 event: " + err.Error()}
		}
		var ps []string
		if e.RoutingKey != routingKey {
			ps = append(ps, "routing_key is not the integration's")
		}
		switch e.EventAction {
		case "trigger":
			switch p := e.Payload; {
			case p == nil:
				ps = append(ps, "payload is required for a trigger")
			default:
				if p.Summary == "" || utf8.RuneCountInString(p.Summary) > 1024 {
					ps = append(ps, "payload.summary must hold 1 to 1024 characters")
				}
				if p.Source == "" {
					ps = append(ps, "payload.source is required")
				}
				if !oneOf(p.Severity, "critical", "error", "warning", "info") {
					ps = append(ps, fmt.Sprintf("payload.severity %q is not critical, error, warning or info", p.Severity))
				}
				if p.Timestamp != "" {
					if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
						ps = append(ps, "payload.timestamp is not ISO 8601")
					}
				}
			}
		case "acknowledge", "resolve":
			if e.DedupKey == "" {
				ps = append(ps, "dedup_key is required to "+e.EventAction)
			}
		default:
			ps = append(ps, fmt.Sprintf("event_action %q is not trigger, acknowledge or resolve", e.EventAction))
		}
		if len(e.DedupKey) > 255 {
			ps = append(ps, "dedup_key is longer than 255 characters")
		}
		for _, l := range e.Links {
			if !strings.HasPrefix(l.Href, "http") {
				ps = append(ps, "links[].href is not a URL")
			}
		}
		return e.DedupKey + " " + e.EventAction, ps
	}, http.StatusAccepted, `{"status":"success","message":"Event processed","dedup_key":"{id}"}`,
		func(ps []string) string {
			b, _ := json.Marshal(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": ps})
			return string(b)
		})
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// --- Slack incoming webhooks -----------------------------------------------

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	BlockID  string      `json:"block_id"`
	Text     *slackText  `json:"text"`
	Fields   []slackText `json:"fields"`
	Elements []slackText `json:"elements"`
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji *bool  `json:"emoji"`
}

// eventKey finds the Rampart event key, which notify writes in backticks
// in the context block, to identify what a message delivered.
var eventKey = regexp.MustCompile("`([^`]+)`")

// NewSlack serves an incoming webhook: "ok" for a valid message,
// 400 "invalid_blocks" (or "invalid_payload") otherwise. It checks Block
// Kit's rules for the header, section and context blocks.
func NewSlack() *Receiver {
	return newReceiver(func(_ *http.Request, body []byte) (string, []string) {
		var m slackMessage
		if err := strict(body, &m); err != nil {
			return "", []string{"invalid_payload: " + err.Error()}
		}
		var ps []string
		if m.Text == "" && len(m.Blocks) == 0 {
			ps = append(ps, "no_text: a message needs text or blocks")
		}
		if len(m.Blocks) > 50 {
			ps = append(ps, "invalid_blocks: more than 50 blocks")
		}
		id := ""
		for i, b := range m.Blocks {
			at := fmt.Sprintf("blocks[%d]", i)
			switch b.Type {
			case "header":
				if b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text == "" || utf8.RuneCountInString(b.Text.Text) > 150 {
					ps = append(ps, at+": a header holds plain_text of 1 to 150 characters")
				}
				if len(b.Fields) > 0 || len(b.Elements) > 0 {
					ps = append(ps, at+": a header holds text only")
				}
			case "section":
				if b.Text == nil && len(b.Fields) == 0 {
					ps = append(ps, at+": a section needs text or fields")
				}
				if b.Text != nil && (!textObject(*b.Text) || utf8.RuneCountInString(b.Text.Text) > 3000) {
					ps = append(ps, at+".text: a text object of 1 to 3000 characters")
				}
				if len(b.Fields) > 10 {
					ps = append(ps, at+".fields: at most 10")
				}
				for _, f := range b.Fields {
					if !textObject(f) || utf8.RuneCountInString(f.Text) > 2000 {
						ps = append(ps, at+".fields: text objects of 1 to 2000 characters")
					}
				}
			case "context":
				if len(b.Elements) == 0 || len(b.Elements) > 10 {
					ps = append(ps, at+": a context holds 1 to 10 elements")
				}
				for _, e := range b.Elements {
					if !textObject(e) {
						ps = append(ps, at+".elements: text objects")
					}
					if m := eventKey.FindStringSubmatch(e.Text); m != nil {
						id = m[1]
					}
				}
			case "divider":
			default:
				ps = append(ps, fmt.Sprintf("%s: unknown block type %q", at, b.Type))
			}
		}
		if len(ps) > 0 {
			ps[0] = "invalid_blocks: " + ps[0]
		}
		return id, ps
	}, http.StatusOK, "ok", func(ps []string) string { return strings.SplitN(ps[0], ":", 2)[0] })
}

func textObject(t slackText) bool {
	return (t.Type == "plain_text" || t.Type == "mrkdwn") && t.Text != "" && (t.Emoji == nil || t.Type == "plain_text")
}

// --- Microsoft Teams workflow webhooks -----------------------------------

type teamsMessage struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string          `json:"contentType"`
		ContentURL  *string         `json:"contentUrl"`
		Content     json.RawMessage `json:"content"`
	} `json:"attachments"`
}

type adaptiveCard struct {
	Schema  string            `json:"$schema"`
	Type    string            `json:"type"`
	Version string            `json:"version"`
	Body    []json.RawMessage `json:"body"`
	Actions []struct {
		Type  string `json:"type"`
		Title string `json:"title"`
		URL   string `json:"url"`
	} `json:"actions"`
	MSTeams map[string]any `json:"msteams"`
}

type cardElement struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Weight string `json:"weight"`
	Size   string `json:"size"`
	Color  string `json:"color"`
	Wrap   bool   `json:"wrap"`
	Facts  []struct {
		Title string `json:"title"`
		Value string `json:"value"`
	} `json:"facts"`
}

var cardVersion = regexp.MustCompile(`^1\.[0-6]$`)

// NewTeams serves a Teams workflow webhook ("When a Teams webhook request
// is received"): 202 Accepted for a message whose attachments are Adaptive
// Cards, 400 otherwise.
func NewTeams() *Receiver {
	return newReceiver(func(_ *http.Request, body []byte) (string, []string) {
		var m teamsMessage
		if err := strict(body, &m); err != nil {
			return "", []string{"not a message: " + err.Error()}
		}
		var ps []string
		if m.Type != "message" {
			ps = append(ps, fmt.Sprintf("type %q, want message", m.Type))
		}
		if len(m.Attachments) == 0 {
			ps = append(ps, "no attachments")
		}
		id := ""
		for i, a := range m.Attachments {
			if a.ContentType != "application/vnd.microsoft.card.adaptive" {
				ps = append(ps, fmt.Sprintf("attachments[%d].contentType %q is not an Adaptive Card", i, a.ContentType))
				continue
			}
			var c adaptiveCard
			if err := strict(a.Content, &c); err != nil {
				ps = append(ps, fmt.Sprintf("attachments[%d].content: %v", i, err))
				continue
			}
			if c.Type != "AdaptiveCard" || !cardVersion.MatchString(c.Version) || c.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" {
				ps = append(ps, fmt.Sprintf("attachments[%d].content: type %q version %q schema %q", i, c.Type, c.Version, c.Schema))
			}
			if len(c.Body) == 0 {
				ps = append(ps, fmt.Sprintf("attachments[%d].content.body is empty", i))
			}
			for j, raw := range c.Body {
				var el cardElement
				if err := strict(raw, &el); err != nil {
					ps = append(ps, fmt.Sprintf("body[%d]: %v", j, err))
					continue
				}
				switch el.Type {
				case "TextBlock":
					if el.Text == "" {
						ps = append(ps, fmt.Sprintf("body[%d]: a TextBlock needs text", j))
					}
					if el.Weight != "" && !oneOf(el.Weight, "Default", "Lighter", "Bolder") ||
						el.Size != "" && !oneOf(el.Size, "Default", "Small", "Medium", "Large", "ExtraLarge") ||
						el.Color != "" && !oneOf(el.Color, "Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention") {
						ps = append(ps, fmt.Sprintf("body[%d]: weight, size or color outside the schema's values", j))
					}
				case "FactSet":
					if len(el.Facts) == 0 {
						ps = append(ps, fmt.Sprintf("body[%d]: a FactSet needs facts", j))
					}
					for _, f := range el.Facts {
						if f.Title == "key" {
							id = f.Value
						}
					}
				default:
					ps = append(ps, fmt.Sprintf("body[%d]: element type %q not expected", j, el.Type))
				}
			}
			for _, act := range c.Actions {
				if act.Type != "Action.OpenUrl" || !strings.HasPrefix(act.URL, "http") {
					ps = append(ps, "actions: want Action.OpenUrl with a URL")
				}
			}
		}
		return id, ps
	}, http.StatusAccepted, "", func(ps []string) string {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "InvalidRequestContent", "message": strings.Join(ps, "; ")}})
		return string(b)
	})
}

// --- Rampart's generic webhook ---------------------------------------------

// NewWebhook serves a receiver of Rampart's generic webhook that checks
// X-Rampart-Signature (the HMAC-SHA256 of the body under secret, compared
// in constant time) and X-Rampart-Timestamp (within five minutes, and the
// body's sent_at), and answers 204. It refuses anything else with 400.
func NewWebhook(secret []byte) *Receiver {
	r := newReceiver(func(req *http.Request, body []byte) (string, []string) {
		var ps []string
		sig := req.Header.Get("X-Rampart-Signature")
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexSig)
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		if !ok || err != nil || !hmac.Equal(got, m.Sum(nil)) {
			ps = append(ps, "X-Rampart-Signature does not match the body")
		}
		ts, err := strconv.ParseInt(req.Header.Get("X-Rampart-Timestamp"), 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
			ps = append(ps, "X-Rampart-Timestamp missing or more than five minutes off")
		}
		var b struct {
			SentAt   int64  `json:"sent_at"`
			Receiver string `json:"receiver"`
			Event    struct {
				Key    string `json:"key"`
				Kind   string `json:"kind"`
				Action string `json:"action"`
				Title  string `json:"title"`
			} `json:"event"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return "", append(ps, "body is not JSON: "+err.Error())
		}
		if b.SentAt != ts {
			ps = append(ps, "sent_at differs from X-Rampart-Timestamp")
		}
		if b.Event.Key == "" || b.Event.Key != req.Header.Get("X-Rampart-Delivery") {
			ps = append(ps, "X-Rampart-Delivery differs from the event's key")
		}
		if b.Event.Kind != req.Header.Get("X-Rampart-Event") || b.Event.Title == "" {
			ps = append(ps, "X-Rampart-Event differs from the event's kind, or no title")
		}
		return b.Event.Key, ps
	}, http.StatusNoContent, "", func(ps []string) string {
		b, _ := json.Marshal(map[string]any{"errors": ps})
		return string(b)
	})
	return r
}
