package rampart_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
)

func sev(s rampart.Severity) *rampart.Severity { return &s }

func TestRouteMatches(t *testing.T) {
	t.Parallel()
	ev := rampart.OutboxEvent{
		Kind: rampart.EventFindingNew, Severity: rampart.SeverityHigh,
		Labels: map[string]string{"area": "security/pki", "environment": "production"},
	}
	for _, tc := range []struct {
		name  string
		route rampart.Route
		want  bool
	}{
		{"empty matches all", rampart.Route{}, true},
		{"event kind", rampart.Route{Events: []rampart.EventKind{rampart.EventFindingNew}}, true},
		{"other event kind", rampart.Route{Events: []rampart.EventKind{rampart.EventReviewDue}}, false},
		{"severity at the minimum", rampart.Route{MinSeverity: sev(rampart.SeverityHigh)}, true},
		{"severity below the minimum", rampart.Route{MinSeverity: sev(rampart.SeverityCritical)}, false},
		{"parent area", rampart.Route{Areas: []string{"security"}}, true},
		{"exact area", rampart.Route{Areas: []string{"security/pki"}}, true},
		{"area prefix that is not a parent", rampart.Route{Areas: []string{"sec"}}, false},
		{"environment", rampart.Route{Environments: []string{"staging", "production"}}, true},
		{"other environment", rampart.Route{Environments: []string{"staging"}}, false},
		{"all matchers must match", rampart.Route{Areas: []string{"security"}, Environments: []string{"staging"}}, false},
	} {
		if got := tc.route.Matches(&ev); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
	noEnv := rampart.OutboxEvent{Kind: rampart.EventControlFailing, Labels: map[string]string{"area": "security"}}
	r := rampart.Route{Environments: []string{"production"}}
	if r.Matches(&noEnv) {
		t.Errorf("an environment route matched an event about no resource")
	}
}

func TestReceiversFor(t *testing.T) {
	t.Parallel()
	cfg := rampart.NotifyConfig{
		Receivers: []rampart.Receiver{{Name: "pd"}, {Name: "am"}, {Name: "slack"}},
		Routes: []rampart.Route{
			{Receivers: []string{"pd"}, MinSeverity: sev(rampart.SeverityCritical), Areas: []string{"security"}},
			{Receivers: []string{"am", "slack"}},
			{Receivers: []string{"slack"}, Events: []rampart.EventKind{rampart.EventReviewDue}},
		},
	}
	for _, tc := range []struct {
		name string
		ev   rampart.OutboxEvent
		want []string
	}{
		{"critical security finding", rampart.OutboxEvent{
			Kind: rampart.EventFindingNew, Severity: rampart.SeverityCritical,
			Labels: map[string]string{"area": "security/pki"},
		}, []string{"pd", "am", "slack"}},
		{"high finding", rampart.OutboxEvent{
			Kind: rampart.EventFindingNew, Severity: rampart.SeverityHigh,
			Labels: map[string]string{"area": "security/pki"},
		}, []string{"am", "slack"}},
		{"each receiver once", rampart.OutboxEvent{Kind: rampart.EventReviewDue}, []string{"am", "slack"}},
		{"a test goes to the receiver it names", rampart.OutboxEvent{
			Kind:   rampart.EventTest,
			Labels: map[string]string{"receiver": "pd"},
		}, []string{"pd"}},
		{"a test to an unknown receiver goes nowhere", rampart.OutboxEvent{
			Kind:   rampart.EventTest,
			Labels: map[string]string{"receiver": "nope"},
		}, nil},
	} {
		if got := cfg.ReceiversFor(&tc.ev); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ReceiversFor = %v, want %v", tc.name, got, tc.want)
		}
	}
	all := rampart.NotifyConfig{Receivers: cfg.Receivers}
	ev := rampart.OutboxEvent{Kind: rampart.EventScanErrors}
	if got := all.ReceiversFor(&ev); !slices.Equal(got, []string{"pd", "am", "slack"}) {
		t.Errorf("without routes: ReceiversFor = %v, want every receiver", got)
	}
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ev   rampart.OutboxEvent
		want string
	}{
		{"notice", rampart.OutboxEvent{Key: "k", Kind: rampart.EventReviewDue, Action: rampart.ActionNotice, Title: "t"}, ""},
		{"trigger", rampart.OutboxEvent{AlertKey: "a", Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger, Title: "t"}, ""},
		{"bare resolve", rampart.OutboxEvent{AlertKey: "a", Action: rampart.ActionResolve}, ""},
		{"no action", rampart.OutboxEvent{Key: "k"}, "event action"},
		{"notice without key", rampart.OutboxEvent{Kind: rampart.EventReviewDue, Action: rampart.ActionNotice, Title: "t"}, "needs a key"},
		{"trigger without alert key", rampart.OutboxEvent{Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger, Title: "t"}, "alert key"},
		{"trigger without title", rampart.OutboxEvent{AlertKey: "a", Kind: rampart.EventFindingNew, Action: rampart.ActionTrigger}, "title"},
	} {
		err := tc.ev.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	trigger := rampart.OutboxEvent{AlertKey: "finding:abc", Key: "finding:abc#1"}
	resolve := rampart.OutboxEvent{AlertKey: "finding:abc", Key: "finding:abc#2"}
	if trigger.DedupKey() != resolve.DedupKey() {
		t.Errorf("trigger and resolve dedup keys differ: %s, %s", trigger.DedupKey(), resolve.DedupKey())
	}
	notice := rampart.OutboxEvent{Key: "review.due:GH-01::1"}
	if notice.DedupKey() != "rampart/review.due:GH-01::1" {
		t.Errorf("notice dedup key = %s", notice.DedupKey())
	}
	long := rampart.OutboxEvent{AlertKey: strings.Repeat("x", 300)}
	if k := long.DedupKey(); len(k) > 64 || k != (&rampart.OutboxEvent{AlertKey: strings.Repeat("x", 300)}).DedupKey() {
		t.Errorf("long dedup key %q: want a stable key of at most 64 characters", k)
	}
}

func TestReviewEvents(t *testing.T) {
	t.Parallel()
	r := review(42, "GH-01", "org", q2Start, rampart.ReviewOpen)
	r.Owner, r.Area, r.Environment, r.Periodicity = "platform-lead", "source-control/github", "production", "quarterly"
	due := rampart.ReviewDueEvent(&r)
	if err := due.Validate(); err != nil {
		t.Fatal(err)
	}
	if due.Action != rampart.ActionNotice || due.Path != "/reviews/42" || due.Labels["environment"] != "production" || !due.StartsAt.Equal(q2Start) {
		t.Errorf("due notice = %+v", due)
	}
	over := rampart.ReviewOverdueAlert(&r)
	if err := over.Validate(); err != nil {
		t.Fatal(err)
	}
	if over.AlertKey != "review:42" || over.Action != rampart.ActionTrigger || !over.StartsAt.Equal(r.DueBy) {
		t.Errorf("overdue alert = %+v", over)
	}
}
