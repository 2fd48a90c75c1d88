package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart"
)

// Headers of the generic webhook.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// request body under the receiver's secret.
	SignatureHeader = "X-Rampart-Signature"
	// TimestampHeader carries the Unix time the request was signed; the
	// body's sent_at holds the same instant, so the signature covers it
	// and a receiver can refuse old replays.
	TimestampHeader = "X-Rampart-Timestamp"
	// EventHeader names the event kind; DeliveryHeader the event's key,
	// the same on every retry, for the receiver to deduplicate.
	EventHeader    = "X-Rampart-Event"
	DeliveryHeader = "X-Rampart-Delivery"
)

// Webhook posts each event as JSON to a URL, signed with HMAC-SHA256.
type Webhook struct {
	Name        string
	URL         string
	Secret      []byte
	BearerToken string
	ExternalURL string
	Client      *http.Client
	Now         func() time.Time
}

// WebhookBody is what the generic webhook posts.
type WebhookBody struct {
	// SentAt is the signing time, in Unix seconds (TimestampHeader).
	SentAt   int64               `json:"sent_at"`
	Receiver string              `json:"receiver"`
	Event    rampart.OutboxEvent `json:"event"`
	// URL is the event's page in Rampart, when its external URL is set.
	URL string `json:"url,omitempty"`
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send posts one event.
func (w *Webhook) Send(ctx context.Context, e *rampart.OutboxEvent) error {
	now := w.Now().Unix()
	body, err := json.Marshal(WebhookBody{SentAt: now, Receiver: w.Name, Event: *e, URL: link(w.ExternalURL, e)})
	if err != nil {
		return &SendError{Receiver: w.Name, Permanent: true, Err: err}
	}
	h := http.Header{}
	h.Set(SignatureHeader, Sign(w.Secret, body))
	h.Set(TimestampHeader, strconv.FormatInt(now, 10))
	h.Set(EventHeader, string(e.Kind))
	h.Set(DeliveryHeader, e.Key)
	if w.BearerToken != "" {
		h.Set("Authorization", "Bearer "+w.BearerToken)
	}
	return post(ctx, w.Client, w.Name, w.URL, body, h)
}
