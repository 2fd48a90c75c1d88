// Package testenv decides what a test does when a real component it needs
// (a server binary, a browser) is missing: on a developer's machine it
// skips with a hint, but in CI (CI=true) it fails, because CI installs
// every component and a skipped test there would hide a broken setup.
package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing stops the test because a component is missing: it fails in CI
// and skips elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a required component is missing: "+format, args...)
	}
	t.Skipf(format, args...)
}
