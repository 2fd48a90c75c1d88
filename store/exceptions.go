package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart"
)

// AddException records an accepted risk after validating it as of its
// creation (now when unset).
func (db *DB) AddException(ctx context.Context, e rampart.Exception) (rampart.Exception, error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	if err := e.Validate(e.CreatedAt); err != nil {
		return rampart.Exception{}, err
	}
	if e.CreatedBy == "" {
		return rampart.Exception{}, rampart.Errorf(rampart.KindInvalid, "an exception names who records it")
	}
	e.ID = 0
	e.CreatedAt, e.ExpiresAt, e.RevokedAt = exact(e.CreatedAt), exact(e.ExpiresAt), time.Time{}
	err := db.write(ctx, func(c conn) error {
		if err := c.queryRow(ctx, `INSERT INTO exceptions (check_id, resource_id, fingerprint, reason, approver,
			created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			e.CheckID, e.ResourceID, e.Fingerprint, e.Reason, e.Approver, e.CreatedBy,
			micros(e.CreatedAt), micros(e.ExpiresAt)).Scan(&e.ID); err != nil {
			return err
		}
		_, err := db.appendAudit(ctx, c, rampart.AuditEntry{
			At: e.CreatedAt, Actor: e.CreatedBy, Action: "exception.create",
			Object: exceptionObject(e.ID), After: mustJSON(e),
		})
		return err
	})
	if err != nil {
		return rampart.Exception{}, fmt.Errorf("add exception: %w", err)
	}
	return e, nil
}

// RevokeException ends an exception at time at (now when unset).
func (db *DB) RevokeException(ctx context.Context, id int64, actor string, at time.Time) error {
	if actor == "" {
		return rampart.Errorf(rampart.KindInvalid, "a revocation names who makes it")
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = exact(at)
	err := db.write(ctx, func(c conn) error {
		before, err := scanException(c.queryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return rampart.Errorf(rampart.KindNotFound, "exception %d not found", id)
		}
		if err != nil {
			return err
		}
		if !before.RevokedAt.IsZero() {
			return rampart.Errorf(rampart.KindConflict, "exception %d was already revoked", id)
		}
		if _, err := c.exec(ctx, `UPDATE exceptions SET revoked_at = ?, revoked_by = ? WHERE id = ?`, micros(at), actor, id); err != nil {
			return err
		}
		after := before
		after.RevokedAt = at
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			At: at, Actor: actor, Action: "exception.revoke", Object: exceptionObject(id),
			Before: mustJSON(before), After: mustJSON(after),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke exception %d: %w", id, err)
	}
	return nil
}

// Exceptions lists the exceptions active at activeAt, or every exception
// ever recorded when activeAt is zero, by id.
func (db *DB) Exceptions(ctx context.Context, activeAt time.Time) ([]rampart.Exception, error) {
	var out []rampart.Exception
	var err error
	if activeAt.IsZero() {
		out, err = queryExceptions(ctx, conn{r: db.sql, d: db.d}, `SELECT `+exceptionCols+` FROM exceptions ORDER BY id`)
	} else {
		out, err = exceptionsActive(ctx, conn{r: db.sql, d: db.d}, activeAt)
	}
	if err != nil {
		return nil, fmt.Errorf("list exceptions: %w", err)
	}
	return out, nil
}

// exceptionsActive selects what Exception.Active(at) accepts: not revoked,
// expiring after at.
func exceptionsActive(ctx context.Context, c conn, at time.Time) ([]rampart.Exception, error) {
	return queryExceptions(ctx, c, `SELECT `+exceptionCols+` FROM exceptions
		WHERE revoked_at IS NULL AND expires_at > ? ORDER BY id`, at.UnixMicro())
}

const exceptionCols = `id, check_id, resource_id, fingerprint, reason, approver, created_by, created_at, expires_at, revoked_at`

func scanException(s interface{ Scan(...any) error }) (rampart.Exception, error) {
	var e rampart.Exception
	var created, expires, revoked sql.NullInt64
	if err := s.Scan(&e.ID, &e.CheckID, &e.ResourceID, &e.Fingerprint, &e.Reason, &e.Approver, &e.CreatedBy,
		&created, &expires, &revoked); err != nil {
		return rampart.Exception{}, err
	}
	e.CreatedAt, e.ExpiresAt, e.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	return e, nil
}

func queryExceptions(ctx context.Context, c conn, q string, args ...any) ([]rampart.Exception, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rampart.Exception
	for rows.Next() {
		e, err := scanException(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func exceptionObject(id int64) string { return "exception:" + strconv.FormatInt(id, 10) }
