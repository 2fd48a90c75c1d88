package register_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/register"
)

func TestScheduleAndNotify(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/notify-valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := register.Parse("notify-valid.yaml", data, testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule.TimeZoneName != "Europe/Madrid" || c.Schedule.Jitter != 10*time.Minute || c.Schedule.ReviewGrace != 21*24*time.Hour {
		t.Errorf("Schedule = %+v", c.Schedule)
	}
	n := c.Notify
	if n.ExternalURL != "https://rampart.example.com" || n.ResendInterval != 2*time.Minute {
		t.Errorf("external URL %q, resend %s", n.ExternalURL, n.ResendInterval)
	}
	want := []rampart.Receiver{
		{Name: "alertmanager", Type: rampart.ReceiverAlertmanager, URL: "http://alertmanager.monitoring:9093"},
		{Name: "oncall", Type: rampart.ReceiverPagerDuty, URL: register.DefaultPagerDutyURL, RoutingKey: "env:PAGERDUTY_ROUTING_KEY"},
		{Name: "platform-slack", Type: rampart.ReceiverSlack, WebhookURL: "env:SLACK_WEBHOOK_URL"},
		{Name: "platform-teams", Type: rampart.ReceiverTeams, WebhookURL: "file:/run/secrets/teams-webhook"},
		{Name: "siem", Type: rampart.ReceiverWebhook, URL: "https://siem.example.com/hooks/rampart", Secret: "env:RAMPART_WEBHOOK_SECRET", BearerToken: "env:SIEM_TOKEN"},
	}
	if len(n.Receivers) != len(want) {
		t.Fatalf("receivers = %+v", n.Receivers)
	}
	for i, w := range want {
		got := n.Receivers[i]
		if got.Source.Line == 0 {
			t.Errorf("receiver %s has no position", got.Name)
		}
		got.Source = rampart.Position{}
		if got != w {
			t.Errorf("receiver %d = %+v, want %+v", i, got, w)
		}
	}
	if len(n.Routes) != 3 {
		t.Fatalf("routes = %+v", n.Routes)
	}
	pd := n.Routes[0]
	if pd.MinSeverity == nil || *pd.MinSeverity != rampart.SeverityCritical || pd.Areas[0] != "security" || pd.Environments[0] != "production" {
		t.Errorf("first route = %+v", pd)
	}
	ev := rampart.OutboxEvent{
		Kind: rampart.EventFindingNew, Severity: rampart.SeverityCritical,
		Labels: map[string]string{"area": "security/pki", "environment": "production"},
	}
	if got := strings.Join(n.ReceiversFor(&ev), ","); got != "oncall,alertmanager,platform-teams" {
		t.Errorf("a critical production security finding goes to %s", got)
	}
}

func TestScheduleDefaults(t *testing.T) {
	t.Parallel()
	c, err := register.Parse("r.yaml", []byte("version: 1\nsettings: {timezone: Europe/Madrid}\n"), testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule.TimeZoneName != "Europe/Madrid" || c.Schedule.Jitter != register.DefaultJitter ||
		c.Schedule.ReviewGrace != register.DefaultReviewGrace || c.Notify.ResendInterval != register.DefaultResendInterval {
		t.Errorf("defaults: schedule %+v, resend %s", c.Schedule, c.Notify.ResendInterval)
	}
	c, err = register.Parse("r.yaml", []byte("version: 1\nsettings: {timezone: Europe/Madrid}\nschedule: {timezone: UTC}\n"), testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule.TimeZoneName != "UTC" || c.Settings.TimeZoneName != "Europe/Madrid" {
		t.Errorf("schedule.timezone did not override for the schedule alone: %s, %s", c.Schedule.TimeZoneName, c.Settings.TimeZoneName)
	}
}

// Webhook URLs and keys that grant the right to post are credentials: a
// literal one is an error that never repeats it.
func TestNotifyCredentials(t *testing.T) {
	t.Parallel()
	slackURL := "https://hooks.slack.com/services/T0000/B0000/" + strings.Repeat("x", 24) // gitleaks:allow
	teamsURL := "https://acme.webhook.office.com/webhookb2/" + strings.Repeat("y", 30)    // gitleaks:allow
	routingKey := "R0" + strings.Repeat("9", 30)
	for _, tc := range []struct {
		name, receiver, secret string
	}{
		{"slack webhook URL", "{name: s, type: slack, webhookURL: " + slackURL + "}", slackURL},
		{"slack URL in url", "{name: s, type: slack, url: " + slackURL + "}", slackURL},
		{"teams webhook URL", "{name: t, type: teams, webhookURL: '" + teamsURL + "'}", teamsURL},
		{"pagerduty routing key", "{name: p, type: pagerduty, routingKey: " + routingKey + "}", routingKey},
		{"webhook secret", "{name: w, type: webhook, url: https://x.example, secret: hunter2hunter2}", "hunter2hunter2"},
		{"alertmanager bearer token", "{name: a, type: alertmanager, url: https://am.example, bearerToken: abcdefabcdef}", "abcdefabcdef"},
		{"token in a URL's query", "{name: a, type: alertmanager, url: 'https://am.example/?token=abcdefabcdef'}", "abcdefabcdef"},
	} {
		doc := "version: 1\nnotify:\n  receivers:\n    - " + tc.receiver + "\n"
		_, err := register.Parse("r.yaml", []byte(doc), testKinds())
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), "literal credential") {
			t.Errorf("%s: error %q does not say it is a literal credential", tc.name, err)
		}
		if strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%s: error repeats the secret: %v", tc.name, err)
		}
	}
}
