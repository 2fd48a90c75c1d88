package storetest

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

func reviewStore(t *testing.T, s rampart.Store) rampart.ReviewStore {
	t.Helper()
	rs, ok := s.(rampart.ReviewStore)
	if !ok {
		t.Fatalf("%T does not implement rampart.ReviewStore", s)
	}
	return rs
}

// quarter returns a review of GH-01 on the org for the quarter starting at
// start, overdue two weeks in.
func quarter(start time.Time, resource string) rampart.Review {
	return rampart.Review{
		ControlID: "GH-01", ResourceID: resource, Title: "GitHub organization access is controlled",
		Procedure: "1. Export the members.\n2. Sign off.", Owner: "platform-lead", Area: "source-control/github",
		Environment: "production", Periodicity: "quarterly",
		DueAt: start, DueBy: start.Add(14 * 24 * time.Hour), NextDueAt: start.AddDate(0, 3, 0), CreatedAt: start,
	}
}

var (
	q2 = time.Date(2026, 4, 1, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	q3 = time.Date(2026, 7, 1, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600))
)

func testReviews(t *testing.T, s rampart.Store, _ func(string) error) {
	rs := reviewStore(t, s)
	ob := outboxStore(t, s)

	t.Run("OpenOnce", func(t *testing.T) {
		r, created, err := rs.OpenReview(ctx(t), quarter(q2, "org"), "rampart:schedule")
		if err != nil || !created {
			t.Fatalf("OpenReview = %v, created %v", err, created)
		}
		if r.ID <= 0 || r.Status != rampart.ReviewOpen || !r.DueAt.Equal(exact(q2)) {
			t.Errorf("opened review = %+v", r)
		}
		again, created, err := rs.OpenReview(ctx(t), quarter(q2, "org"), "rampart:schedule")
		if err != nil || created || again.ID != r.ID {
			t.Errorf("opening it again: id %d, created %v, err %v; want id %d, not created", again.ID, created, err, r.ID)
		}
		got, err := rs.Review(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "Review", got, r)
		equal(t, "audit of opening", actions(auditLog(t, s, rampart.AuditFilter{Object: r.Object()})), []string{"review.open"})
		// The review.due notice was enqueued with the review, once.
		evs, err := ob.UnroutedEvents(ctx(t), 100)
		if err != nil {
			t.Fatal(err)
		}
		var due []rampart.OutboxEvent
		for _, e := range evs {
			if e.Kind == rampart.EventReviewDue && e.Labels["resource"] == "org" {
				due = append(due, e)
			}
		}
		if len(due) != 1 || due[0].Path != "/reviews/"+strconv.FormatInt(r.ID, 10) || due[0].Labels["environment"] != "production" {
			t.Errorf("review.due notices = %+v, want one for review %d", due, r.ID)
		}
	})

	t.Run("Validation", func(t *testing.T) {
		for name, edit := range map[string]func(r *rampart.Review){
			"no control":       func(r *rampart.Review) { r.ControlID = "" },
			"no periodicity":   func(r *rampart.Review) { r.Periodicity = "" },
			"no due time":      func(r *rampart.Review) { r.DueAt = time.Time{} },
			"next before due":  func(r *rampart.Review) { r.NextDueAt = r.DueAt },
			"due by before it": func(r *rampart.Review) { r.DueBy = r.DueAt.Add(-time.Hour) },
		} {
			r := quarter(q2, "validation")
			edit(&r)
			_, _, err := rs.OpenReview(ctx(t), r, "rampart:schedule")
			wantKind(t, name, err, rampart.KindInvalid)
		}
		_, _, err := rs.OpenReview(ctx(t), quarter(q2, "validation"), "")
		wantKind(t, "no actor", err, rampart.KindInvalid)
		_, err = rs.Review(ctx(t), 99999)
		wantKind(t, "unknown review", err, rampart.KindNotFound)
	})

	t.Run("CompleteWithUploadAndLink", func(t *testing.T) {
		r, _, err := rs.OpenReview(ctx(t), quarter(q2, "complete"), "rampart:schedule")
		if err != nil {
			t.Fatal(err)
		}
		file := []byte("login,role\nalice,owner\nbob,member\n")
		at := q2.Add(3 * 24 * time.Hour)
		done, err := rs.CompleteReview(ctx(t), r.ID, rampart.ReviewCompletion{
			By: "user:alice", Statement: "Members, owners and collaborators reviewed; bob demoted.", At: at, Source: "cli",
			Evidence: []rampart.EvidenceInput{
				{Kind: rampart.EvidenceUpload, Name: "members.csv", MediaType: "text/csv", Content: file},
				{Kind: rampart.EvidenceLink, URL: "https://wiki.example.com/reviews/2026-q2"},
			},
		})
		if err != nil {
			t.Fatalf("CompleteReview: %v", err)
		}
		if done.Status != rampart.ReviewCompleted || !done.CompletedAt.Equal(exact(at)) {
			t.Errorf("completed review = %+v", done)
		}
		equal(t, "attestation", done.Attestation, &rampart.Attestation{
			By: "user:alice", Statement: "Members, owners and collaborators reviewed; bob demoted.", At: exact(at),
		})
		if !done.PeriodStart.Equal(exact(q2)) || !done.PeriodEnd.Equal(exact(q3)) {
			t.Errorf("period = [%s, %s), want the review's quarter", done.PeriodStart, done.PeriodEnd)
		}
		if len(done.Evidence) != 2 {
			t.Fatalf("evidence = %+v, want the file and the link", done.Evidence)
		}
		byKind := map[rampart.EvidenceKind]rampart.ReviewEvidence{}
		for _, e := range done.Evidence {
			byKind[e.Kind] = e
			if !e.ExpiresAt.Equal(exact(q3)) {
				t.Errorf("evidence %s expires %s, want the next due date %s", e.SHA256, e.ExpiresAt, exact(q3))
			}
		}
		up := byKind[rampart.EvidenceUpload]
		if up.SHA256 != rampart.ContentHash(file) || up.Name != "members.csv" || up.Size != int64(len(file)) || up.MediaType != "text/csv" {
			t.Errorf("uploaded evidence = %+v", up)
		}
		meta, body, err := s.Evidence(ctx(t), up.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(body)
		_ = body.Close()
		if string(b) != string(file) || meta.Kind != rampart.EvidenceUpload || !meta.ExpiresAt.Equal(exact(q3)) {
			t.Errorf("stored evidence = %+v %q", meta, b)
		}
		if l := byKind[rampart.EvidenceLink]; l.URL != "https://wiki.example.com/reviews/2026-q2" || l.MediaType != "text/uri-list" {
			t.Errorf("link evidence = %+v", l)
		}
		entries := auditLog(t, s, rampart.AuditFilter{Object: r.Object()})
		equal(t, "audit", actions(entries), []string{"review.open", "review.complete"})
		if last := entries[len(entries)-1]; last.Actor != "user:alice" || !strings.Contains(string(last.After), up.SHA256) {
			t.Errorf("review.complete entry = %+v, want alice and the evidence hash", last)
		}
		if v := verify(t, s); !v.OK {
			t.Errorf("audit chain broken: %+v", v)
		}
		_, err = rs.CompleteReview(ctx(t), r.ID, rampart.ReviewCompletion{
			By: "user:bob", Statement: "again", Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "https://x.example"}},
		})
		wantKind(t, "completing twice", err, rampart.KindConflict)
	})

	t.Run("CompletionValidation", func(t *testing.T) {
		r, _, err := rs.OpenReview(ctx(t), quarter(q2, "invalid"), "rampart:schedule")
		if err != nil {
			t.Fatal(err)
		}
		_, err = rs.CompleteReview(ctx(t), r.ID, rampart.ReviewCompletion{By: "user:alice", Statement: "done"})
		wantKind(t, "no evidence", err, rampart.KindInvalid)
		_, err = rs.CompleteReview(ctx(t), 424242, rampart.ReviewCompletion{
			By: "user:alice", Statement: "done",
			Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "https://x.example"}},
		})
		wantKind(t, "unknown review", err, rampart.KindNotFound)
		got, err := rs.Review(ctx(t), r.ID)
		if err != nil || got.Status != rampart.ReviewOpen {
			t.Errorf("a refused completion changed the review: %+v, %v", got, err)
		}
	})

	t.Run("ListsAndLatest", func(t *testing.T) {
		first, _, err := rs.OpenReview(ctx(t), quarter(q2, "list"), "rampart:schedule")
		if err != nil {
			t.Fatal(err)
		}
		second, _, err := rs.OpenReview(ctx(t), quarter(q3, "list"), "rampart:schedule")
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.Reviews(ctx(t), rampart.ReviewFilter{ResourceID: "list"})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "Reviews of a resource, earliest due first", ids(got), []int64{first.ID, second.ID})
		overdue, err := rs.Reviews(ctx(t), rampart.ReviewFilter{ResourceID: "list", OverdueAt: q3.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "overdue at the start of Q3", ids(overdue), []int64{first.ID})
		latest, err := rs.LatestReviews(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		var mine []int64
		for _, r := range latest {
			if r.ResourceID == "list" {
				mine = append(mine, r.ID)
			}
		}
		equal(t, "LatestReviews", mine, []int64{second.ID})
		open, err := rs.Reviews(ctx(t), rampart.ReviewFilter{Status: []rampart.ReviewStatus{rampart.ReviewCompleted}, ResourceID: "list"})
		if err != nil || len(open) != 0 {
			t.Errorf("completed reviews of list = %v, %v", open, err)
		}
	})

	t.Run("CompletingResolvesOverdueAlert", func(t *testing.T) {
		r, _, err := rs.OpenReview(ctx(t), quarter(q2, "alerted"), "rampart:schedule")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Enqueue(ctx(t), rampart.ReviewOverdueAlert(&r)); err != nil {
			t.Fatal(err)
		}
		if !firing(t, ob, r.Object()) {
			t.Fatalf("overdue alert of %s not firing", r.Object())
		}
		if _, err := rs.CompleteReview(ctx(t), r.ID, rampart.ReviewCompletion{
			By: "user:alice", Statement: "late but done", At: q2.Add(20 * 24 * time.Hour),
			Evidence: []rampart.EvidenceInput{{Kind: rampart.EvidenceLink, URL: "https://wiki.example.com/late"}},
		}); err != nil {
			t.Fatal(err)
		}
		if firing(t, ob, r.Object()) {
			t.Errorf("overdue alert of %s still firing after completion", r.Object())
		}
	})
}

func ids(rs []rampart.Review) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func firing(t *testing.T, ob rampart.OutboxStore, alertKey string) bool {
	t.Helper()
	evs, err := ob.FiringAlerts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.AlertKey == alertKey {
			return true
		}
	}
	return false
}
