package rampart_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

func chain(n int) []rampart.AuditEntry {
	var out []rampart.AuditEntry
	prev := ""
	at := time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC)
	for i := range n {
		e := rampart.AuditEntry{
			Seq: int64(i) + 1, At: at.Add(time.Duration(i) * time.Second), Actor: "user:alice",
			Action: "task.update", Object: "task:1", Before: json.RawMessage(`{"status":"open"}`), After: json.RawMessage(`{"status":"resolved"}`), Prev: prev,
		}
		e.Hash = e.ChainHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	t.Parallel()
	if v := rampart.VerifyChain(chain(5)); !v.OK || v.Entries != 5 {
		t.Fatalf("intact chain: %+v", v)
	}
	for _, tt := range []struct {
		name   string
		mutate func([]rampart.AuditEntry) []rampart.AuditEntry
		at     int64
	}{
		{"an edited actor", func(c []rampart.AuditEntry) []rampart.AuditEntry { c[2].Actor = "user:mallory"; return c }, 3},
		{"an edited after-image", func(c []rampart.AuditEntry) []rampart.AuditEntry { c[1].After = json.RawMessage(`{}`); return c }, 2},
		{"a removed entry", func(c []rampart.AuditEntry) []rampart.AuditEntry { return append(c[:1], c[2:]...) }, 2},
		{"a re-hashed edit", func(c []rampart.AuditEntry) []rampart.AuditEntry {
			c[2].Action = "task.delete"
			c[2].Hash = c[2].ChainHash() // the next entry's prev no longer matches
			return c
		}, 4},
		{"an edited time", func(c []rampart.AuditEntry) []rampart.AuditEntry { c[0].At = c[0].At.Add(time.Second); return c }, 1},
	} {
		v := rampart.VerifyChain(tt.mutate(chain(5)))
		if v.OK || v.BrokenAt != tt.at || v.Problem == "" {
			t.Errorf("%s: %+v, want broken at %d", tt.name, v, tt.at)
		}
	}
}

// TestChainHashTimePrecision: stores keep microseconds, so the hash must not
// depend on anything finer, nor on the time zone.
func TestChainHashTimePrecision(t *testing.T) {
	t.Parallel()
	e := chain(1)[0]
	f := e
	f.At = e.At.Truncate(time.Microsecond).In(time.FixedZone("X", 3600))
	if e.ChainHash() != f.ChainHash() {
		t.Error("the hash changes with sub-microsecond digits or the time zone")
	}
}
