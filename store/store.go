// Package store keeps what Rampart learns (scans, results, evidence,
// tasks, exceptions and the hash-chained audit log) in SQL, behind one
// implementation of rampart.Store written for both SQLite (through the pure
// Go modernc.org/sqlite, for one machine) and PostgreSQL (for several).
// Each resource's outcome is saved in one transaction, so a crash leaves
// all of it or none. See docs/store.md.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"modernc.org/sqlite"               // also registers the "sqlite" database/sql driver
)

// DB is a Rampart store. It is safe for concurrent use, and several
// processes may open the same SQLite file at once.
type DB struct {
	sql *sql.DB
	d   *dialect
	// writes serializes this process's write transactions when the
	// dialect asks for it; nil otherwise.
	writes chan struct{}

	self owner
	// running holds the scans this DB began and has not finished, whose
	// leases it renews and which it marks interrupted if closed first.
	mu      sync.Mutex
	running map[int64]bool

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	stopHeartbeat context.CancelFunc
	heartbeatDone chan struct{}
	closeOnce     sync.Once
	closeErr      error
}

var _ rampart.Store = (*DB)(nil)

// DSN is a parsed store address.
type DSN struct {
	Driver string // "sqlite" or "postgres"
	// Target is the SQLite file path, or the PostgreSQL connection string
	// (which may hold a password: never print it).
	Target string
}

// ParseDSN reads a store address: a file path, "sqlite:PATH", or a
// postgres:// or postgresql:// URL.
func ParseDSN(s string) (DSN, error) {
	var path string
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return DSN{}, rampart.Errorf(rampart.KindInvalid, "no store given: name a SQLite file, such as rampart.db or sqlite:/var/lib/rampart/rampart.db")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return DSN{Driver: "postgres", Target: s}, nil
	case strings.HasPrefix(lower, "sqlite://"):
		path = s[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		path = s[len("sqlite:"):]
	default:
		path = s
	}
	switch {
	case path == "":
		return DSN{}, rampart.Errorf(rampart.KindInvalid, "store %q names no file", s)
	case path == ":memory:" || strings.HasPrefix(strings.ToLower(path), "file:"):
		return DSN{}, rampart.Errorf(rampart.KindInvalid,
			"store %q: give a plain file path; in-memory and URI forms are not supported, so that every process sees the same file", s)
	case strings.ContainsRune(path, 0):
		return DSN{}, rampart.Errorf(rampart.KindInvalid, "store path %q holds a NUL byte", s)
	}
	return DSN{Driver: "sqlite", Target: path}, nil
}

// Open opens the store at dsn (see ParseDSN), creating (SQLite) and
// migrating it as needed, and marks as interrupted the scans left running by processes
// that are gone.
func Open(ctx context.Context, dsn string) (*DB, error) {
	loc, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if loc.Driver == "postgres" {
		return openPostgres(ctx, loc.Target)
	}
	return openSQLite(ctx, loc.Target)
}

// openPostgres opens a PostgreSQL store. The connection string is not
// repeated in errors (it may hold a password); pgx's own errors show it
// with the password masked.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	sdb, err := sql.Open(postgresDialect.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	db, err := newDB(ctx, sdb, postgresDialect)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	return db, nil
}

// The SQLite pool keeps up to sqliteIdleConns idle connections, each for
// up to sqliteIdleTime.
const (
	sqliteIdleConns = 32
	sqliteIdleTime  = 5 * time.Minute
)

// busyTimeout is how long a writer waits for another process's write
// transaction before giving up with "database is locked". Rampart's write
// transactions are one resource's outcome: milliseconds, not seconds.
const busyTimeout = 10 * time.Second

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := createFile(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL in WAL mode syncs at checkpoints, not at every commit: a
	// killed process loses nothing it committed (the WAL is in the OS's
	// page cache); only a power cut or kernel crash may lose the last
	// commits, and never corrupts the file.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Write transactions take the write lock when they begin, so that a
	// transaction that read first never finds, at its first write, that
	// another process wrote in between (SQLITE_BUSY with no retry).
	// Read-only transactions still begin deferred.
	q.Set("_txlock", "immediate")
	uri := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open(sqliteDialect.driver, uri)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// database/sql keeps two idle connections by default: under `rampart
	// serve`'s concurrent reads, each burst then opened new connections
	// (a file open and a schema read each) and closed them again. Keeping
	// more costs each one's page cache, so they are let go after a quiet
	// while.
	sdb.SetMaxIdleConns(sqliteIdleConns)
	sdb.SetConnMaxIdleTime(sqliteIdleTime)
	if err := enableWAL(ctx, sdb); err != nil {
		return nil, errors.Join(fmt.Errorf("open store %s: %w", path, err), sdb.Close())
	}
	db, err := newDB(ctx, sdb, sqliteDialect)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// enableWAL puts the file in write-ahead-log mode, where readers do not
// block the writer nor it them. The mode is kept in the file, so it is set
// once here rather than by every new connection. Switching needs the file
// to itself, and SQLite answers SQLITE_BUSY at once, without its busy
// handler, when another process is opening it too: hence the retries.
func enableWAL(ctx context.Context, sdb *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := sdb.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("switch to write-ahead logging: the file stays in %s mode", mode)
		case !isBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("switch to write-ahead logging: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, extended or not.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqliteBusy
}

const sqliteBusy = 5 // SQLITE_BUSY

// createFile makes the database file and its folder if they are missing,
// readable by the owner only: evidence may say much about the estate.
// SQLite gives its -wal and -shm files the same permissions.
func createFile(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create store folder: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- the operator names the store
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	return nil
}

// newDB migrates sdb and starts the store on it; it closes sdb on error.
func newDB(ctx context.Context, sdb *sql.DB, d *dialect) (*DB, error) {
	db := &DB{sql: sdb, d: d, self: currentOwner(), running: map[int64]bool{}, stmts: map[string]*sql.Stmt{}}
	if d.queueWrites {
		db.writes = make(chan struct{}, 1)
	}
	if err := migrate(ctx, sdb, d); err != nil {
		return nil, errors.Join(err, sdb.Close())
	}
	if err := db.interruptAbandoned(ctx); err != nil {
		return nil, errors.Join(err, sdb.Close())
	}
	hctx, cancel := context.WithCancel(context.Background())
	db.stopHeartbeat, db.heartbeatDone = cancel, make(chan struct{})
	go db.heartbeat(hctx)
	return db, nil
}

// Close marks the scans this DB began and did not finish as interrupted,
// and closes the database.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.stopHeartbeat()
		<-db.heartbeatDone
		ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
		defer cancel()
		errs := []error{db.interruptOwn(ctx)}
		db.stmtMu.Lock()
		for _, s := range db.stmts {
			errs = append(errs, s.Close())
		}
		db.stmts = nil
		db.stmtMu.Unlock()
		errs = append(errs, db.sql.Close())
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// runner is what *sql.DB and *sql.Tx have in common.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs queries written with ? placeholders in the store's dialect.
// In write transactions (tx set) statements are prepared once per database
// connection and reused: parsing SQL was half the cost of saving an
// outcome. Only write transactions use the cache, because their queries
// are fixed strings; reads build theirs from filters.
type conn struct {
	r  runner
	d  *dialect
	tx *sql.Tx
	db *DB
}

func (c conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = c.d.rebind(q)
	if c.tx == nil {
		return c.r.ExecContext(ctx, q, args...)
	}
	s, err := c.db.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return c.tx.StmtContext(ctx, s).ExecContext(ctx, args...) //nolint:sqlclosecheck // closed with its transaction
}

func (c conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = c.d.rebind(q)
	if c.tx == nil {
		return c.r.QueryContext(ctx, q, args...)
	}
	s, err := c.db.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	// Not closed here: closing waits for its rows. The transaction closes
	// its statements when it ends.
	return c.tx.StmtContext(ctx, s).QueryContext(ctx, args...) //nolint:sqlclosecheck // closed with its transaction
}

// row is a *sql.Row that may carry the error of preparing its statement.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

func (c conn) queryRow(ctx context.Context, q string, args ...any) row {
	q = c.d.rebind(q)
	if c.tx == nil {
		return row{r: c.r.QueryRowContext(ctx, q, args...)}
	}
	s, err := c.db.prepared(ctx, q)
	if err != nil {
		return row{err: err}
	}
	return row{r: c.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)} //nolint:sqlclosecheck // closed with its transaction
}

// prepared returns the statement for q, preparing it on first use.
// database/sql then prepares it once on each connection that runs it.
func (db *DB) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if s, ok := db.stmts[q]; ok {
		return s, nil
	}
	s, err := db.sql.PrepareContext(ctx, q) //nolint:sqlclosecheck // cached in db.stmts, closed by Close
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", firstLine(q), err)
	}
	db.stmts[q] = s
	return s, nil
}

func firstLine(q string) string {
	q, _, _ = strings.Cut(strings.TrimSpace(q), "\n")
	return q
}

// write runs fn in a write transaction, committed if fn returns nil.
func (db *DB) write(ctx context.Context, fn func(c conn) error) error {
	if db.writes != nil {
		select {
		case db.writes <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-db.writes }()
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(conn{r: tx, d: db.d, tx: tx, db: db}); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("roll back: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read-only transaction, so that its queries see one
// state of the store.
func (db *DB) read(ctx context.Context, fn func(c conn) error) error {
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a read-only transaction has nothing to keep
	return fn(conn{r: tx, d: db.d})
}

// micros stores a time as UTC microseconds, or NULL when unset.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros reads a time stored by micros.
func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// exact is t as the store keeps it: UTC, to the microsecond.
func exact(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

type actorKey struct{}

// WithActor names who acts in ctx, for the audit entries of calls that
// take no actor (BeginScan, FinishScan): "user:alice" when a person starts
// a scan through the web, say. Without it they are "rampart:scan".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context, fallback string) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return fallback
}
