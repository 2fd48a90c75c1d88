package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-dev/rampart"
)

// Audit appends e to the chain. Seq, Prev and Hash are the store's; At is
// kept in UTC to the microsecond (now when unset), which is what the hash
// covers.
func (db *DB) Audit(ctx context.Context, e rampart.AuditEntry) (rampart.AuditEntry, error) {
	var out rampart.AuditEntry
	err := db.write(ctx, func(c conn) error {
		var err error
		out, err = db.appendAudit(ctx, c, e)
		return err
	})
	if err != nil {
		return rampart.AuditEntry{}, fmt.Errorf("audit %s %s: %w", e.Action, e.Object, err)
	}
	return out, nil
}

// appendAudit adds e after the chain's head within the caller's write
// transaction. The head row is read (and on PostgreSQL locked) first, so
// two appenders cannot both extend the same head.
func (db *DB) appendAudit(ctx context.Context, c conn, e rampart.AuditEntry) (rampart.AuditEntry, error) {
	switch {
	case e.Actor == "" || e.Action == "" || e.Object == "":
		return rampart.AuditEntry{}, rampart.Errorf(rampart.KindInvalid, "an audit entry names an actor, an action and an object")
	case !validJSON(e.Before):
		return rampart.AuditEntry{}, rampart.Errorf(rampart.KindInvalid, "the audit entry's before is not JSON")
	case !validJSON(e.After):
		return rampart.AuditEntry{}, rampart.Errorf(rampart.KindInvalid, "the audit entry's after is not JSON")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Source == "" {
		e.Source = sourceFrom(ctx)
	}
	e.At = exact(e.At)
	var last int64
	if err := c.queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+db.d.lockHead).Scan(&last, &e.Prev); err != nil {
		return rampart.AuditEntry{}, fmt.Errorf("read audit head: %w", err)
	}
	e.Seq = last + 1
	e.Hash = e.ChainHash()
	if _, err := c.exec(ctx, `INSERT INTO audit (seq, at, actor, action, object, before_json, after_json, source, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, micros(e.At), e.Actor, e.Action, e.Object, nullJSON(e.Before), nullJSON(e.After), e.Source, e.Prev, e.Hash); err != nil {
		return rampart.AuditEntry{}, fmt.Errorf("append audit entry: %w", err)
	}
	if _, err := c.exec(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash); err != nil {
		return rampart.AuditEntry{}, fmt.Errorf("move audit head: %w", err)
	}
	return e, nil
}

func validJSON(b json.RawMessage) bool {
	return len(b) == 0 || (utf8.Valid(b) && json.Valid(b))
}

// nullJSON keeps the exact bytes the hash covered; empty is NULL.
func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

const auditCols = `seq, at, actor, action, object, before_json, after_json, source, prev, hash`

func scanAudit(s interface{ Scan(...any) error }) (rampart.AuditEntry, error) {
	var e rampart.AuditEntry
	var at sql.NullInt64
	var before, after sql.NullString
	if err := s.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &before, &after, &e.Source, &e.Prev, &e.Hash); err != nil {
		return rampart.AuditEntry{}, err
	}
	e.At = fromMicros(at)
	if before.Valid {
		e.Before = json.RawMessage(before.String)
	}
	if after.Valid {
		e.After = json.RawMessage(after.String)
	}
	return e, nil
}

// AuditLog lists entries in sequence order.
func (db *DB) AuditLog(ctx context.Context, f rampart.AuditFilter) ([]rampart.AuditEntry, error) {
	var where []string
	var args []any
	for _, cond := range []struct {
		col, val string
	}{{"actor", f.Actor}, {"action", f.Action}, {"object", f.Object}} {
		if cond.val != "" {
			where = append(where, cond.col+" = ?")
			args = append(args, cond.val)
		}
	}
	if f.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
	}
	q := `SELECT ` + auditCols + ` FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := conn{r: db.sql, d: db.d}.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []rampart.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// VerifyAudit walks the whole chain in sequence order, one entry at a
// time, and then checks that the chain's head agrees with its last entry,
// which catches entries removed from the end.
func (db *DB) VerifyAudit(ctx context.Context) (rampart.AuditVerification, error) {
	var v rampart.AuditVerification
	err := db.read(ctx, func(c conn) error {
		var headSeq int64
		var headHash string
		if err := c.queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		rows, err := c.query(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var chain rampart.ChainVerifier
		var last rampart.AuditEntry
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return err
			}
			if !chain.Add(&e) {
				break
			}
			last = e
		}
		if err := rows.Err(); err != nil {
			return err
		}
		v = chain.Result()
		if !v.OK {
			return nil
		}
		switch {
		case headSeq > last.Seq:
			v.OK, v.BrokenAt = false, last.Seq+1
			v.Problem = "entry missing: the chain's head records " + strconv.FormatInt(headSeq, 10) + " entries"
		case headSeq < last.Seq:
			v.OK, v.BrokenAt = false, headSeq+1
			v.Problem = "entry added behind the store's back: the chain's head records " + strconv.FormatInt(headSeq, 10) + " entries"
		case headHash != last.Hash:
			v.OK, v.BrokenAt = false, last.Seq
			v.Problem = "its hash does not match the chain's head (replaced)"
		}
		return nil
	})
	if err != nil {
		return rampart.AuditVerification{}, fmt.Errorf("verify audit log: %w", err)
	}
	return v, nil
}
