package store

import "database/sql"

// ResultsQuery exposes Results' query to the query-plan test.
var ResultsQuery = resultsQuery

// Pool is the database/sql pool, for the pool test.
func (db *DB) Pool() *sql.DB { return db.sql }
