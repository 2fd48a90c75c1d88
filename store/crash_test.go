package store_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/store"
)

const crashEnv = "RAMPART_STORE_CRASH_DB"

// outcome is one resource's outcome as a scan would save it: ten checks,
// seven passing, two failing with two findings each, one that could not
// tell; facts of about 2 KB that differ per resource and per seed.
func outcome(scan int64, n, seed int, at time.Time) rampart.ResourceOutcome {
	r := &rampart.Resource{ID: fmt.Sprintf("server:%04d", n), Kind: "server", Owner: "ops", Criticality: rampart.CriticalityHigh}
	o := rampart.ResourceOutcome{
		ScanID: scan, Resource: r, At: at,
		Facts:  fmt.Appendf(nil, `{"host":%q,"seed":%d,"packages":%q}`, r.ID, seed, strings.Repeat("openssl 3.0.15-1~deb12u1 ", 80)),
		Checks: map[string]*rampart.Check{}, Area: map[string]string{},
	}
	for c := range 10 {
		res := rampart.Result{CheckID: fmt.Sprintf("SRV-CHECK-%d", c), Version: 1, Severity: rampart.SeverityHigh, Status: rampart.StatusPass, Reason: "as configured"}
		switch {
		case c < 2:
			res.Status, res.Reason = rampart.StatusFail, ""
			for _, item := range []string{"sshd_config", "sshd_config.d/50-cloud.conf"} {
				res.Findings = append(res.Findings, rampart.Finding{
					Item: item, Message: "PermitRootLogin yes", Location: rampart.Location{Path: "/etc/ssh/" + item, Line: 12},
					Fingerprint: rampart.Fingerprint(res.CheckID, r.ID, item),
				})
			}
		case c == 2:
			res.Status, res.Reason = rampart.StatusError, "permission denied reading /etc/shadow"
		}
		o.Checks[res.CheckID] = &rampart.Check{ID: res.CheckID, Title: "Check " + res.CheckID, Severity: rampart.SeverityHigh}
		o.Area[res.CheckID] = "infrastructure/servers"
		o.Results = append(o.Results, res)
	}
	return o
}

// TestCrashChild is the process TestKillMidScan kills: it saves outcomes
// until it is killed, printing each one it committed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestKillMidScan")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	run, err := db.BeginScan(ctx, "cli", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("scan %d\n", run.ID)
	for n := 0; ; n++ {
		if _, err := db.SaveOutcome(ctx, outcome(run.ID, n, int(run.ID), time.Now())); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("saved %d\n", n)
	}
}

// TestKillMidScan kills (SIGKILL) a process in the middle of a scan, three
// times over one file, and checks what the next opener finds: every
// resource's outcome whole or absent, the chain intact, the scan marked
// interrupted, the file sound.
func TestKillMidScan(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	for round := range 3 {
		scan, saved := runAndKill(t, path, 20+7*round)

		db, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		scans, err := db.Scans(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		// Off Linux the dead process is found by its lapsed lease only,
		// minutes later.
		if runtime.GOOS == "linux" && (len(scans) != 1 || scans[0].ID != scan || scans[0].State != "interrupted") {
			t.Errorf("round %d: latest scan %+v, want scan %d interrupted", round, scans, scan)
		}
		rs, err := db.Results(t.Context(), rampart.ResultFilter{ScanID: scan})
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, r := range rs {
			per[r.ResourceID]++
		}
		for id, n := range per {
			if n != 10 {
				t.Errorf("round %d: %s has %d results of scan %d, want 10 or none", round, id, n, scan)
			}
		}
		// What the child reported is committed; it may have committed
		// more before the kill landed. Resources are saved in order, so
		// the saved ones run from server:0000 without a gap.
		if len(per) < saved {
			t.Errorf("round %d: %d resources saved, the child reported %d", round, len(per), saved)
		}
		for n := range len(per) {
			if id := fmt.Sprintf("server:%04d", n); per[id] == 0 {
				t.Errorf("round %d: %s missing among %d saved resources", round, id, len(per))
			}
		}
		ts, err := db.Tasks(t.Context(), rampart.TaskFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if maxSaved := maxResources(t, db); len(ts) != 4*maxSaved {
			t.Errorf("round %d: %d tasks, want 4 for each of %d resources", round, len(ts), maxSaved)
		}
		v, err := db.VerifyAudit(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK {
			t.Errorf("round %d: audit chain broken after a kill: %+v", round, v)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		var check string
		if err := rawSQLite(t, path).QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity check %q, %v", round, check, err)
		}
	}
}

// runAndKill starts a child saving outcomes into path, kills it once it
// reports `after` saves, and returns its scan and how many it reported.
func runAndKill(t *testing.T, path string, after int) (scan int64, saved int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashChild$") // #nosec G204 -- the test binary itself
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		line := lines.Text()
		if _, err := fmt.Sscanf(line, "scan %d", &scan); err == nil {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(line, "saved %d", &n); err == nil {
			saved = n + 1
			if saved >= after {
				break
			}
			continue
		}
		t.Logf("child: %s", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: its error says so
	if scan == 0 || saved < after {
		t.Fatalf("child stopped after %d saves of scan %d: %s", saved, scan, stderr.String())
	}
	return scan, saved
}

// maxResources counts the resources with a latest result: every round
// saves server:0000 onward, so tasks exist for that many.
func maxResources(t *testing.T, db *store.DB) int {
	t.Helper()
	rs, err := db.Results(t.Context(), rampart.ResultFilter{CheckID: "SRV-CHECK-0"})
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}
