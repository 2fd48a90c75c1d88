package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/rampart-dev/rampart"
)

// argon2id parameters: OWASP's first recommendation (46 MiB, one pass, one
// lane), about 50 ms here. They are written into each hash, so they can be
// raised later without invalidating stored passwords.
const (
	argonMemory  = 46 * 1024 // KiB
	argonTime    = 1
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Passwords shorter than this are refused when set.
const minPasswordLen = 12

// HashPassword hashes a password with argon2id into the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(password string) (string, error) {
	if len(password) < minPasswordLen {
		return "", rampart.Errorf(rampart.KindInvalid, "a password needs at least %d characters", minPasswordLen)
	}
	if len(password) > 1024 {
		return "", rampart.Errorf(rampart.KindInvalid, "a password may have at most 1024 characters")
	}
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // crypto/rand never fails
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches an encoded hash, in
// time independent of where they differ. A malformed hash matches nothing.
func VerifyPassword(encoded, password string) bool {
	p, salt, key, ok := parseArgon2id(encoded)
	if !ok {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key))) //nolint:gosec // G115: at most 64, checked by parseArgon2id
	return subtle.ConstantTimeCompare(got, key) == 1
}

type argonParams struct {
	memory, time uint32
	threads      uint8
}

// parseArgon2id reads a PHC string, refusing parameters that would let a
// tampered hash cost the server unbounded memory or time.
func parseArgon2id(encoded string) (argonParams, []byte, []byte, bool) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return argonParams{}, nil, nil, false
	}
	var p argonParams
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil || n != 3 {
		return argonParams{}, nil, nil, false
	}
	if p.memory < 8 || p.memory > 1<<20 || p.time < 1 || p.time > 16 || p.threads < 1 || p.threads > 16 {
		return argonParams{}, nil, nil, false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return argonParams{}, nil, nil, false
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return argonParams{}, nil, nil, false
	}
	return p, salt, key, true
}

// dummyHash is verified against when a user does not exist, so that a
// wrong name takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("rampart-no-such-user-password")
	if err != nil {
		panic(err)
	}
	return h
})
