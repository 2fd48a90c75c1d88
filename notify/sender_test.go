package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/notify"
	"github.com/rampart-dev/rampart/notify/notifytest"
)

const (
	routingKey    = "R0123456789abcdef0123456789abcd" // a fake PagerDuty integration key
	webhookSecret = "s3cret-for-hmac"
)

var t0 = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

func triggerEvent() rampart.OutboxEvent {
	return rampart.OutboxEvent{
		ID: 1, Key: "finding:abc#1", AlertKey: "finding:abc", Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger,
		Severity: rampart.SeverityCritical, Title: "New critical finding on shop: Certificate expired",
		Summary: "certificate shop.test expired on 2026-03-01 <at> & midnight",
		Labels:  map[string]string{"area": "security/pki", "resource": "shop", "check": "TLS-EXPIRED", "environment": "production"},
		Path:    "/tasks/1", StartsAt: t0, CreatedAt: t0,
	}
}

func resolveEvent() rampart.OutboxEvent {
	e := triggerEvent()
	e.ID, e.Key, e.Action, e.EndsAt = 2, "finding:abc#2", rampart.ActionResolve, t0.Add(time.Hour)
	return e
}

func noticeEvent() rampart.OutboxEvent {
	return rampart.OutboxEvent{
		ID: 3, Key: "review.due:GH-01:org:1775001600", Kind: rampart.EventReviewDue, Action: rampart.ActionNotice,
		Severity: rampart.SeverityLow, Title: "Review due: GH-01 GitHub organization access is controlled",
		Labels: map[string]string{"control": "GH-01", "owner": "platform-lead"}, Path: "/reviews/4", StartsAt: t0, CreatedAt: t0,
	}
}

func now() time.Time { return time.Now() }

// Every sender's payload passes its fake's check of the documented format,
// for a trigger, its resolve and a notice.
func TestPayloadsMatchTheDocumentedFormats(t *testing.T) {
	t.Parallel()
	client := &http.Client{Timeout: 5 * time.Second}
	pd, slack, teams, hook := notifytest.NewPagerDuty(routingKey), notifytest.NewSlack(), notifytest.NewTeams(), notifytest.NewWebhook([]byte(webhookSecret))
	for _, r := range []*notifytest.Receiver{pd, slack, teams, hook} {
		t.Cleanup(r.Close)
	}
	const external = "https://rampart.example.com"
	senders := []struct {
		name string
		s    notify.Sender
		fake *notifytest.Receiver
		ids  []string
	}{
		{
			"pagerduty", &notify.PagerDuty{Name: "pd", URL: pd.URL, RoutingKey: routingKey, ExternalURL: external, Client: client}, pd,
			[]string{"rampart/finding:abc trigger", "rampart/finding:abc resolve", "rampart/review.due:GH-01:org:1775001600 trigger"},
		},
		{
			"slack", &notify.Slack{Name: "slack", WebhookURL: slack.URL, ExternalURL: external, Client: client}, slack,
			[]string{"finding:abc#1", "finding:abc#2", "review.due:GH-01:org:1775001600"},
		},
		{
			"teams", &notify.Teams{Name: "teams", WebhookURL: teams.URL, ExternalURL: external, Client: client}, teams,
			[]string{"finding:abc#1", "finding:abc#2", "review.due:GH-01:org:1775001600"},
		},
		{
			"webhook", &notify.Webhook{Name: "hook", URL: hook.URL, Secret: []byte(webhookSecret), ExternalURL: external, Client: client, Now: now}, hook,
			[]string{"finding:abc#1", "finding:abc#2", "review.due:GH-01:org:1775001600"},
		},
	}
	for _, tc := range senders {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, e := range []rampart.OutboxEvent{triggerEvent(), resolveEvent(), noticeEvent()} {
				if err := tc.s.Send(t.Context(), &e); err != nil {
					t.Fatalf("Send %s: %v", e.Key, err)
				}
			}
			if ps := tc.fake.Problems(); len(ps) > 0 {
				t.Fatalf("the fake refused the payload: %v", ps)
			}
			if got := strings.Join(tc.fake.IDs(), ","); got != strings.Join(tc.ids, ",") {
				t.Errorf("delivered %s, want %s", got, strings.Join(tc.ids, ","))
			}
		})
	}
}

func TestPagerDutyPayload(t *testing.T) {
	t.Parallel()
	pd := notifytest.NewPagerDuty(routingKey)
	t.Cleanup(pd.Close)
	s := &notify.PagerDuty{Name: "pd", URL: pd.URL, RoutingKey: routingKey, ExternalURL: "https://r.example", Client: http.DefaultClient}
	e := triggerEvent()
	if err := s.Send(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	var got struct {
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		ClientURL   string `json:"client_url"`
		Payload     struct {
			Summary, Source, Severity, Timestamp, Component, Group, Class string
		} `json:"payload"`
	}
	if err := json.Unmarshal(pd.Accepted()[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.EventAction != "trigger" || got.Payload.Severity != "critical" || got.Payload.Source != "shop" ||
		got.Payload.Group != "security/pki" || got.Payload.Class != "finding.new" || got.Payload.Timestamp != "2026-03-02T10:30:00.000Z" ||
		got.ClientURL != "https://r.example/tasks/1" {
		t.Errorf("PagerDuty event = %+v", got)
	}
	for sev, want := range map[rampart.Severity]string{
		rampart.SeverityCritical: "critical", rampart.SeverityHigh: "error", rampart.SeverityMedium: "warning",
		rampart.SeverityLow: "info", rampart.SeverityInfo: "info",
	} {
		if got := notify.PagerDutySeverity(sev); got != want {
			t.Errorf("PagerDutySeverity(%s) = %s, want %s", sev, got, want)
		}
	}
	// A refused routing key is a permanent error, with PagerDuty's reason.
	bad := &notify.PagerDuty{Name: "pd", URL: pd.URL, RoutingKey: "wrong", Client: http.DefaultClient}
	err := bad.Send(t.Context(), &e)
	var se *notify.SendError
	if !errors.As(err, &se) || !se.Permanent || se.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "routing_key") {
		t.Errorf("wrong routing key: %v, want a permanent 400 naming routing_key", err)
	}
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	hook := notifytest.NewWebhook([]byte(webhookSecret))
	t.Cleanup(hook.Close)
	e := triggerEvent()
	wrong := &notify.Webhook{Name: "hook", URL: hook.URL, Secret: []byte("another secret"), Client: http.DefaultClient, Now: now}
	if err := wrong.Send(t.Context(), &e); err == nil {
		t.Fatal("a body signed with the wrong secret was accepted")
	}
	if ps := hook.Problems(); len(ps) != 1 || !strings.Contains(ps[0], "Signature") {
		t.Errorf("problems = %v, want the signature", ps)
	}
	stale := &notify.Webhook{
		Name: "hook", URL: hook.URL, Secret: []byte(webhookSecret), Client: http.DefaultClient,
		Now: func() time.Time { return time.Now().Add(-time.Hour) },
	}
	if err := stale.Send(t.Context(), &e); err == nil {
		t.Error("a request signed an hour ago was accepted")
	}
	if got := notify.Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog")); got !=
		"sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8" {
		t.Errorf("Sign = %s, want RFC 4231-style HMAC-SHA256", got)
	}
}

func TestAlertmanagerPayload(t *testing.T) {
	t.Parallel()
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	clock := t0.Add(time.Minute)
	am := &notify.Alertmanager{
		Name: "am", URL: srv.URL + "/", ExternalURL: "https://r.example", ResendInterval: time.Minute,
		Client: http.DefaultClient, Now: func() time.Time { return clock },
	}
	e := triggerEvent()
	if err := am.Send(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	a := got[0]
	labels := a["labels"].(map[string]any)
	if labels["alertname"] != "RampartFindingNew" || labels["severity"] != "critical" || labels["rampart_alert"] != "finding:abc" ||
		labels["resource"] != "shop" || a["startsAt"] != "2026-03-02T10:30:00Z" || a["endsAt"] != "2026-03-02T10:35:00Z" ||
		a["generatorURL"] != "https://r.example/tasks/1" {
		t.Errorf("trigger alert = %v", a)
	}
	r := resolveEvent()
	if err := am.Send(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	if got[0]["endsAt"] != "2026-03-02T11:30:00Z" || got[0]["labels"].(map[string]any)["rampart_alert"] != "finding:abc" {
		t.Errorf("resolve alert = %v, want the trigger's labels ending at the resolve", got[0])
	}
	if n := notify.AlertName(rampart.EventCertificateExpiring); n != "RampartCertificateExpiring" {
		t.Errorf("AlertName = %s", n)
	}
}

func TestSendErrorsClassified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status     int
		header     string
		permanent  bool
		retryAfter time.Duration
	}{
		{http.StatusInternalServerError, "", false, 0},
		{http.StatusServiceUnavailable, "120", false, 2 * time.Minute},
		{http.StatusTooManyRequests, "7", false, 7 * time.Second},
		{http.StatusRequestTimeout, "", false, 0},
		{http.StatusBadRequest, "", true, 0},
		{http.StatusNotFound, "", true, 0}, // a deleted Slack channel, a disabled Teams flow
		{http.StatusGone, "", true, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			http.Error(w, "no_service", tc.status)
		}))
		s := &notify.Slack{Name: "slack", WebhookURL: srv.URL + "/services/T000/B000/secretpath", Client: http.DefaultClient}
		e := noticeEvent()
		err := s.Send(context.Background(), &e)
		srv.Close()
		var se *notify.SendError
		if !errors.As(err, &se) || se.Status != tc.status || se.Permanent != tc.permanent || se.RetryAfter != tc.retryAfter {
			t.Errorf("HTTP %d: %#v", tc.status, err)
		}
		if strings.Contains(err.Error(), "secretpath") {
			t.Errorf("the error repeats the webhook URL: %v", err)
		}
	}
	// A receiver that is down: retried, and the URL (which holds Slack's
	// token) is not in the error.
	s := &notify.Slack{Name: "slack", WebhookURL: "http://127.0.0.1:1/services/T000/B000/secretpath", Client: http.DefaultClient}
	e := noticeEvent()
	err := s.Send(context.Background(), &e)
	var se *notify.SendError
	if !errors.As(err, &se) || se.Permanent || strings.Contains(err.Error(), "secretpath") {
		t.Errorf("unreachable receiver: %v", err)
	}
}

func TestNewSendersResolveReferences(t *testing.T) {
	t.Parallel()
	cfg := rampart.NotifyConfig{Receivers: []rampart.Receiver{
		{Name: "pd", Type: rampart.ReceiverPagerDuty, RoutingKey: "env:PD_KEY"},
		{Name: "slack", Type: rampart.ReceiverSlack, WebhookURL: "file:/run/secrets/slack"},
	}}
	env := rampart.Env{
		Getenv: func(k string) string { return map[string]string{"PD_KEY": routingKey}[k] },
		ReadFile: func(p string) ([]byte, error) {
			if p == "/run/secrets/slack" {
				return []byte("https://hooks.slack.example/T/B/x\n"), nil
			}
			return nil, errors.New("no such file")
		},
	}
	ss, err := notify.NewSenders(cfg, env, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pd := ss["pd"].(*notify.PagerDuty); pd.RoutingKey != routingKey || pd.URL != "https://events.pagerduty.com/v2/enqueue" {
		t.Errorf("pagerduty sender = %+v", pd)
	}
	if sl := ss["slack"].(*notify.Slack); sl.WebhookURL != "https://hooks.slack.example/T/B/x" {
		t.Errorf("slack webhook URL = %q", sl.WebhookURL)
	}
	cfg.Receivers[0].RoutingKey = "env:MISSING"
	_, err = notify.NewSenders(cfg, env, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "receiver pd") || !strings.Contains(err.Error(), "MISSING") {
		t.Errorf("missing reference: %v", err)
	}
}
