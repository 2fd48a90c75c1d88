package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-dev/rampart"
)

var _ rampart.OutboxStore = (*DB)(nil)

const eventCols = `e.id, e.event_key, e.alert_key, e.kind, e.action, e.severity, e.title, e.summary, e.labels, e.path,
	e.starts_at, e.ends_at, e.created_at`

func scanEvent(dest []any, e *rampart.OutboxEvent) []any {
	return append(dest, &e.ID, &e.Key, &e.AlertKey, &e.Kind, &e.Action, new(int), &e.Title, &e.Summary,
		new(string), &e.Path, new(sql.NullInt64), new(sql.NullInt64), new(sql.NullInt64))
}

// finishEvent converts the columns scanEvent left in dest (from offset
// off) into e's fields.
func finishEvent(dest []any, off int, e *rampart.OutboxEvent) error {
	e.Severity = rampart.Severity(*dest[off+5].(*int))
	if err := json.Unmarshal([]byte(*dest[off+8].(*string)), &e.Labels); err != nil {
		return fmt.Errorf("decode labels of event %d: %w", e.ID, err)
	}
	if len(e.Labels) == 0 {
		e.Labels = nil
	}
	e.StartsAt = fromMicros(*dest[off+10].(*sql.NullInt64))
	e.EndsAt = fromMicros(*dest[off+11].(*sql.NullInt64))
	e.CreatedAt = fromMicros(*dest[off+12].(*sql.NullInt64))
	return nil
}

func collectEvents(rows *sql.Rows) ([]rampart.OutboxEvent, error) {
	defer rows.Close()
	var out []rampart.OutboxEvent
	for rows.Next() {
		var e rampart.OutboxEvent
		dest := scanEvent(nil, &e)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := finishEvent(dest, 0, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Enqueue stores events in one transaction (see rampart.OutboxStore).
func (db *DB) Enqueue(ctx context.Context, events ...rampart.OutboxEvent) ([]rampart.OutboxEvent, error) {
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return nil, err
		}
	}
	var out []rampart.OutboxEvent
	err := db.write(ctx, func(c conn) error {
		var err error
		out, err = enqueue(ctx, c, db.d, events...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue notifications: %w", err)
	}
	return out, nil
}

// enqueue adds events within the caller's write transaction, so that a
// change and the notice of it commit together. A notice is kept once per
// key. An alert's trigger and resolve alternate: each is stored under the
// alert key and its generation ("review:4#3"), after reading the alert's
// state (locked on PostgreSQL), so a repeated or concurrent transition
// meets the unique key and is dropped.
func enqueue(ctx context.Context, c conn, d *dialect, events ...rampart.OutboxEvent) ([]rampart.OutboxEvent, error) {
	var out []rampart.OutboxEvent
	for _, e := range events {
		if err := e.Validate(); err != nil {
			return nil, err
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = time.Now()
		}
		e.CreatedAt, e.StartsAt, e.EndsAt = exact(e.CreatedAt), exact(e.StartsAt), exact(e.EndsAt)
		var gen int64
		if e.Action != rampart.ActionNotice {
			var state string
			var eventID int64
			err := c.queryRow(ctx, `SELECT generation, action, event_id FROM outbox_alerts WHERE alert_key = ?`+d.lockHead, e.AlertKey).
				Scan(&gen, &state, &eventID)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				state = string(rampart.ActionResolve)
			case err != nil:
				return nil, fmt.Errorf("read alert %s: %w", e.AlertKey, err)
			}
			if state == string(e.Action) {
				continue // already firing, or already resolved (or never fired)
			}
			if e.Action == rampart.ActionResolve {
				trigger, err := eventByID(ctx, c, eventID)
				if err != nil {
					return nil, err
				}
				e = resolveOf(trigger, e)
			}
			gen++
			e.Key = e.AlertKey + "#" + strconv.FormatInt(gen, 10)
		}
		if e.StartsAt.IsZero() {
			e.StartsAt = e.CreatedAt
		}
		labels := "{}"
		if len(e.Labels) > 0 {
			labels = string(mustJSON(e.Labels))
		}
		err := c.queryRow(ctx, `INSERT INTO outbox_events (event_key, alert_key, kind, action, severity, title, summary, labels,
			path, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (event_key) DO NOTHING RETURNING id`,
			e.Key, e.AlertKey, string(e.Kind), string(e.Action), int(e.Severity), e.Title, e.Summary, labels,
			e.Path, micros(e.StartsAt), micros(e.EndsAt), micros(e.CreatedAt)).Scan(&e.ID)
		if errors.Is(err, sql.ErrNoRows) {
			continue // stored already, by us or by another process
		}
		if err != nil {
			return nil, fmt.Errorf("store event %s: %w", e.Key, err)
		}
		if e.Action != rampart.ActionNotice {
			if _, err := c.exec(ctx, `INSERT INTO outbox_alerts (alert_key, generation, action, event_id) VALUES (?, ?, ?, ?)
				ON CONFLICT (alert_key) DO UPDATE SET generation = excluded.generation, action = excluded.action, event_id = excluded.event_id
				WHERE outbox_alerts.generation < excluded.generation`,
				e.AlertKey, gen, string(e.Action), e.ID); err != nil {
				return nil, fmt.Errorf("move alert %s: %w", e.AlertKey, err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// resolveOf fills a resolve from the trigger it ends: receivers show and
// match a resolve as they did its alert.
func resolveOf(trigger, r rampart.OutboxEvent) rampart.OutboxEvent {
	r.Kind, r.Severity, r.Labels, r.Path, r.StartsAt = trigger.Kind, trigger.Severity, trigger.Labels, trigger.Path, trigger.StartsAt
	if r.Title == "" {
		r.Title = trigger.Title
	}
	if r.Summary == "" {
		r.Summary = trigger.Summary
	}
	if r.EndsAt.IsZero() {
		r.EndsAt = r.CreatedAt
	}
	return r
}

func eventByID(ctx context.Context, c conn, id int64) (rampart.OutboxEvent, error) {
	rows, err := c.query(ctx, `SELECT `+eventCols+` FROM outbox_events e WHERE e.id = ?`, id)
	if err != nil {
		return rampart.OutboxEvent{}, fmt.Errorf("read event %d: %w", id, err)
	}
	evs, err := collectEvents(rows)
	if err != nil {
		return rampart.OutboxEvent{}, fmt.Errorf("read event %d: %w", id, err)
	}
	if len(evs) == 0 {
		return rampart.OutboxEvent{}, rampart.Errorf(rampart.KindNotFound, "event %d not found", id)
	}
	return evs[0], nil
}

// UnroutedEvents lists events not routed yet, oldest first.
func (db *DB) UnroutedEvents(ctx context.Context, limit int) ([]rampart.OutboxEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []rampart.OutboxEvent
	err := db.read(ctx, func(c conn) error {
		rows, err := c.query(ctx, `SELECT `+eventCols+` FROM outbox_events e WHERE e.routed_at IS NULL ORDER BY e.id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		out, err = collectEvents(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list unrouted events: %w", err)
	}
	return out, nil
}

// RouteEvent creates one delivery per receiver and marks the event routed,
// in one transaction. Routing an event twice (two senders at once) makes
// no second delivery: (event, receiver) is unique.
func (db *DB) RouteEvent(ctx context.Context, eventID int64, receivers []string, at time.Time) error {
	at = exact(at)
	err := db.write(ctx, func(c conn) error {
		var alertKey string
		var routed sql.NullInt64
		err := c.queryRow(ctx, `SELECT alert_key, routed_at FROM outbox_events WHERE id = ?`, eventID).Scan(&alertKey, &routed)
		if errors.Is(err, sql.ErrNoRows) {
			return rampart.Errorf(rampart.KindNotFound, "event %d not found", eventID)
		}
		if err != nil || routed.Valid {
			return err
		}
		for _, r := range receivers {
			if _, err := c.exec(ctx, `INSERT INTO outbox_deliveries (event_id, receiver, alert_key, state, next_attempt_at, created_at)
				VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (event_id, receiver) DO NOTHING`,
				eventID, r, alertKey, micros(at), micros(at)); err != nil {
				return err
			}
		}
		_, err = c.exec(ctx, `UPDATE outbox_events SET routed_at = ? WHERE id = ?`, micros(at), eventID)
		return err
	})
	if err != nil {
		return fmt.Errorf("route event %d: %w", eventID, err)
	}
	return nil
}

const deliveryCols = `d.id, d.receiver, d.state, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.delivered_at, ` + eventCols

func collectDeliveries(rows *sql.Rows) ([]rampart.Delivery, error) {
	defer rows.Close()
	var out []rampart.Delivery
	for rows.Next() {
		var d rampart.Delivery
		var next, created, delivered sql.NullInt64
		dest := scanEvent([]any{&d.ID, &d.Receiver, &d.State, &d.Attempts, &next, &d.LastError, &created, &delivered}, &d.Event)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := finishEvent(dest, 8, &d.Event); err != nil {
			return nil, err
		}
		d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(delivered)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimDeliveries claims pending deliveries for holder (see
// rampart.OutboxStore). On PostgreSQL the candidates are locked with SKIP
// LOCKED, so concurrent senders take different rows instead of queueing;
// on SQLite the write transaction excludes other writers.
func (db *DB) ClaimDeliveries(ctx context.Context, holder string, now time.Time, ttl time.Duration, limit int) ([]rampart.Delivery, error) {
	if holder == "" || ttl <= 0 {
		return nil, rampart.Errorf(rampart.KindInvalid, "a claim needs a holder and a positive term")
	}
	if limit <= 0 {
		limit = 10
	}
	now = exact(now)
	lock := ""
	if db.d.name == "postgres" {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	var out []rampart.Delivery
	err := db.write(ctx, func(c conn) error {
		rows, err := c.query(ctx, `SELECT d.id FROM outbox_deliveries d
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until <= ?)
			AND (d.alert_key = '' OR NOT EXISTS (SELECT 1 FROM outbox_deliveries p
				WHERE p.receiver = d.receiver AND p.alert_key = d.alert_key AND p.state = 'pending' AND p.id < d.id))
			ORDER BY d.id LIMIT ?`+lock, micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		var ids []any
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		}()
		if err != nil || len(ids) == 0 {
			return err
		}
		args := append([]any{holder, micros(now.Add(ttl))}, ids...)
		// Built per call (the id list varies), so not through the
		// statement cache.
		if _, err := c.r.ExecContext(ctx, c.d.rebind(`UPDATE outbox_deliveries SET claimed_by = ?, claimed_until = ?
			WHERE id IN (`+sqlMarks(len(ids))+`)`), args...); err != nil {
			return err
		}
		drows, err := c.r.QueryContext(ctx, c.d.rebind(`SELECT `+deliveryCols+` FROM outbox_deliveries d
			JOIN outbox_events e ON e.id = d.event_id WHERE d.id IN (`+sqlMarks(len(ids))+`) ORDER BY d.id`), ids...)
		if err != nil {
			return err
		}
		out, err = collectDeliveries(drows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// DeliverySucceeded marks holder's claimed delivery delivered.
func (db *DB) DeliverySucceeded(ctx context.Context, id int64, holder string, at time.Time) error {
	return db.settleDelivery(ctx, id, holder, `state = 'delivered', delivered_at = ?, last_error = ''`, micros(exact(at)))
}

// DeliveryFailed records a failed attempt of holder's claimed delivery.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, holder string, at, retryAt time.Time, reason string) error {
	reason = truncateUTF8(reason, 1000)
	if retryAt.IsZero() {
		return db.settleDelivery(ctx, id, holder, `state = 'failed', last_error = ?`, reason)
	}
	return db.settleDelivery(ctx, id, holder, `next_attempt_at = ?, last_error = ?`, micros(exact(retryAt)), reason)
}

func (db *DB) settleDelivery(ctx context.Context, id int64, holder, set string, args ...any) error {
	err := db.write(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE outbox_deliveries SET `+set+`, attempts = attempts + 1, claimed_by = '', claimed_until = NULL
			WHERE id = ? AND claimed_by = ? AND state = 'pending'`, append(args, id, holder)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return rampart.Errorf(rampart.KindConflict, "delivery %d is not claimed by %s", id, holder)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle delivery %d: %w", id, err)
	}
	return nil
}

// ReleaseDeliveries lets go of holder's unsettled claims.
func (db *DB) ReleaseDeliveries(ctx context.Context, holder string) error {
	err := db.write(ctx, func(c conn) error {
		_, err := c.exec(ctx, `UPDATE outbox_deliveries SET claimed_by = '', claimed_until = NULL
			WHERE claimed_by = ? AND state = 'pending'`, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release deliveries of %s: %w", holder, err)
	}
	return nil
}

// Deliveries lists deliveries, oldest first.
func (db *DB) Deliveries(ctx context.Context, f rampart.DeliveryFilter) ([]rampart.Delivery, error) {
	var where []string
	var args []any
	if f.Receiver != "" {
		where = append(where, `d.receiver = ?`)
		args = append(args, f.Receiver)
	}
	if f.EventID != 0 {
		where = append(where, `d.event_id = ?`)
		args = append(args, f.EventID)
	}
	if len(f.State) > 0 {
		where = append(where, `d.state IN (`+sqlMarks(len(f.State))+`)`)
		for _, s := range f.State {
			args = append(args, string(s))
		}
	}
	q := `SELECT ` + deliveryCols + ` FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY d.id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	var out []rampart.Delivery
	err := db.read(ctx, func(c conn) error {
		rows, err := c.query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = collectDeliveries(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// FiringAlerts lists the trigger of every alert firing now, oldest first.
func (db *DB) FiringAlerts(ctx context.Context) ([]rampart.OutboxEvent, error) {
	var out []rampart.OutboxEvent
	err := db.read(ctx, func(c conn) error {
		rows, err := c.query(ctx, `SELECT `+eventCols+` FROM outbox_alerts a JOIN outbox_events e ON e.id = a.event_id
			WHERE a.action = 'trigger' ORDER BY e.id`)
		if err != nil {
			return err
		}
		out, err = collectEvents(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list firing alerts: %w", err)
	}
	return out, nil
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
