package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// SaveOutcome stores one resource's outcome in one transaction: its facts
// as evidence, its results in the history and as the latest, the task
// updates reconciliation derives from them, and an audit entry for each
// task opened, reopened or resolved. A crash at any point leaves all of it
// or none.
func (db *DB) SaveOutcome(ctx context.Context, o rampart.ResourceOutcome) ([]rampart.TaskUpdate, error) {
	if o.Resource == nil || o.Resource.ID == "" {
		return nil, rampart.Errorf(rampart.KindInvalid, "an outcome names its resource")
	}
	rid := o.Resource.ID
	if o.At.IsZero() {
		o.At = time.Now()
	}
	o.At = exact(o.At)
	if o.Actor == "" {
		o.Actor = "rampart:scan"
	}
	results := make([]rampart.Result, len(o.Results))
	for i, r := range o.Results {
		switch {
		case r.ResourceID != "" && r.ResourceID != rid:
			return nil, rampart.Errorf(rampart.KindInvalid, "outcome of %s holds a result of %s", rid, r.ResourceID)
		case r.ScanID != 0 && r.ScanID != o.ScanID:
			return nil, rampart.Errorf(rampart.KindInvalid, "outcome of scan %d holds a result of scan %d", o.ScanID, r.ScanID)
		case r.CheckID == "":
			return nil, rampart.Errorf(rampart.KindInvalid, "a result of %s names no check", rid)
		}
		switch r.Status {
		case rampart.StatusPass, rampart.StatusFail, rampart.StatusError, rampart.StatusNotApplicable:
		default:
			return nil, rampart.Errorf(rampart.KindInvalid, "result of %s on %s: unknown status %q", r.CheckID, rid, r.Status)
		}
		r.ScanID, r.ResourceID = o.ScanID, rid
		if r.At.IsZero() {
			r.At = o.At
		}
		r.At = exact(r.At)
		results[i] = r
	}

	var updates []rampart.TaskUpdate
	err := db.write(ctx, func(c conn) error {
		if _, err := scanByID(ctx, c, o.ScanID); err != nil {
			return err
		}
		facts := ""
		if o.Facts != nil {
			var err error
			facts, err = putEvidence(ctx, c, rampart.Evidence{
				Kind: rampart.EvidenceFacts, MediaType: "application/json", ResourceID: rid,
				Description: "facts collected from " + rid, CreatedAt: o.At,
			}, o.Facts)
			if err != nil {
				return err
			}
		}
		for i := range results {
			r := &results[i]
			switch {
			case r.Evidence == "":
				r.Evidence = facts
			case r.Evidence != facts:
				if err := evidenceExists(ctx, c, r.Evidence); err != nil {
					return fmt.Errorf("result of %s: %w", r.CheckID, err)
				}
			}
			if err := insertResult(ctx, c, r); err != nil {
				return err
			}
		}
		existing, err := resourceTasks(ctx, c, rid)
		if err != nil {
			return err
		}
		updates = rampart.Reconcile(rampart.ReconcileInput{
			Resource: o.Resource, Results: results, Checks: o.Checks, Area: o.Area,
			Existing: existing, Now: o.At,
		})
		for i := range updates {
			u := &updates[i]
			if u.Task.ID, err = upsertTask(ctx, c, &u.Task); err != nil {
				return err
			}
			if u.Change == rampart.TaskUpdated {
				continue // still failing: no change worth a line in the log
			}
			e := rampart.AuditEntry{
				At: o.At, Actor: o.Actor, Action: "task." + string(u.Change),
				Object: taskObject(u.Task.ID), After: mustJSON(u.Task),
			}
			if before, ok := existing[u.Task.Fingerprint]; ok {
				e.Before = mustJSON(before)
			}
			if _, err := db.appendAudit(ctx, c, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("save outcome of %s: %w", rid, err)
	}
	return updates, nil
}

func evidenceExists(ctx context.Context, c conn, sha string) error {
	var one int
	err := c.queryRow(ctx, `SELECT 1 FROM evidence WHERE sha256 = ?`, sha).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.Errorf(rampart.KindInvalid, "cites evidence %s, which is not stored", sha)
	}
	return err
}

func insertResult(ctx context.Context, c conn, r *rampart.Result) error {
	var findings any
	if len(r.Findings) > 0 {
		b, err := json.Marshal(r.Findings)
		if err != nil {
			return fmt.Errorf("encode findings of %s: %w", r.CheckID, err)
		}
		findings = string(b)
	}
	var evidence any
	if r.Evidence != "" {
		evidence = r.Evidence
	}
	var id int64
	if err := c.queryRow(ctx, `INSERT INTO results (scan_id, resource_id, check_id, check_version, status, severity, reason,
		findings, evidence_sha256, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ScanID, r.ResourceID, r.CheckID, r.Version, string(r.Status), int(r.Severity), r.Reason,
		findings, evidence, micros(r.At)).Scan(&id); err != nil {
		return fmt.Errorf("insert result of %s: %w", r.CheckID, err)
	}
	// An outcome saved late (an older scan finishing after a newer one)
	// stays in the history but does not displace a newer latest result.
	if _, err := c.exec(ctx, `INSERT INTO latest_results (resource_id, check_id, result_id, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (resource_id, check_id) DO UPDATE SET result_id = excluded.result_id, at = excluded.at
		WHERE excluded.at >= latest_results.at`,
		r.ResourceID, r.CheckID, id, micros(r.At)); err != nil {
		return fmt.Errorf("update latest result of %s: %w", r.CheckID, err)
	}
	return nil
}

// resultsQuery is Results' query. The latest results are read through
// latest_results, filtered and ordered by its primary key (resource, check;
// one row each, the same as its result's): SQLite then seeks one
// resource's rows and reads them in order, where filtering on the
// results' columns made it scan the whole table and sort.
func resultsQuery(f rampart.ResultFilter) (string, []any) {
	var q strings.Builder
	var where []string
	var args []any
	q.WriteString(`SELECT ` + resultCols)
	key, order := "r", ` ORDER BY r.resource_id, r.check_id, r.id`
	if f.ScanID == 0 {
		q.WriteString(` FROM latest_results l JOIN results r ON r.id = l.result_id`)
		key, order = "l", ` ORDER BY l.resource_id, l.check_id`
	} else {
		q.WriteString(` FROM results r`)
		where = append(where, `r.scan_id = ?`)
		args = append(args, f.ScanID)
	}
	if f.ResourceID != "" {
		where = append(where, key+`.resource_id = ?`)
		args = append(args, f.ResourceID)
	}
	if f.CheckID != "" {
		where = append(where, key+`.check_id = ?`)
		args = append(args, f.CheckID)
	}
	if !f.Since.IsZero() {
		where = append(where, `r.at >= ?`)
		args = append(args, f.Since.UnixMicro())
	}
	if len(where) > 0 {
		q.WriteString(` WHERE ` + strings.Join(where, ` AND `))
	}
	q.WriteString(order)
	if f.Limit > 0 {
		q.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}
	return q.String(), args
}

const resultCols = `r.scan_id, r.resource_id, r.check_id, r.check_version, r.status, r.severity, r.reason, r.findings, r.evidence_sha256, r.at`

func scanResult(s interface{ Scan(...any) error }) (rampart.Result, error) {
	var r rampart.Result
	var sev int
	var findings, evidence sql.NullString
	var at sql.NullInt64
	if err := s.Scan(&r.ScanID, &r.ResourceID, &r.CheckID, &r.Version, &r.Status, &sev, &r.Reason, &findings, &evidence, &at); err != nil {
		return rampart.Result{}, err
	}
	r.Severity, r.Evidence, r.At = rampart.Severity(sev), evidence.String, fromMicros(at)
	if findings.Valid {
		if err := json.Unmarshal([]byte(findings.String), &r.Findings); err != nil {
			return rampart.Result{}, fmt.Errorf("decode findings of %s on %s: %w", r.CheckID, r.ResourceID, err)
		}
	}
	return r, nil
}

// Results lists results ordered by resource and check: those of one scan,
// or with ScanID 0 the latest of each resource and check.
func (db *DB) Results(ctx context.Context, f rampart.ResultFilter) ([]rampart.Result, error) {
	q, args := resultsQuery(f)
	rows, err := conn{r: db.sql, d: db.d}.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list results: %w", err)
	}
	defer rows.Close()
	var out []rampart.Result
	for rows.Next() {
		r, err := scanResult(rows)
		if err != nil {
			return nil, fmt.Errorf("list results: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list results: %w", err)
	}
	return out, nil
}
