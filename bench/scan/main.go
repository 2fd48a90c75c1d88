// Command scan benchmarks `rampart scan` on generated estates: 10,000
// tls-endpoint resources served by one loopback TLS server (SNI names), and
// 10,000 server fixture roots. Each figure comes with a baseline measured in
// the same run on the same input: plain TLS handshakes for the endpoints, a
// plain read of every fixture file for the servers.
//
//	go run ./bench/scan -rampart bin/rampart -n 10000 -kind tls
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rampart-dev/rampart/integrations/server/servertest"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
)

func main() {
	bin := flag.String("rampart", "bin/rampart", "the rampart binary")
	n := flag.Int("n", 10000, "resources")
	kind := flag.String("kind", "tls", "tls or server")
	conc := flag.Int("concurrency", 16, "resources collected at once (the register's settings.concurrency)")
	dir := flag.String("dir", "", "work directory (default a temporary one, removed after)")
	flag.Parse()
	if err := run(*bin, *n, *kind, *conc, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one line of the report, as JSON for bench/run.sh.
type result struct {
	Kind             string  `json:"kind"`
	Resources        int     `json:"resources"`
	Concurrency      int     `json:"concurrency"`
	WallSeconds      float64 `json:"wall_seconds"`
	ResourcesPerSec  float64 `json:"resources_per_second"`
	PeakRSSMiB       float64 `json:"peak_rss_mib"`
	Results          int     `json:"results"`
	StoreBytes       int64   `json:"store_bytes"`
	StoreBytesPerRes float64 `json:"store_bytes_per_result"`
	BaselineSeconds  float64 `json:"baseline_seconds"`
	BaselineWhat     string  `json:"baseline"`
	RatioToBaseline  float64 `json:"ratio_to_baseline"`
	SetupSeconds     float64 `json:"setup_seconds"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	CoresUsed        float64 `json:"cores_used"`
}

func run(bin string, n int, kind string, conc int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "rampart-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	setup := time.Now()
	var reg strings.Builder
	fmt.Fprintf(&reg, "version: 1\nsettings: {store: rampart.db, concurrency: %d, timeout: 60s}\nresources:\n", conc)
	var baseline func() (time.Duration, error)
	var what string
	switch kind {
	case "tls":
		ca, err := tlsendpointtest.NewCA("Bench CA")
		if err != nil {
			return err
		}
		if err := ca.WriteBundle(filepath.Join(dir, "ca.pem")); err != nil {
			return err
		}
		profiles := tlsendpointtest.Profiles()
		eps := make([]tlsendpointtest.Endpoint, 0, n)
		for i := range n {
			ep, err := ca.Endpoint(fmt.Sprintf("h%05d.bench.test", i), profiles[i%len(profiles)], time.Now())
			if err != nil {
				return err
			}
			eps = append(eps, ep)
		}
		fleet, err := tlsendpointtest.StartFleet(eps)
		if err != nil {
			return err
		}
		defer fleet.Close()
		for i := range n {
			fmt.Fprintf(&reg, "  - {id: h%05d, kind: tls-endpoint, name: h%05d, owner: pki, spec: {address: %q, serverName: h%05d.bench.test, caBundle: ca.pem}}\n", i, i, fleet.Addr, i)
		}
		what = "one TLS handshake per endpoint, same concurrency, no Rampart"
		baseline = func() (time.Duration, error) { return handshakes(fleet.Addr, n, conc, ca.Pool()) }
	case "server":
		profiles := servertest.Profiles()
		for i := range n {
			root := filepath.Join(dir, "hosts", fmt.Sprintf("s%05d", i))
			if err := servertest.Write(root, profiles[i%len(profiles)]); err != nil {
				return err
			}
			fmt.Fprintf(&reg, "  - {id: s%05d, kind: server, name: s%05d, owner: ops, spec: {root: hosts/s%05d}}\n", i, i, i)
		}
		what = "reading every file of every fixture root, same concurrency, no Rampart"
		baseline = func() (time.Duration, error) { return readAll(filepath.Join(dir, "hosts"), conc) }
	default:
		return fmt.Errorf("unknown -kind %q (tls or server)", kind)
	}
	regPath := filepath.Join(dir, "rampart.yaml")
	if err := os.WriteFile(regPath, []byte(reg.String()), 0o644); err != nil {
		return err
	}
	setupDur := time.Since(setup)

	base, err := baseline()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	out := filepath.Join(dir, "report.json")
	cmd := exec.CommandContext(context.Background(), bin, "--config", regPath, "scan", "-o", "json", "--output-file", out)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rampart scan: %w", err)
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())

	var rep struct {
		Results []json.RawMessage `json:"results"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return err
	}
	var size int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(filepath.Join(dir, "rampart.db"+suffix)); err == nil {
			size += fi.Size()
		}
	}
	r := result{
		Kind: kind, Resources: n, Concurrency: conc,
		WallSeconds: wall.Seconds(), ResourcesPerSec: float64(n) / wall.Seconds(),
		PeakRSSMiB: float64(ru.Maxrss) / 1024, Results: len(rep.Results), StoreBytes: size,
		BaselineSeconds: base.Seconds(), BaselineWhat: what, RatioToBaseline: wall.Seconds() / base.Seconds(),
		SetupSeconds: setupDur.Seconds(), CPUSeconds: cpu.Seconds(), CoresUsed: cpu.Seconds() / wall.Seconds(),
	}
	if r.Results > 0 {
		r.StoreBytesPerRes = float64(size) / float64(r.Results)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// handshakes does what the collector must at least do: one TLS handshake
// per name, with the same concurrency.
func handshakes(addr string, n, conc int, pool *x509.CertPool) (time.Duration, error) {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: fmt.Sprintf("h%05d.bench.test", i), RootCAs: pool, InsecureSkipVerify: true}) //nolint:gosec // the baseline handshakes with broken certificates on purpose
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return time.Since(start), nil
}

// readAll reads every file under root with conc readers.
func readAll(root string, conc int) (time.Duration, error) {
	start := time.Now()
	paths := make(chan string, 1024)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				_, _ = os.ReadFile(p)
			}
		}()
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths <- p
		}
		return err
	})
	close(paths)
	wg.Wait()
	return time.Since(start), err
}
