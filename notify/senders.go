package notify

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/rampart-dev/rampart"
)

// DefaultTimeout bounds one request to a receiver.
const DefaultTimeout = 10 * time.Second

// NewSenders builds a sender for each configured receiver, resolving its
// credentials through env. An unresolvable credential is an error naming
// the receiver and the reference, never the value. client is shared by
// every sender (a client with DefaultTimeout when nil).
func NewSenders(cfg rampart.NotifyConfig, env rampart.Env, client *http.Client, now func() time.Time) (map[string]Sender, error) {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	if now == nil {
		now = time.Now
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.ReadFile == nil {
		env.ReadFile = os.ReadFile
	}
	resend := cfg.ResendInterval
	if resend <= 0 {
		resend = time.Minute
	}
	out := map[string]Sender{}
	var errs []error
	for _, r := range cfg.Receivers {
		resolve := func(what string, ref rampart.SecretRef) string {
			if ref == "" {
				return ""
			}
			v, err := ref.Resolve(env.Getenv, env.ReadFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("receiver %s: %s: %w", r.Name, what, err))
			}
			return v
		}
		switch r.Type {
		case rampart.ReceiverAlertmanager:
			out[r.Name] = &Alertmanager{
				Name: r.Name, URL: r.URL, BearerToken: resolve("bearer token", r.BearerToken),
				ExternalURL: cfg.ExternalURL, ResendInterval: resend, Client: client, Now: now,
			}
		case rampart.ReceiverPagerDuty:
			u := r.URL
			if u == "" {
				u = "https://events.pagerduty.com/v2/enqueue"
			}
			out[r.Name] = &PagerDuty{
				Name: r.Name, URL: u, RoutingKey: resolve("routing key", r.RoutingKey),
				ExternalURL: cfg.ExternalURL, Client: client,
			}
		case rampart.ReceiverSlack:
			out[r.Name] = &Slack{Name: r.Name, WebhookURL: resolve("webhook URL", r.WebhookURL), ExternalURL: cfg.ExternalURL, Client: client}
		case rampart.ReceiverTeams:
			out[r.Name] = &Teams{Name: r.Name, WebhookURL: resolve("webhook URL", r.WebhookURL), ExternalURL: cfg.ExternalURL, Client: client}
		case rampart.ReceiverWebhook:
			out[r.Name] = &Webhook{
				Name: r.Name, URL: r.URL, Secret: []byte(resolve("secret", r.Secret)),
				BearerToken: resolve("bearer token", r.BearerToken), ExternalURL: cfg.ExternalURL, Client: client, Now: now,
			}
		default:
			errs = append(errs, fmt.Errorf("receiver %s: unknown type %q", r.Name, r.Type))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
