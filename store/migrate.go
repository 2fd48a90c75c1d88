package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// migrate brings the schema up to date. Several processes may open a new
// store at once (a scan from cron while `rampart serve` starts), so the
// migrations run under a lock.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	fsys, err := fs.Sub(migrations, d.migrations)
	if err != nil {
		return fmt.Errorf("migrations of %s: %w", d.name, err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	switch d.name {
	case "sqlite":
		opts = append(opts, goose.WithLocker(newLeaseLock()))
	case "postgres":
		opts = append(opts, goose.WithSessionLocker(advisoryLock{}))
	}
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	return nil
}

// leaseLock is a goose lock for SQLite, which has no session locks: a row
// that one opener holds for a while. A holder that dies lets it lapse, so a
// crash during migration does not wedge the store.
type leaseLock struct {
	holder string
	term   time.Duration
	wait   time.Duration
}

func newLeaseLock() *leaseLock {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return &leaseLock{holder: hex.EncodeToString(b[:]), term: time.Minute, wait: 2 * time.Minute}
}

var _ lock.Locker = (*leaseLock)(nil)

func (l *leaseLock) Lock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS rampart_migration_lock (
		id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	deadline := time.Now().Add(l.wait)
	for {
		now := time.Now()
		res, err := db.ExecContext(ctx, `INSERT INTO rampart_migration_lock (id, holder, expires_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE rampart_migration_lock.expires_at < ?`,
			l.holder, now.Add(l.term).UnixMicro(), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		} else if n == 1 {
			return nil
		}
		if now.After(deadline) {
			return fmt.Errorf("another process has been migrating the store for over %s", l.wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *leaseLock) Unlock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM rampart_migration_lock WHERE holder = ?`, l.holder); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}

// advisoryLock is a goose session lock for PostgreSQL that waits in the
// server (pg_advisory_lock) rather than polling as goose's own does every
// five seconds, so the next opener goes on as soon as the first is done.
// The server releases it if the session dies.
type advisoryLock struct{}

// migrationLockID names Rampart's migration lock among advisory locks.
const migrationLockID = 0x72616d7061727401 // "rampart" and 1

var _ lock.SessionLocker = advisoryLock{}

func (advisoryLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLockID)); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

func (advisoryLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(migrationLockID)); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}
