package engine_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/engine/enginetest"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	tls := &rampart.Integration{Kind: "tls-endpoint"}
	srv := &rampart.Integration{Kind: "server"}
	checks := []*rampart.Check{
		enginetest.WeakCheck("TLS-B", "tls-endpoint", rampart.SeverityLow),
		enginetest.WeakCheck("TLS-A", "tls-endpoint", rampart.SeverityLow),
		enginetest.WeakCheck("SRV-A", "server", rampart.SeverityLow),
		enginetest.WeakCheck("ACME-ORG", "github-org", rampart.SeverityLow), // no integration yet
	}
	web := &rampart.Resource{ID: "web", Kind: "tls-endpoint"}
	db := &rampart.Resource{ID: "db", Kind: "server"}
	org := &rampart.Resource{ID: "org", Kind: "github-org"}
	all := []*rampart.Resource{web, org, db}

	type plan struct {
		Jobs      map[string][]string
		Inventory []string
	}
	tests := []struct {
		name string
		f    engine.Filter
		want plan
	}{
		{"everything", engine.Filter{}, plan{
			Jobs:      map[string][]string{"web": {"TLS-A", "TLS-B"}, "db": {"SRV-A"}},
			Inventory: []string{"org"},
		}},
		{"one check", engine.Filter{CheckIDs: []string{"TLS-B"}}, plan{
			Jobs:      map[string][]string{"web": {"TLS-B"}},
			Inventory: []string{"org"},
		}},
		{"one resource", engine.Filter{ResourceIDs: []string{"db"}}, plan{
			Jobs: map[string][]string{"db": {"SRV-A"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			jobs, inv := engine.Plan(all, []*rampart.Integration{tls, srv}, checks, tt.f)
			got := plan{Jobs: map[string][]string{}}
			for _, j := range jobs {
				for _, c := range j.Checks {
					got.Jobs[j.Resource.ID] = append(got.Jobs[j.Resource.ID], c.ID)
				}
				if j.Integration.Kind != j.Resource.Kind {
					t.Errorf("job of %s has integration %s", j.Resource.ID, j.Integration.Kind)
				}
			}
			for _, r := range inv {
				got.Inventory = append(got.Inventory, r.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	t.Parallel()
	daily := &rampart.Control{ID: "PKI-01", Periodicity: rampart.MustPeriodicity("daily"), Kinds: []rampart.Kind{"tls-endpoint"}}
	quarterly := &rampart.Control{ID: "PVE-03", Periodicity: rampart.MustPeriodicity("quarterly"), Kinds: []rampart.Kind{"proxmox"}}
	estate := &rampart.Control{ID: "PPL-05", Periodicity: rampart.MustPeriodicity("yearly")}
	unscheduled := &rampart.Control{ID: "X-01", Kinds: []rampart.Kind{"tls-endpoint"}}
	web := &rampart.Resource{ID: "web", Kind: "tls-endpoint"}
	api := &rampart.Resource{ID: "api", Kind: "tls-endpoint", Periodicity: map[string]rampart.Periodicity{"PKI-01": rampart.MustPeriodicity("weekly")}}
	pve := &rampart.Resource{ID: "pve", Kind: "proxmox"}
	controls := []*rampart.Control{quarterly, daily, estate, unscheduled}
	resources := []*rampart.Resource{web, api, pve}

	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		now  time.Time
		last map[string]time.Time // "control/resource"
		want []string
	}{{
		name: "never done: everything scheduled is due",
		now:  at("2026-03-31 12:00:00"),
		want: []string{"PKI-01/api", "PKI-01/web", "PPL-05/", "PVE-03/pve"},
	}, {
		name: "daily across the month's end",
		now:  at("2026-04-01 00:05:00"),
		last: map[string]time.Time{
			"PKI-01/web": at("2026-03-31 23:50:00"), "PKI-01/api": at("2026-03-30 08:00:00"),
			"PPL-05/": at("2026-01-10 00:00:00"), "PVE-03/pve": at("2026-04-01 00:01:00"),
		},
		want: []string{"PKI-01/web"}, // api is weekly by override, reviewed this week
	}, {
		name: "daily not due again the same day",
		now:  at("2026-03-31 23:59:00"),
		last: map[string]time.Time{
			"PKI-01/web": at("2026-03-31 00:00:00"), "PKI-01/api": at("2026-03-30 08:00:00"),
			"PPL-05/": at("2026-01-10 00:00:00"), "PVE-03/pve": at("2026-01-02 00:00:00"),
		},
		want: nil,
	}, {
		name: "quarterly due when a quarter starts",
		now:  at("2026-04-01 09:00:00"),
		last: map[string]time.Time{
			"PKI-01/web": at("2026-04-01 08:00:00"), "PKI-01/api": at("2026-03-30 08:00:00"),
			"PPL-05/": at("2026-01-10 00:00:00"), "PVE-03/pve": at("2026-03-31 23:00:00"),
		},
		want: []string{"PVE-03/pve"},
	}, {
		name: "a ten-day gap catches up with one item each",
		now:  at("2026-04-11 10:00:00"),
		last: map[string]time.Time{
			"PKI-01/web": at("2026-04-01 10:00:00"), "PKI-01/api": at("2026-04-01 10:00:00"),
			"PPL-05/": at("2026-01-10 00:00:00"), "PVE-03/pve": at("2026-04-01 10:00:00"),
		},
		want: []string{"PKI-01/api", "PKI-01/web"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			last := func(c, r string) time.Time { return tt.last[c+"/"+r] }
			var got []string
			for _, d := range engine.Due(controls, resources, last, tt.now) {
				id := ""
				if d.Resource != nil {
					id = d.Resource.ID
				}
				got = append(got, d.Control.ID+"/"+id)
				if want := tt.last[d.Control.ID+"/"+id]; !d.Last.Equal(want) {
					t.Errorf("%s/%s: Last = %v, want %v", d.Control.ID, id, d.Last, want)
				}
				if d.Resource == api && d.Periodicity.String() != "weekly" {
					t.Errorf("api's PKI-01 periodicity = %s, want its weekly override", d.Periodicity)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Due = %q, want %q", got, tt.want)
			}
		})
	}
}
