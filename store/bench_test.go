package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/store"
)

// BenchmarkSaveOutcome measures the cost of writing one resource's outcome
// (ten results, two failing with two findings each, about 2 KB of facts):
// new-resource opens four tasks and audits them each time; rescan saves
// the same resources again, as a daily scan does, so the facts are already
// stored and the tasks only updated. SQLite writes a file in a temporary
// folder; PostgreSQL runs when RAMPART_TEST_POSTGRES is set (fsync off for
// a private server).
func BenchmarkSaveOutcome(b *testing.B) {
	stores := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }},
	}
	if os.Getenv(postgresEnv) != "" {
		base := postgresServer(b)
		stores = append(stores, struct {
			name string
			dsn  func(b *testing.B) string
		}{"postgres", func(*testing.B) string { return base }})
	}
	for _, st := range stores {
		for _, bc := range []struct {
			name   string
			rescan bool
		}{{"new-resource", false}, {"rescan", true}} {
			b.Run(st.name+"/"+bc.name, func(b *testing.B) {
				db, err := store.Open(b.Context(), st.dsn(b))
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = db.Close() }()
				run, err := db.BeginScan(b.Context(), "cli", time.Now())
				if err != nil {
					b.Fatal(err)
				}
				// Resource names are per run, so that runs sharing one
				// PostgreSQL database do not find each other's tasks.
				first := int(run.ID) * 1_000_000
				const pool = 200
				at := time.Now()
				if bc.rescan {
					for n := range pool {
						if _, err := db.SaveOutcome(b.Context(), outcome(run.ID, first+n, 0, at)); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					o := outcome(run.ID, first+n, 1, at)
					if bc.rescan {
						o = outcome(run.ID, first+n%pool, 0, at.Add(time.Duration(n)*time.Millisecond))
					}
					if _, err := db.SaveOutcome(b.Context(), o); err != nil {
						b.Fatal(err)
					}
					n++
				}
			})
		}
	}
}
