package catalog_test

import (
	"os"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// BenchmarkLoad measures what every command start pays: the embedded
// catalog with a realistic number of checks wired in.
func BenchmarkLoad(b *testing.B) {
	var checks []*rampart.Check
	for _, ctl := range embedded(b).Controls {
		for i := range 3 {
			checks = append(checks, fakeCheck(ctl.ID+"-CHECK-"+string(rune('A'+i)), ctl.ID))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := catalog.Load(checks); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadUserFile adds parsing a user file the size of the embedded
// controls.
func BenchmarkLoadUserFile(b *testing.B) {
	data, err := os.ReadFile("data/controls.yaml")
	if err != nil {
		b.Fatal(err)
	}
	src := catalog.Source{Name: "user.yaml", Data: data}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := catalog.LoadSources(nil, src); err != nil {
			b.Fatal(err)
		}
	}
}
