package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
	"github.com/rampart-dev/rampart/store"
)

// childEnv makes the test binary act as the rampart command, so the crash
// test kills the real CLI wiring, not a stand-in.
const childEnv = "RAMPART_TEST_RUN_CLI"

var savedLine = regexp.MustCompile(`msg=saved scan=(\d+) resource=(\S+)`)

// TestKillDuringScan kills `rampart scan` with SIGKILL at random moments,
// 20 times, and checks after each kill that the store opens, that its audit
// chain verifies, and that it holds every resource the scan had reported
// as committed before it died.
func TestKillDuringScan(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 20 scans")
	}
	const endpoints = 300
	ca, err := tlsendpointtest.NewCA("Crash CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteBundle(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	profiles := tlsendpointtest.Profiles()
	var eps []tlsendpointtest.Endpoint
	for i := range endpoints {
		ep, err := ca.Endpoint(fmt.Sprintf("host%03d.test", i), profiles[i%len(profiles)], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	fleet := tlsendpointtest.ServeFleet(t, eps)
	var reg strings.Builder
	reg.WriteString("version: 1\nsettings: {store: rampart.db, concurrency: 4}\nresources:\n")
	for i := range endpoints {
		fmt.Fprintf(&reg, "  - {id: ep%03d, kind: tls-endpoint, name: ep%03d, owner: pki, spec: {address: %q, serverName: host%03d.test, caBundle: ca.pem}}\n",
			i, i, fleet.Addr, i)
	}
	regPath := filepath.Join(dir, "rampart.yaml")
	if err := os.WriteFile(regPath, []byte(reg.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// One whole scan first, to learn how long one takes.
	start := time.Now()
	if _, saved := runScan(t, regPath, -1); len(saved) != endpoints {
		t.Fatalf("an uninterrupted scan saved %d resources, want %d", len(saved), endpoints)
	}
	whole := time.Since(start)
	t.Logf("one scan of %d resources takes %s", endpoints, whole)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	killsMidScan := 0
	for i := range 20 {
		after := time.Duration(rng.Int64N(int64(whole) * 6 / 5))
		scanID, saved := runScan(t, regPath, after)
		if len(saved) > 0 && len(saved) < endpoints {
			killsMidScan++
		}
		checkStore(t, filepath.Join(dir, "rampart.db"), scanID, saved)
		t.Logf("kill %2d after %-8s scan %d had committed %3d resources", i+1, after.Round(time.Millisecond), scanID, len(saved))
	}
	if killsMidScan < 5 {
		t.Errorf("only %d of 20 kills landed while resources were being saved; the kill times do not exercise the scan", killsMidScan)
	}
	verify := exec.Command(os.Args[0], "--config", regPath, "audit", "verify")
	verify.Env = append(os.Environ(), childEnv+"=1")
	out, err := verify.CombinedOutput()
	if err != nil {
		t.Fatalf("rampart audit verify after the kills: %v\n%s", err, out)
	}
}

// runScan starts `rampart scan` and kills it after the given delay (never
// when negative). It returns the scan's id and the resources it logged as
// committed before it died.
func runScan(t *testing.T, regPath string, after time.Duration) (int64, []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--config", regPath, "--log-level", "info", "scan", "-o", "json")
	cmd.Env = append(os.Environ(), childEnv+"=1", "NO_COLOR=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if after >= 0 {
		timer := time.AfterFunc(after, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	var scanID int64
	var saved []string
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := savedLine.FindStringSubmatch(sc.Text()); m != nil {
			if _, err := fmt.Sscan(m[1], &scanID); err != nil {
				t.Fatalf("scan id %q: %v", m[1], err)
			}
			saved = append(saved, m[2])
		}
	}
	err = cmd.Wait()
	if after < 0 && err != nil {
		t.Fatalf("scan: %v", err)
	}
	return scanID, saved
}

func checkStore(t *testing.T, path string, scanID int64, saved []string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("the store does not open after a kill: %v", err)
	}
	defer db.Close()
	v, err := db.VerifyAudit(ctx)
	if err != nil || !v.OK {
		t.Fatalf("audit chain after a kill: %+v, %v", v, err)
	}
	for _, id := range saved {
		res, err := db.Results(ctx, rampart.ResultFilter{ResourceID: id, ScanID: scanID})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 8 {
			t.Fatalf("resource %s was committed by scan %d but the store holds %d of its 8 results", id, scanID, len(res))
		}
	}
}
