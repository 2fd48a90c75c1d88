package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
	"github.com/rampart-dev/rampart/store"
)

// TestTwoServeProcessesRunEachJobOnce starts two `rampart serve` processes
// on one store, as two replicas would. Their schedulers both find every job
// due at start; between them each resource must be collected once, no
// more: one lease holder acts and each job's run is claimed per period.
func TestTwoServeProcessesRunEachJobOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	dir := t.TempDir()
	ca, err := tlsendpointtest.NewCA("Replica CA")
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteBundle(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var eps []tlsendpointtest.Endpoint
	for i := range n {
		ep, err := ca.Endpoint(fmt.Sprintf("r%d.test", i), tlsendpointtest.Good, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	fleet := tlsendpointtest.ServeFleet(t, eps)
	var reg strings.Builder
	reg.WriteString("version: 1\nsettings: {store: rampart.db}\nschedule: {jitter: 0s}\nresources:\n")
	for i := range n {
		fmt.Fprintf(&reg, "  - {id: r%d, kind: tls-endpoint, name: r%d, owner: pki, spec: {address: %q, serverName: r%d.test, caBundle: ca.pem}}\n", i, i, fleet.Addr, i)
	}
	regPath := filepath.Join(dir, "rampart.yaml")
	if err := os.WriteFile(regPath, []byte(reg.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var procs []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "--config", regPath, "serve", "--listen", "127.0.0.1:0",
			"--addr-file", filepath.Join(dir, fmt.Sprintf("addr%d", i)))
		cmd.Env = append(os.Environ(), childEnv+"=1")
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("serve%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	stop := func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}
	defer stop()

	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Both servers must be up, or the test would prove nothing.
	for i := range 2 {
		addr := filepath.Join(dir, fmt.Sprintf("addr%d", i))
		for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
			if b, err := os.ReadFile(addr); err == nil && len(b) > 0 {
				break
			}
			if time.Since(start) > 30*time.Second {
				logs, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("serve%d.log", i)))
				t.Fatalf("serve %d did not start in 30 s:\n%s", i, logs)
			}
		}
	}
	// Wait until every resource has results, then a little longer so that
	// a second, duplicate run would have time to show.
	deadline := time.Now().Add(60 * time.Second)
	for {
		latest, err := db.Results(ctx, rampart.ResultFilter{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range latest {
			seen[r.ResourceID] = true
		}
		if len(seen) == n {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(dir, "serve0.log"))
			t.Fatalf("after 60 s only %d of %d resources were scanned by the schedulers; serve0 said:\n%s", len(seen), n, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	stop()

	scans, err := db.Scans(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	collected := map[string]int{} // resource/check -> results across all scans
	for _, s := range scans {
		if s.Trigger != "schedule" {
			t.Errorf("scan %d has trigger %q, want schedule", s.ID, s.Trigger)
		}
		res, err := db.Results(ctx, rampart.ResultFilter{ScanID: s.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			collected[r.ResourceID+"/"+r.CheckID]++
		}
	}
	if len(collected) == 0 {
		t.Fatal("no scheduled results")
	}
	for k, c := range collected {
		if c != 1 {
			t.Errorf("%s was evaluated %d times by the two schedulers, want once", k, c)
		}
	}
	t.Logf("%d scans by the two processes, %d resource/check results, each once", len(scans), len(collected))
}
