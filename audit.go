package rampart

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// AuditEntry is one change made by a person or by Rampart. Entries are
// append-only and chained: each one's hash covers its content and the hash
// of the entry before it, so editing or removing any entry breaks the chain
// from there on.
type AuditEntry struct {
	Seq    int64           `json:"seq"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`  // "user:alice", "token:ci", "rampart:scan"
	Action string          `json:"action"` // "task.resolve", "exception.create"
	Object string          `json:"object"` // "task:42", "scan:7"
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	Source string          `json:"source,omitempty"` // remote address, or "cli"
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
}

// ChainHash computes the entry's hash from its content and prev. Time is
// hashed at microsecond precision in UTC, which every store keeps exactly.
func (e *AuditEntry) ChainHash() string {
	h := sha256.New()
	for _, field := range []string{
		strconv.FormatInt(e.Seq, 10),
		e.At.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano),
		e.Actor, e.Action, e.Object, string(e.Before), string(e.After), e.Source, e.Prev,
	} {
		h.Write([]byte(strconv.Itoa(len(field))))
		h.Write([]byte{':'})
		h.Write([]byte(field))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditVerification is the outcome of walking the chain.
type AuditVerification struct {
	Entries int64 `json:"entries"`
	OK      bool  `json:"ok"`
	// BrokenAt is the sequence number of the first entry that does not
	// match, when OK is false, and Problem says how.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// ChainVerifier walks the chain one entry at a time, so that a store can
// stream a long log through it.
type ChainVerifier struct {
	v    AuditVerification
	prev string
	done bool
}

// Add checks the next entry; it returns false once the chain is broken.
func (c *ChainVerifier) Add(e *AuditEntry) bool {
	if c.done {
		return false
	}
	c.v.Entries++
	want := c.v.Entries
	problem := ""
	switch {
	case e.Seq != want:
		problem = "entry missing: sequence jumps from " + strconv.FormatInt(want-1, 10) + " to " + strconv.FormatInt(e.Seq, 10)
	case e.Prev != c.prev:
		problem = "its previous hash does not match the entry before it"
	case e.ChainHash() != e.Hash:
		problem = "its content does not match its hash (edited)"
	}
	if problem != "" {
		c.done = true
		c.v.BrokenAt, c.v.Problem = want, problem
		return false
	}
	c.prev = e.Hash
	return true
}

// Result reports the verification so far.
func (c *ChainVerifier) Result() AuditVerification {
	v := c.v
	v.OK = !c.done
	return v
}

// VerifyChain checks entries given in sequence order, starting at the
// genesis entry (Prev empty, Seq 1).
func VerifyChain(entries []AuditEntry) AuditVerification {
	var c ChainVerifier
	for i := range entries {
		if !c.Add(&entries[i]) {
			break
		}
	}
	return c.Result()
}
