// Package notify delivers Rampart's notifications from the store's durable
// outbox to Alertmanager (API v2), PagerDuty (Events API v2), Slack
// (incoming webhooks), Microsoft Teams (workflow webhooks with an Adaptive
// Card) and generic webhooks (HMAC-SHA256 signed). A Watcher turns the
// store's state into alerts that trigger and resolve (new critical and high
// findings, failing controls, overdue reviews, expiring exceptions and
// certificates, integrations in error); a Dispatcher routes each event to
// its receivers once, claims each delivery with a lease, and retries with
// exponential backoff until the receiver takes it, so that a restart or a
// receiver that is down loses nothing and sends nothing twice. See
// docs/notifications.md.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-dev/rampart"
)

// Sender delivers one event to one receiver.
type Sender interface {
	Send(ctx context.Context, e *rampart.OutboxEvent) error
}

// SendError is a receiver's refusal. Permanent refusals (a malformed
// payload, a revoked webhook) are not retried; the others are, after
// RetryAfter when the receiver said how long to wait.
type SendError struct {
	Receiver   string
	Status     int
	Permanent  bool
	RetryAfter time.Duration
	Err        error
}

func (e *SendError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: HTTP %d: %v", e.Receiver, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Receiver, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// maxBody bounds how much of a receiver's answer is read, for the error.
const maxBody = 4 << 10

// post sends body to url and classifies the answer: 2xx is done; 408,
// 429 and 5xx are worth retrying; any other status is permanent. A
// transport error is retried. The URL is left out of errors: Slack's and
// Teams' hold their token.
func post(ctx context.Context, client *http.Client, receiver, url string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &SendError{Receiver: receiver, Permanent: true, Err: errors.New("the receiver's URL is not valid")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rampart-notify")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &SendError{Receiver: receiver, Err: scrubURL(err)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &SendError{Receiver: receiver, Status: resp.StatusCode, Err: fmt.Errorf("%s", printable(answer))}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		se.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	default:
		se.Permanent = true
	}
	return se
}

// scrubURL drops the URL from a transport error (url.Error prints it).
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func printable(b []byte) string {
	s := strings.TrimSpace(string(b))
	if !utf8.ValidString(s) {
		return fmt.Sprintf("(%d bytes of binary answer)", len(b))
	}
	if s == "" {
		return "(no body)"
	}
	return truncate(s, 300)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// link is the event's page in Rampart's UI, when Rampart knows its own URL.
func link(external string, e *rampart.OutboxEvent) string {
	if external == "" || e.Path == "" {
		return ""
	}
	return external + e.Path
}

// headline is the one line shown for an event: its title, marked when it
// resolves.
func headline(e *rampart.OutboxEvent) string {
	switch e.Action {
	case rampart.ActionResolve:
		return "Resolved: " + e.Title
	case rampart.ActionTrigger:
		return "Firing: " + e.Title
	}
	return e.Title
}

// facts are an event's labels as name/value pairs in a stable order.
func facts(e *rampart.OutboxEvent) [][2]string {
	out := [][2]string{{"severity", e.Severity.String()}, {"event", string(e.Kind)}}
	for _, k := range []string{"area", "control", "resource", "environment", "check", "kind", "owner"} {
		if v := e.Labels[k]; v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}
