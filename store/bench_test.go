package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/store"
)

// BenchmarkSaveOutcome measures the cost of writing one resource's outcome
// (ten results, two failing with two findings each, about 2 KB of facts)
// to a SQLite file: new-resource opens four tasks and audits them each
// time; rescan saves the same resources again, as a daily scan does, so
// the facts are already stored and the tasks only updated.
func BenchmarkSaveOutcome(b *testing.B) {
	for _, bc := range []struct {
		name   string
		rescan bool
	}{{"new-resource", false}, {"rescan", true}} {
		b.Run(bc.name, func(b *testing.B) {
			db, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			run, err := db.BeginScan(b.Context(), "cli", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			const pool = 200
			at := time.Now()
			if bc.rescan {
				for n := range pool {
					if _, err := db.SaveOutcome(b.Context(), outcome(run.ID, n, 0, at)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				o := outcome(run.ID, n, 1, at)
				if bc.rescan {
					o = outcome(run.ID, n%pool, 0, at.Add(time.Duration(n)*time.Millisecond))
				}
				if _, err := db.SaveOutcome(b.Context(), o); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}
