package storetest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
)

// runUsers is the part of the suite for rampart.UserStore, which every
// store of Rampart implements too.
func runUsers(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s rampart.UserStore, all rampart.Store)
	}{
		{"CreateAndList", testUsersCreateAndList},
		{"Validation", testUsersValidation},
		{"UpdateAndDisable", testUsersUpdateAndDisable},
		{"Sessions", testSessions},
		{"Tokens", testTokens},
		{"ChangesAreAudited", testUserChangesAudited},
	}
	for _, tc := range tests {
		t.Run("Users/"+tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := open(t)
			us, ok := s.(rampart.UserStore)
			if !ok {
				t.Fatalf("%T does not implement rampart.UserStore", s)
			}
			tc.fn(t, us, s)
		})
	}
}

var admin = rampart.Actor{Name: "cli:root", Source: "cli"}

func mkUser(t *testing.T, s rampart.UserStore, name string, role rampart.Role) rampart.User {
	t.Helper()
	u := rampart.User{Name: name, Role: role, Source: rampart.UserLocal, PasswordHash: "$argon2id$fake$" + name, CreatedAt: t0}
	if role == rampart.RoleAuditor {
		u.ExpiresAt = day(30)
	}
	got, err := s.CreateUser(ctx(t), u, admin)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return got
}

func testUsersCreateAndList(t *testing.T, s rampart.UserStore, _ rampart.Store) {
	alice := mkUser(t, s, "alice", rampart.RoleAdmin)
	if alice.ID == 0 {
		t.Error("CreateUser gave no id")
	}
	mkUser(t, s, "carol@example.com", rampart.RoleAuditor)
	mkUser(t, s, "bob", rampart.RoleViewer)

	_, err := s.CreateUser(ctx(t), rampart.User{Name: "alice", Role: rampart.RoleViewer, Source: rampart.UserLocal}, admin)
	wantKind(t, "CreateUser(alice again)", err, rampart.KindConflict)

	got, err := s.User(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := rampart.User{
		ID: alice.ID, Name: "alice", Role: rampart.RoleAdmin, Source: rampart.UserLocal,
		CreatedAt: exact(t0), PasswordHash: "$argon2id$fake$alice",
	}
	equal(t, "User(alice)", got, want)

	_, err = s.User(ctx(t), "nobody")
	wantKind(t, "User(nobody)", err, rampart.KindNotFound)

	users, err := s.Users(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	equal(t, "Users names", names, []string{"alice", "bob", "carol@example.com"})
	if users[2].ExpiresAt != exact(day(30)) {
		t.Errorf("auditor's expiry = %v, want %v", users[2].ExpiresAt, exact(day(30)))
	}
}

func testUsersValidation(t *testing.T, s rampart.UserStore, _ rampart.Store) {
	for _, tc := range []struct {
		name string
		u    rampart.User
		by   rampart.Actor
	}{
		{"empty name", rampart.User{Role: rampart.RoleViewer, Source: rampart.UserLocal}, admin},
		{"space in name", rampart.User{Name: "a b", Role: rampart.RoleViewer, Source: rampart.UserLocal}, admin},
		{"unknown role", rampart.User{Name: "x", Role: "root", Source: rampart.UserLocal}, admin},
		{"unknown source", rampart.User{Name: "x", Role: rampart.RoleViewer, Source: "ldap"}, admin},
		{"auditor without expiry", rampart.User{Name: "x", Role: rampart.RoleAuditor, Source: rampart.UserLocal}, admin},
		{"no actor", rampart.User{Name: "x", Role: rampart.RoleViewer, Source: rampart.UserLocal}, rampart.Actor{}},
	} {
		_, err := s.CreateUser(ctx(t), tc.u, tc.by)
		wantKind(t, tc.name, err, rampart.KindInvalid)
	}
	users, err := s.Users(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 0 {
		t.Errorf("refused users were stored: %v", users)
	}
}

func testUsersUpdateAndDisable(t *testing.T, s rampart.UserStore, _ rampart.Store) {
	u := mkUser(t, s, "dave", rampart.RoleViewer)
	start := func(id string) {
		t.Helper()
		if err := s.RecordLogin(ctx(t), rampart.Session{IDHash: id, UserName: "dave", CreatedAt: t0, ExpiresAt: day(1), Source: "127.0.0.1"}); err != nil {
			t.Fatalf("RecordLogin: %v", err)
		}
	}
	start("h1")
	start("h2")

	u.Role = rampart.RoleEditor
	u.DisplayName = "Dave D."
	got, err := s.UpdateUser(ctx(t), u, admin)
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != rampart.RoleEditor || got.DisplayName != "Dave D." || got.LastLoginAt != exact(t0) {
		t.Errorf("UpdateUser = %+v", got)
	}
	if _, err := s.Session(ctx(t), "h1"); err != nil {
		t.Errorf("a role change ended the sessions: %v", err)
	}

	got.Disabled = true
	if _, err := s.UpdateUser(ctx(t), got, admin); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"h1", "h2"} {
		_, err := s.Session(ctx(t), id)
		wantKind(t, "Session of a disabled user", err, rampart.KindNotFound)
	}
	err = s.RecordLogin(ctx(t), rampart.Session{IDHash: "h3", UserName: "dave", CreatedAt: t0, ExpiresAt: day(1)})
	wantKind(t, "RecordLogin(disabled)", err, rampart.KindForbidden)

	_, err = s.UpdateUser(ctx(t), rampart.User{Name: "ghost", Role: rampart.RoleViewer, Source: rampart.UserLocal}, admin)
	wantKind(t, "UpdateUser(ghost)", err, rampart.KindNotFound)
}

func testSessions(t *testing.T, s rampart.UserStore, _ rampart.Store) {
	mkUser(t, s, "erin", rampart.RoleViewer)
	aud := mkUser(t, s, "fay", rampart.RoleAuditor) // expires at day(30)
	for i, sess := range []rampart.Session{
		{IDHash: "a", UserName: "erin", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Source: "10.0.0.1"},
		{IDHash: "b", UserName: "erin", CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)},
		{IDHash: "c", UserName: "fay", CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)},
	} {
		if err := s.RecordLogin(ctx(t), sess); err != nil {
			t.Fatalf("RecordLogin %d: %v", i, err)
		}
	}
	got, err := s.Session(ctx(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Session(a)", got, rampart.Session{IDHash: "a", UserName: "erin", CreatedAt: exact(t0), ExpiresAt: exact(t0.Add(time.Hour)), Source: "10.0.0.1"})

	err = s.RecordLogin(ctx(t), rampart.Session{IDHash: "d", UserName: "fay", CreatedAt: aud.ExpiresAt, ExpiresAt: aud.ExpiresAt.Add(time.Hour)})
	wantKind(t, "RecordLogin(expired auditor)", err, rampart.KindForbidden)
	err = s.RecordLogin(ctx(t), rampart.Session{IDHash: "e", UserName: "nobody", CreatedAt: t0, ExpiresAt: day(1)})
	wantKind(t, "RecordLogin(unknown)", err, rampart.KindNotFound)
	err = s.RecordLogin(ctx(t), rampart.Session{UserName: "erin", CreatedAt: t0, ExpiresAt: day(1)})
	wantKind(t, "RecordLogin(no hash)", err, rampart.KindInvalid)

	n, err := s.PurgeSessions(ctx(t), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("PurgeSessions removed %d, want 1", n)
	}
	_, err = s.Session(ctx(t), "a")
	wantKind(t, "Session(purged)", err, rampart.KindNotFound)

	if err := s.DeleteSession(ctx(t), "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx(t), "b"); err != nil {
		t.Errorf("DeleteSession twice: %v", err)
	}
	_, err = s.Session(ctx(t), "b")
	wantKind(t, "Session(deleted)", err, rampart.KindNotFound)

	if err := s.DeleteSessions(ctx(t), "fay"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx(t), "c")
	wantKind(t, "Session(after DeleteSessions)", err, rampart.KindNotFound)
}

func testTokens(t *testing.T, s rampart.UserStore, _ rampart.Store) {
	ci, err := s.CreateToken(ctx(t), rampart.APIToken{
		Name: "ci", Prefix: "rpt_abcd", Hash: "hash-ci", Role: rampart.RoleViewer, CreatedAt: t0, ExpiresAt: day(90),
		CreatedBy: "ignored: the actor is the creator",
	}, admin)
	if err != nil {
		t.Fatal(err)
	}
	want := rampart.APIToken{
		ID: ci.ID, Name: "ci", Prefix: "rpt_abcd", Hash: "hash-ci", Role: rampart.RoleViewer, CreatedBy: "cli:root",
		CreatedAt: exact(t0), ExpiresAt: exact(day(90)),
	}
	equal(t, "CreateToken", ci, want)
	got, err := s.TokenByHash(ctx(t), "hash-ci")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TokenByHash", got, want)
	_, err = s.TokenByHash(ctx(t), "hash-other")
	wantKind(t, "TokenByHash(unknown)", err, rampart.KindNotFound)

	for _, tc := range []struct {
		name string
		tok  rampart.APIToken
		kind rampart.ErrorKind
	}{
		{"no expiry", rampart.APIToken{Name: "x", Hash: "h1", Role: rampart.RoleViewer, CreatedAt: t0}, rampart.KindInvalid},
		{"expiry past", rampart.APIToken{Name: "x", Hash: "h1", Role: rampart.RoleViewer, CreatedAt: t0, ExpiresAt: day(-1)}, rampart.KindInvalid},
		{"bad role", rampart.APIToken{Name: "x", Hash: "h1", Role: "god", CreatedAt: t0, ExpiresAt: day(1)}, rampart.KindInvalid},
		{"no hash", rampart.APIToken{Name: "x", Role: rampart.RoleViewer, CreatedAt: t0, ExpiresAt: day(1)}, rampart.KindInvalid},
		{"same hash", rampart.APIToken{Name: "x", Hash: "hash-ci", Role: rampart.RoleViewer, CreatedAt: t0, ExpiresAt: day(1)}, rampart.KindConflict},
	} {
		_, err := s.CreateToken(ctx(t), tc.tok, admin)
		wantKind(t, tc.name, err, tc.kind)
	}

	if err := s.TouchToken(ctx(t), ci.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Within the minute: not written again.
	if err := s.TouchToken(ctx(t), ci.ID, t0.Add(time.Hour+30*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.TokenByHash(ctx(t), "hash-ci")
	if got.LastUsedAt != exact(t0.Add(time.Hour)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, exact(t0.Add(time.Hour)))
	}

	if err := s.RevokeToken(ctx(t), ci.ID, admin, day(2)); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "RevokeToken twice", s.RevokeToken(ctx(t), ci.ID, admin, day(3)), rampart.KindConflict)
	wantKind(t, "RevokeToken(unknown)", s.RevokeToken(ctx(t), ci.ID+100, admin, day(3)), rampart.KindNotFound)
	got, _ = s.TokenByHash(ctx(t), "hash-ci")
	if !ci.Active(day(1)) || got.Active(day(1)) {
		t.Errorf("Active(day 1): before revoking %v, after %v; want true, false", ci.Active(day(1)), got.Active(day(1)))
	}
	list, err := s.Tokens(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].RevokedAt != exact(day(2)) {
		t.Errorf("Tokens = %+v", list)
	}
}

func testUserChangesAudited(t *testing.T, s rampart.UserStore, all rampart.Store) {
	u := mkUser(t, s, "gus", rampart.RoleViewer)
	u.Role = rampart.RoleEditor
	if _, err := s.UpdateUser(ctx(t), u, rampart.Actor{Name: "user:alice", Source: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx(t), u, admin); err != nil { // no change: no entry
		t.Fatal(err)
	}
	if err := s.RecordLogin(ctx(t), rampart.Session{IDHash: "x", UserName: "gus", CreatedAt: t0, ExpiresAt: day(1), Source: "192.0.2.8"}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateToken(ctx(t), rampart.APIToken{Name: "ci", Hash: "h", Role: rampart.RoleViewer, CreatedAt: t0, ExpiresAt: day(9)}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx(t), tok.ID, admin, day(1)); err != nil {
		t.Fatal(err)
	}
	log, err := all.AuditLog(ctx(t), rampart.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Actor+" "+e.Action+" "+e.Object+" "+e.Source)
		for _, b := range [][]byte{e.Before, e.After} {
			if strings.Contains(string(b), "argon2id") || strings.Contains(string(b), `"h"`) {
				t.Errorf("entry %d holds a secret: %s", e.Seq, b)
			}
		}
	}
	equal(t, "audit log", got, []string{
		"cli:root user.create user:gus cli",
		"user:alice user.update user:gus 192.0.2.7",
		"user:gus user.login user:gus 192.0.2.8",
		"cli:root token.create token:" + itoa(tok.ID) + " cli",
		"cli:root token.revoke token:" + itoa(tok.ID) + " cli",
	})
	if v, err := all.VerifyAudit(ctx(t)); err != nil || !v.OK {
		t.Errorf("VerifyAudit = %+v, %v", v, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
