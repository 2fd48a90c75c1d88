package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/notify"
	"github.com/rampart-dev/rampart/notify/notifytest"
)

// FuzzPayloads sends events with arbitrary titles, summaries and labels
// (store content people and checks wrote) to the PagerDuty, Slack and Teams
// fakes: whatever the text, every payload stays within the documented
// limits and formats.
func FuzzPayloads(f *testing.F) {
	f.Add("Certificate expired", "renew <it> & now", "security/pki", "shop", uint8(4), true)
	f.Add(strings.Repeat("é", 400), strings.Repeat("`*_~", 1000), "", "", uint8(0), false)
	f.Add("x", "", strings.Repeat("a", 3000), "\xff\xfe", uint8(2), true)
	f.Add(" ", "\n\n", "area", "日本語のリソース", uint8(3), false)
	pd, slack, teams := notifytest.NewPagerDuty(routingKey), notifytest.NewSlack(), notifytest.NewTeams()
	f.Cleanup(func() { pd.Close(); slack.Close(); teams.Close() })
	client := &http.Client{}
	senders := []notify.Sender{
		&notify.PagerDuty{Name: "pd", URL: pd.URL, RoutingKey: routingKey, ExternalURL: "https://r.example", Client: client},
		&notify.Slack{Name: "slack", WebhookURL: slack.URL, ExternalURL: "https://r.example", Client: client},
		&notify.Teams{Name: "teams", WebhookURL: teams.URL, ExternalURL: "https://r.example", Client: client},
	}
	f.Fuzz(func(t *testing.T, title, summary, area, resource string, sev uint8, alert bool) {
		e := rampart.OutboxEvent{
			Key: "k:" + resource, Kind: rampart.EventFindingNew, Action: rampart.ActionNotice,
			Severity: rampart.Severity(sev % 5), Title: title, Summary: summary,
			Labels: map[string]string{"area": area, "resource": resource}, Path: "/tasks/1", StartsAt: t0,
		}
		if alert {
			e.AlertKey, e.Action = "finding:"+resource, rampart.ActionTrigger
		}
		if e.Validate() != nil {
			return
		}
		for _, s := range senders {
			if err := s.Send(context.Background(), &e); err != nil {
				t.Fatalf("%T: %v", s, err)
			}
		}
	})
}
