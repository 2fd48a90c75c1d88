package web_test

import (
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/web"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	h, err := web.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=47104,t=1,p=1$") || strings.Contains(h, password) {
		t.Errorf("hash %q", h)
	}
	h2, _ := web.HashPassword(password)
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, password, true},
		{h, password + " ", false},
		{h, "", false},
		{strings.Replace(h, "argon2id", "argon2i", 1), password, false},
		{strings.Replace(h, "m=47104", "m=4194304", 1), password, false}, // 4 GiB: refused, not tried
		{strings.Replace(h, "t=1", "t=2", 1), password, false},
		{h[:len(h)-4], password, false},
		{"", password, false},
		{"plaintext", "plaintext", false},
	} {
		if got := web.VerifyPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("VerifyPassword(%q, %q) = %v", first(tc.hash, 40), tc.pw, got)
		}
	}
	for _, pw := range []string{"short", strings.Repeat("x", 1025)} {
		if _, err := web.HashPassword(pw); err == nil {
			t.Errorf("HashPassword accepted a password of %d characters", len(pw))
		}
	}
}

// FuzzVerifyPassword feeds the hash parser what a tampered store could
// hold: it must neither panic nor accept.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x")
	f.Add("$argon2id$v=19$m=99999999,t=99,p=99$$", "x")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if web.VerifyPassword(hash, pw) && !strings.HasPrefix(hash, "$argon2id$v=19$") {
			t.Errorf("accepted %q", hash)
		}
	})
}
