package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

var _ rampart.UserStore = (*DB)(nil)

type sourceKey struct{}

// WithSource names where the changes made with ctx come from (a remote
// address), for the audit entries of calls that take no source:
// UpdateTask, AddException, RevokeException, BeginScan. An entry that
// names its own source keeps it.
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

func sourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

const userCols = `id, name, display_name, email, role, source, disabled, expires_at, created_at, last_login_at, password_hash`

func scanUser(s interface{ Scan(...any) error }) (rampart.User, error) {
	var u rampart.User
	var expires, created, login sql.NullInt64
	if err := s.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &u.Source, &u.Disabled,
		&expires, &created, &login, &u.PasswordHash); err != nil {
		return rampart.User{}, err
	}
	u.ExpiresAt, u.CreatedAt, u.LastLoginAt = fromMicros(expires), fromMicros(created), fromMicros(login)
	return u, nil
}

func userByName(ctx context.Context, c conn, name string) (rampart.User, error) {
	u, err := scanUser(c.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.User{}, rampart.Errorf(rampart.KindNotFound, "user %s not found", name)
	}
	return u, err
}

// auditedUser is a user as the audit log shows it: whether a password is
// set, never its hash.
type auditedUser struct {
	rampart.User
	Password bool `json:"password_set"`
}

func audited(u rampart.User) auditedUser { return auditedUser{User: u, Password: u.PasswordHash != ""} }

// CreateUser adds a user and appends "user.create" to the audit log.
func (db *DB) CreateUser(ctx context.Context, u rampart.User, by rampart.Actor) (rampart.User, error) {
	if err := u.Validate(); err != nil {
		return rampart.User{}, err
	}
	if by.Name == "" {
		return rampart.User{}, rampart.Errorf(rampart.KindInvalid, "a new user names who adds it")
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.CreatedAt, u.ExpiresAt, u.LastLoginAt = exact(u.CreatedAt), exact(u.ExpiresAt), time.Time{}
	err := db.write(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return rampart.Errorf(rampart.KindConflict, "user %s already exists", u.Name)
		}
		if err := c.queryRow(ctx, `INSERT INTO users (name, display_name, email, role, source, disabled, expires_at,
			created_at, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Name, u.DisplayName, u.Email, string(u.Role), u.Source, u.Disabled, micros(u.ExpiresAt),
			micros(u.CreatedAt), u.PasswordHash).Scan(&u.ID); err != nil {
			return err
		}
		_, err := db.appendAudit(ctx, c, rampart.AuditEntry{
			At: u.CreatedAt, Actor: by.Name, Source: by.Source, Action: "user.create",
			Object: "user:" + u.Name, After: mustJSON(audited(u)),
		})
		return err
	})
	if err != nil {
		return rampart.User{}, fmt.Errorf("add user %s: %w", u.Name, err)
	}
	return u, nil
}

// UpdateUser changes a user and appends "user.update" with before and
// after; a change that changes nothing appends nothing.
func (db *DB) UpdateUser(ctx context.Context, u rampart.User, by rampart.Actor) (rampart.User, error) {
	if err := u.Validate(); err != nil {
		return rampart.User{}, err
	}
	if by.Name == "" {
		return rampart.User{}, rampart.Errorf(rampart.KindInvalid, "a user update names who makes it")
	}
	var after rampart.User
	err := db.write(ctx, func(c conn) error {
		before, err := userByName(ctx, c, u.Name)
		if err != nil {
			return err
		}
		after = before
		after.DisplayName, after.Email, after.Role, after.Disabled = u.DisplayName, u.Email, u.Role, u.Disabled
		after.ExpiresAt, after.PasswordHash, after.Source = exact(u.ExpiresAt), u.PasswordHash, u.Source
		if after == before {
			return nil
		}
		if _, err := c.exec(ctx, `UPDATE users SET display_name = ?, email = ?, role = ?, source = ?, disabled = ?,
			expires_at = ?, password_hash = ? WHERE id = ?`,
			after.DisplayName, after.Email, string(after.Role), after.Source, after.Disabled, micros(after.ExpiresAt),
			after.PasswordHash, after.ID); err != nil {
			return err
		}
		if after.Disabled && !before.Disabled {
			// A disabled user is signed out everywhere at once.
			if _, err := c.exec(ctx, `DELETE FROM sessions WHERE user_name = ?`, after.Name); err != nil {
				return err
			}
		}
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			Actor: by.Name, Source: by.Source, Action: "user.update", Object: "user:" + u.Name,
			Before: mustJSON(audited(before)), After: mustJSON(audited(after)),
		})
		return err
	})
	if err != nil {
		return rampart.User{}, fmt.Errorf("update user %s: %w", u.Name, err)
	}
	return after, nil
}

// User returns the user with name.
func (db *DB) User(ctx context.Context, name string) (rampart.User, error) {
	u, err := userByName(ctx, conn{r: db.sql, d: db.d}, name)
	if err != nil {
		return rampart.User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// Users lists every user by name.
func (db *DB) Users(ctx context.Context) ([]rampart.User, error) {
	rows, err := conn{r: db.sql, d: db.d}.query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []rampart.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// RecordLogin starts a session for an existing, active user, stamps the
// user's last sign-in and appends "user.login" to the audit log.
func (db *DB) RecordLogin(ctx context.Context, s rampart.Session) error {
	if s.IDHash == "" || s.UserName == "" || s.ExpiresAt.IsZero() {
		return rampart.Errorf(rampart.KindInvalid, "a session names its hash, its user and its expiry")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	s.CreatedAt, s.ExpiresAt = exact(s.CreatedAt), exact(s.ExpiresAt)
	err := db.write(ctx, func(c conn) error {
		u, err := userByName(ctx, c, s.UserName)
		if err != nil {
			return err
		}
		if !u.Active(s.CreatedAt) {
			return rampart.Errorf(rampart.KindForbidden, "user %s is disabled or expired", s.UserName)
		}
		if _, err := c.exec(ctx, `INSERT INTO sessions (id_hash, user_name, created_at, expires_at, source) VALUES (?, ?, ?, ?, ?)`,
			s.IDHash, s.UserName, micros(s.CreatedAt), micros(s.ExpiresAt), s.Source); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, micros(s.CreatedAt), u.ID); err != nil {
			return err
		}
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			At: s.CreatedAt, Actor: "user:" + s.UserName, Source: s.Source, Action: "user.login",
			Object: "user:" + s.UserName, After: mustJSON(map[string]any{"via": u.Source, "expires_at": s.ExpiresAt}),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("start session of %s: %w", s.UserName, err)
	}
	return nil
}

// Session returns the session whose secret hashes to idHash, expired or
// not: the caller decides, against its clock.
func (db *DB) Session(ctx context.Context, idHash string) (rampart.Session, error) {
	var s rampart.Session
	var created, expires sql.NullInt64
	err := conn{r: db.sql, d: db.d}.queryRow(ctx, `SELECT id_hash, user_name, created_at, expires_at, source
		FROM sessions WHERE id_hash = ?`, idHash).Scan(&s.IDHash, &s.UserName, &created, &expires, &s.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.Session{}, rampart.Errorf(rampart.KindNotFound, "no such session")
	}
	if err != nil {
		return rampart.Session{}, fmt.Errorf("read session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return s, nil
}

// DeleteSession ends one session; ending one that is gone is no error.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	err := db.write(ctx, func(c conn) error {
		_, err := c.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteSessions ends every session of the user.
func (db *DB) DeleteSessions(ctx context.Context, userName string) error {
	err := db.write(ctx, func(c conn) error {
		_, err := c.exec(ctx, `DELETE FROM sessions WHERE user_name = ?`, userName)
		return err
	})
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", userName, err)
	}
	return nil
}

// PurgeSessions removes the sessions expired at now.
func (db *DB) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return int(n), nil
}

const tokenCols = `id, name, prefix, hash, role, created_by, created_at, expires_at, revoked_at, last_used_at` //nolint:gosec // G101: column names, not a credential

func scanToken(s interface{ Scan(...any) error }) (rampart.APIToken, error) {
	var t rampart.APIToken
	var created, expires, revoked, used sql.NullInt64
	if err := s.Scan(&t.ID, &t.Name, &t.Prefix, &t.Hash, &t.Role, &t.CreatedBy, &created, &expires, &revoked, &used); err != nil {
		return rampart.APIToken{}, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	t.RevokedAt, t.LastUsedAt = fromMicros(revoked), fromMicros(used)
	return t, nil
}

// CreateToken records a token by its hash and appends "token.create".
func (db *DB) CreateToken(ctx context.Context, t rampart.APIToken, by rampart.Actor) (rampart.APIToken, error) {
	if err := t.Validate(); err != nil {
		return rampart.APIToken{}, err
	}
	if by.Name == "" {
		return rampart.APIToken{}, rampart.Errorf(rampart.KindInvalid, "a new token names who makes it")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	t.CreatedBy = by.Name
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = exact(t.CreatedAt), exact(t.ExpiresAt), time.Time{}, time.Time{}
	if !t.ExpiresAt.After(t.CreatedAt) {
		return rampart.APIToken{}, rampart.Errorf(rampart.KindInvalid, "token %s: its expiry %s is not in the future",
			t.Name, t.ExpiresAt.Format(time.DateOnly))
	}
	err := db.write(ctx, func(c conn) error {
		if err := c.queryRow(ctx, `INSERT INTO api_tokens (name, prefix, hash, role, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.Name, t.Prefix, t.Hash, string(t.Role), t.CreatedBy, micros(t.CreatedAt), micros(t.ExpiresAt)).Scan(&t.ID); err != nil {
			if strings.Contains(strings.ToLower(err.Error()), "unique") {
				return rampart.Errorf(rampart.KindConflict, "a token with this secret exists already")
			}
			return err
		}
		_, err := db.appendAudit(ctx, c, rampart.AuditEntry{
			At: t.CreatedAt, Actor: by.Name, Source: by.Source, Action: "token.create",
			Object: tokenObject(t.ID), After: mustJSON(t),
		})
		return err
	})
	if err != nil {
		return rampart.APIToken{}, fmt.Errorf("add token %s: %w", t.Name, err)
	}
	return t, nil
}

// TokenByHash returns the token whose secret hashes to hash, whatever its
// state: the caller checks Active.
func (db *DB) TokenByHash(ctx context.Context, hash string) (rampart.APIToken, error) {
	t, err := scanToken(conn{r: db.sql, d: db.d}.queryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.APIToken{}, rampart.Errorf(rampart.KindNotFound, "no such token")
	}
	if err != nil {
		return rampart.APIToken{}, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// Tokens lists every token, revoked and expired ones too, by id.
func (db *DB) Tokens(ctx context.Context) ([]rampart.APIToken, error) {
	rows, err := conn{r: db.sql, d: db.d}.query(ctx, `SELECT `+tokenCols+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []rampart.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken ends a token at time at (now when unset) and appends
// "token.revoke".
func (db *DB) RevokeToken(ctx context.Context, id int64, by rampart.Actor, at time.Time) error {
	if by.Name == "" {
		return rampart.Errorf(rampart.KindInvalid, "a revocation names who makes it")
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = exact(at)
	err := db.write(ctx, func(c conn) error {
		before, err := scanToken(c.queryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return rampart.Errorf(rampart.KindNotFound, "token %d not found", id)
		}
		if err != nil {
			return err
		}
		if !before.RevokedAt.IsZero() {
			return rampart.Errorf(rampart.KindConflict, "token %d was already revoked", id)
		}
		if _, err := c.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, micros(at), id); err != nil {
			return err
		}
		after := before
		after.RevokedAt = at
		_, err = db.appendAudit(ctx, c, rampart.AuditEntry{
			At: at, Actor: by.Name, Source: by.Source, Action: "token.revoke", Object: tokenObject(id),
			Before: mustJSON(before), After: mustJSON(after),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// touchEvery bounds how often a token's use is written: every API call
// writing a row would queue behind scans for nothing an operator needs to
// the second.
const touchEvery = time.Minute

// TouchToken records that the token was used at time at, unless it was
// recorded less than a minute before.
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time) error {
	at = exact(at)
	err := db.write(ctx, func(c conn) error {
		_, err := c.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
			micros(at), id, at.Add(-touchEvery).UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("record use of token %d: %w", id, err)
	}
	return nil
}

func tokenObject(id int64) string { return "token:" + strconv.FormatInt(id, 10) }
