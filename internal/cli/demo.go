package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart/integrations/server/servertest"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
)

// demoEndpoints are the TLS endpoints the demo serves, one per profile
// that makes a point.
var demoEndpoints = []struct {
	id, name    string
	profile     tlsendpointtest.Profile
	criticality string
}{
	{"shop-tls", "shop.demo.test", tlsendpointtest.Good, "critical"},
	{"legacy-tls", "legacy.demo.test", tlsendpointtest.Expired, "high"},
	{"billing-tls", "billing.demo.test", tlsendpointtest.Expiring5Days, "critical"},
	{"api-tls", "api.demo.test", tlsendpointtest.Expiring20Days, "high"},
	{"intranet-tls", "intranet.demo.test", tlsendpointtest.WrongName, "medium"},
	{"lab-tls", "lab.demo.test", tlsendpointtest.SelfSigned, "low"},
	{"old-tls", "old.demo.test", tlsendpointtest.LegacyTLS, "medium"},
}

func newDemoCmd(e *env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a real scan on loopback: TLS endpoints, servers, a repository",
		Long: `Demo shows Rampart's main job with nothing to configure and no network
beyond loopback. It

  1. makes a private CA and serves seven TLS endpoints on 127.0.0.1 with good
     and bad certificates (expired, expiring in 5 and 20 days, wrong name,
     self-signed, TLS 1.0 accepted), trusted through a CA bundle;
  2. writes two server file systems (a hardened host and a weak one) and
     adds this machine itself (root /);
  3. writes DIR/rampart.yaml for them and scans it for real into DIR/rampart.db;
  4. prints readiness per SOC 2 category and area, and the TODO list;
  5. renews the expired certificate and scans again: its task resolves.

Afterwards, explore with: rampart -c DIR/rampart.yaml status|tasks|controls|audit verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(e, cmd, dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "demo-out", "where to write the register, fixtures and store (emptied first)")
	return cmd
}

func runDemo(e *env, cmd *cobra.Command, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(abs); err != nil {
		return fmt.Errorf("empty %s: %w", abs, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", abs, err)
	}
	say := func(format string, args ...any) { fmt.Fprintf(e.stdout, "\n==> "+format+"\n", args...) }

	say("Making a demo CA and serving %d TLS endpoints on loopback", len(demoEndpoints))
	ca, err := tlsendpointtest.NewCA("Rampart Demo CA")
	if err != nil {
		return err
	}
	if err := ca.WriteBundle(filepath.Join(abs, "demo-ca.pem")); err != nil {
		return err
	}
	now := time.Now()
	var eps []tlsendpointtest.Endpoint
	for _, d := range demoEndpoints {
		ep, err := ca.Endpoint(d.name, d.profile, now)
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
	fmt.Fprintf(e.stdout, "    one server at %s answers for %d SNI names\n", fleet.Addr, len(eps))

	say("Writing two server file systems: web-01 (hardened) and db-01 (weak)")
	for name, p := range map[string]servertest.Profile{"web-01": servertest.Hardened, "db-01": servertest.Weak} {
		if err := servertest.Write(filepath.Join(abs, "hosts", name), p); err != nil {
			return err
		}
	}

	regPath := filepath.Join(abs, "rampart.yaml")
	if err := os.WriteFile(regPath, []byte(demoRegister(fleet.Addr)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "    register: %s\n", regPath)

	run := func(args ...string) error {
		full := append([]string{"--config", regPath}, args...)
		fmt.Fprintf(e.stdout, "\n$ rampart %s\n", strings.Join(args, " "))
		sub := newRoot(&env{ctx: e.ctx, getenv: e.getenv, stdin: e.stdin, stdout: e.stdout, stderr: e.stdout})
		sub.SetArgs(full)
		sub.SetOut(e.stdout)
		sub.SetErr(e.stdout)
		return sub.ExecuteContext(cmd.Context())
	}
	say("Scanning")
	if err := run("scan"); err != nil {
		return err
	}
	say("Readiness")
	if err := run("status"); err != nil {
		return err
	}
	say("The TODO list")
	if err := run("tasks"); err != nil {
		return err
	}

	say("Renewing legacy.demo.test's certificate and scanning it again")
	renewed, err := ca.Endpoint("legacy.demo.test", tlsendpointtest.Good, time.Now())
	if err != nil {
		return err
	}
	fleet.Set(renewed)
	if err := run("scan", "--resource", "legacy-tls"); err != nil {
		return err
	}
	if err := run("tasks", "--resource", "legacy-tls", "--all"); err != nil {
		return err
	}
	if err := run("audit", "verify"); err != nil {
		return err
	}
	say("Done. Explore further:")
	fmt.Fprintf(e.stdout, `    rampart -c %[1]s status --controls
    rampart -c %[1]s tasks -o json
    rampart -c %[1]s scan -o sarif > results.sarif
    rampart -c %[1]s controls show PKI-01
    rampart explain TLS-EXPIRED
    echo 'choose-a-password' | rampart -c %[1]s user add --role admin --password-stdin admin
    rampart -c %[1]s serve          # the dashboard at http://127.0.0.1:8080
(The demo's TLS endpoints stop with it: a new scan reports them as errors.)
`, regPath)
	return nil
}

// demoRegister is the demo's rampart.yaml: the endpoints behind one
// loopback address told apart by SNI, the two fixture hosts, this machine,
// and a process resource for the reviews people do.
func demoRegister(addr string) string {
	var b strings.Builder
	b.WriteString(`# Written by "rampart demo". Every resource here is real: the TLS endpoints
# are served on loopback by the demo, the hosts are directories it wrote.
version: 1
settings:
  store: rampart.db
  concurrency: 8
  timeout: 10s
resources:
`)
	for _, d := range demoEndpoints {
		fmt.Fprintf(&b, `  - id: %s
    kind: tls-endpoint
    name: %s
    owner: platform-team
    criticality: %s
    environment: production
    tags: [pki, demo]
    spec:
      address: %s
      serverName: %s
      caBundle: demo-ca.pem
`, d.id, d.name, d.criticality, addr, d.name)
	}
	b.WriteString(`  - id: web-01
    kind: server
    name: Web server (hardened)
    owner: platform-team
    criticality: high
    environment: production
    spec:
      root: hosts/web-01
  - id: db-01
    kind: server
    name: Database server (weak)
    owner: platform-team
    criticality: critical
    environment: production
    spec:
      root: hosts/db-01
  - id: this-machine
    kind: server
    name: The machine running the demo
    owner: you
    criticality: low
    environment: development
    spec:
      root: /
  - id: access-review
    kind: process
    name: Quarterly access review of GitHub and servers
    owner: security-officer
    criticality: high
`)
	return b.String()
}
