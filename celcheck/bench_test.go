package celcheck_test

import (
	"context"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
)

// A three-condition rule over a typical TLS endpoint's facts.
const threeConditions = `    expr: >-
      facts.port == 443 &&
      facts.protocol in ['TLS 1.2', 'TLS 1.3'] &&
      facts.chain.all(c, c.keyBits >= 2048)
`

// BenchmarkEval measures one check on one resource whose facts are already
// decoded (the cost of each further CEL check on the resource).
func BenchmarkEval(b *testing.B) {
	c := benchCheck(b)
	ctx := celcheck.WithSubject(context.Background(), prodEP, nil, now)
	if ev := c.Run(ctx, goodTLS); ev.Status != rampart.StatusPass {
		b.Fatalf("Run = %s (%s)", ev.Status, ev.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Run(ctx, goodTLS)
	}
}

// BenchmarkEvalFromJSON adds decoding the facts' JSON, as the first CEL check
// on each resource pays it.
func BenchmarkEvalFromJSON(b *testing.B) {
	c := benchCheck(b)
	js, err := rampart.FactsJSON(goodTLS)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Run(celcheck.WithSubject(context.Background(), prodEP, js, now), goodTLS)
	}
}

func benchCheck(b *testing.B) *rampart.Check {
	checks, err := celcheck.Parse("bench.yaml", []byte(checkYAML(threeConditions)))
	if err != nil {
		b.Fatal(err)
	}
	return checks[0]
}
