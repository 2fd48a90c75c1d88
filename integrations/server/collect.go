package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// Collector reads a server's files and records its Facts.
type Collector struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ rampart.Collector = (*Collector)(nil)

// Collect implements rampart.Collector. Only a root that cannot be opened
// fails the collection; a part that cannot be read is recorded in that
// part's Error, so that one unreadable file errors only the checks that
// need it.
func (c *Collector) Collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	spec, err := specOf(r)
	if err != nil {
		return nil, err
	}
	if spec.Mode != ModeLocal {
		return nil, fmt.Errorf("resource %s: mode %q is not supported", r.ID, spec.Mode)
	}
	root, err := os.OpenRoot(spec.Root)
	if err != nil {
		return nil, fmt.Errorf("open host root: %w", err)
	}
	defer root.Close()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	f, err := CollectFS(ctx, &hostFS{root: root})
	if err != nil {
		return nil, err
	}
	f.Root = spec.Root
	f.CollectedAt = now().UTC()
	return f, nil
}

func specOf(r *rampart.Resource) (*Spec, error) {
	switch s := r.Spec.(type) {
	case *Spec:
		return s, nil
	case Spec:
		return &s, nil
	}
	return nil, fmt.Errorf("resource %s: spec of type %T, want server spec", r.ID, r.Spec)
}

// CollectFS reads the facts from a host file system whose names are host
// paths without the leading slash (the collector passes the spec's root
// confined with os.Root; tests may pass an fstest.MapFS). Root and
// CollectedAt are left for the caller to fill in.
func CollectFS(ctx context.Context, fsys fs.FS) (*Facts, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect server facts: %w", err)
	}
	f := &Facts{}
	h := &hostFiles{FS: fsys}
	h.indexUnits()
	f.OS = osRelease(fsys)
	pkgs := readDpkg(fsys)
	f.SSHD = sshd(fsys)
	f.AutoUpdates = autoUpdates(h, f.OS.Family, pkgs)
	f.Reboot = reboot(fsys, f.OS.Family)
	f.Firewall = firewall(h)
	f.Auditd = auditd(h, pkgs)
	f.FIM = fim(h)
	f.Accounts = accounts(fsys)
	f.Shadow = fileInfo(fsys, "/etc/shadow")
	f.HostKeys = hostKeys(fsys, f.SSHD.Config)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect server facts: %w", err)
	}
	return f, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func osRelease(fsys fs.FS) OSRelease {
	var o OSRelease
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		o.read(p)
		b, ok, err := readFile(fsys, p)
		if err != nil {
			o.fail(err)
			return o
		}
		if !ok {
			continue
		}
		v := ParseShellVars(p, b)
		o.ID, o.IDLike, o.VersionID, o.PrettyName = v["ID"].Value, v["ID_LIKE"].Value, v["VERSION_ID"].Value, v["PRETTY_NAME"].Value
		for _, id := range append([]string{o.ID}, strings.Fields(o.IDLike)...) {
			switch strings.ToLower(id) {
			case "debian", "ubuntu":
				o.Family = Debian
			case "rhel", "fedora", "centos", "rocky", "almalinux", "ol", "amzn":
				o.Family = RHEL
			}
			if o.Family != "" {
				break
			}
		}
		return o
	}
	// Without os-release, the package database tells the family.
	for _, probe := range []struct {
		path   string
		family Family
	}{{DpkgStatusPath, Debian}, {"/etc/dnf/dnf.conf", RHEL}, {"/etc/redhat-release", RHEL}} {
		o.read(probe.path)
		ok, err := exists(fsys, probe.path)
		if err != nil {
			o.fail(err)
			return o
		}
		if ok {
			o.Family = probe.family
			return o
		}
	}
	return o
}

type dpkgDB struct {
	found bool
	pkgs  map[string]Package
	err   error
}

func readDpkg(fsys fs.FS) dpkgDB {
	b, ok, err := readFile(fsys, DpkgStatusPath)
	if err != nil || !ok {
		return dpkgDB{err: err}
	}
	return dpkgDB{found: true, pkgs: ParseDpkgStatus(b)}
}

func sshd(fsys fs.FS) SSHD {
	var s SSHD
	s.read("/usr/sbin/sshd")
	installed, err := exists(fsys, "/usr/sbin/sshd")
	if err != nil {
		s.fail(err)
		return s
	}
	s.Installed = installed
	s.read(SSHDConfigPath)
	ok, err := exists(fsys, SSHDConfigPath)
	if err != nil {
		s.fail(err)
		return s
	}
	if !ok {
		return s
	}
	cfg, err := ReadSSHDConfig(fsys, SSHDConfigPath)
	if err != nil {
		s.fail(err)
		return s
	}
	s.Sources = append(s.Sources[:1], cfg.Files...)
	s.Config = cfg
	return s
}

// systemdWants are the targets units are enabled into.
var systemdWants = []string{"multi-user", "sysinit", "basic", "timers", "network-pre", "default"}

// systemdDirs hold the .wants directories: the administrator's (what
// systemctl enable writes) first, then the vendor's.
var systemdDirs = []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// hostFiles is the host's files with the systemd enablement links listed
// once per collection, rather than probed per unit.
type hostFiles struct {
	fs.FS
	// wants maps a unit name to the first .wants link found for it.
	wants    map[string]string
	wantsErr error
}

// The wrapped file system's optional interfaces, which embedding an
// fs.FS would hide: without them Stat opens files and Lstat follows links.
var (
	_ fs.StatFS     = (*hostFiles)(nil)
	_ fs.ReadLinkFS = (*hostFiles)(nil)
)

func (h *hostFiles) Stat(name string) (fs.FileInfo, error)  { return fs.Stat(h.FS, name) }
func (h *hostFiles) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(h.FS, name) }
func (h *hostFiles) ReadLink(name string) (string, error)   { return fs.ReadLink(h.FS, name) }

func (h *hostFiles) indexUnits() {
	h.wants = map[string]string{}
	for _, dir := range systemdDirs {
		for _, target := range systemdWants {
			wd := dir + "/" + target + ".target.wants"
			entries, err := fs.ReadDir(h.FS, rel(wd))
			if err != nil {
				if !isNotExist(err) && h.wantsErr == nil {
					h.wantsErr = fmt.Errorf("list %s: %w", wd, err)
				}
				continue
			}
			for _, e := range entries {
				if _, ok := h.wants[e.Name()]; !ok {
					h.wants[e.Name()] = wd + "/" + e.Name()
				}
			}
		}
	}
}

// enabled reports whether a systemd unit starts at boot: a link in a
// target's .wants directory under /etc (what systemctl enable makes) or
// /usr/lib and /lib (enabled by the vendor), and not masked.
func enabled(fsys *hostFiles, p *Provenance, unit string) (bool, string) {
	mask := "/etc/systemd/system/" + unit
	if fi, err := fs.Lstat(fsys, rel(mask)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if t, err := fs.ReadLink(fsys, rel(mask)); err == nil && t == "/dev/null" {
			p.read(mask)
			return false, mask + " -> /dev/null (masked)"
		}
	}
	p.read("/etc/systemd/system/*.target.wants/" + unit)
	if fsys.wantsErr != nil {
		p.fail(fsys.wantsErr)
		return false, ""
	}
	if link, ok := fsys.wants[unit]; ok {
		return true, link
	}
	return false, ""
}

func autoUpdates(fsys *hostFiles, family Family, dpkg dpkgDB) UpdateConfig {
	var a UpdateConfig
	switch family {
	case Debian:
		a.Mechanism = "unattended-upgrades"
		a.read(DpkgStatusPath)
		switch {
		case dpkg.err != nil:
			a.fail(dpkg.err)
			return a
		case !dpkg.found:
			a.fail(fmt.Errorf("%s not found: cannot tell which packages are installed", DpkgStatusPath))
			return a
		}
		a.Installed = dpkg.pkgs["unattended-upgrades"].Installed()
		files, err := glob(fsys, "/etc/apt/apt.conf.d/*")
		if err != nil {
			a.fail(err)
			return a
		}
		files = slices.DeleteFunc(files, func(f string) bool { return !aptReads(path.Base(f)) })
		files = append(files, "/etc/apt/apt.conf")
		vars := map[string]Directive{}
		for _, file := range files {
			b, ok, err := readFile(fsys, file)
			if err != nil {
				a.fail(err)
				return a
			}
			if !ok {
				continue
			}
			a.read(file)
			if err := ParseAptConf(file, b, vars); err != nil {
				a.fail(err)
				return a
			}
		}
		a.Settings = map[string]Directive{}
		for _, k := range []string{"APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"} {
			if d, ok := vars[strings.ToLower(k)]; ok {
				a.Settings[k] = d
			}
		}
	case RHEL:
		a.Mechanism = "dnf-automatic"
		for _, bin := range []string{"/usr/bin/dnf-automatic", "/usr/bin/dnf5"} {
			a.read(bin)
			ok, err := exists(fsys, bin)
			if err != nil {
				a.fail(err)
				return a
			}
			if ok {
				a.Installed = true
				break
			}
		}
		a.Settings = map[string]Directive{}
		for _, conf := range []string{"/etc/dnf/automatic.conf", "/etc/dnf/dnf5-plugins/automatic.conf"} {
			b, ok, err := readFile(fsys, conf)
			if err != nil {
				a.fail(err)
				return a
			}
			if !ok {
				continue
			}
			a.read(conf)
			if d, ok := ParseINI(conf, b)["commands.apply_updates"]; ok {
				a.Settings["commands.apply_updates"] = d
			}
		}
		for _, timer := range []string{"dnf-automatic-install.timer", "dnf-automatic.timer", "dnf5-automatic.timer"} {
			if ok, _ := enabled(fsys, &a.Provenance, timer); ok {
				a.Timers = append(a.Timers, timer)
			}
		}
	default:
		a.fail(errors.New("unknown distribution family (no /etc/os-release naming Debian, Ubuntu or a RHEL-like system): cannot tell how updates are installed"))
	}
	return a
}

// aptReads reports whether APT reads a file of apt.conf.d: letters,
// digits, "_", "-" and "." only, and no extension but ".conf".
func aptReads(name string) bool {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:] == "conf"
	}
	return name != ""
}

func reboot(fsys fs.FS, family Family) Reboot {
	var r Reboot
	for _, marker := range []string{"/run/reboot-required", "/var/run/reboot-required"} {
		r.read(marker)
		ok, err := exists(fsys, marker)
		if err != nil {
			r.fail(err)
			return r
		}
		if !ok {
			continue
		}
		r.Required, r.Marker = true, marker
		b, ok, err := readFile(fsys, marker+".pkgs")
		if err != nil {
			r.fail(err)
			return r
		}
		if ok {
			r.read(marker + ".pkgs")
			for _, l := range strings.Split(string(b), "\n") {
				if l = strings.TrimSpace(l); l != "" && !slices.Contains(r.Packages, l) {
					r.Packages = append(r.Packages, l)
				}
			}
		}
		return r
	}
	if family != Debian {
		r.fail(fmt.Errorf("only Debian and Ubuntu record a pending reboot in /run/reboot-required; on a %s host it cannot be read from files", familyName(family)))
	}
	return r
}

func familyName(f Family) string {
	if f == "" {
		return "host of unknown distribution"
	}
	return string(f) + "-family"
}

func firewall(fsys *hostFiles) Firewalls {
	var fw Firewalls
	for _, probe := range []func(*hostFiles, *Provenance) (*FirewallConfig, error){nftables, ufw, firewalld, iptables} {
		c, err := probe(fsys, &fw.Provenance)
		if err != nil {
			fw.fail(err)
			return fw
		}
		if c != nil {
			fw.Configs = append(fw.Configs, *c)
		}
	}
	return fw
}

func nftables(fsys *hostFiles, p *Provenance) (*FirewallConfig, error) {
	for _, conf := range []string{"/etc/nftables.conf", "/etc/sysconfig/nftables.conf"} {
		p.read(conf)
		b, ok, err := readFile(fsys, conf)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		c := &FirewallConfig{Name: "nftables", Location: rampart.Location{Path: conf}}
		c.Enabled, c.EnabledBy = enabled(fsys, p, "nftables.service")
		var inputs []NftChain
		if err := nftFile(fsys, p, conf, b, 0, &inputs); err != nil {
			return nil, err
		}
		c.Detail = "no base chain on the input hook"
		for i, ch := range inputs {
			if i == 0 || ch.DefaultDeny() {
				c.Location = ch.Location
				c.Detail = fmt.Sprintf("chain %s %s on hook input: policy %s", ch.Table, ch.Name, orDefault(ch.Policy, "accept"))
				if ch.FinalVerdict != "" {
					c.Detail += ", last rule " + ch.FinalVerdict
				}
			}
			if ch.DefaultDeny() {
				c.DefaultDeny = true
				break
			}
		}
		return c, nil
	}
	return nil, nil
}

func nftFile(fsys *hostFiles, p *Provenance, file string, b []byte, depth int, inputs *[]NftChain) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d files", file, maxIncludeDepth)
	}
	rs, err := ParseNftables(file, b)
	if err != nil {
		return err
	}
	for _, ch := range rs.Chains {
		if ch.Hook == "input" {
			*inputs = append(*inputs, ch)
		}
	}
	for _, inc := range rs.Includes {
		pat := inc.Value
		if !path.IsAbs(pat) {
			pat = path.Join("/etc", pat)
		}
		files, err := glob(fsys, pat)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, inc.Location.Line, err)
		}
		for _, f := range files {
			p.read(f)
			b, _, err := readFile(fsys, f)
			if err != nil {
				return err
			}
			if err := nftFile(fsys, p, f, b, depth+1, inputs); err != nil {
				return err
			}
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func ufw(fsys *hostFiles, p *Provenance) (*FirewallConfig, error) {
	const conf = "/etc/ufw/ufw.conf"
	p.read(conf)
	b, ok, err := readFile(fsys, conf)
	if err != nil || !ok {
		return nil, err
	}
	c := &FirewallConfig{Name: "ufw", Location: rampart.Location{Path: conf}}
	if d, ok := ParseShellVars(conf, b)["ENABLED"]; ok {
		c.Location = d.Location
		if strings.EqualFold(d.Value, "yes") {
			c.Enabled, c.EnabledBy = true, fmt.Sprintf("%s:%d ENABLED=yes", conf, d.Location.Line)
		}
	}
	// ufw's default incoming policy is DROP unless /etc/default/ufw says
	// otherwise.
	const defaults = "/etc/default/ufw"
	p.read(defaults)
	policy := Directive{Value: "DROP", Default: true}
	b, ok, err = readFile(fsys, defaults)
	if err != nil {
		return nil, err
	}
	if ok {
		if d, found := ParseShellVars(defaults, b)["DEFAULT_INPUT_POLICY"]; found {
			policy = d
		}
	}
	c.DefaultDeny = strings.EqualFold(policy.Value, "DROP") || strings.EqualFold(policy.Value, "REJECT")
	c.Detail = "default input policy " + policy.Value
	if policy.Default {
		c.Detail += " (ufw's default)"
	} else if !c.DefaultDeny {
		c.Location = policy.Location
	}
	if !c.Enabled {
		c.Detail += "; not enabled (ENABLED is not yes)"
	}
	return c, nil
}

func firewalld(fsys *hostFiles, p *Provenance) (*FirewallConfig, error) {
	const conf = "/etc/firewalld/firewalld.conf"
	p.read(conf)
	b, found, err := readFile(fsys, conf)
	if err != nil {
		return nil, err
	}
	on, by := enabled(fsys, p, "firewalld.service")
	if !found && !on {
		return nil, nil
	}
	c := &FirewallConfig{Name: "firewalld", Enabled: on, EnabledBy: by, Location: rampart.Location{Path: conf}}
	zone := Directive{Value: "public", Default: true}
	if d, ok := ParseShellVars(conf, b)["DefaultZone"]; ok && found {
		zone = d
		c.Location = d.Location
	}
	target := "default"
	for _, dir := range []string{"/etc/firewalld/zones/", "/usr/lib/firewalld/zones/"} {
		zf := dir + zone.Value + ".xml"
		p.read(zf)
		zb, ok, err := readFile(fsys, zf)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var z struct {
			Target string `xml:"target,attr"`
		}
		if err := xml.Unmarshal(zb, &z); err != nil {
			return nil, fmt.Errorf("parse %s: %w", zf, err)
		}
		if z.Target != "" {
			target = z.Target
		}
		c.Location = rampart.Location{Path: zf}
		break
	}
	// Zones reject what their services and ports do not allow, unless
	// their target accepts everything (the "trusted" zone does).
	c.DefaultDeny = zone.Value != "trusted" && !strings.EqualFold(target, "ACCEPT")
	c.Detail = fmt.Sprintf("default zone %s, target %s", zone.Value, target)
	return c, nil
}

func iptables(fsys *hostFiles, p *Provenance) (*FirewallConfig, error) {
	for _, file := range []struct{ path, unit string }{
		{"/etc/iptables/rules.v4", "netfilter-persistent.service"},
		{"/etc/sysconfig/iptables", "iptables.service"},
	} {
		p.read(file.path)
		b, ok, err := readFile(fsys, file.path)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		c := &FirewallConfig{Name: "iptables", Location: rampart.Location{Path: file.path}}
		c.Enabled, c.EnabledBy = enabled(fsys, p, file.unit)
		table, policy, last := "", "ACCEPT", ""
		var policyLine, lastLine int
		for n, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(line, "*"):
				table = line[1:]
			case table != "filter":
			case strings.HasPrefix(line, ":INPUT "):
				if f := strings.Fields(line); len(f) >= 2 {
					policy, policyLine = f[1], n+1
				}
			case strings.HasPrefix(line, "-A INPUT "):
				last, lastLine = line, n+1
			}
		}
		finalDeny := last == "-A INPUT -j DROP" || last == "-A INPUT -j REJECT" || strings.HasPrefix(last, "-A INPUT -j REJECT --reject-with")
		c.DefaultDeny = policy == "DROP" || finalDeny
		c.Detail = "INPUT policy " + policy
		c.Location.Line = policyLine
		if finalDeny {
			c.Detail += ", last rule " + last
			c.Location.Line = lastLine
		}
		return c, nil
	}
	return nil, nil
}

func auditd(fsys *hostFiles, dpkg dpkgDB) AuditDaemon {
	var a AuditDaemon
	if dpkg.found {
		a.read(DpkgStatusPath)
		if dpkg.pkgs["auditd"].Installed() {
			a.Installed, a.InstalledBy = true, DpkgStatusPath+": auditd installed"
		}
	}
	for _, bin := range []string{"/usr/sbin/auditd", "/sbin/auditd"} {
		if a.Installed {
			break
		}
		a.read(bin)
		ok, err := exists(fsys, bin)
		if err != nil {
			a.fail(err)
			return a
		}
		if ok {
			a.Installed, a.InstalledBy = true, bin
		}
	}
	a.Enabled, a.EnabledBy = enabled(fsys, &a.Provenance, "auditd.service")
	files, err := glob(fsys, "/etc/audit/rules.d/*.rules")
	if err != nil {
		a.fail(err)
		return a
	}
	for _, file := range append(files, "/etc/audit/audit.rules") {
		a.read(file)
		b, ok, err := readFile(fsys, file)
		if err != nil {
			a.fail(err)
			return a
		}
		if !ok {
			continue
		}
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "-a ") || strings.HasPrefix(l, "-A ") || strings.HasPrefix(l, "-w ") {
				n++
			}
		}
		if n > 0 {
			a.Rules += n
			a.RuleFiles = append(a.RuleFiles, file)
		}
	}
	return a
}

func fim(fsys *hostFiles) IntegrityMonitoring {
	var f IntegrityMonitoring
	for _, conf := range []string{"/etc/aide/aide.conf", "/etc/aide.conf"} {
		f.read(conf)
		ok, err := exists(fsys, conf)
		if err != nil {
			f.fail(err)
			return f
		}
		if ok {
			f.AIDE.Config = conf
			break
		}
	}
	f.read("/var/lib/aide/aide.db*")
	dbs, err := glob(fsys, "/var/lib/aide/aide.db*")
	if err != nil {
		f.fail(err)
		return f
	}
	for _, db := range dbs {
		if strings.HasPrefix(path.Base(db), "aide.db.new") {
			f.AIDE.NewDatabases = append(f.AIDE.NewDatabases, db)
		} else {
			f.AIDE.Databases = append(f.AIDE.Databases, db)
		}
	}
	const ossec = "/var/ossec/etc/ossec.conf"
	f.read(ossec)
	b, ok, err := readFile(fsys, ossec)
	if err != nil {
		f.fail(err)
		return f
	}
	if ok {
		f.Wazuh.Config = ossec
		line, on, err := syscheck(b)
		if err != nil {
			f.fail(fmt.Errorf("parse %s: %w", ossec, err))
			return f
		}
		f.Wazuh.Syscheck = on
		if line > 0 {
			f.Wazuh.Location = rampart.Location{Path: ossec, Line: line}
		}
		for _, unit := range []string{"wazuh-agent.service", "wazuh-manager.service"} {
			if on, by := enabled(fsys, &f.Provenance, unit); on {
				f.Wazuh.Enabled, f.Wazuh.EnabledBy = true, by
				break
			}
		}
	}
	return f
}

// syscheck finds the first <syscheck> block of an ossec.conf (which may
// hold several <ossec_config> roots) and whether it is on: Wazuh runs it
// unless <disabled>yes</disabled>.
func syscheck(b []byte) (line int, on bool, err error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	depth, in := 0, 0
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return line, on, nil
		}
		if err != nil {
			return 0, false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if t.Name.Local == "syscheck" && in == 0 {
				in = depth
				if line == 0 {
					l, _ := d.InputPos()
					line, on = l, true
				}
			}
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if in > 0 && t.Name.Local == "disabled" && depth == in+1 && line > 0 {
				on = !strings.EqualFold(strings.TrimSpace(text.String()), "yes")
			}
			if depth == in {
				// Only the first block counts; later ones are merged by
				// Wazuh but rarely override <disabled>.
				return line, on, nil
			}
			depth--
		}
	}
}

func accounts(fsys fs.FS) Accounts {
	var a Accounts
	a.read(PasswdPath)
	b, ok, err := readFile(fsys, PasswdPath)
	switch {
	case err != nil:
		a.fail(err)
		return a
	case !ok:
		a.fail(fmt.Errorf("%s not found", PasswdPath))
		return a
	}
	all, err := ParsePasswd(PasswdPath, b)
	if err != nil {
		a.fail(err)
		return a
	}
	a.UID0 = []Account{}
	for _, acc := range all {
		if acc.UID == 0 {
			a.UID0 = append(a.UID0, acc)
		}
	}
	return a
}

func hostKeys(fsys fs.FS, cfg *SSHDConfig) HostKeys {
	var h HostKeys
	seen := map[string]bool{}
	add := func(p string, d *Directive) {
		if seen[p] {
			return
		}
		seen[p] = true
		fi := fileInfo(fsys, p)
		fi.Directive = d
		if fi.Error != "" {
			h.fail(errors.New(fi.Error))
		}
		h.read(p)
		h.Keys = append(h.Keys, fi)
	}
	if cfg != nil {
		for i := range cfg.HostKeys {
			d := cfg.HostKeys[i]
			p := d.Value
			if !path.IsAbs(p) {
				p = path.Join("/etc/ssh", p)
			}
			add(p, &d)
		}
	}
	h.read("/etc/ssh/ssh_host_*_key")
	keys, err := glob(fsys, "/etc/ssh/ssh_host_*_key")
	if err != nil {
		h.fail(err)
		return h
	}
	for _, k := range keys {
		add(k, nil)
	}
	return h
}
