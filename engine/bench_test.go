package engine_test

import (
	"context"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
	"github.com/rampart-dev/rampart/engine"
	"github.com/rampart-dev/rampart/engine/enginetest"
)

// BenchmarkScan scans 10,000 resources whose collector answers at once,
// with two built-in checks and one CEL check each, saving into the
// in-memory store: the engine's own overhead per scan.
func BenchmarkScan(b *testing.B) {
	user, err := celcheck.Parse("bench.yaml", []byte(`checks:
  - id: ACME-PORT
    title: Served on 443
    severity: low
    kind: fake
    controls: [TEST-01]
    remediation: Move it.
    doc: Reads the port.
    expr: facts.port == 443 && !has(facts.weak)
`))
	if err != nil {
		b.Fatal(err)
	}
	facts := &enginetest.Facts{Port: 443, Owner: "platform"}
	fake := &enginetest.Integration{Kind: fakeKind, Collect: func(context.Context, *rampart.Resource) (rampart.Facts, error) {
		return facts, nil
	}}
	rs := resources(10_000)
	for _, r := range rs {
		r.Kind = fakeKind
	}
	b.ReportAllocs()
	for b.Loop() {
		e := newEngine(enginetest.NewStore(), fake, append(user, enginetest.WeakCheck("FAKE-2", fakeKind, rampart.SeverityLow))...)
		e.Concurrency = 8
		sum, err := e.Scan(b.Context(), rs, engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Run.Pass != 30_000 {
			b.Fatalf("%d passes, want 30000", sum.Run.Pass)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10_000, "µs/resource")
}
