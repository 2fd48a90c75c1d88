package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

var _ rampart.ReviewStore = (*DB)(nil)

const reviewCols = `id, control_id, resource_id, title, procedure_text, owner, area, environment, periodicity,
	due_at, due_by, next_due_at, status, created_at, completed_at, attested_by, statement, attested_at,
	period_start, period_end`

func scanReview(s interface{ Scan(...any) error }) (rampart.Review, error) {
	var r rampart.Review
	var due, dueBy, next, created, completed, attested, start, end sql.NullInt64
	var by, statement string
	if err := s.Scan(&r.ID, &r.ControlID, &r.ResourceID, &r.Title, &r.Procedure, &r.Owner, &r.Area, &r.Environment,
		&r.Periodicity, &due, &dueBy, &next, &r.Status, &created, &completed, &by, &statement, &attested,
		&start, &end); err != nil {
		return rampart.Review{}, err
	}
	r.DueAt, r.DueBy, r.NextDueAt, r.CreatedAt = fromMicros(due), fromMicros(dueBy), fromMicros(next), fromMicros(created)
	r.CompletedAt, r.PeriodStart, r.PeriodEnd = fromMicros(completed), fromMicros(start), fromMicros(end)
	if by != "" {
		r.Attestation = &rampart.Attestation{By: by, Statement: statement, At: fromMicros(attested)}
	}
	return r, nil
}

// reviewEvidence loads the evidence the given reviews cite, in the order
// it was attached.
func reviewEvidence(ctx context.Context, c conn, reviews []rampart.Review) error {
	ids := make([]any, 0, len(reviews))
	at := map[int64]int{}
	for i, r := range reviews {
		if r.Status == rampart.ReviewCompleted {
			ids = append(ids, r.ID)
			at[r.ID] = i
		}
	}
	// In batches: SQLite allows a bounded number of placeholders.
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		rows, err := c.query(ctx, `SELECT re.review_id, re.sha256, re.kind, re.name, re.url, e.media_type, e.size,
			re.period_start, re.period_end, re.expires_at
			FROM review_evidence re JOIN evidence e ON e.sha256 = re.sha256
			WHERE re.review_id IN (`+sqlMarks(len(batch))+`) ORDER BY re.review_id, re.name, re.sha256`, batch...)
		if err != nil {
			return fmt.Errorf("load review evidence: %w", err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var id int64
				var e rampart.ReviewEvidence
				var start, end, expires sql.NullInt64
				if err := rows.Scan(&id, &e.SHA256, &e.Kind, &e.Name, &e.URL, &e.MediaType, &e.Size, &start, &end, &expires); err != nil {
					return err
				}
				e.PeriodStart, e.PeriodEnd, e.ExpiresAt = fromMicros(start), fromMicros(end), fromMicros(expires)
				r := &reviews[at[id]]
				r.Evidence = append(r.Evidence, e)
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("load review evidence: %w", err)
		}
	}
	return nil
}

func sqlMarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func reviewByID(ctx context.Context, c conn, id int64) (rampart.Review, error) {
	r, err := scanReview(c.queryRow(ctx, `SELECT `+reviewCols+` FROM reviews WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.Review{}, rampart.Errorf(rampart.KindNotFound, "review %d not found", id)
	}
	if err != nil {
		return rampart.Review{}, err
	}
	rs := []rampart.Review{r}
	if err := reviewEvidence(ctx, c, rs); err != nil {
		return rampart.Review{}, err
	}
	return rs[0], nil
}

// OpenReview records r unless its control, resource and due date already
// have a review. A new review is audited and its review.due notice
// enqueued in the same transaction: a crash cannot leave a review nobody
// was told about.
func (db *DB) OpenReview(ctx context.Context, r rampart.Review, actor string) (rampart.Review, bool, error) {
	switch {
	case r.ControlID == "" || r.Periodicity == "":
		return rampart.Review{}, false, rampart.Errorf(rampart.KindInvalid, "a review names its control and periodicity")
	case r.DueAt.IsZero() || r.DueBy.Before(r.DueAt) || !r.NextDueAt.After(r.DueAt):
		return rampart.Review{}, false, rampart.Errorf(rampart.KindInvalid,
			"review of %s: due at %s, due by %s and next due at %s are out of order", r.ControlID, r.DueAt, r.DueBy, r.NextDueAt)
	case actor == "":
		return rampart.Review{}, false, rampart.Errorf(rampart.KindInvalid, "opening a review names who opens it")
	}
	r.DueAt, r.DueBy, r.NextDueAt = exact(r.DueAt), exact(r.DueBy), exact(r.NextDueAt)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	r.CreatedAt = exact(r.CreatedAt)
	r.Status = rampart.ReviewOpen
	r.CompletedAt, r.Attestation, r.PeriodStart, r.PeriodEnd, r.Evidence = time.Time{}, nil, time.Time{}, time.Time{}, nil
	var out rampart.Review
	var created bool
	err := db.write(ctx, func(c conn) error {
		err := c.queryRow(ctx, `INSERT INTO reviews (control_id, resource_id, title, procedure_text, owner, area, environment,
			periodicity, due_at, due_by, next_due_at, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (control_id, resource_id, due_at) DO NOTHING RETURNING id`,
			r.ControlID, r.ResourceID, r.Title, r.Procedure, r.Owner, r.Area, r.Environment, r.Periodicity,
			micros(r.DueAt), micros(r.DueBy), micros(r.NextDueAt), string(r.Status), micros(r.CreatedAt)).Scan(&r.ID)
		if errors.Is(err, sql.ErrNoRows) {
			var id int64
			if err := c.queryRow(ctx, `SELECT id FROM reviews WHERE control_id = ? AND resource_id = ? AND due_at = ?`,
				r.ControlID, r.ResourceID, micros(r.DueAt)).Scan(&id); err != nil {
				return err
			}
			out, err = reviewByID(ctx, c, id)
			return err
		}
		if err != nil {
			return err
		}
		created, out = true, r
		if _, err := db.appendAudit(ctx, c, rampart.AuditEntry{
			At: r.CreatedAt, Actor: actor, Action: "review.open", Object: r.Object(), After: mustJSON(r),
		}); err != nil {
			return err
		}
		ev := rampart.ReviewDueEvent(&r)
		ev.CreatedAt = r.CreatedAt
		_, err = enqueue(ctx, c, db.d, ev)
		return err
	})
	if err != nil {
		return rampart.Review{}, false, fmt.Errorf("open review of %s: %w", r.ControlID, err)
	}
	return out, created, nil
}

// Review returns one review with its evidence.
func (db *DB) Review(ctx context.Context, id int64) (rampart.Review, error) {
	var r rampart.Review
	err := db.read(ctx, func(c conn) error {
		var err error
		r, err = reviewByID(ctx, c, id)
		return err
	})
	if err != nil {
		return rampart.Review{}, fmt.Errorf("read review %d: %w", id, err)
	}
	return r, nil
}

// Reviews lists the reviews f selects, the earliest due first.
func (db *DB) Reviews(ctx context.Context, f rampart.ReviewFilter) ([]rampart.Review, error) {
	var where []string
	var args []any
	for _, cond := range []struct{ col, val string }{{"control_id", f.ControlID}, {"resource_id", f.ResourceID}, {"owner", f.Owner}} {
		if cond.val != "" {
			where = append(where, cond.col+` = ?`)
			args = append(args, cond.val)
		}
	}
	if len(f.Status) > 0 {
		where = append(where, `status IN (`+sqlMarks(len(f.Status))+`)`)
		for _, s := range f.Status {
			args = append(args, string(s))
		}
	}
	if !f.OverdueAt.IsZero() {
		where = append(where, `status = 'open' AND due_by <= ?`)
		args = append(args, micros(exact(f.OverdueAt)))
	}
	q := `SELECT ` + reviewCols + ` FROM reviews`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY due_at, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return db.listReviews(ctx, "list reviews", q, args...)
}

// LatestReviews returns the review with the latest due date of each control
// and resource: what the scheduler compares with the periodicity.
func (db *DB) LatestReviews(ctx context.Context) ([]rampart.Review, error) {
	return db.listReviews(ctx, "latest reviews", `SELECT `+qualifyCols("r.", reviewCols)+` FROM reviews r
		JOIN (SELECT control_id, resource_id, MAX(due_at) AS due_at FROM reviews GROUP BY control_id, resource_id) m
			ON m.control_id = r.control_id AND m.resource_id = r.resource_id AND m.due_at = r.due_at
		ORDER BY r.control_id, r.resource_id`)
}

func qualifyCols(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func (db *DB) listReviews(ctx context.Context, what, q string, args ...any) ([]rampart.Review, error) {
	var out []rampart.Review
	err := db.read(ctx, func(c conn) error {
		rows, err := c.query(ctx, q, args...)
		if err != nil {
			return err
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				r, err := scanReview(rows)
				if err != nil {
					return err
				}
				out = append(out, r)
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
		return reviewEvidence(ctx, c, out)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// CompleteReview closes a review with its attestation and evidence. The
// evidence is stored as content-addressed Evidence (a link as its URL, of
// type text/uri-list) and cited with the period it covers, expiring at the
// review's next due date. The audit entry and the resolve of the review's
// overdue alert are written in the same transaction.
func (db *DB) CompleteReview(ctx context.Context, id int64, comp rampart.ReviewCompletion) (rampart.Review, error) {
	if comp.At.IsZero() {
		comp.At = time.Now()
	}
	comp.At = exact(comp.At)
	var out rampart.Review
	err := db.write(ctx, func(c conn) error {
		before, err := reviewByID(ctx, c, id)
		if err != nil {
			return err
		}
		if err := comp.Validate(&before); err != nil {
			return err
		}
		start, end := exact(comp.PeriodStart), exact(comp.PeriodEnd)
		after := before
		after.Evidence = nil
		for _, in := range comp.Evidence {
			content, media := in.Content, in.MediaType
			if in.Kind == rampart.EvidenceLink {
				content, media = []byte(strings.TrimSpace(in.URL)), "text/uri-list"
			}
			if media == "" {
				media = http.DetectContentType(content)
			}
			desc := fmt.Sprintf("%s review of %s%s", after.Periodicity, after.ControlID, joinIfSet(" for ", after.ResourceID))
			sha, err := putEvidence(ctx, c, rampart.Evidence{
				Kind: in.Kind, MediaType: media, ResourceID: after.ResourceID, Description: desc,
				PeriodStart: start, PeriodEnd: end, ExpiresAt: after.NextDueAt, CreatedAt: comp.At,
			}, content)
			if err != nil {
				return err
			}
			if _, err := c.exec(ctx, `INSERT INTO review_evidence (review_id, sha256, kind, name, url, period_start, period_end, expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (review_id, sha256) DO NOTHING`,
				id, sha, string(in.Kind), in.Name, strings.TrimSpace(in.URL), micros(start), micros(end), micros(after.NextDueAt)); err != nil {
				return fmt.Errorf("cite evidence: %w", err)
			}
		}
		if _, err := c.exec(ctx, `UPDATE reviews SET status = 'completed', completed_at = ?, attested_by = ?, statement = ?,
			attested_at = ?, period_start = ?, period_end = ? WHERE id = ? AND status = 'open'`,
			micros(comp.At), comp.By, comp.Statement, micros(comp.At), micros(start), micros(end), id); err != nil {
			return err
		}
		if out, err = reviewByID(ctx, c, id); err != nil {
			return err
		}
		if _, err := db.appendAudit(ctx, c, rampart.AuditEntry{
			At: comp.At, Actor: comp.By, Action: "review.complete", Object: out.Object(),
			Before: mustJSON(before), After: mustJSON(out), Source: comp.Source,
		}); err != nil {
			return err
		}
		_, err = enqueue(ctx, c, db.d, rampart.OutboxEvent{
			AlertKey: out.Object(), Action: rampart.ActionResolve, EndsAt: comp.At, CreatedAt: comp.At,
		})
		return err
	})
	if err != nil {
		return rampart.Review{}, fmt.Errorf("complete review %d: %w", id, err)
	}
	return out, nil
}

func joinIfSet(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
