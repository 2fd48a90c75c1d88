package rampart

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReviewStatus is where a periodic review stands.
type ReviewStatus string

// Review statuses. Whether an open review is overdue depends on the time it
// is looked at (Review.Overdue), so it is not a stored status.
const (
	ReviewOpen      ReviewStatus = "open"
	ReviewCompleted ReviewStatus = "completed"
)

// ParseReviewStatus validates a review status name; "overdue" and "due"
// are accepted too, as views of open reviews (see ReviewFilter.State).
func ParseReviewStatus(s string) (ReviewStatus, error) {
	switch ReviewStatus(s) {
	case ReviewOpen, ReviewCompleted:
		return ReviewStatus(s), nil
	}
	return "", Errorf(KindInvalid, "unknown review status %q (want open or completed)", s)
}

// Review is one due occurrence of a manual control for one resource (or for
// the whole estate when the control covers no resource kinds): the task of
// a person to carry out the control's procedure for the period starting at
// DueAt, and to close it with an attestation and evidence.
type Review struct {
	ID         int64  `json:"id"`
	ControlID  string `json:"control_id"`
	ResourceID string `json:"resource_id,omitempty"`
	Title      string `json:"title"`
	Procedure  string `json:"procedure"`
	// Owner is the control's owner role; the review is assigned to it.
	Owner string `json:"owner"`
	Area  string `json:"area,omitempty"`
	// Environment is the resource's, for routing the review's notices.
	Environment string `json:"environment,omitempty"`
	Periodicity string `json:"periodicity"`
	// DueAt is the start of the period the review belongs to, when it came
	// due; DueBy is when it becomes overdue; NextDueAt is the start of the
	// next period, when the evidence of this one expires and the next
	// review comes due.
	DueAt     time.Time    `json:"due_at"`
	DueBy     time.Time    `json:"due_by"`
	NextDueAt time.Time    `json:"next_due_at"`
	Status    ReviewStatus `json:"status"`
	CreatedAt time.Time    `json:"created_at"`
	// Completion, set once completed.
	CompletedAt time.Time        `json:"completed_at,omitzero"`
	Attestation *Attestation     `json:"attestation,omitempty"`
	PeriodStart time.Time        `json:"period_start,omitzero"`
	PeriodEnd   time.Time        `json:"period_end,omitzero"`
	Evidence    []ReviewEvidence `json:"evidence,omitempty"`
}

// Object names the review in the audit log and in events: "review:42".
func (r *Review) Object() string { return "review:" + strconv.FormatInt(r.ID, 10) }

// Overdue reports whether the review is open past its due-by time.
func (r *Review) Overdue(now time.Time) bool {
	return r.Status == ReviewOpen && !now.Before(r.DueBy)
}

// State is the review's status as seen at now: "due", "overdue" or
// "completed".
func (r *Review) State(now time.Time) string {
	switch {
	case r.Status == ReviewCompleted:
		return "completed"
	case r.Overdue(now):
		return "overdue"
	}
	return "due"
}

// Current reports whether the review is completed and its evidence has not
// expired at now.
func (r *Review) Current(now time.Time) bool {
	return r.Status == ReviewCompleted && now.Before(r.NextDueAt)
}

// Attestation is a person's signed-off statement that a review was carried
// out.
type Attestation struct {
	By        string    `json:"by"` // "user:alice", "cli:alice"
	Statement string    `json:"statement"`
	At        time.Time `json:"at"`
}

// ReviewEvidence is one piece of evidence attached to a completed review:
// an uploaded file or a link, stored as content-addressed Evidence, with
// the period it covers and when it expires (the next due date).
type ReviewEvidence struct {
	SHA256      string       `json:"sha256"`
	Kind        EvidenceKind `json:"kind"` // upload or link
	Name        string       `json:"name,omitempty"`
	URL         string       `json:"url,omitempty"`
	MediaType   string       `json:"media_type,omitempty"`
	Size        int64        `json:"size,omitempty"`
	PeriodStart time.Time    `json:"period_start"`
	PeriodEnd   time.Time    `json:"period_end"`
	ExpiresAt   time.Time    `json:"expires_at"`
}

// EvidenceInput is a piece of evidence a person hands in to complete a
// review: a file's content, or a link.
type EvidenceInput struct {
	Kind      EvidenceKind `json:"kind"`           // upload or link
	Name      string       `json:"name,omitempty"` // the file's name
	MediaType string       `json:"media_type,omitempty"`
	Content   []byte       `json:"-"`
	URL       string       `json:"url,omitempty"`
}

// ReviewCompletion is what completing a review takes: who attests what,
// the evidence, and the period it covers (the review's own period when
// unset).
type ReviewCompletion struct {
	By          string
	Statement   string
	At          time.Time
	PeriodStart time.Time
	PeriodEnd   time.Time
	Evidence    []EvidenceInput
	// Source is where the completion came from, for the audit log: a
	// remote address, or "cli".
	Source string
}

// maxEvidenceSize bounds one uploaded file; evidence is read whole into
// memory and kept in the database.
const maxEvidenceSize = 32 << 20

// Validate refuses a completion without attestation or evidence, with a
// link that is not an absolute http(s) URL, or with a period that ends
// before it starts. It fills the period from the review when unset.
func (c *ReviewCompletion) Validate(r *Review) error {
	switch {
	case strings.TrimSpace(c.By) == "":
		return Errorf(KindInvalid, "completing a review needs an attestation: who attests")
	case strings.TrimSpace(c.Statement) == "":
		return Errorf(KindInvalid, "completing a review needs an attestation statement (what was checked and found)")
	case len(c.Evidence) == 0:
		return Errorf(KindInvalid, "completing a review needs evidence: an uploaded file or a link")
	case r.Status == ReviewCompleted:
		return Errorf(KindConflict, "review %d is already completed", r.ID)
	}
	for i, e := range c.Evidence {
		switch e.Kind {
		case EvidenceUpload:
			if len(e.Content) == 0 {
				return Errorf(KindInvalid, "evidence %d: the uploaded file %q is empty", i+1, e.Name)
			}
			if len(e.Content) > maxEvidenceSize {
				return Errorf(KindInvalid, "evidence %d: the uploaded file %q is larger than %d MiB", i+1, e.Name, maxEvidenceSize>>20)
			}
		case EvidenceLink:
			if err := validLink(e.URL); err != nil {
				return Errorf(KindInvalid, "evidence %d: %v", i+1, err)
			}
		default:
			return Errorf(KindInvalid, "evidence %d: kind %q, want upload or link", i+1, e.Kind)
		}
	}
	if c.PeriodStart.IsZero() {
		c.PeriodStart = r.DueAt
	}
	if c.PeriodEnd.IsZero() {
		c.PeriodEnd = r.NextDueAt
	}
	if !c.PeriodEnd.After(c.PeriodStart) {
		return Errorf(KindInvalid, "the evidence's period ends (%s) before it starts (%s)",
			c.PeriodEnd.Format(time.DateOnly), c.PeriodStart.Format(time.DateOnly))
	}
	return nil
}

func validLink(s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Errorf(KindInvalid, "link %q is not an absolute http or https URL", s)
	}
	return nil
}

// ReviewFilter selects reviews. Empty fields match everything.
type ReviewFilter struct {
	ControlID  string
	ResourceID string
	Owner      string
	Status     []ReviewStatus
	// OverdueAt, when set, keeps only the reviews open and overdue then.
	OverdueAt time.Time
	Limit     int
}

// ReviewStore keeps periodic reviews. It is separate from Store so that
// stores grow it without every Store implementation changing at once.
type ReviewStore interface {
	// OpenReview records a review unless one exists for its control,
	// resource and due date, and returns the review and whether it was
	// created. Creating one appends a "review.open" audit entry and
	// enqueues its review.due notice in the same transaction.
	OpenReview(ctx context.Context, r Review, actor string) (Review, bool, error)
	Review(ctx context.Context, id int64) (Review, error)
	// Reviews lists reviews, the earliest due first.
	Reviews(ctx context.Context, f ReviewFilter) ([]Review, error)
	// LatestReviews returns, for each control and resource, its review
	// with the latest due date.
	LatestReviews(ctx context.Context) ([]Review, error)
	// CompleteReview stores the evidence (expiring at the review's next due
	// date), the attestation and the period, appends a "review.complete"
	// audit entry and resolves the review's overdue alert, in one
	// transaction.
	CompleteReview(ctx context.Context, id int64, c ReviewCompletion) (Review, error)
}

// ApplyReviews folds reviews into control statuses as seen at now: a
// control with an open review past its due-by time fails (it counts one
// failure), and a control whose latest review for a resource is completed
// and current counts one pass. A control with an automated failure stays
// failing. It returns a new map; statuses is not changed.
func ApplyReviews(statuses map[string]ControlStatus, reviews []Review, now time.Time) map[string]ControlStatus {
	out := make(map[string]ControlStatus, len(statuses))
	for k, v := range statuses {
		out[k] = v
	}
	type key struct{ control, resource string }
	latest := map[key]*Review{}
	for i := range reviews {
		r := &reviews[i]
		k := key{r.ControlID, r.ResourceID}
		if l := latest[k]; l == nil || r.DueAt.After(l.DueAt) {
			latest[k] = r
		}
	}
	for i := range reviews {
		r := &reviews[i]
		s, ok := out[r.ControlID]
		if !ok {
			s = ControlStatus{ControlID: r.ControlID, Status: StatusNotApplicable}
		}
		switch {
		case r.Overdue(now):
			s.Fail++
			s.Status = Worst(s.Status, StatusFail)
		case latest[key{r.ControlID, r.ResourceID}] == r && r.Current(now):
			s.Pass++
			s.Status = Worst(s.Status, StatusPass)
		default:
			continue
		}
		out[r.ControlID] = s
	}
	return out
}

// Lease is a named, expiring right to act held by one process: the
// scheduler's leadership when several processes share a store.
type Lease struct {
	Name       string    `json:"name"`
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ScheduleRun is one claimed run of a scheduled job for one period.
type ScheduleRun struct {
	Job          string    `json:"job"`
	DueAt        time.Time `json:"due_at"`
	Holder       string    `json:"holder"`
	StartedAt    time.Time `json:"started_at"`
	ClaimedUntil time.Time `json:"claimed_until"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Outcome      string    `json:"outcome,omitempty"`
}

// LeaseStore holds leases and the claims of scheduled runs, so that one
// scheduler acts at a time and each due run happens once across processes.
// Times come from the caller's clock.
type LeaseStore interface {
	// AcquireLease takes the named lease for holder until now+ttl if it is
	// free, expired or already held by holder (a renewal), and returns the
	// lease as it stands and whether holder holds it.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, bool, error)
	// ReleaseLease gives the lease up if holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// ClaimRun claims the run of job for the period starting at due. It
	// succeeds once per job and period, unless the claim lapses (its holder
	// died before finishing it), when another holder may claim it again.
	ClaimRun(ctx context.Context, job string, due time.Time, holder string, now time.Time, ttl time.Duration) (bool, error)
	// FinishRun marks a claimed run done with its outcome.
	FinishRun(ctx context.Context, job string, due time.Time, holder string, at time.Time, outcome string) error
	// ScheduleRuns returns the latest run of each job.
	ScheduleRuns(ctx context.Context) ([]ScheduleRun, error)
}

// MergeReviews joins review lists, keeping the first of each id: readiness
// folds in the latest review of every control and resource plus every
// overdue one, since an older review left undone keeps failing its control
// after a newer one is completed.
func MergeReviews(lists ...[]Review) []Review {
	seen := map[int64]bool{}
	var out []Review
	for _, l := range lists {
		for _, r := range l {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out
}
