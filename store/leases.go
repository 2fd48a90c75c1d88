package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-dev/rampart"
)

var _ rampart.LeaseStore = (*DB)(nil)

// AcquireLease takes or renews the named lease. One statement does it:
// the insert of a free name, or the update of a row that holder already
// holds or that has expired. PostgreSQL makes a second writer wait on the
// row and re-check the condition against the first one's commit; SQLite
// runs one write transaction at a time. Either way two processes cannot
// both come out holding it.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (rampart.Lease, bool, error) {
	switch {
	case name == "" || holder == "":
		return rampart.Lease{}, false, rampart.Errorf(rampart.KindInvalid, "a lease needs a name and a holder")
	case ttl <= 0:
		return rampart.Lease{}, false, rampart.Errorf(rampart.KindInvalid, "a lease needs a positive term, not %s", ttl)
	}
	now = exact(now)
	var l rampart.Lease
	var held bool
	err := db.write(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET
				acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END,
				holder = excluded.holder, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.renewed_at`,
			name, holder, micros(now), micros(now), micros(now.Add(ttl))); err != nil {
			return err
		}
		var acquired, renewed, expires sql.NullInt64
		if err := c.queryRow(ctx, `SELECT holder, acquired_at, renewed_at, expires_at FROM leases WHERE name = ?`, name).Scan(
			&l.Holder, &acquired, &renewed, &expires); err != nil {
			return err
		}
		l.Name = name
		l.AcquiredAt, l.RenewedAt, l.ExpiresAt = fromMicros(acquired), fromMicros(renewed), fromMicros(expires)
		held = l.Holder == holder && l.ExpiresAt.After(now)
		return nil
	})
	if err != nil {
		return rampart.Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return l, held, nil
}

// ReleaseLease gives up the lease if holder holds it, so that another
// process takes over at once instead of when it would have expired.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	err := db.write(ctx, func(c conn) error {
		_, err := c.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// ClaimRun claims job's run for the period starting at due: a new row, or
// a row whose claim lapsed before it was finished.
func (db *DB) ClaimRun(ctx context.Context, job string, due time.Time, holder string, now time.Time, ttl time.Duration) (bool, error) {
	switch {
	case job == "" || holder == "" || due.IsZero():
		return false, rampart.Errorf(rampart.KindInvalid, "a run claim needs a job, a due time and a holder")
	case ttl <= 0:
		return false, rampart.Errorf(rampart.KindInvalid, "a run claim needs a positive term, not %s", ttl)
	}
	now = exact(now)
	var claimed bool
	err := db.write(ctx, func(c conn) error {
		res, err := c.exec(ctx, `INSERT INTO schedule_runs (job, due_at, holder, started_at, claimed_until) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (job, due_at) DO UPDATE SET
				holder = excluded.holder, started_at = excluded.started_at, claimed_until = excluded.claimed_until
			WHERE schedule_runs.finished_at IS NULL AND schedule_runs.claimed_until <= excluded.started_at`,
			job, micros(due), holder, micros(now), micros(now.Add(ttl)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim run %s at %s: %w", job, due.UTC().Format(time.RFC3339), err)
	}
	return claimed, nil
}

// FinishRun marks holder's claimed run finished. A run claimed by someone
// else since (holder's claim lapsed) is not touched: it is theirs now.
func (db *DB) FinishRun(ctx context.Context, job string, due time.Time, holder string, at time.Time, outcome string) error {
	err := db.write(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE schedule_runs SET finished_at = ?, outcome = ?
			WHERE job = ? AND due_at = ? AND holder = ? AND finished_at IS NULL`,
			micros(exact(at)), outcome, job, micros(due), holder)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return rampart.Errorf(rampart.KindConflict, "run %s at %s is not claimed by %s", job, due.UTC().Format(time.RFC3339), holder)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish run %s: %w", job, err)
	}
	return nil
}

// ScheduleRuns returns each job's latest run, by job.
func (db *DB) ScheduleRuns(ctx context.Context) ([]rampart.ScheduleRun, error) {
	var out []rampart.ScheduleRun
	err := db.read(ctx, func(c conn) error {
		rows, err := c.query(ctx, `SELECT r.job, r.due_at, r.holder, r.started_at, r.claimed_until, r.finished_at, r.outcome
			FROM schedule_runs r
			JOIN (SELECT job, MAX(due_at) AS due_at FROM schedule_runs GROUP BY job) m ON m.job = r.job AND m.due_at = r.due_at
			ORDER BY r.job`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r rampart.ScheduleRun
			var due, started, until, finished sql.NullInt64
			if err := rows.Scan(&r.Job, &due, &r.Holder, &started, &until, &finished, &r.Outcome); err != nil {
				return err
			}
			r.DueAt, r.StartedAt, r.ClaimedUntil, r.FinishedAt = fromMicros(due), fromMicros(started), fromMicros(until), fromMicros(finished)
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read schedule runs: %w", err)
	}
	return out, nil
}
