package store_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/store"
)

// TestResultsQueryPlans asks SQLite how it runs Results' queries: the
// latest results of one resource (the resource page and API, under load)
// must seek latest_results' primary key, not scan the table, and reading
// every latest result (each new scan's snapshot) must not sort them.
func TestResultsQueryPlans(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	openFile(t, path) // creates and migrates the file
	raw := rawSQLite(t, path)
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		f      rampart.ResultFilter
		want   []string
		refuse []string
	}{
		{
			"one resource's latest",
			rampart.ResultFilter{ResourceID: "db-01"},
			[]string{"SEARCH l USING INDEX sqlite_autoindex_latest_results_1 (resource_id=?)", "SEARCH r USING INTEGER PRIMARY KEY"},
			[]string{"SCAN l", "TEMP B-TREE"},
		},
		{
			"one resource and check's latest",
			rampart.ResultFilter{ResourceID: "db-01", CheckID: "SRV-UID0", Since: since, Limit: 10},
			[]string{"SEARCH l USING INDEX sqlite_autoindex_latest_results_1 (resource_id=? AND check_id=?)"},
			[]string{"SCAN l", "TEMP B-TREE"},
		},
		{
			"every latest result",
			rampart.ResultFilter{},
			[]string{"SCAN l USING INDEX sqlite_autoindex_latest_results_1", "SEARCH r USING INTEGER PRIMARY KEY"},
			[]string{"TEMP B-TREE"},
		},
		{
			"one scan's results of a resource",
			rampart.ResultFilter{ScanID: 3, ResourceID: "db-01"},
			[]string{"SEARCH r USING INDEX results_scan (scan_id=? AND resource_id=?)"},
			[]string{"SCAN r"},
		},
	} {
		q, args := store.ResultsQuery(tc.f)
		got := queryPlan(t, raw, q, args)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: the plan lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, r := range tc.refuse {
			if strings.Contains(got, r) {
				t.Errorf("%s: the plan holds %q:\n%s", tc.name, r, got)
			}
		}
	}
}

// queryPlan is SQLite's plan of q, one step a line.
func queryPlan(t *testing.T, raw *sql.DB, q string, args []any) string {
	t.Helper()
	rows, err := raw.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// TestPoolKeepsIdleConnections holds 24 connections at once, as serve's
// concurrent readers do, and checks the pool keeps their connections for
// the next burst rather than closing all but two.
func TestPoolKeepsIdleConnections(t *testing.T) {
	t.Parallel()
	db := openFile(t, filepath.Join(t.TempDir(), "rampart.db"))
	pool := db.Pool()
	const burst = 24
	// Each open transaction holds a connection until it ends.
	var open []*sql.Tx
	for range burst {
		tx, err := pool.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, tx)
	}
	for _, tx := range open {
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	if st := pool.Stats(); st.MaxIdleClosed != 0 || st.Idle < burst {
		t.Errorf("after a burst of %d queries: %d idle, %d closed for the idle limit", burst, st.Idle, st.MaxIdleClosed)
	}
}
