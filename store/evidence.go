package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// PutEvidence stores content under its SHA-256, computed here whatever
// e.SHA256 says, and returns the evidence as stored. Content already
// stored keeps its first metadata: evidence is immutable.
func (db *DB) PutEvidence(ctx context.Context, e rampart.Evidence, content []byte) (rampart.Evidence, error) {
	switch e.Kind {
	case rampart.EvidenceFacts, rampart.EvidenceReport, rampart.EvidenceUpload, rampart.EvidenceLink:
	default:
		return rampart.Evidence{}, rampart.Errorf(rampart.KindInvalid, "unknown evidence kind %q (want facts, report, upload or link)", e.Kind)
	}
	if e.MediaType == "" {
		e.MediaType = "application/octet-stream"
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	var out rampart.Evidence
	err := db.write(ctx, func(c conn) error {
		sha, err := putEvidence(ctx, c, e, content)
		if err != nil {
			return err
		}
		out, err = evidenceMeta(ctx, c, sha)
		return err
	})
	if err != nil {
		return rampart.Evidence{}, fmt.Errorf("store evidence: %w", err)
	}
	return out, nil
}

// putEvidence inserts content unless it is already stored, and returns its
// SHA-256.
func putEvidence(ctx context.Context, c conn, e rampart.Evidence, content []byte) (string, error) {
	sha := rampart.ContentHash(content)
	if content == nil {
		content = []byte{} // the column is NOT NULL; empty evidence is still evidence
	}
	_, err := c.exec(ctx, `INSERT INTO evidence (sha256, kind, media_type, size, resource_id, description,
		period_start, period_end, expires_at, created_at, content)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
		sha, string(e.Kind), e.MediaType, len(content), e.ResourceID, e.Description,
		micros(e.PeriodStart), micros(e.PeriodEnd), micros(e.ExpiresAt), micros(e.CreatedAt), content)
	if err != nil {
		return "", fmt.Errorf("insert evidence: %w", err)
	}
	return sha, nil
}

const evidenceCols = `sha256, kind, media_type, size, resource_id, description, period_start, period_end, expires_at, created_at`

func evidenceMeta(ctx context.Context, c conn, sha string) (rampart.Evidence, error) {
	var e rampart.Evidence
	var start, end, expires, created sql.NullInt64
	err := c.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE sha256 = ?`, sha).Scan(
		&e.SHA256, &e.Kind, &e.MediaType, &e.Size, &e.ResourceID, &e.Description, &start, &end, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.Evidence{}, rampart.Errorf(rampart.KindNotFound, "evidence %s not found", sha)
	}
	if err != nil {
		return rampart.Evidence{}, err
	}
	e.PeriodStart, e.PeriodEnd = fromMicros(start), fromMicros(end)
	e.ExpiresAt, e.CreatedAt = fromMicros(expires), fromMicros(created)
	return e, nil
}

// Evidence returns the evidence stored under sha256 and its content. The
// content is read whole: database/sql has no streaming of large values.
func (db *DB) Evidence(ctx context.Context, sha256 string) (rampart.Evidence, io.ReadCloser, error) {
	sha, err := parseSHA256(sha256)
	if err != nil {
		return rampart.Evidence{}, nil, err
	}
	var e rampart.Evidence
	var content []byte
	err = db.read(ctx, func(c conn) error {
		var err error
		if e, err = evidenceMeta(ctx, c, sha); err != nil {
			return err
		}
		return c.queryRow(ctx, `SELECT content FROM evidence WHERE sha256 = ?`, sha).Scan(&content)
	})
	if err != nil {
		return rampart.Evidence{}, nil, fmt.Errorf("read evidence: %w", err)
	}
	return e, io.NopCloser(bytes.NewReader(content)), nil
}

func parseSHA256(s string) (string, error) {
	s = strings.ToLower(s)
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return "", rampart.Errorf(rampart.KindInvalid, "%q is not a SHA-256 (64 hexadecimal digits)", s)
	}
	return s, nil
}
