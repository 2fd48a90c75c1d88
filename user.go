package rampart

import (
	"context"
	"strings"
	"time"
)

// Role is what a person or an API token may do in Rampart's web UI and API.
type Role string

// The roles, from most to least powerful. An auditor reads everything a
// viewer does plus the evidence and the audit log, changes nothing, and is
// given an expiry date: an audit is a visit, not a tenancy.
const (
	RoleAdmin   Role = "admin"
	RoleEditor  Role = "editor"
	RoleAuditor Role = "auditor"
	RoleViewer  Role = "viewer"
)

// Roles lists the roles, most powerful first.
func Roles() []Role { return []Role{RoleAdmin, RoleEditor, RoleAuditor, RoleViewer} }

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if strings.EqualFold(s, string(r)) {
			return r, nil
		}
	}
	return "", Errorf(KindInvalid, "unknown role %q (want admin, editor, auditor or viewer)", s)
}

// Permission is one kind of access a route asks for.
type Permission string

// Permissions, each a superset of the roles of the next: whoever may
// administer may write, whoever may write may audit, whoever may audit may
// read.
const (
	// PermRead sees readiness, controls, resources, results and tasks.
	PermRead Permission = "read"
	// PermAudit also sees the evidence's content and the audit log.
	PermAudit Permission = "audit"
	// PermWrite changes tasks and exceptions and starts scans.
	PermWrite Permission = "write"
	// PermAdmin manages users and API tokens.
	PermAdmin Permission = "admin"
)

// Allows reports whether the role grants p.
func (r Role) Allows(p Permission) bool {
	switch p {
	case PermRead:
		return r == RoleAdmin || r == RoleEditor || r == RoleAuditor || r == RoleViewer
	case PermAudit:
		return r == RoleAdmin || r == RoleEditor || r == RoleAuditor
	case PermWrite:
		return r == RoleAdmin || r == RoleEditor
	case PermAdmin:
		return r == RoleAdmin
	}
	return false
}

// User is a person who signs in: with a local password, or through single
// sign-on (Source "oidc"), in which case the identity provider's groups set
// the role at each sign-in.
type User struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        Role   `json:"role"`
	Source      string `json:"source"` // "local" or "oidc"
	Disabled    bool   `json:"disabled"`
	// ExpiresAt ends the account (auditors must have one); zero never.
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	LastLoginAt time.Time `json:"last_login_at,omitzero"`
	// PasswordHash is the encoded argon2id hash of a local user's
	// password; it never leaves the server.
	PasswordHash string `json:"-"`
}

// User sources.
const (
	UserLocal = "local"
	UserOIDC  = "oidc"
)

// Active reports whether the user may sign in and act at time now.
func (u *User) Active(now time.Time) bool {
	return !u.Disabled && (u.ExpiresAt.IsZero() || now.Before(u.ExpiresAt))
}

// Validate refuses a user without a usable name or role, and an auditor
// without an expiry.
func (u *User) Validate() error {
	switch {
	case !validName(u.Name):
		return Errorf(KindInvalid, "user name %q: use 1 to 64 letters, digits, and . _ @ -", u.Name)
	case u.Source != UserLocal && u.Source != UserOIDC:
		return Errorf(KindInvalid, "user %s: unknown source %q (want local or oidc)", u.Name, u.Source)
	}
	if _, err := ParseRole(string(u.Role)); err != nil {
		return err
	}
	if u.Role == RoleAuditor && u.ExpiresAt.IsZero() {
		return Errorf(KindInvalid, "user %s: an auditor's access is time-boxed: give an expiry date", u.Name)
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '@' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Session is one signed-in browser. The cookie holds a random secret; the
// store keeps only its SHA-256 (IDHash), so a copy of the database opens no
// session.
type Session struct {
	IDHash    string    `json:"-"`
	UserName  string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Source    string    `json:"source,omitempty"` // the address it signed in from
}

// APIToken lets a program call the API with a role of its own until it
// expires. The secret is shown once, when it is made; the store keeps only
// its SHA-256 (Hash) and a short prefix to recognise it by.
type APIToken struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"`
	Hash       string    `json:"-"`
	Role       Role      `json:"role"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Active reports whether the token may be used at time now.
func (t *APIToken) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}

// Validate refuses a token without a name, a role or an expiry.
func (t *APIToken) Validate() error {
	if !validName(t.Name) {
		return Errorf(KindInvalid, "token name %q: use 1 to 64 letters, digits, and . _ @ -", t.Name)
	}
	if _, err := ParseRole(string(t.Role)); err != nil {
		return err
	}
	if t.ExpiresAt.IsZero() {
		return Errorf(KindInvalid, "token %s: a token needs an expiry", t.Name)
	}
	if t.Hash == "" {
		return Errorf(KindInvalid, "token %s: no hash", t.Name)
	}
	return nil
}

// Actor is who makes a change and from where, as the audit log records it:
// Name is "user:alice", "token:ci" or "cli:root"; Source a remote address
// or "cli".
type Actor struct {
	Name   string
	Source string
}

// UserStore keeps users, their sessions and API tokens. It is separate
// from Store so that commands that never sign anyone in do not depend on
// it; store.DB implements both. Changes to users and tokens are appended
// to the audit log in the same transaction.
type UserStore interface {
	// CreateUser adds a user; a name already taken is a conflict.
	CreateUser(ctx context.Context, u User, by Actor) (User, error)
	// UpdateUser replaces the user's role, display name, email, disabled
	// flag, expiry and password hash.
	UpdateUser(ctx context.Context, u User, by Actor) (User, error)
	User(ctx context.Context, name string) (User, error)
	Users(ctx context.Context) ([]User, error)
	// RecordLogin stamps the user's last sign-in and starts a session.
	RecordLogin(ctx context.Context, s Session) error

	Session(ctx context.Context, idHash string) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteSessions ends the user's sessions, all of them.
	DeleteSessions(ctx context.Context, userName string) error
	// PurgeSessions removes sessions expired at now and reports how many.
	PurgeSessions(ctx context.Context, now time.Time) (int, error)

	CreateToken(ctx context.Context, t APIToken, by Actor) (APIToken, error)
	TokenByHash(ctx context.Context, hash string) (APIToken, error)
	Tokens(ctx context.Context) ([]APIToken, error)
	RevokeToken(ctx context.Context, id int64, by Actor, at time.Time) error
	// TouchToken records a token's use, at most once a minute per token.
	TouchToken(ctx context.Context, id int64, at time.Time) error
}
