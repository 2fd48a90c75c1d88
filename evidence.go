package rampart

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// EvidenceKind says where a piece of evidence came from.
type EvidenceKind string

// Evidence kinds.
const (
	EvidenceFacts  EvidenceKind = "facts"  // collected by Rampart
	EvidenceReport EvidenceKind = "report" // an imported tool report
	EvidenceUpload EvidenceKind = "upload" // a person's file
	EvidenceLink   EvidenceKind = "link"   // a person's link
)

// Evidence is immutable and content-addressed: its id is the SHA-256 of its
// content, so identical content is stored once however often it is cited.
type Evidence struct {
	SHA256      string       `json:"sha256"`
	Kind        EvidenceKind `json:"kind"`
	MediaType   string       `json:"media_type"`
	Size        int64        `json:"size"`
	ResourceID  string       `json:"resource_id,omitempty"`
	Description string       `json:"description,omitempty"`
	// PeriodStart and PeriodEnd bound the time the evidence covers.
	PeriodStart time.Time `json:"period_start,omitzero"`
	PeriodEnd   time.Time `json:"period_end,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
}

// ContentHash is the hex SHA-256 that names content as evidence.
func ContentHash(content []byte) string {
	h := sha256.Sum256(content)
	return hex.EncodeToString(h[:])
}
