package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

const taskCols = `id, fingerprint, check_id, resource_id, item, title, message, location, severity, criticality,
	area, owner, assignee, status, regression, opened_at, first_seen, last_seen, resolved_at`

func scanTask(s interface{ Scan(...any) error }) (rampart.Task, error) {
	var t rampart.Task
	var loc sql.NullString
	var sev, crit int
	var opened, first, last, resolved sql.NullInt64
	if err := s.Scan(&t.ID, &t.Fingerprint, &t.CheckID, &t.ResourceID, &t.Item, &t.Title, &t.Message, &loc,
		&sev, &crit, &t.Area, &t.Owner, &t.Assignee, &t.Status, &t.Regression,
		&opened, &first, &last, &resolved); err != nil {
		return rampart.Task{}, err
	}
	t.Severity, t.Criticality = rampart.Severity(sev), rampart.Criticality(crit)
	t.OpenedAt, t.FirstSeen, t.LastSeen, t.ResolvedAt = fromMicros(opened), fromMicros(first), fromMicros(last), fromMicros(resolved)
	if loc.Valid {
		if err := json.Unmarshal([]byte(loc.String), &t.Location); err != nil {
			return rampart.Task{}, fmt.Errorf("decode location of task %d: %w", t.ID, err)
		}
	}
	return t, nil
}

func collectTasks(rows *sql.Rows) ([]rampart.Task, error) {
	defer rows.Close()
	var out []rampart.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// resourceTasks loads a resource's tasks by fingerprint, for Reconcile.
func resourceTasks(ctx context.Context, c conn, resourceID string) (map[string]rampart.Task, error) {
	rows, err := c.query(ctx, `SELECT `+taskCols+` FROM tasks WHERE resource_id = ?`, resourceID)
	if err != nil {
		return nil, fmt.Errorf("load tasks of %s: %w", resourceID, err)
	}
	tasks, err := collectTasks(rows)
	if err != nil {
		return nil, fmt.Errorf("load tasks of %s: %w", resourceID, err)
	}
	out := make(map[string]rampart.Task, len(tasks))
	for _, t := range tasks {
		out[t.Fingerprint] = t
	}
	return out, nil
}

// upsertTask writes a task as reconciliation left it, keyed by its
// fingerprint, normalizing its times as stored, and returns its id.
func upsertTask(ctx context.Context, c conn, t *rampart.Task) (int64, error) {
	t.OpenedAt, t.FirstSeen, t.LastSeen, t.ResolvedAt = exact(t.OpenedAt), exact(t.FirstSeen), exact(t.LastSeen), exact(t.ResolvedAt)
	var loc any
	if t.Location != (rampart.Location{}) {
		loc = string(mustJSON(t.Location))
	}
	var id int64
	err := c.queryRow(ctx, `INSERT INTO tasks (fingerprint, check_id, resource_id, item, title, message, location, severity,
		criticality, area, owner, assignee, status, regression, opened_at, first_seen, last_seen, resolved_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (fingerprint) DO UPDATE SET check_id = excluded.check_id, resource_id = excluded.resource_id,
			item = excluded.item, title = excluded.title, message = excluded.message, location = excluded.location,
			severity = excluded.severity, criticality = excluded.criticality, area = excluded.area,
			owner = excluded.owner, assignee = excluded.assignee, status = excluded.status,
			regression = excluded.regression, opened_at = excluded.opened_at, last_seen = excluded.last_seen,
			resolved_at = excluded.resolved_at
		RETURNING id`,
		t.Fingerprint, t.CheckID, t.ResourceID, t.Item, t.Title, t.Message, loc, int(t.Severity),
		int(t.Criticality), t.Area, t.Owner, t.Assignee, string(t.Status), t.Regression,
		micros(t.OpenedAt), micros(t.FirstSeen), micros(t.LastSeen), micros(t.ResolvedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("save task %s: %w", t.Fingerprint, err)
	}
	return id, nil
}

// Tasks lists the tasks f selects, each with the active exception (as of
// f.Now, or now) that covers it; excepted tasks are left out unless
// f.IncludeExcepted. Exceptions are applied as tasks are read, never
// written into them: an expired exception lets its task show again with
// no job running. The most urgent come first (Task.Priority), then by id.
func (db *DB) Tasks(ctx context.Context, f rampart.TaskFilter) ([]rampart.Task, error) {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	var where []string
	var args []any
	if len(f.Status) > 0 {
		marks := make([]string, len(f.Status))
		for i, s := range f.Status {
			marks[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, `status IN (`+strings.Join(marks, ", ")+`)`)
	}
	for _, cond := range []struct{ col, val string }{{"owner", f.Owner}, {"area", f.Area}, {"resource_id", f.ResourceID}} {
		if cond.val != "" {
			where = append(where, cond.col+` = ?`)
			args = append(args, cond.val)
		}
	}
	q := `SELECT ` + taskCols + ` FROM tasks`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	var tasks []rampart.Task
	var active []rampart.Exception
	err := db.read(ctx, func(c conn) error {
		rows, err := c.query(ctx, q, args...)
		if err != nil {
			return err
		}
		if tasks, err = collectTasks(rows); err != nil {
			return err
		}
		active, err = exceptionsActive(ctx, c, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := tasks[:0]
	for _, t := range tasks {
		t.Exception = covering(active, &t)
		if t.Exception != nil && !f.IncludeExcepted {
			continue
		}
		out = append(out, t)
	}
	prio := make(map[int64]float64, len(out))
	for i := range out {
		prio[out[i].ID] = out[i].Priority(now)
	}
	sort.Slice(out, func(i, j int) bool {
		if pi, pj := prio[out[i].ID], prio[out[j].ID]; pi != pj {
			return pi > pj
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// covering picks, among active exceptions, the one covering t that lasts
// longest: the task stays hidden until the last of them expires.
func covering(active []rampart.Exception, t *rampart.Task) *rampart.Exception {
	var best *rampart.Exception
	for i := range active {
		e := &active[i]
		if !e.Covers(t) {
			continue
		}
		if best == nil || e.ExpiresAt.After(best.ExpiresAt) {
			best = e
		}
	}
	if best == nil {
		return nil
	}
	e := *best
	return &e
}

// Task returns one task, with the exception that covers it now.
func (db *DB) Task(ctx context.Context, id int64) (rampart.Task, error) {
	var t rampart.Task
	err := db.read(ctx, func(c conn) error {
		var err error
		if t, err = taskByID(ctx, c, id); err != nil {
			return err
		}
		active, err := exceptionsActive(ctx, c, time.Now())
		t.Exception = covering(active, &t)
		return err
	})
	if err != nil {
		return rampart.Task{}, fmt.Errorf("read task %d: %w", id, err)
	}
	return t, nil
}

func taskByID(ctx context.Context, c conn, id int64) (rampart.Task, error) {
	t, err := scanTask(c.queryRow(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.Task{}, rampart.Errorf(rampart.KindNotFound, "task %d not found", id)
	}
	return t, err
}

// Unassign is the assignee that, given to UpdateTask, clears it.
const Unassign = "-"

// UpdateTask changes a task as a person asks: its status unless status is
// empty, its assignee unless assignee is empty (Unassign clears it).
// Resolving stamps the resolution time; reopening a resolved task restarts
// its clock. A person's resolve is not the last word: if the check still
// fails at the next scan, the task reopens as a regression.
func (db *DB) UpdateTask(ctx context.Context, id int64, status rampart.TaskStatus, assignee string, actor string) (rampart.Task, error) {
	if actor == "" {
		return rampart.Task{}, rampart.Errorf(rampart.KindInvalid, "a task update names who makes it")
	}
	if status == "" && assignee == "" {
		return rampart.Task{}, rampart.Errorf(rampart.KindInvalid, "a task update changes the status or the assignee")
	}
	if status != "" {
		if _, err := rampart.ParseTaskStatus(string(status)); err != nil {
			return rampart.Task{}, err
		}
	}
	now := exact(time.Now())
	var after rampart.Task
	err := db.write(ctx, func(c conn) error {
		before, err := taskByID(ctx, c, id)
		if err != nil {
			return err
		}
		after = before
		switch assignee {
		case "":
		case Unassign:
			after.Assignee = ""
		default:
			after.Assignee = assignee
		}
		if status != "" && status != before.Status {
			after.Status = status
			switch {
			case status == rampart.TaskResolved:
				after.ResolvedAt = now
			case before.Status == rampart.TaskResolved:
				after.ResolvedAt, after.OpenedAt = time.Time{}, now
			}
		}
		if after == before {
			return nil
		}
		if _, err := c.exec(ctx, `UPDATE tasks SET assignee = ?, status = ?, opened_at = ?, resolved_at = ? WHERE id = ?`,
			after.Assignee, string(after.Status), micros(after.OpenedAt), micros(after.ResolvedAt), id); err != nil {
			return err
		}
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			At: now, Actor: actor, Action: "task.update", Object: taskObject(id),
			Before: mustJSON(before), After: mustJSON(after),
		})
		return err
	})
	if err != nil {
		return rampart.Task{}, fmt.Errorf("update task %d: %w", id, err)
	}
	return db.Task(ctx, id)
}

func taskObject(id int64) string { return "task:" + strconv.FormatInt(id, 10) }
