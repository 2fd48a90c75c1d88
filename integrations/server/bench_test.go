package server_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/server"
	"github.com/rampart-dev/rampart/integrations/server/servertest"
)

// TestFactsRoundTrip: results must be reproducible from the evidence, so
// the facts decoded from their JSON give the same evaluations.
func TestFactsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range servertest.Profiles() {
		f := collect(t, writeProfile(t, p))
		b, err := rampart.FactsJSON(f)
		if err != nil {
			t.Fatal(err)
		}
		var back server.Facts
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if before, after := evaluate(t, f), evaluate(t, &back); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: evaluations differ after a JSON round trip:\nbefore %+v\nafter  %+v", p, before, after)
		}
		if back.Shadow.Perm != f.Shadow.Perm || back.Shadow.Perm == 0 {
			t.Errorf("%s: shadow perm %s after the round trip, want %s", p, back.Shadow.Perm, f.Shadow.Perm)
		}
	}
}

func BenchmarkCollect(b *testing.B) {
	root := b.TempDir()
	if err := servertest.Write(root, servertest.Hardened); err != nil {
		b.Fatal(err)
	}
	c := &server.Collector{}
	r := &rampart.Resource{ID: "bench", Kind: server.Kind, Spec: &server.Spec{Mode: server.ModeLocal, Root: root}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Collect(b.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteProfile(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := servertest.Write(dir, servertest.Weak); err != nil {
			b.Fatal(err)
		}
	}
}
