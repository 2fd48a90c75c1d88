package scan_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

func TestForEach(t *testing.T) {
	t.Parallel()
	seen := make([]int, 1000)
	if err := scan.ForEach(context.Background(), len(seen), func(i int) error { seen[i]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("item %d visited %d times", i, n)
		}
	}
	if err := scan.ForEach(context.Background(), 0, func(int) error { t.Error("called for no items"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestForEachStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := scan.ForEach(ctx, 10, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ForEach on a cancelled context = %v", err)
	}
	boom := errors.New("boom")
	var calls atomic.Int64
	err := scan.ForEach(context.Background(), 100000, func(i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("ForEach = %v, want boom", err)
	}
	if calls.Load() == 100000 {
		t.Error("ForEach kept going after an error")
	}
}
