package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart"
)

// A running scan's lease is renewed every leaseRenew and lasts leaseTerm:
// a scan whose owner stopped renewing for leaseTerm is taken as abandoned
// by the next opener, wherever its process ran.
const (
	leaseTerm  = 2 * time.Minute
	leaseRenew = 30 * time.Second
)

const (
	scanRunning     = "running"
	scanDone        = "done"
	scanInterrupted = "interrupted"
)

// BeginScan records a new running scan, owned by this process.
func (db *DB) BeginScan(ctx context.Context, trigger string, at time.Time) (rampart.ScanRun, error) {
	if trigger == "" {
		return rampart.ScanRun{}, rampart.Errorf(rampart.KindInvalid, "a scan needs a trigger (cli, schedule or api)")
	}
	if at.IsZero() {
		at = time.Now()
	}
	run := rampart.ScanRun{StartedAt: exact(at), State: scanRunning, Trigger: trigger}
	err := db.write(ctx, func(c conn) error {
		err := c.queryRow(ctx, `INSERT INTO scans (started_at, state, triggered_by, owner, lease_until)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			micros(run.StartedAt), run.State, run.Trigger, db.self.String(), time.Now().Add(leaseTerm).UnixMicro(),
		).Scan(&run.ID)
		if err != nil {
			return err
		}
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			At: run.StartedAt, Actor: actorFrom(ctx, "rampart:scan"), Action: "scan.start",
			Object: scanObject(run.ID), After: mustJSON(run),
		})
		return err
	})
	if err != nil {
		return rampart.ScanRun{}, fmt.Errorf("begin scan: %w", err)
	}
	db.mu.Lock()
	db.running[run.ID] = true
	db.mu.Unlock()
	return run, nil
}

// FinishScan closes a scan with its tallies. Its state becomes run.State
// when that is "interrupted" (the caller gave up), "done" otherwise. A
// scan another process took for abandoned may still finish: its end is
// the truer record.
func (db *DB) FinishScan(ctx context.Context, run rampart.ScanRun) error {
	state := scanDone
	switch run.State {
	case "", scanRunning, scanDone:
	case scanInterrupted:
		state = scanInterrupted
	default:
		return rampart.Errorf(rampart.KindInvalid, "unknown scan state %q (want done or interrupted)", run.State)
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = time.Now()
	}
	err := db.write(ctx, func(c conn) error {
		before, err := scanByID(ctx, c, run.ID)
		if err != nil {
			return err
		}
		if before.State == scanDone {
			return rampart.Errorf(rampart.KindConflict, "scan %d is already finished", run.ID)
		}
		after := before
		after.FinishedAt, after.State = exact(run.FinishedAt), state
		after.Resources, after.Pass, after.Fail, after.Errors = run.Resources, run.Pass, run.Fail, run.Errors
		if _, err := c.exec(ctx, `UPDATE scans SET finished_at = ?, state = ?, resources = ?, pass = ?, fail = ?, errors = ?,
			lease_until = NULL WHERE id = ?`,
			micros(after.FinishedAt), after.State, after.Resources, after.Pass, after.Fail, after.Errors, run.ID); err != nil {
			return err
		}
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			At: after.FinishedAt, Actor: actorFrom(ctx, "rampart:scan"), Action: "scan.finish",
			Object: scanObject(run.ID), Before: mustJSON(before), After: mustJSON(after),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", run.ID, err)
	}
	db.mu.Lock()
	delete(db.running, run.ID)
	db.mu.Unlock()
	return nil
}

const scanCols = `id, started_at, finished_at, state, triggered_by, resources, pass, fail, errors`

func scanScan(s interface{ Scan(...any) error }) (rampart.ScanRun, error) {
	var r rampart.ScanRun
	var started, finished sql.NullInt64
	if err := s.Scan(&r.ID, &started, &finished, &r.State, &r.Trigger, &r.Resources, &r.Pass, &r.Fail, &r.Errors); err != nil {
		return rampart.ScanRun{}, err
	}
	r.StartedAt, r.FinishedAt = fromMicros(started), fromMicros(finished)
	return r, nil
}

func scanByID(ctx context.Context, c conn, id int64) (rampart.ScanRun, error) {
	r, err := scanScan(c.queryRow(ctx, `SELECT `+scanCols+` FROM scans WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.ScanRun{}, rampart.Errorf(rampart.KindNotFound, "scan %d not found", id)
	}
	return r, err
}

// Scans lists scans, newest first; limit 0 lists them all.
func (db *DB) Scans(ctx context.Context, limit int) ([]rampart.ScanRun, error) {
	q := `SELECT ` + scanCols + ` FROM scans ORDER BY id DESC`
	args := []any{}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	c := conn{r: db.sql, d: db.d}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list scans: %w", err)
	}
	defer rows.Close()
	var out []rampart.ScanRun
	for rows.Next() {
		r, err := scanScan(rows)
		if err != nil {
			return nil, fmt.Errorf("list scans: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list scans: %w", err)
	}
	return out, nil
}

// interruptAbandoned marks as interrupted the running scans whose process
// is certainly gone (see owner.gone) or whose lease has lapsed.
func (db *DB) interruptAbandoned(ctx context.Context) error {
	err := db.write(ctx, func(c conn) error {
		rows, err := c.query(ctx, `SELECT id, owner, lease_until FROM scans WHERE state = 'running'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		now := time.Now()
		var ids []int64
		for rows.Next() {
			var id int64
			var ownedBy string
			var lease sql.NullInt64
			if err := rows.Scan(&id, &ownedBy, &lease); err != nil {
				return err
			}
			o, ok := parseOwner(ownedBy)
			lapsed := !lease.Valid || fromMicros(lease).Before(now)
			if lapsed || (ok && o.gone(db.self)) {
				ids = append(ids, id)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		return db.interrupt(ctx, c, ids, "rampart:store", now)
	})
	if err != nil {
		return fmt.Errorf("find abandoned scans: %w", err)
	}
	return nil
}

// interruptOwn marks the scans this DB began and never finished.
func (db *DB) interruptOwn(ctx context.Context) error {
	db.mu.Lock()
	ids := make([]int64, 0, len(db.running))
	for id := range db.running {
		ids = append(ids, id)
	}
	db.running = map[int64]bool{}
	db.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	err := db.write(ctx, func(c conn) error {
		return db.interrupt(ctx, c, ids, "rampart:scan", time.Now())
	})
	if err != nil {
		return fmt.Errorf("mark unfinished scans interrupted: %w", err)
	}
	return nil
}

func (db *DB) interrupt(ctx context.Context, c conn, ids []int64, actor string, at time.Time) error {
	for _, id := range ids {
		res, err := c.exec(ctx, `UPDATE scans SET state = 'interrupted', lease_until = NULL WHERE id = ? AND state = 'running'`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // finished meanwhile, or cannot tell: leave it
		}
		if _, err := db.appendAudit(ctx, c, rampart.AuditEntry{
			At: at, Actor: actor, Action: "scan.interrupt", Object: scanObject(id),
			After: json.RawMessage(`{"state":"interrupted"}`),
		}); err != nil {
			return err
		}
	}
	return nil
}

// heartbeat renews the leases of this DB's running scans until ctx ends.
// A failed renewal is retried at the next tick; if renewals keep failing,
// the lease lapses and a later opener marks the scan interrupted, which is
// then the honest record.
func (db *DB) heartbeat(ctx context.Context) {
	defer close(db.heartbeatDone)
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = db.renewLeases(ctx)
		}
	}
}

func (db *DB) renewLeases(ctx context.Context) error {
	db.mu.Lock()
	ids := make([]int64, 0, len(db.running))
	for id := range db.running {
		ids = append(ids, id)
	}
	db.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	return db.write(ctx, func(c conn) error {
		until := time.Now().Add(leaseTerm).UnixMicro()
		for _, id := range ids {
			if _, err := c.exec(ctx, `UPDATE scans SET lease_until = ? WHERE id = ? AND state = 'running'`, until, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanObject(id int64) string { return "scan:" + strconv.FormatInt(id, 10) }

// mustJSON encodes values the store builds itself, which always encode.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err))
	}
	return b
}
