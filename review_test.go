package rampart_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

var (
	q2Start = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	q3Start = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
)

func review(id int64, control, resource string, due time.Time, status rampart.ReviewStatus) rampart.Review {
	return rampart.Review{
		ID: id, ControlID: control, ResourceID: resource, DueAt: due,
		DueBy: due.Add(14 * 24 * time.Hour), NextDueAt: due.AddDate(0, 3, 0), Status: status,
	}
}

func TestApplyReviews(t *testing.T) {
	t.Parallel()
	base := map[string]rampart.ControlStatus{
		"GH-01":  {ControlID: "GH-01", Status: rampart.StatusNotApplicable},
		"SRV-01": {ControlID: "SRV-01", Status: rampart.StatusFail, Fail: 2},
		"PKI-01": {ControlID: "PKI-01", Status: rampart.StatusPass, Pass: 3},
	}
	for _, tc := range []struct {
		name    string
		reviews []rampart.Review
		now     time.Time
		want    map[string]rampart.Status
	}{
		{"none changes nothing", nil, q2Start, map[string]rampart.Status{
			"GH-01": rampart.StatusNotApplicable, "SRV-01": rampart.StatusFail, "PKI-01": rampart.StatusPass,
		}},
		{
			"open within grace changes nothing",
			[]rampart.Review{review(1, "GH-01", "org", q2Start, rampart.ReviewOpen)},
			q2Start.Add(24 * time.Hour),
			map[string]rampart.Status{"GH-01": rampart.StatusNotApplicable},
		},
		{
			"overdue fails a manual control",
			[]rampart.Review{review(1, "GH-01", "org", q2Start, rampart.ReviewOpen)},
			q2Start.Add(15 * 24 * time.Hour),
			map[string]rampart.Status{"GH-01": rampart.StatusFail},
		},
		{
			"overdue fails a passing automated control",
			[]rampart.Review{review(1, "PKI-01", "pki", q2Start, rampart.ReviewOpen)},
			q2Start.Add(15 * 24 * time.Hour),
			map[string]rampart.Status{"PKI-01": rampart.StatusFail},
		},
		{
			"completed and current passes",
			[]rampart.Review{review(1, "GH-01", "org", q2Start, rampart.ReviewCompleted)},
			q2Start.Add(20 * 24 * time.Hour),
			map[string]rampart.Status{"GH-01": rampart.StatusPass},
		},
		{
			"completed does not hide an automated failure",
			[]rampart.Review{review(1, "SRV-01", "db", q2Start, rampart.ReviewCompleted)},
			q2Start.Add(time.Hour),
			map[string]rampart.Status{"SRV-01": rampart.StatusFail},
		},
		{
			"expired evidence no longer passes",
			[]rampart.Review{review(1, "GH-01", "org", q2Start, rampart.ReviewCompleted)},
			q3Start.Add(time.Hour),
			map[string]rampart.Status{"GH-01": rampart.StatusNotApplicable},
		},
		{"an old overdue review fails even after a newer one is completed", []rampart.Review{
			review(1, "GH-01", "org", q2Start, rampart.ReviewOpen),
			review(2, "GH-01", "org", q3Start, rampart.ReviewCompleted),
		}, q3Start.Add(time.Hour), map[string]rampart.Status{"GH-01": rampart.StatusFail}},
		{
			"a review of an unknown control is added",
			[]rampart.Review{review(1, "X-01", "", q2Start, rampart.ReviewOpen)},
			q3Start,
			map[string]rampart.Status{"X-01": rampart.StatusFail},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := rampart.ApplyReviews(base, tc.reviews, tc.now)
			for id, want := range tc.want {
				if got[id].Status != want {
					t.Errorf("%s: status %s, want %s", id, got[id].Status, want)
				}
			}
			if base["GH-01"].Status != rampart.StatusNotApplicable || base["GH-01"].Fail != 0 {
				t.Errorf("ApplyReviews changed its input: %+v", base["GH-01"])
			}
		})
	}
}

func TestReviewState(t *testing.T) {
	t.Parallel()
	r := review(1, "GH-01", "org", q2Start, rampart.ReviewOpen)
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{q2Start, "due"},
		{r.DueBy.Add(-time.Nanosecond), "due"},
		{r.DueBy, "overdue"},
	} {
		if got := r.State(tc.now); got != tc.want {
			t.Errorf("State(%s) = %s, want %s", tc.now, got, tc.want)
		}
	}
	r.Status = rampart.ReviewCompleted
	if got := r.State(r.DueBy.Add(time.Hour)); got != "completed" {
		t.Errorf("completed review's state = %s", got)
	}
}

func TestReviewCompletionValidate(t *testing.T) {
	t.Parallel()
	upload := rampart.EvidenceInput{Kind: rampart.EvidenceUpload, Name: "members.csv", Content: []byte("alice,owner\n")}
	ok := func() rampart.ReviewCompletion {
		return rampart.ReviewCompletion{By: "cli:alice", Statement: "reviewed the members", Evidence: []rampart.EvidenceInput{upload}}
	}
	for _, tc := range []struct {
		name string
		edit func(c *rampart.ReviewCompletion, r *rampart.Review)
		want string // empty: valid
	}{
		{"valid", func(*rampart.ReviewCompletion, *rampart.Review) {}, ""},
		{"a link", func(c *rampart.ReviewCompletion, _ *rampart.Review) {
			c.Evidence = []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "https://wiki.example.com/access-review"}}
		}, ""},
		{"no one attests", func(c *rampart.ReviewCompletion, _ *rampart.Review) { c.By = " " }, "who attests"},
		{"no statement", func(c *rampart.ReviewCompletion, _ *rampart.Review) { c.Statement = "" }, "statement"},
		{"no evidence", func(c *rampart.ReviewCompletion, _ *rampart.Review) { c.Evidence = nil }, "needs evidence"},
		{"empty file", func(c *rampart.ReviewCompletion, _ *rampart.Review) {
			c.Evidence = []rampart.EvidenceInput{{Kind: rampart.EvidenceUpload, Name: "empty.txt"}}
		}, "is empty"},
		{"relative link", func(c *rampart.ReviewCompletion, _ *rampart.Review) {
			c.Evidence = []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "/wiki/page"}}
		}, "not an absolute http"},
		{"javascript link", func(c *rampart.ReviewCompletion, _ *rampart.Review) {
			c.Evidence = []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "javascript:alert(1)"}}
		}, "not an absolute http"},
		{"facts are not a person's evidence", func(c *rampart.ReviewCompletion, _ *rampart.Review) {
			c.Evidence = []rampart.EvidenceInput{{Kind: rampart.EvidenceFacts, Content: []byte("{}")}}
		}, "want upload or link"},
		{"backwards period", func(c *rampart.ReviewCompletion, _ *rampart.Review) {
			c.PeriodStart, c.PeriodEnd = q3Start, q2Start
		}, "ends"},
		{"already completed", func(_ *rampart.ReviewCompletion, r *rampart.Review) { r.Status = rampart.ReviewCompleted }, "already completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, r := ok(), review(7, "GH-01", "org", q2Start, rampart.ReviewOpen)
			tc.edit(&c, &r)
			err := c.Validate(&r)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			case tc.want == "" && (!c.PeriodStart.Equal(r.DueAt) && !c.PeriodStart.Equal(q3Start) || c.PeriodEnd.IsZero()):
				t.Errorf("period defaults to [%s, %s), want the review's", c.PeriodStart, c.PeriodEnd)
			}
		})
	}
}

func TestParseReviewStatus(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"open", "completed"} {
		if _, err := rampart.ParseReviewStatus(s); err != nil {
			t.Errorf("ParseReviewStatus(%q): %v", s, err)
		}
	}
	if _, err := rampart.ParseReviewStatus("done"); rampart.KindOf(err) != rampart.KindInvalid {
		t.Errorf("ParseReviewStatus(done): %v, want an invalid error", err)
	}
}

// FuzzReviewCompletion validates completions as people type them (the CLI's
// flags, the web form): it never panics, and what it accepts has an
// attestation, evidence, http(s) links with a host and a period that ends
// after it starts.
func FuzzReviewCompletion(f *testing.F) {
	f.Add("cli:alice", "Members reviewed", "https://wiki.example.com/q2", []byte("a,b\n"), int64(0), int64(0))
	f.Add("", "", "javascript:alert(1)", []byte{}, int64(-86400), int64(86400))
	f.Add("user:bob", " ", "http://[::1]:8080/x", []byte{0xff}, int64(10), int64(5))
	f.Add("token:ci", "ok", "https://", []byte("x"), int64(0), int64(1))
	f.Fuzz(func(t *testing.T, by, statement, link string, file []byte, start, end int64) {
		r := review(1, "GH-01", "org", q2Start, rampart.ReviewOpen)
		c := rampart.ReviewCompletion{By: by, Statement: statement, Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: link}}}
		if len(file) > 0 {
			c.Evidence = append(c.Evidence, rampart.EvidenceInput{Kind: rampart.EvidenceUpload, Name: "f", Content: file})
		}
		if start != 0 {
			c.PeriodStart = q2Start.Add(time.Duration(start) * time.Second)
		}
		if end != 0 {
			c.PeriodEnd = q2Start.Add(time.Duration(end) * time.Second)
		}
		if err := c.Validate(&r); err != nil {
			return
		}
		u, err := url.Parse(strings.TrimSpace(link))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Errorf("accepted link %q", link)
		}
		if strings.TrimSpace(by) == "" || strings.TrimSpace(statement) == "" || !c.PeriodEnd.After(c.PeriodStart) {
			t.Errorf("accepted %+v", c)
		}
	})
}

func TestMergeReviews(t *testing.T) {
	t.Parallel()
	a := []rampart.Review{{ID: 1}, {ID: 2}}
	b := []rampart.Review{{ID: 2}, {ID: 3}}
	got := rampart.MergeReviews(a, b, nil)
	if len(got) != 3 || got[0].ID != 1 || got[1].ID != 2 || got[2].ID != 3 {
		t.Errorf("MergeReviews = %v, want ids 1, 2, 3 once each in order", got)
	}
}
