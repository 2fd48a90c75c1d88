package server_test

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/server"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, content := range files {
		m[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return m
}

func TestReadSSHDConfig(t *testing.T) {
	t.Parallel()
	type want struct {
		global  map[string]string // keyword -> "value@file:line"
		matches []string          // "criteria: keyword=value@file:line ..."
		files   []string
		err     string
	}
	at := func(d server.Directive) string {
		return d.Value + "@" + d.Location.Path + ":" + strconv.Itoa(d.Location.Line)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  want
	}{
		{
			name: "first value wins, keywords case-insensitive, = separator, quotes, comments",
			files: map[string]string{"etc/ssh/sshd_config": "# comment\n\n  PermitRootLogin no\npermitrootlogin yes\n" +
				"Banner=\"/etc/issue net\"\nMaxAuthTries = 3 # trailing comment\nAcceptEnv LANG\tLC_*\r\n"},
			want: want{
				global: map[string]string{
					"permitrootlogin": "no@/etc/ssh/sshd_config:3",
					"banner":          "/etc/issue net@/etc/ssh/sshd_config:5",
					"maxauthtries":    "3@/etc/ssh/sshd_config:6",
					"acceptenv":       "LANG LC_*@/etc/ssh/sshd_config:7",
				},
				files: []string{"/etc/ssh/sshd_config"},
			},
		},
		{
			name:  "alias folds onto the current keyword",
			files: map[string]string{"etc/ssh/sshd_config": "ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n"},
			want: want{
				global: map[string]string{"kbdinteractiveauthentication": "no@/etc/ssh/sshd_config:1"},
				files:  []string{"/etc/ssh/sshd_config"},
			},
		},
		{
			name: "include globs in lexical order, relative to /etc/ssh, non-matching ignored",
			files: map[string]string{
				"etc/ssh/sshd_config":          "Include sshd_config.d/*.conf /etc/ssh/none/*.conf\nPasswordAuthentication yes\n",
				"etc/ssh/sshd_config.d/b.conf": "PasswordAuthentication no\n",
				"etc/ssh/sshd_config.d/a.conf": "PasswordAuthentication maybe\nPort 2222\n",
				"etc/ssh/sshd_config.d/c.txt":  "PermitRootLogin yes\n",
			},
			want: want{
				global: map[string]string{
					"passwordauthentication": "maybe@/etc/ssh/sshd_config.d/a.conf:1",
					"port":                   "2222@/etc/ssh/sshd_config.d/a.conf:2",
				},
				files: []string{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/a.conf", "/etc/ssh/sshd_config.d/b.conf"},
			},
		},
		{
			name: "match blocks: first value inside, end at next match, end with the included file",
			files: map[string]string{
				"etc/ssh/sshd_config": "Include /etc/ssh/inc.conf\nPermitRootLogin no\nMatch User backup\n" +
					"  PasswordAuthentication yes\n  PasswordAuthentication no\n  Include /etc/ssh/in-match.conf\n" +
					"Match Address 10.0.0.0/8 User ops\n  MaxAuthTries 5\n",
				"etc/ssh/inc.conf":      "Match Group admins\nMaxAuthTries 2\n",
				"etc/ssh/in-match.conf": "PubkeyAuthentication no\n",
			},
			want: want{
				global: map[string]string{"permitrootlogin": "no@/etc/ssh/sshd_config:2"},
				matches: []string{
					"Group admins: maxauthtries=2@/etc/ssh/inc.conf:2",
					"User backup: passwordauthentication=yes@/etc/ssh/sshd_config:4 pubkeyauthentication=no@/etc/ssh/in-match.conf:1",
					"Address 10.0.0.0/8 User ops: maxauthtries=5@/etc/ssh/sshd_config:8",
				},
				files: []string{"/etc/ssh/sshd_config", "/etc/ssh/inc.conf", "/etc/ssh/in-match.conf"},
			},
		},
		{
			name:  "host keys accumulate",
			files: map[string]string{"etc/ssh/sshd_config": "HostKey /etc/ssh/a\nHostKey /etc/ssh/b\n"},
			want: want{
				global: map[string]string{},
				files:  []string{"/etc/ssh/sshd_config"},
			},
		},
		{
			name:  "missing value",
			files: map[string]string{"etc/ssh/sshd_config": "PermitRootLogin no\nPasswordAuthentication\n"},
			want:  want{err: "/etc/ssh/sshd_config:2: PasswordAuthentication has no value"},
		},
		{
			name:  "unterminated quote",
			files: map[string]string{"etc/ssh/sshd_config": "Banner \"/etc/issue\n"},
			want:  want{err: "/etc/ssh/sshd_config:1: Banner: unterminated quote"},
		},
		{
			name:  "match without criteria",
			files: map[string]string{"etc/ssh/sshd_config": "Match\n"},
			want:  want{err: "/etc/ssh/sshd_config:1: Match without criteria"},
		},
		{
			name:  "include loop",
			files: map[string]string{"etc/ssh/sshd_config": "Include /etc/ssh/sshd_config\n"},
			want:  want{err: "nested deeper than 16"},
		},
		{
			name:  "missing file",
			files: map[string]string{},
			want:  want{err: "read /etc/ssh/sshd_config"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := server.ReadSSHDConfig(mapFS(tc.files), server.SSHDConfigPath)
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			global := map[string]string{}
			for k, d := range cfg.Global {
				global[k] = at(d)
			}
			if !reflect.DeepEqual(global, tc.want.global) {
				t.Errorf("global = %v\nwant     %v", global, tc.want.global)
			}
			var matches []string
			for _, m := range cfg.Matches {
				s := m.Criteria + ":"
				for _, k := range slices.Sorted(maps.Keys(m.Directives)) {
					s += " " + k + "=" + at(m.Directives[k])
				}
				matches = append(matches, s)
			}
			if !reflect.DeepEqual(matches, tc.want.matches) {
				t.Errorf("matches = %q\nwant      %q", matches, tc.want.matches)
			}
			if !reflect.DeepEqual(cfg.Files, tc.want.files) {
				t.Errorf("files = %q, want %q", cfg.Files, tc.want.files)
			}
		})
	}
}

func TestSSHDEffectiveDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := server.ReadSSHDConfig(mapFS(map[string]string{"etc/ssh/sshd_config": "Match User x\n  PermitRootLogin yes\n"}), server.SSHDConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for kw, want := range map[string]string{
		"permitrootlogin": "prohibit-password", "passwordauthentication": "yes", "pubkeyauthentication": "yes",
		"maxauthtries": "6", "kbdinteractiveauthentication": "yes", "usepam": "no", "authenticationmethods": "any",
	} {
		d := cfg.Effective(kw)
		if d.Value != want || !d.Default || d.Location.Path != server.SSHDConfigPath || d.Location.Line != 0 {
			t.Errorf("Effective(%s) = %+v, want default %q at the main file", kw, d, want)
		}
	}
	if d := cfg.EffectiveIn(&cfg.Matches[0], "permitrootlogin"); d.Value != "yes" || d.Default {
		t.Errorf("EffectiveIn(match, permitrootlogin) = %+v, want the block's yes", d)
	}
	if d := cfg.EffectiveIn(&cfg.Matches[0], "maxauthtries"); d.Value != "6" || !d.Default {
		t.Errorf("EffectiveIn(match, maxauthtries) = %+v, want the global default", d)
	}
}

func TestParseAptConf(t *testing.T) {
	t.Parallel()
	vars := map[string]server.Directive{}
	files := []struct{ name, text string }{
		{"/etc/apt/apt.conf.d/10a", `// comment
APT::Periodic::Update-Package-Lists "1";
APT { Periodic { Unattended-Upgrade "1"; AutocleanInterval "7"; }; };
/* block
   comment */ Unattended-Upgrade::Origins-Pattern { "origin=Debian"; "o=x"; };
# hash comment
Dir::Cache "/var/cache/apt/";
`},
		{"/etc/apt/apt.conf.d/20b", `apt::periodic::unattended-upgrade 0;
#clear APT::Periodic::AutocleanInterval;
`},
	}
	for _, f := range files {
		if err := server.ParseAptConf(f.name, []byte(f.text), vars); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	for k, d := range vars {
		got[k] = d.Value + "@" + d.Location.Path + ":" + strconv.Itoa(d.Location.Line)
	}
	want := map[string]string{
		"apt::periodic::update-package-lists": "1@/etc/apt/apt.conf.d/10a:2",
		"apt::periodic::unattended-upgrade":   "0@/etc/apt/apt.conf.d/20b:1",
		"dir::cache":                          "/var/cache/apt/@/etc/apt/apt.conf.d/10a:7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("vars = %v\nwant   %v", got, want)
	}

	for _, bad := range []struct{ text, err string }{
		{`A "1"`, "missing ';' at end of file"},
		{`A { B "1"; `, "unclosed"},
		{`};`, "'}' without '{'"},
		{`A "unterminated;`, "unterminated string"},
		{`/* never closed`, "unterminated comment"},
		{`A B C;`, "expected"},
		{"A {\nB \"1\"\n};", "missing ';' before '}'"},
	} {
		if err := server.ParseAptConf("f", []byte(bad.text), map[string]server.Directive{}); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("ParseAptConf(%q) = %v, want error containing %q", bad.text, err, bad.err)
		}
	}
}

func TestParseNftables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		text string
		want []string // "table/name hook policy final@line"
		deny []bool
		err  string
	}{
		{
			name: "nested with anonymous sets",
			text: `#!/usr/sbin/nft -f
flush ruleset
table inet filter {
	set allowed { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 } }
	chain input {
		type filter hook input priority 0; policy drop;
		ct state { established, related } accept
		tcp dport { 22, 443 } accept
	}
	chain output { type filter hook output priority 0; policy accept; }
}
`,
			want: []string{"inet filter/input input drop @5", "inet filter/output output accept @10"},
			deny: []bool{true, false},
		},
		{
			name: "final unconditional verdict and a conditional drop that is not",
			text: `table ip fw {
  chain in {
    type filter hook input priority filter
    iif lo accept
    counter log prefix "dropped: " reject with icmpx type admin-prohibited
  }
  chain in2 {
    type filter hook input priority filter
    ct state { invalid } drop
  }
}`,
			want: []string{"ip fw/in input  counter log prefix dropped:  reject with icmpx type admin-prohibited@2", "ip fw/in2 input  @7"},
			deny: []bool{true, false},
		},
		{
			name: "flat syntax and default family",
			text: "add table filter\nadd chain filter input { type filter hook input priority 0 ; policy drop ; }\ninclude \"/etc/nftables.d/*.nft\"\n",
			want: []string{"ip filter/input input drop @2"},
			deny: []bool{true},
		},
		{name: "unclosed table", text: "table inet f {\n chain c {\n", err: "not closed"},
		{name: "stray brace", text: "}\n", err: "'}' without '{'"},
		{name: "unterminated string", text: "include \"/etc/x\n", err: "unterminated string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, err := server.ParseNftables("/etc/nftables.conf", []byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var deny []bool
			for _, c := range rs.Chains {
				got = append(got, c.Table+"/"+c.Name+" "+c.Hook+" "+c.Policy+" "+c.FinalVerdict+"@"+strconv.Itoa(c.Location.Line))
				deny = append(deny, c.DefaultDeny())
			}
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(deny, tc.deny) {
				t.Errorf("chains = %q deny %v\nwant     %q deny %v", got, deny, tc.want, tc.deny)
			}
		})
	}
}

func TestParseDpkgStatus(t *testing.T) {
	t.Parallel()
	pkgs := server.ParseDpkgStatus([]byte("Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\nDescription: x\r\n more\r\n\r\n" +
		"Package: b\nStatus: deinstall ok config-files\n\nStatus: install ok installed\n\nPackage: c\nStatus: install ok half-configured\n"))
	if len(pkgs) != 3 {
		t.Fatalf("packages = %v, want a, b and c", pkgs)
	}
	if !pkgs["a"].Installed() || pkgs["a"].Version != "1" || pkgs["a"].Line != 1 {
		t.Errorf("a = %+v", pkgs["a"])
	}
	if pkgs["b"].Installed() || pkgs["c"].Installed() {
		t.Errorf("b %+v or c %+v counted as installed", pkgs["b"], pkgs["c"])
	}
}

func TestParsePasswd(t *testing.T) {
	t.Parallel()
	accts, err := server.ParsePasswd("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/bash\n# comment\n+nis::::::\n\ntoor:x:0:0::/:/bin/sh\nbob:x:1000:1000\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range accts {
		got = append(got, a.Name+"="+strconv.Itoa(a.UID)+"@"+strconv.Itoa(a.Location.Line)+a.Shell)
	}
	if want := []string{"root=0@1/bin/bash", "toor=0@5/bin/sh", "bob=1000@6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("accounts = %q, want %q", got, want)
	}
	for _, bad := range []string{"root:x\n", "eve:x:zero:0::/:/bin/sh\n", "eve:x:-1:0::/:/bin/sh\n"} {
		if _, err := server.ParsePasswd("/etc/passwd", []byte(bad)); err == nil {
			t.Errorf("ParsePasswd(%q) accepted a malformed line", bad)
		}
	}
}

func TestParseShellVarsAndINI(t *testing.T) {
	t.Parallel()
	v := server.ParseShellVars("/etc/os-release", []byte("ID=debian\nNAME=\"Debian GNU/Linux\"\n# c\nexport X='y z'\nBAD LINE\nID_LIKE=rhel # comment\nID=ubuntu\n"))
	for k, want := range map[string]string{"ID": "ubuntu", "NAME": "Debian GNU/Linux", "X": "y z", "ID_LIKE": "rhel"} {
		if v[k].Value != want {
			t.Errorf("%s = %q, want %q", k, v[k].Value, want)
		}
	}
	if v["ID"].Location != (rampart.Location{Path: "/etc/os-release", Line: 7}) {
		t.Errorf("ID location = %+v, want line 7", v["ID"].Location)
	}
	ini := server.ParseINI("/etc/dnf/automatic.conf", []byte("[commands]\n# c\napply_updates = yes\nUpgrade_Type: security\n  continued\n[emitters]\napply_updates = no\n"))
	if d := ini["commands.apply_updates"]; d.Value != "yes" || d.Location.Line != 3 {
		t.Errorf("commands.apply_updates = %+v", d)
	}
	if d := ini["commands.upgrade_type"]; d.Value != "security\ncontinued" {
		t.Errorf("commands.upgrade_type = %q", d.Value)
	}
	if d := ini["emitters.apply_updates"]; d.Value != "no" {
		t.Errorf("emitters.apply_updates = %q", d.Value)
	}
}
