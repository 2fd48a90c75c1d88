package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/server"
)

// seed reads a file of the embedded profiles (or a golden case) for the
// fuzzers' corpora.
func seed(f *testing.F, path string) string {
	f.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}

func FuzzSSHDConfig(f *testing.F) {
	f.Add(seed(f, "servertest/roots/hardened/root/etc/ssh/sshd_config"), "")
	f.Add(seed(f, "testdata/include-match/root/etc/ssh/sshd_config"),
		seed(f, "testdata/include-match/root/etc/ssh/sshd_config.d/10-hardening.conf"))
	f.Add("Include sshd_config.d/*.conf\nMatch User a\n\tInclude sshd_config.d/*\n", "Match all\nPermitRootLogin=\"yes\"\n")
	f.Add("Banner \"a b\\\" c\" # x\nAcceptEnv \\ x\n= y\n", "Include /etc/ssh/sshd_config\n")
	f.Fuzz(func(t *testing.T, main, included string) {
		fsys := mapFS(map[string]string{"etc/ssh/sshd_config": main, "etc/ssh/sshd_config.d/x.conf": included})
		cfg, err := server.ReadSSHDConfig(fsys, server.SSHDConfigPath)
		if err != nil {
			return
		}
		lines := map[string]int{
			"/etc/ssh/sshd_config":          strings.Count(main, "\n") + 1,
			"/etc/ssh/sshd_config.d/x.conf": strings.Count(included, "\n") + 1,
		}
		check := func(d server.Directive) {
			if n, ok := lines[d.Location.Path]; !ok || d.Location.Line < 1 || d.Location.Line > n {
				t.Fatalf("directive %+v points outside the files read", d)
			}
		}
		for k, d := range cfg.Global {
			if k != strings.ToLower(k) {
				t.Fatalf("global key %q is not lower-case", k)
			}
			check(d)
		}
		for _, m := range cfg.Matches {
			if m.Criteria == "" {
				t.Fatal("match block without criteria")
			}
			for _, d := range m.Directives {
				check(d)
			}
		}
		for _, d := range cfg.HostKeys {
			check(d)
		}
		// The checks must accept anything the parser accepts.
		facts := &server.Facts{SSHD: server.SSHD{Provenance: server.Provenance{Sources: []string{server.SSHDConfigPath}}, Config: cfg}}
		for _, c := range []*rampart.Check{server.SSHPasswordAuth, server.SSHRootLogin, server.SSHPubkey, server.SSHMaxAuthTries} {
			if e := c.Run(t.Context(), facts); e.Status == rampart.StatusFail && len(e.Findings) == 0 {
				t.Fatalf("%s fails without findings", c.ID)
			}
		}
	})
}

func FuzzAptConf(f *testing.F) {
	f.Add(seed(f, "servertest/roots/hardened/root/etc/apt/apt.conf.d/20auto-upgrades"))
	f.Add(seed(f, "servertest/roots/hardened/root/etc/apt/apt.conf.d/50unattended-upgrades"))
	f.Add(seed(f, "servertest/roots/hardened/root/etc/apt/apt.conf.d/70debconf"))
	f.Add("A { B { C \"1\"; }; };\n#clear A::B;\n#include \"/x\";\n/* c */ D 2; // e\n")
	f.Fuzz(func(t *testing.T, data string) {
		vars := map[string]server.Directive{}
		if err := server.ParseAptConf("/etc/apt/apt.conf", []byte(data), vars); err != nil {
			return
		}
		for k, d := range vars {
			if k != strings.ToLower(d.Keyword) || d.Location.Line < 1 || d.Location.Line > strings.Count(data, "\n")+1 {
				t.Fatalf("var %q = %+v", k, d)
			}
		}
	})
}

func FuzzNftables(f *testing.F) {
	f.Add(seed(f, "servertest/roots/hardened/root/etc/nftables.conf"))
	f.Add(seed(f, "servertest/roots/weak/root/etc/nftables.conf"))
	f.Add("add chain inet t c { type filter hook input priority 0 ; policy drop ; }\ninclude \"x\"\n")
	f.Add("table ip t {\n chain c {\n  ip saddr { 1.2.3.4, 5.6.7.8 } counter log prefix \"x\" drop\n  reject with tcp reset\n }\n}\n")
	f.Fuzz(func(t *testing.T, data string) {
		rs, err := server.ParseNftables("/etc/nftables.conf", []byte(data))
		if err != nil {
			return
		}
		for _, c := range rs.Chains {
			if c.Location.Line < 1 || c.Location.Line > strings.Count(data, "\n")+1 {
				t.Fatalf("chain %+v points outside the file", c)
			}
		}
	})
}

func FuzzDpkgStatus(f *testing.F) {
	f.Add(seed(f, "servertest/roots/hardened/root/var/lib/dpkg/status"))
	f.Add("Package: a\nStatus: install ok installed\n continuation\n\n\nPackage:\n")
	f.Fuzz(func(t *testing.T, data string) {
		for name, p := range server.ParseDpkgStatus([]byte(data)) {
			if name == "" || name != p.Name || p.Line < 1 {
				t.Fatalf("package %q = %+v", name, p)
			}
		}
	})
}

func FuzzPasswd(f *testing.F) {
	f.Add(seed(f, "servertest/roots/weak/root/etc/passwd"))
	f.Add("+::::::\n#c\nx:y:0\nroot:x:0:0\n")
	f.Fuzz(func(t *testing.T, data string) {
		accts, err := server.ParsePasswd(server.PasswdPath, []byte(data))
		if err != nil {
			return
		}
		for _, a := range accts {
			if a.UID < 0 || a.Location.Line < 1 {
				t.Fatalf("account %+v", a)
			}
		}
	})
}

func FuzzShellVarsAndINI(f *testing.F) {
	f.Add(seed(f, "servertest/roots/hardened/root/etc/os-release"))
	f.Add(seed(f, "testdata/rhel/root/etc/dnf/automatic.conf"))
	f.Add(seed(f, "testdata/partial/root/etc/default/ufw"))
	f.Add("[s]\n k = v\n\tcont\nX='a'\nexport Y=\"b\" # c\n")
	f.Fuzz(func(t *testing.T, data string) {
		n := strings.Count(data, "\n") + 1
		for _, m := range []map[string]server.Directive{server.ParseShellVars("f", []byte(data)), server.ParseINI("f", []byte(data))} {
			for k, d := range m {
				if k == "" || d.Location.Line < 1 || d.Location.Line > n {
					t.Fatalf("%q = %+v", k, d)
				}
			}
		}
	})
}

// FuzzCollect feeds odd files to the whole collector and every check:
// nothing may panic, and no check may pass on a part it could not read.
func FuzzCollect(f *testing.F) {
	f.Add(seed(f, "servertest/roots/hardened/root/etc/ssh/sshd_config"),
		seed(f, "servertest/roots/hardened/root/etc/nftables.conf"),
		seed(f, "testdata/rhel/root/var/ossec/etc/ossec.conf"),
		seed(f, "testdata/rhel/root/usr/lib/firewalld/zones/public.xml"),
		seed(f, "servertest/roots/hardened/root/etc/passwd"))
	f.Add("Match", "table {", "<ossec_config><syscheck><disabled>yes", "<zone target=", "root:x:0")
	f.Fuzz(func(t *testing.T, sshd, nft, ossec, zone, passwd string) {
		fsys := mapFS(map[string]string{
			"etc/os-release":                      "ID=rocky\n",
			"usr/sbin/sshd":                       "",
			"etc/ssh/sshd_config":                 sshd,
			"etc/nftables.conf":                   nft,
			"var/ossec/etc/ossec.conf":            ossec,
			"etc/firewalld/firewalld.conf":        "DefaultZone=public\n",
			"usr/lib/firewalld/zones/public.xml":  zone,
			"etc/passwd":                          passwd,
			"etc/audit/rules.d/x.rules":           "-w /etc/passwd -p wa\n",
			"etc/systemd/system/x.target.wants/y": "",
		})
		facts, err := server.CollectFS(t.Context(), fsys)
		if err != nil {
			t.Fatal(err)
		}
		parts := map[string]string{
			"SRV-FIREWALL": facts.Firewall.Error, "SRV-FIM": facts.FIM.Error, "SRV-UID0": facts.Accounts.Error,
			"SRV-SSH-ROOT-LOGIN": facts.SSHD.Error,
		}
		for _, c := range server.Checks() {
			e := c.Run(t.Context(), facts)
			if parts[c.ID] != "" && e.Status == rampart.StatusPass {
				t.Fatalf("%s passes although its facts say %q", c.ID, parts[c.ID])
			}
		}
	})
}
