package store

import (
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

// dialect holds the few things that differ between SQLite and PostgreSQL.
// Everything else (the queries, ON CONFLICT upserts, RETURNING, partial
// indexes) is written once in the SQL both understand.
type dialect struct {
	name   string // "sqlite" or "postgres"
	driver string // database/sql driver name
	goose  goose.Dialect
	// migrations is the folder under migrations/ holding this dialect's
	// schema: DDL differs in identity columns and BLOB versus BYTEA.
	migrations string
	// dollar means placeholders are $1, $2…; queries are written with ?.
	dollar bool
	// lockHead is appended to the query that reads the audit chain head,
	// so that two transactions appending at once queue on the head row.
	// SQLite needs nothing: its write transactions already exclude each
	// other (BEGIN IMMEDIATE).
	lockHead string
	// queueWrites makes writers of one process wait their turn in Go
	// rather than in SQLite's busy handler, which polls with sleeps: a
	// channel hands the lock over at once and in order. Other processes
	// still meet at the database's own lock.
	queueWrites bool
}

var sqliteDialect = &dialect{
	name:        "sqlite",
	driver:      "sqlite",
	goose:       goose.DialectSQLite3,
	migrations:  "migrations/sqlite",
	queueWrites: true,
}

var postgresDialect = &dialect{
	name:       "postgres",
	driver:     "pgx",
	goose:      goose.DialectPostgres,
	migrations: "migrations/postgres",
	dollar:     true,
	lockHead:   " FOR UPDATE",
}

// rebind turns ? placeholders into the dialect's. Rampart's queries hold no
// ? inside string literals, so a plain scan is enough.
func (d *dialect) rebind(q string) string {
	if !d.dollar || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
