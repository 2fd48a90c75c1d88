package tlsendpoint_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
)

// BenchmarkCollect measures one resource's collection (three handshakes)
// against a fleet on loopback, cycling through its names.
func BenchmarkCollect(b *testing.B) {
	ca, err := tlsendpointtest.NewCA("Bench Root")
	if err != nil {
		b.Fatal(err)
	}
	var endpoints []tlsendpointtest.Endpoint
	for i := range 100 {
		e, err := ca.Endpoint(fmt.Sprintf("host%d.bench.test", i), tlsendpointtest.Good, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		endpoints = append(endpoints, e)
	}
	fleet := tlsendpointtest.ServeFleet(b, endpoints)
	c := &tlsendpoint.Collector{}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		spec := &tlsendpoint.Spec{Address: fleet.Addr, ServerName: endpoints[i%len(endpoints)].Name, Timeout: 5 * time.Second}
		if _, err := c.Collect(b.Context(), &rampart.Resource{ID: "bench", Spec: spec}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndpoint measures issuing one fleet endpoint, which the
// benchmark does 10,000 times.
func BenchmarkEndpoint(b *testing.B) {
	ca, err := tlsendpointtest.NewCA("Bench Root")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ca.Endpoint(fmt.Sprintf("h%d.test", i), tlsendpointtest.Good, now); err != nil {
			b.Fatal(err)
		}
	}
}
