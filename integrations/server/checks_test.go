package server_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/server"
	"github.com/rampart-dev/rampart/integrations/server/servertest"
)

// sshdFacts collects facts from a host holding only sshd and this
// configuration.
func sshdFacts(t *testing.T, config string) *server.Facts {
	t.Helper()
	f, err := server.CollectFS(t.Context(), mapFS(map[string]string{
		"usr/sbin/sshd":       "",
		"etc/ssh/sshd_config": config,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSSHRules pins the sshd checks' rules, one configuration at a time.
func TestSSHRules(t *testing.T) {
	t.Parallel()
	const hardened = "PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nMaxAuthTries 3\n"
	for _, tc := range []struct {
		name   string
		config string
		check  *rampart.Check
		status rampart.Status
		items  []string
	}{
		{"hardened passes password", hardened, server.SSHPasswordAuth, rampart.StatusPass, nil},
		{
			"password default is yes", "PermitRootLogin no\n", server.SSHPasswordAuth, rampart.StatusFail,
			[]string{"sshd: PasswordAuthentication"},
		},
		{"kbd-interactive without PAM asks nothing", "PasswordAuthentication no\n", server.SSHPasswordAuth, rampart.StatusPass, nil},
		{
			"kbd-interactive with PAM takes a password", "PasswordAuthentication no\nUsePAM yes\n", server.SSHPasswordAuth, rampart.StatusFail,
			[]string{"sshd: KbdInteractiveAuthentication"},
		},
		{
			"password as a second factor passes", "PasswordAuthentication yes\nAuthenticationMethods publickey,password\n",
			server.SSHPasswordAuth, rampart.StatusPass, nil,
		},
		{
			"a list without publickey fails", "PasswordAuthentication yes\nAuthenticationMethods publickey,password password\n",
			server.SSHPasswordAuth, rampart.StatusFail,
			[]string{"sshd: AuthenticationMethods"},
		},
		{
			"a list naming a disabled method passes", "PasswordAuthentication no\nKbdInteractiveAuthentication no\nAuthenticationMethods password keyboard-interactive:pam\n",
			server.SSHPasswordAuth, rampart.StatusPass, nil,
		},
		{
			"match block turning passwords on", hardened + "Match User backup\n  PasswordAuthentication yes\n",
			server.SSHPasswordAuth, rampart.StatusFail,
			[]string{"sshd Match User backup: PasswordAuthentication"},
		},
		{
			"match block inheriting a bad global is reported once", "PermitRootLogin no\nMatch User x\n  MaxAuthTries 2\n",
			server.SSHPasswordAuth, rampart.StatusFail,
			[]string{"sshd: PasswordAuthentication"},
		},
		{
			"root login default is prohibit-password", "PasswordAuthentication no\n", server.SSHRootLogin, rampart.StatusFail,
			[]string{"sshd: PermitRootLogin"},
		},
		{"root login no passes", hardened, server.SSHRootLogin, rampart.StatusPass, nil},
		{
			"root login in match block", hardened + "Match Address 10.0.0.0/8\n  PermitRootLogin forced-commands-only\n",
			server.SSHRootLogin, rampart.StatusFail,
			[]string{"sshd Match Address 10.0.0.0/8: PermitRootLogin"},
		},
		{"pubkey default passes", hardened, server.SSHPubkey, rampart.StatusPass, nil},
		{"pubkey off", "PubkeyAuthentication no\n", server.SSHPubkey, rampart.StatusFail, []string{"sshd: PubkeyAuthentication"}},
		{"max tries 4 passes", "MaxAuthTries 4\n", server.SSHMaxAuthTries, rampart.StatusPass, nil},
		{"max tries default 6 fails", "PermitRootLogin no\n", server.SSHMaxAuthTries, rampart.StatusFail, []string{"sshd: MaxAuthTries"}},
		{"max tries not a number", "MaxAuthTries many\n", server.SSHMaxAuthTries, rampart.StatusError, nil},
		{"unparsable config errors every check", "PermitRootLogin\n", server.SSHRootLogin, rampart.StatusError, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.check.Run(t.Context(), sshdFacts(t, tc.config))
			var items []string
			for _, f := range e.Findings {
				items = append(items, f.Item)
			}
			if e.Status != tc.status || !slices.Equal(items, tc.items) {
				t.Errorf("%s = %s %q (reason %q), want %s %q", tc.check.ID, e.Status, items, e.Reason, tc.status, tc.items)
			}
		})
	}
}

// TestNothingPassesOnEmptyFacts: facts that were never collected (or
// decoded from something else) must not pass any check.
func TestNothingPassesOnEmptyFacts(t *testing.T) {
	t.Parallel()
	for _, facts := range []rampart.Facts{&server.Facts{}, map[string]any{"sshd": map[string]any{}}} {
		for _, c := range server.Checks() {
			if e := c.Run(t.Context(), facts); e.Status != rampart.StatusError {
				t.Errorf("%s on %T = %s (%s), want error", c.ID, facts, e.Status, e.Reason)
			}
		}
	}
}

// TestOwnership: files not owned by root fail, as facts and, when the
// test runs as root, on a real file chowned away.
func TestOwnership(t *testing.T) {
	t.Parallel()
	f := collect(t, writeProfile(t, servertest.Hardened))
	f.Shadow.UID = 1000
	f.HostKeys.Keys[0].UID = 1000
	for _, tc := range []struct {
		check *rampart.Check
		item  string
	}{
		{server.ShadowPerms, "/etc/shadow owner"},
		{server.SSHHostKeyPerms, f.HostKeys.Keys[0].Path + " owner"},
	} {
		e := tc.check.Run(t.Context(), f)
		if e.Status != rampart.StatusFail || len(e.Findings) != 1 || e.Findings[0].Item != tc.item {
			t.Errorf("%s = %s %+v, want one finding %q", tc.check.ID, e.Status, e.Findings, tc.item)
		}
	}
	f.Shadow.UID = -1
	if e := server.ShadowPerms.Run(t.Context(), f); e.Status != rampart.StatusError {
		t.Errorf("unknown owner gives %s, want error", e.Status)
	}

	if os.Getuid() != 0 {
		t.Log("not root: the chown half of this test is skipped")
		return
	}
	root := writeProfile(t, servertest.Hardened)
	if err := os.Chown(filepath.Join(root, "etc/shadow"), 1000, 42); err != nil {
		t.Fatal(err)
	}
	real := collect(t, root)
	e := server.ShadowPerms.Run(t.Context(), real)
	if e.Status != rampart.StatusFail || e.Findings[0].Item != "/etc/shadow owner" || real.Shadow.GID != 42 {
		t.Errorf("chowned shadow: %s %+v (gid %d)", e.Status, e.Findings, real.Shadow.GID)
	}
}

// TestNeverLeavesRoot: links that point out of the root, absolute or
// climbing, are resolved inside it; a file outside is never read.
func TestNeverLeavesRoot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	// Were it read, UID0 would pass with this file, not error.
	if err := os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{
		filepath.Join(outside, "passwd"),                     // absolute, to a real file outside
		"../../outside/passwd",                               // climbing out from etc/
		"../../../../../../../../" + outside[1:] + "/passwd", // climbing to the absolute path
	} {
		t.Run(link, func(t *testing.T) {
			t.Parallel()
			root := writeProfile(t, servertest.Hardened)
			p := filepath.Join(root, "etc/passwd")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(link, p); err != nil {
				t.Fatal(err)
			}
			f := collect(t, root)
			e := server.UID0.Run(t.Context(), f)
			if e.Status != rampart.StatusError || !strings.Contains(e.Reason, "/etc/passwd not found") {
				t.Errorf("UID0 = %s (%s), want an error: the link leads nowhere inside the root", e.Status, e.Reason)
			}
		})
	}
	t.Run("link loop", func(t *testing.T) {
		t.Parallel()
		root := writeProfile(t, servertest.Hardened)
		p := filepath.Join(root, "etc/shadow")
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/shadow", p); err != nil {
			t.Fatal(err)
		}
		e := server.ShadowPerms.Run(t.Context(), collect(t, root))
		if e.Status != rampart.StatusError || !strings.Contains(e.Reason, "too many levels of symbolic links") {
			t.Errorf("shadow linking to itself = %s (%s), want a loop error", e.Status, e.Reason)
		}
	})
}

// TestProfilesContract: the demo and the benchmark rely on every check
// passing on Hardened and failing on Weak.
func TestProfilesContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    servertest.Profile
		want rampart.Status
	}{{servertest.Hardened, rampart.StatusPass}, {servertest.Weak, rampart.StatusFail}} {
		f := collect(t, writeProfile(t, tc.p))
		for id, e := range evaluate(t, f) {
			if e.Status != tc.want {
				t.Errorf("%s on %s = %s (%s %+v), want %s", id, tc.p, e.Status, e.Reason, e.Findings, tc.want)
			}
		}
	}
	if err := servertest.Write(t.TempDir(), "nonsense"); err == nil {
		t.Error("unknown profile written")
	}
}

func TestCollectErrors(t *testing.T) {
	t.Parallel()
	c := &server.Collector{}
	for _, tc := range []struct {
		name string
		r    *rampart.Resource
	}{
		{"missing root", &rampart.Resource{ID: "s", Spec: &server.Spec{Mode: "local", Root: filepath.Join(t.TempDir(), "absent")}}},
		{"ssh mode", &rampart.Resource{ID: "s", Spec: &server.Spec{Mode: "ssh", Root: "/"}}},
		{"foreign spec", &rampart.Resource{ID: "s", Spec: 42}},
	} {
		if _, err := c.Collect(t.Context(), tc.r); err == nil {
			t.Errorf("%s: collect succeeded", tc.name)
		}
	}
}

func TestFactsRecordSources(t *testing.T) {
	t.Parallel()
	f := collect(t, writeProfile(t, servertest.Hardened))
	for part, sources := range map[string][]string{
		"sshd": f.SSHD.Sources, "autoUpdates": f.AutoUpdates.Sources, "reboot": f.Reboot.Sources,
		"firewall": f.Firewall.Sources, "auditd": f.Auditd.Sources, "fim": f.FIM.Sources,
		"accounts": f.Accounts.Sources, "shadow": f.Shadow.Sources, "hostKeys": f.HostKeys.Sources,
	} {
		if len(sources) == 0 {
			t.Errorf("%s records no source", part)
		}
	}
	if !slices.Contains(f.AutoUpdates.Sources, "/etc/apt/apt.conf.d/20auto-upgrades") ||
		slices.Contains(f.SSHD.Sources, "/etc/ssh/sshd_config.d") ||
		f.SSHD.Sources[1] != server.SSHDConfigPath {
		t.Errorf("sources: updates %q, sshd %q", f.AutoUpdates.Sources, f.SSHD.Sources)
	}
	if f.CollectedAt.IsZero() || f.OS.Family != server.Debian || f.OS.VersionID != "12" {
		t.Errorf("collectedAt %v, os %+v", f.CollectedAt, f.OS)
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		sev      rampart.Severity
		controls []string
	}{
		"SRV-SSH-PASSWORD-AUTH":  {rampart.SeverityHigh, []string{"SRV-02"}},
		"SRV-SSH-ROOT-LOGIN":     {rampart.SeverityHigh, []string{"SRV-02", "SRV-01"}},
		"SRV-SSH-PUBKEY":         {rampart.SeverityMedium, []string{"SRV-02"}},
		"SRV-SSH-MAX-AUTH-TRIES": {rampart.SeverityLow, []string{"SRV-02"}},
		"SRV-AUTO-UPDATES":       {rampart.SeverityHigh, []string{"SRV-04"}},
		"SRV-REBOOT-PENDING":     {rampart.SeverityMedium, []string{"SRV-04"}},
		"SRV-FIREWALL":           {rampart.SeverityHigh, []string{"SRV-11", "FW-04"}},
		"SRV-AUDITD":             {rampart.SeverityMedium, []string{"SRV-07"}},
		"SRV-FIM":                {rampart.SeverityMedium, []string{"SRV-08", "MON-02"}},
		"SRV-UID0":               {rampart.SeverityCritical, []string{"SRV-01"}},
		"SRV-SHADOW-PERMS":       {rampart.SeverityHigh, []string{"SRV-01", "SRV-09"}},
		"SRV-SSH-HOSTKEY-PERMS":  {rampart.SeverityHigh, []string{"SRV-02"}},
	}
	checks := server.Integration.Checks
	if len(checks) != len(want) {
		t.Errorf("%d checks, want %d", len(checks), len(want))
	}
	seen := map[string]bool{}
	for _, c := range checks {
		if err := rampart.ValidateCheck(c); err != nil {
			t.Error(err)
		}
		w, ok := want[c.ID]
		if !ok || seen[c.ID] {
			t.Errorf("unexpected or duplicate check %s", c.ID)
			continue
		}
		seen[c.ID] = true
		if c.Severity != w.sev || !slices.Equal(c.Controls, w.controls) || c.Kind != server.Kind || c.Version < 1 {
			t.Errorf("%s: severity %s controls %v kind %s, want %s %v", c.ID, c.Severity, c.Controls, c.Kind, w.sev, w.controls)
		}
		if !strings.Contains(c.Doc, "Reads") {
			t.Errorf("%s: doc does not say what it reads", c.ID)
		}
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s, ok := server.Integration.NewSpec().(*server.Spec)
	if !ok || s.Mode != "local" || s.Root != "/" || s.Validate() != nil {
		t.Fatalf("NewSpec = %#v, want a valid local spec rooted at /", s)
	}
	for _, tc := range []struct {
		spec server.Spec
		want string
	}{
		{server.Spec{Mode: "ssh", Root: "/"}, "mode: ssh is not supported yet"},
		{server.Spec{Mode: "winrm", Root: "/"}, `mode: "winrm" is not a mode`},
		{server.Spec{Mode: "local"}, "root: required"},
	} {
		if err := tc.spec.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.spec, err, tc.want)
		}
	}
	rel := server.Spec{Mode: "local", Root: "hosts/web1"}
	rel.SetBaseDir("/etc/rampart")
	abs := server.Spec{Mode: "local", Root: "/"}
	abs.SetBaseDir("/etc/rampart")
	if rel.Root != "/etc/rampart/hosts/web1" || abs.Root != "/" {
		t.Errorf("SetBaseDir: relative %q, absolute %q", rel.Root, abs.Root)
	}
}

func writeProfile(t *testing.T, p servertest.Profile) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "host")
	if err := servertest.Write(root, p); err != nil {
		t.Fatal(err)
	}
	return root
}
