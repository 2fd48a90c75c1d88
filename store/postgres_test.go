package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/store"
	"github.com/rampart-dev/rampart/store/storetest"
)

// postgresEnv names the PostgreSQL server the tests may use: a URL whose
// user may create schemas, or "start" to start a private server from the
// PostgreSQL binaries installed here (CI does that). Unset, the tests skip.
const postgresEnv = "RAMPART_TEST_POSTGRES"

func TestPostgres(t *testing.T) {
	t.Parallel()
	base := postgresServer(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })

	// Each store lives in a schema of its own, so tests run in parallel on
	// one server and leave nothing behind.
	schema := func(t *testing.T) (string, *sql.DB) {
		t.Helper()
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := "rampart_test_" + hex.EncodeToString(b[:])
		if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`); err != nil {
				t.Errorf("drop schema: %v", err)
			}
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		raw, err := sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		return u.String(), raw
	}
	open := func(t *testing.T, dsn string) *store.DB {
		t.Helper()
		db, err := store.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return db
	}

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) (rampart.Store, func(string) error) {
			dsn, raw := schema(t)
			return open(t, dsn), func(q string) error {
				_, err := raw.ExecContext(context.Background(), q)
				return err
			}
		})
	})
	t.Run("TwoHandlesShareOneChain", func(t *testing.T) {
		t.Parallel()
		dsn, _ := schema(t)
		testTwoHandles(t, open(t, dsn), open(t, dsn))
	})
	t.Run("ConcurrentOpensMigrateOnce", func(t *testing.T) {
		t.Parallel()
		dsn, raw := schema(t)
		testConcurrentOpens(t, dsn, raw)
	})
}

// The password must not come back in any error, whether the server is
// unreachable or the connection string malformed.
func TestPostgresErrorsHidePassword(t *testing.T) {
	t.Parallel()
	const secret = "hunter2secret"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://rampart:" + secret + "@127.0.0.1:1/rampart?sslmode=disable&connect_timeout=2",
		"postgres://rampart:" + secret + "@127.0.0.1:1/rampart?sslmode=bogus",
		"postgresql://rampart:" + secret + "@[::1/rampart",
	} {
		db, err := store.Open(ctx, dsn)
		if err == nil {
			_ = db.Close()
			t.Errorf("Open of an unreachable server succeeded")
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error repeats the password: %v", err)
		}
	}
}

func postgresServer(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv(postgresEnv); v {
	case "":
		t.Skip("set " + postgresEnv + " to a PostgreSQL URL, or to start, to run the store's PostgreSQL tests")
		return ""
	case "start":
		return startPostgres(t)
	default:
		return v
	}
}

// startPostgres runs a private PostgreSQL server in a temporary folder on
// a loopback port, as the postgres user when run as root (initdb refuses
// root), without fsync: these tests are about behaviour, not durability.
func startPostgres(t testing.TB) string {
	t.Helper()
	bin := postgresBin(t)
	dir, err := os.MkdirTemp("", "rampart-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	run := func(name string, args ...string) {
		t.Helper()
		argv := append([]string{filepath.Join(bin, name)}, args...)
		if os.Getuid() == 0 {
			argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
		}
		cmd := exec.CommandContext(context.Background(), argv[0], argv[1:]...) // #nosec G204 -- the test's own command line
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	if os.Getuid() == 0 {
		chown := exec.CommandContext(t.Context(), "chown", "postgres:postgres", dir)
		if out, err := chown.CombinedOutput(); err != nil {
			t.Fatalf("chown: %v\n%s", err, out)
		}
	}
	port := freePort(t)
	data := filepath.Join(dir, "data")
	run("initdb", "--no-sync", "-D", data, "-U", "postgres", "-A", "trust")
	run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o",
		fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir),
		"start")
	t.Cleanup(func() { run("pg_ctl", "-D", data, "-m", "immediate", "stop") })
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func postgresBin(t testing.TB) string {
	t.Helper()
	if out, err := exec.CommandContext(t.Context(), "pg_config", "--bindir").Output(); err == nil {
		if bin := strings.TrimSpace(string(out)); fileExists(filepath.Join(bin, "initdb")) {
			return bin
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		t.Fatalf("%s=start, but no PostgreSQL binaries found (apt-get install postgresql)", postgresEnv)
	}
	sort.Strings(found)
	return filepath.Dir(found[len(found)-1])
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
