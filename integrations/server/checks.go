package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-dev/rampart"
)

// sshdDoc is what every sshd check says about how it reads the
// configuration.
const sshdDoc = `
sshd's configuration is read as sshd reads it: /etc/ssh/sshd_config and
the files its Include directives name (globs in lexical order, relative
paths under /etc/ssh); the global value of a keyword is its first
occurrence outside Match blocks, and a keyword absent everywhere takes
OpenSSH's compiled-in default. A Match block (ending at the next Match or
at the end of the file it is in) that sets the keyword is checked too, as
its value applies to the connections it matches. When sshd_config is
missing the check errors, since the host may keep it elsewhere; when
sshd_config and /usr/sbin/sshd are both missing it is not applicable.`

// sshdContext is a place settings apply: global (m nil) or a Match block.
type sshdContext struct {
	cfg *SSHDConfig
	m   *MatchBlock
}

func (c sshdContext) get(keyword string) Directive {
	if c.m == nil {
		return c.cfg.Effective(keyword)
	}
	return c.cfg.EffectiveIn(c.m, keyword)
}

// sets reports whether a Match block sets keyword itself, so that a
// global value is reported once, not again for every block inheriting it.
func (c sshdContext) sets(keyword string) bool {
	if c.m == nil {
		return true
	}
	_, ok := c.m.Directives[keyword]
	return ok
}

func (c sshdContext) item(d Directive) string {
	if c.m == nil {
		return "sshd: " + d.Keyword
	}
	return fmt.Sprintf("sshd Match %s: %s", c.m.Criteria, d.Keyword)
}

// contexts returns the global context and one per Match block, or an
// evaluation saying why the configuration cannot be checked.
func contexts(f *Facts) ([]sshdContext, *rampart.Evaluation) {
	s := &f.SSHD
	if err := collected(s.Provenance, "sshd configuration"); err != nil {
		e := rampart.Errored(err)
		return nil, &e
	}
	if s.Config == nil {
		if !s.Installed {
			e := rampart.NotApplicable("sshd is not installed: neither /usr/sbin/sshd nor " + SSHDConfigPath + " exists")
			return nil, &e
		}
		e := rampart.Errored(errors.New(SSHDConfigPath + " not found although /usr/sbin/sshd exists: cannot tell what sshd runs with"))
		return nil, &e
	}
	out := []sshdContext{{cfg: s.Config}}
	for i := range s.Config.Matches {
		out = append(out, sshdContext{cfg: s.Config, m: &s.Config.Matches[i]})
	}
	return out, nil
}

// collected returns an error when a part of the facts was never read
// (facts from elsewhere, or a collector that skipped it), so that an empty
// part is never taken for a clean one.
func collected(p Provenance, part string) error {
	if p.Error != "" {
		return fmt.Errorf("%s: %s", part, p.Error)
	}
	if len(p.Sources) == 0 {
		return fmt.Errorf("%s: facts hold no reading of it", part)
	}
	return nil
}

func yes(v string) bool { return strings.EqualFold(v, "yes") }

func setting(d Directive) string {
	if d.Default {
		return fmt.Sprintf("%s is not set; sshd's default is %s", d.Keyword, d.Value)
	}
	return d.Keyword + " " + d.Value
}

func finding(item string, d Directive, msg string) rampart.Finding {
	return rampart.Finding{Item: item, Message: msg, Location: d.Location}
}

// SSHPasswordAuth fails when a password alone can open an SSH session.
var SSHPasswordAuth = &rampart.Check{
	ID:       "SRV-SSH-PASSWORD-AUTH",
	Version:  1,
	Title:    "SSH does not accept a password alone",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"SRV-02"},
	Remediation: "Set PasswordAuthentication no and KbdInteractiveAuthentication no in " +
		"/etc/ssh/sshd_config (or a file it includes, before any Match block), remove Match blocks " +
		"that turn them back on, and reload sshd. To keep a password as a second factor, use " +
		"AuthenticationMethods publickey,password instead.",
	Doc: `Reads the sshd keywords PasswordAuthentication (default yes),
KbdInteractiveAuthentication (alias ChallengeResponseAuthentication, default
yes), UsePAM (default no) and AuthenticationMethods (default any). With
AuthenticationMethods any, fails when PasswordAuthentication is yes, and
when KbdInteractiveAuthentication and UsePAM are both yes (PAM then asks for
the password). With AuthenticationMethods set, fails for each method list
without publickey that contains an enabled password or keyboard-interactive
method; lists requiring publickey first keep the password a second factor
and pass. One finding per offending keyword, at its file and line (the
main file, no line, for a default).` + sshdDoc,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		ctxs, stop := contexts(f)
		if stop != nil {
			return *stop
		}
		usePAM := f.SSHD.Config.Effective("usepam")
		var findings []rampart.Finding
		for _, c := range ctxs {
			pa, kbd, am := c.get("passwordauthentication"), c.get("kbdinteractiveauthentication"), c.get("authenticationmethods")
			paOn, kbdOn := yes(pa.Value), yes(kbd.Value) && yes(usePAM.Value)
			if strings.EqualFold(am.Value, "any") {
				if paOn && c.sets("passwordauthentication") {
					findings = append(findings, finding(c.item(pa), pa, setting(pa)+": a password alone opens a session"))
				}
				if kbdOn && c.sets("kbdinteractiveauthentication") {
					findings = append(findings, finding(c.item(kbd), kbd,
						setting(kbd)+" with UsePAM yes: PAM's keyboard-interactive prompt accepts a password alone"))
				}
				continue
			}
			if !c.sets("authenticationmethods") && !c.sets("passwordauthentication") && !c.sets("kbdinteractiveauthentication") {
				continue
			}
			for _, list := range strings.Fields(am.Value) {
				methods := strings.Split(list, ",")
				if slices.ContainsFunc(methods, func(m string) bool { return m == "publickey" || strings.HasPrefix(m, "publickey:") }) {
					continue
				}
				pw := paOn && slices.Contains(methods, "password")
				ki := kbdOn && slices.ContainsFunc(methods, func(m string) bool { return strings.HasPrefix(m, "keyboard-interactive") })
				if pw || ki {
					findings = append(findings, finding(c.item(am), am,
						fmt.Sprintf("AuthenticationMethods list %q lets a password alone open a session", list)))
				}
			}
		}
		return rampart.Verdict(dedupe(findings), "no password-only login: "+
			setting(f.SSHD.Config.Effective("passwordauthentication"))+"; "+
			setting(f.SSHD.Config.Effective("kbdinteractiveauthentication"))+"; "+
			setting(usePAM))
	}),
}

func dedupe(fs []rampart.Finding) []rampart.Finding {
	seen := map[string]bool{}
	return slices.DeleteFunc(fs, func(f rampart.Finding) bool {
		if seen[f.Item] {
			return true
		}
		seen[f.Item] = true
		return false
	})
}

// SSHRootLogin fails unless root cannot log in over SSH.
var SSHRootLogin = &rampart.Check{
	ID:       "SRV-SSH-ROOT-LOGIN",
	Version:  1,
	Title:    "Root cannot log in over SSH",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"SRV-02", "SRV-01"},
	Remediation: "Set PermitRootLogin no in /etc/ssh/sshd_config (before any Match block) and " +
		"in every Match block that sets it, log in as a named user and use sudo, then reload sshd.",
	Doc: `Reads the sshd keyword PermitRootLogin (default prohibit-password).
Passes only when it is no, globally and in every Match block that sets it:
prohibit-password (alias without-password) and forced-commands-only still
let root log in with a key, and yes with a password. One finding per
offending setting, at its file and line (the main file, no line, when the
default applies).` + sshdDoc,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		ctxs, stop := contexts(f)
		if stop != nil {
			return *stop
		}
		var findings []rampart.Finding
		for _, c := range ctxs {
			d := c.get("permitrootlogin")
			if !c.sets("permitrootlogin") || strings.EqualFold(d.Value, "no") {
				continue
			}
			findings = append(findings, finding(c.item(d), d, setting(d)+": root can log in over SSH"))
		}
		return rampart.Verdict(findings, setting(f.SSHD.Config.Effective("permitrootlogin")))
	}),
}

// SSHPubkey fails when public-key authentication is off.
var SSHPubkey = &rampart.Check{
	ID:       "SRV-SSH-PUBKEY",
	Version:  1,
	Title:    "SSH accepts public-key authentication",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"SRV-02"},
	Remediation: "Set PubkeyAuthentication yes (or remove the line: yes is the default) globally and " +
		"in Match blocks, and give users keys instead of passwords.",
	Doc: `Reads the sshd keyword PubkeyAuthentication (default yes). Fails
when it is anything but yes, globally or in a Match block that sets it: the
host then falls back to weaker methods. One finding per offending setting,
at its file and line.` + sshdDoc,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		ctxs, stop := contexts(f)
		if stop != nil {
			return *stop
		}
		var findings []rampart.Finding
		for _, c := range ctxs {
			d := c.get("pubkeyauthentication")
			if !c.sets("pubkeyauthentication") || yes(d.Value) {
				continue
			}
			findings = append(findings, finding(c.item(d), d, setting(d)+": public-key authentication is off"))
		}
		return rampart.Verdict(findings, setting(f.SSHD.Config.Effective("pubkeyauthentication")))
	}),
}

// MaxAuthTriesLimit is the most authentication attempts per connection
// SRV-SSH-MAX-AUTH-TRIES accepts (CIS recommends 4).
const MaxAuthTriesLimit = 4

// SSHMaxAuthTries fails when sshd allows more than four attempts per
// connection.
var SSHMaxAuthTries = &rampart.Check{
	ID:       "SRV-SSH-MAX-AUTH-TRIES",
	Version:  1,
	Title:    "SSH allows at most 4 authentication attempts per connection",
	Severity: rampart.SeverityLow,
	Kind:     Kind,
	Controls: []string{"SRV-02"},
	Remediation: "Set MaxAuthTries 4 (or fewer) in /etc/ssh/sshd_config, before any Match block, " +
		"and reload sshd.",
	Doc: `Reads the sshd keyword MaxAuthTries (default 6). Fails when it is
greater than 4, globally or in a Match block that sets it, with one finding
per setting at its file and line; errors when a value is not a number.` + sshdDoc,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		ctxs, stop := contexts(f)
		if stop != nil {
			return *stop
		}
		var findings []rampart.Finding
		for _, c := range ctxs {
			d := c.get("maxauthtries")
			if !c.sets("maxauthtries") {
				continue
			}
			n, err := strconv.Atoi(d.Value)
			if err != nil {
				return rampart.Errored(fmt.Errorf("%s:%d: MaxAuthTries %q is not a number", d.Location.Path, d.Location.Line, d.Value))
			}
			if n > MaxAuthTriesLimit {
				findings = append(findings, finding(c.item(d), d, fmt.Sprintf("%s: more than %d attempts per connection", setting(d), MaxAuthTriesLimit)))
			}
		}
		return rampart.Verdict(findings, setting(f.SSHD.Config.Effective("maxauthtries")))
	}),
}

// SSHHostKeyPerms fails when an SSH host private key is readable by
// anyone but root.
var SSHHostKeyPerms = &rampart.Check{
	ID:       "SRV-SSH-HOSTKEY-PERMS",
	Version:  1,
	Title:    "SSH host private keys are readable by root only",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"SRV-02"},
	Remediation: "chown root:root /etc/ssh/ssh_host_*_key && chmod 600 /etc/ssh/ssh_host_*_key. " +
		"If the keys may have been read, generate new ones (ssh-keygen -A after removing them) and " +
		"update known_hosts.",
	Doc: `Reads the private host keys: each HostKey of sshd_config (relative
paths under /etc/ssh) and every /etc/ssh/ssh_host_*_key, with their
permission bits and numeric owner (stat, following links inside the root).
Fails with one finding per key whose mode has any bit beyond 0600 (item
"<path> mode") and per key not owned by UID 0 ("<path> owner"). Keys named
by HostKey but absent are skipped. Errors when no key exists or an owner
cannot be read; not applicable when sshd is not installed and there are no
keys.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		h := &f.HostKeys
		if err := collected(h.Provenance, "host keys"); err != nil {
			return rampart.Errored(err)
		}
		var present []FileInfo
		for _, k := range h.Keys {
			if k.Exists {
				present = append(present, k)
			}
		}
		if len(present) == 0 {
			if !f.SSHD.Installed && f.SSHD.Config == nil && f.SSHD.Error == "" {
				return rampart.NotApplicable("sshd is not installed and no host key exists")
			}
			return rampart.Errored(errors.New("no SSH host private key found (HostKey entries or /etc/ssh/ssh_host_*_key)"))
		}
		var findings []rampart.Finding
		var seen []string
		for _, k := range present {
			more, err := permFindings(k, 0o600)
			if err != nil {
				return rampart.Errored(err)
			}
			findings = append(findings, more...)
			seen = append(seen, fmt.Sprintf("%s mode %s owner UID %d", k.Path, k.Perm, k.UID))
		}
		return rampart.Verdict(findings, strings.Join(seen, "; "))
	}),
}

// permFindings reports a file whose mode has bits beyond max or whose
// owner is not root.
func permFindings(fi FileInfo, max Perm) ([]rampart.Finding, error) {
	if fi.UID < 0 {
		return nil, fmt.Errorf("%s: owner unknown on this platform", fi.Path)
	}
	var out []rampart.Finding
	loc := rampart.Location{Path: fi.Path}
	if fi.Perm&^max != 0 {
		out = append(out, rampart.Finding{
			Item:     fi.Path + " mode",
			Message:  fmt.Sprintf("mode %s allows more than %s (%s)", fi.Perm, max, permExcess(fi.Perm&^max)),
			Location: loc,
		})
	}
	if fi.UID != 0 {
		out = append(out, rampart.Finding{
			Item:     fi.Path + " owner",
			Message:  fmt.Sprintf("owned by UID %d, not root", fi.UID),
			Location: loc,
		})
	}
	return out, nil
}

func permExcess(p Perm) string {
	var who []string
	if p&0o700 != 0 {
		who = append(who, "owner "+bits(p>>6))
	}
	if p&0o070 != 0 {
		who = append(who, "group "+bits(p>>3))
	}
	if p&0o007 != 0 {
		who = append(who, "others "+bits(p))
	}
	return strings.Join(who, ", ")
}

func bits(p Perm) string {
	var b strings.Builder
	for i, c := range "rwx" {
		if p&(4>>i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// AutoUpdates fails when the host does not install updates by itself.
var AutoUpdates = &rampart.Check{
	ID:       "SRV-AUTO-UPDATES",
	Version:  1,
	Title:    "Security updates install automatically",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"SRV-04"},
	Remediation: "Debian/Ubuntu: apt install unattended-upgrades, then dpkg-reconfigure -plow " +
		"unattended-upgrades (it writes /etc/apt/apt.conf.d/20auto-upgrades with " +
		"APT::Periodic::Update-Package-Lists \"1\" and APT::Periodic::Unattended-Upgrade \"1\"). " +
		"RHEL family: dnf install dnf-automatic, set apply_updates = yes in /etc/dnf/automatic.conf " +
		"and systemctl enable --now dnf-automatic.timer (or enable dnf-automatic-install.timer).",
	Doc: `Reads the distribution family from /etc/os-release (or, when it is
missing, from which package database exists). Debian family: whether the
unattended-upgrades package is installed in
/var/lib/dpkg/status, and APT::Periodic::Update-Package-Lists and
APT::Periodic::Unattended-Upgrade from /etc/apt/apt.conf.d/* (the files APT
reads, in lexical order) then /etc/apt/apt.conf, the last assignment
winning. Fails when the package is not installed or either setting is
absent or 0. RHEL family: reads whether /usr/bin/dnf-automatic (or dnf5)
exists, apply_updates in [commands] of /etc/dnf/automatic.conf and which of
dnf-automatic-install.timer, dnf-automatic.timer and dnf5-automatic.timer
are enabled; fails unless the install timer is enabled, or another timer
is with apply_updates yes. Errors for other families and when
/var/lib/dpkg/status is missing on a Debian host.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		a := &f.AutoUpdates
		if err := collected(a.Provenance, "automatic updates"); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		switch a.Mechanism {
		case "unattended-upgrades":
			if !a.Installed {
				findings = append(findings, rampart.Finding{
					Item: "package unattended-upgrades", Message: "unattended-upgrades is not installed",
					Location: rampart.Location{Path: DpkgStatusPath},
				})
			}
			for _, k := range []string{"APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"} {
				d, ok := a.Settings[k]
				switch {
				case !ok:
					findings = append(findings, rampart.Finding{
						Item: k, Message: k + " is not set: APT's daily job does not run it",
						Location: rampart.Location{Path: "/etc/apt/apt.conf.d/20auto-upgrades"},
					})
				case !periodicOn(d.Value):
					findings = append(findings, finding(k, d, fmt.Sprintf("%s is %q: turned off", k, d.Value)))
				}
			}
			return rampart.Verdict(findings, "unattended-upgrades installed; APT::Periodic::Update-Package-Lists "+
				a.Settings["APT::Periodic::Update-Package-Lists"].Value+", APT::Periodic::Unattended-Upgrade "+
				a.Settings["APT::Periodic::Unattended-Upgrade"].Value)
		case "dnf-automatic":
			if !a.Installed {
				findings = append(findings, rampart.Finding{
					Item: "package dnf-automatic", Message: "dnf-automatic is not installed",
					Location: rampart.Location{Path: "/usr/bin/dnf-automatic"},
				})
			}
			apply, applySet := a.Settings["commands.apply_updates"]
			switch {
			case slices.Contains(a.Timers, "dnf-automatic-install.timer"):
			case len(a.Timers) == 0:
				findings = append(findings, rampart.Finding{
					Item: "dnf-automatic timer", Message: "no dnf-automatic timer is enabled",
					Location: rampart.Location{Path: "/etc/systemd/system/timers.target.wants"},
				})
			case !applySet || !truthy(apply.Value):
				loc := apply.Location
				if !applySet {
					loc = rampart.Location{Path: "/etc/dnf/automatic.conf"}
				}
				findings = append(findings, rampart.Finding{
					Item: "commands.apply_updates", Location: loc,
					Message: fmt.Sprintf("%s runs but apply_updates is %q: updates are downloaded, not installed", a.Timers[0], orDefault(apply.Value, "no")),
				})
			}
			return rampart.Verdict(findings, "dnf-automatic installs updates ("+strings.Join(a.Timers, ", ")+")")
		}
		return rampart.Errored(fmt.Errorf("no automatic update mechanism known for this host (mechanism %q)", a.Mechanism))
	}),
}

// periodicOn reads an APT::Periodic interval: days, "always", or a
// duration such as "12h"; 0 turns the job off.
func periodicOn(v string) bool {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "always") {
		return true
	}
	digits := strings.TrimRight(v, "smhd")
	n, err := strconv.Atoi(digits)
	return err == nil && n > 0
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1", "on":
		return true
	}
	return false
}

// RebootPending fails when the host waits for a reboot.
var RebootPending = &rampart.Check{
	ID:       "SRV-REBOOT-PENDING",
	Version:  1,
	Title:    "No reboot is pending after updates",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"SRV-04"},
	Remediation: "Reboot the host in its maintenance window so that the updated kernel and " +
		"libraries run; consider Unattended-Upgrade::Automatic-Reboot or kured on Kubernetes nodes.",
	Doc: `Reads /run/reboot-required (and /var/run/reboot-required), which
Debian and Ubuntu packages create when an update needs a reboot, and the
package list in reboot-required.pkgs. Fails with one finding (item "pending
reboot") when the marker exists. Errors on hosts of other families, where
no file records it.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		r := &f.Reboot
		if err := collected(r.Provenance, "pending reboot"); err != nil {
			return rampart.Errored(err)
		}
		if !r.Required {
			return rampart.Pass("no /run/reboot-required")
		}
		msg := "a reboot is required"
		if len(r.Packages) > 0 {
			msg += " by " + strings.Join(r.Packages, ", ")
		}
		return rampart.Failed(rampart.Finding{Item: "pending reboot", Message: msg, Location: rampart.Location{Path: r.Marker}})
	}),
}

// Firewall fails unless a host firewall drops unsolicited traffic and
// starts at boot.
var Firewall = &rampart.Check{
	ID:       "SRV-FIREWALL",
	Version:  1,
	Title:    "A host firewall denies inbound traffic by default",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"SRV-11", "FW-04"},
	Remediation: "Enable one host firewall that drops what it does not allow: nftables (an input " +
		"chain with policy drop in /etc/nftables.conf, systemctl enable nftables), ufw (ufw default " +
		"deny incoming && ufw enable), or firewalld (systemctl enable --now firewalld).",
	Doc: `Reads, for each host firewall whose configuration exists:
nftables: /etc/nftables.conf (or /etc/sysconfig/nftables.conf) and the
files it includes, for a base chain on the input hook with policy drop or
a final unconditional drop or reject, and whether nftables.service is
enabled; ufw: ENABLED in /etc/ufw/ufw.conf and DEFAULT_INPUT_POLICY in
/etc/default/ufw (default DROP); firewalld: whether firewalld.service is
enabled, DefaultZone of /etc/firewalld/firewalld.conf (default public) and
that zone's target (default rejects; ACCEPT and the trusted zone do not);
iptables: the filter table's INPUT policy or final rule in
/etc/iptables/rules.v4 or /etc/sysconfig/iptables, and whether
netfilter-persistent or iptables.service is enabled. A service is enabled
when a link for it exists in a target's .wants directory under
/etc/systemd/system, /usr/lib/systemd/system or /lib/systemd/system and it
is not masked. Passes when one firewall is both enabled and denying by
default; otherwise fails with a finding per firewall found (item
"firewall <name>") or, with none, one finding "host firewall".`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		fw := &f.Firewall
		if err := collected(fw.Provenance, "host firewall"); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for _, c := range fw.Configs {
			if c.Enabled && c.DefaultDeny {
				return rampart.Pass(fmt.Sprintf("%s enabled (%s): %s", c.Name, c.EnabledBy, c.Detail))
			}
			var why []string
			if !c.Enabled {
				why = append(why, "does not start at boot")
			}
			if !c.DefaultDeny {
				why = append(why, "does not deny inbound traffic by default")
			}
			findings = append(findings, rampart.Finding{
				Item:     "firewall " + c.Name,
				Message:  fmt.Sprintf("%s %s (%s)", c.Name, strings.Join(why, " and "), c.Detail),
				Location: c.Location,
			})
		}
		if len(findings) == 0 {
			findings = append(findings, rampart.Finding{
				Item:    "host firewall",
				Message: "no nftables, ufw, firewalld or iptables configuration found",
			})
		}
		return rampart.Failed(findings...)
	}),
}

// Auditd fails unless auditd is installed, enabled and has rules.
var Auditd = &rampart.Check{
	ID:       "SRV-AUDITD",
	Version:  1,
	Title:    "auditd records critical actions",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"SRV-07"},
	Remediation: "Install auditd (apt install auditd / dnf install audit), systemctl enable --now " +
		"auditd, and add rules in /etc/audit/rules.d/*.rules (identity, sudoers, sshd_config, " +
		"privileged commands), then augenrules --load.",
	Doc: `Reads whether auditd is installed (the auditd package in
/var/lib/dpkg/status, or /usr/sbin/auditd or /sbin/auditd), whether
auditd.service is enabled (a link in a target's .wants directory under
/etc/systemd/system, /usr/lib/systemd/system or /lib/systemd/system, not
masked), and counts watch (-w) and syscall (-a) rules in
/etc/audit/rules.d/*.rules and /etc/audit/audit.rules. Fails with item
"auditd package" when it is not installed; otherwise with "auditd service"
when it is not enabled and "audit rules" when no rule is defined.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		a := &f.Auditd
		if err := collected(a.Provenance, "auditd"); err != nil {
			return rampart.Errored(err)
		}
		if !a.Installed {
			return rampart.Failed(rampart.Finding{
				Item: "auditd package", Message: "auditd is not installed",
				Location: rampart.Location{Path: a.Sources[0]},
			})
		}
		var findings []rampart.Finding
		if !a.Enabled {
			findings = append(findings, rampart.Finding{
				Item: "auditd service", Message: "auditd.service is not enabled",
				Location: rampart.Location{Path: "/etc/systemd/system/multi-user.target.wants/auditd.service"},
			})
		}
		if a.Rules == 0 {
			findings = append(findings, rampart.Finding{
				Item: "audit rules", Message: "no watch (-w) or syscall (-a) rule is defined",
				Location: rampart.Location{Path: "/etc/audit/rules.d"},
			})
		}
		return rampart.Verdict(findings, fmt.Sprintf("auditd installed (%s), enabled (%s), %d rule(s) in %s",
			a.InstalledBy, a.EnabledBy, a.Rules, strings.Join(a.RuleFiles, ", ")))
	}),
}

// FIM fails unless AIDE or a Wazuh agent watches file integrity.
var FIM = &rampart.Check{
	ID:       "SRV-FIM",
	Version:  1,
	Title:    "File-integrity monitoring is in place",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"SRV-08", "MON-02"},
	Remediation: "Install AIDE and initialize its database (aideinit, then move aide.db.new to " +
		"aide.db) with a daily check, or enroll the host in Wazuh with syscheck enabled in " +
		"/var/ossec/etc/ossec.conf and wazuh-agent enabled.",
	Doc: `Reads AIDE's configuration (/etc/aide/aide.conf or /etc/aide.conf)
and databases (/var/lib/aide/aide.db*, where aide.db.new* is initialized
but not yet installed), and the Wazuh agent's /var/ossec/etc/ossec.conf
(the first <syscheck> block, on unless <disabled>yes</disabled>) and
whether wazuh-agent.service or wazuh-manager.service is enabled. Passes
when AIDE has a configuration and a database, or Wazuh has syscheck on and
its service enabled. Otherwise fails with a finding per incomplete setup
("AIDE database", "Wazuh syscheck", "Wazuh agent service"), or one finding
"file-integrity monitoring" when neither is configured.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		m := &f.FIM
		if err := collected(m.Provenance, "file-integrity monitoring"); err != nil {
			return rampart.Errored(err)
		}
		if m.AIDE.Config != "" && len(m.AIDE.Databases) > 0 {
			return rampart.Pass(fmt.Sprintf("AIDE configured (%s) with database %s", m.AIDE.Config, m.AIDE.Databases[0]))
		}
		if m.Wazuh.Config != "" && m.Wazuh.Syscheck && m.Wazuh.Enabled {
			return rampart.Pass(fmt.Sprintf("Wazuh syscheck on (%s:%d), agent enabled (%s)", m.Wazuh.Config, m.Wazuh.Location.Line, m.Wazuh.EnabledBy))
		}
		var findings []rampart.Finding
		if m.AIDE.Config != "" {
			msg := "AIDE is configured but has no database in /var/lib/aide"
			if len(m.AIDE.NewDatabases) > 0 {
				msg = fmt.Sprintf("AIDE's database was initialized (%s) but not installed as aide.db", m.AIDE.NewDatabases[0])
			}
			findings = append(findings, rampart.Finding{Item: "AIDE database", Message: msg, Location: rampart.Location{Path: m.AIDE.Config}})
		}
		if m.Wazuh.Config != "" {
			if !m.Wazuh.Syscheck {
				loc := m.Wazuh.Location
				if loc.Path == "" {
					loc.Path = m.Wazuh.Config
				}
				findings = append(findings, rampart.Finding{Item: "Wazuh syscheck", Message: "syscheck is disabled or absent", Location: loc})
			}
			if !m.Wazuh.Enabled {
				findings = append(findings, rampart.Finding{
					Item: "Wazuh agent service", Message: "neither wazuh-agent nor wazuh-manager is enabled",
					Location: rampart.Location{Path: "/etc/systemd/system/multi-user.target.wants/wazuh-agent.service"},
				})
			}
		}
		if len(findings) == 0 {
			findings = append(findings, rampart.Finding{
				Item: "file-integrity monitoring", Message: "neither AIDE nor a Wazuh agent is configured",
			})
		}
		return rampart.Failed(findings...)
	}),
}

// UID0 fails for accounts other than root with UID 0.
var UID0 = &rampart.Check{
	ID:       "SRV-UID0",
	Version:  1,
	Title:    "Only root has UID 0",
	Severity: rampart.SeverityCritical,
	Kind:     Kind,
	Controls: []string{"SRV-01"},
	Remediation: "Remove the extra UID 0 account (userdel, or edit /etc/passwd with vipw) or give it " +
		"its own UID, and find out who added it and why: it is a common backdoor.",
	Doc: `Reads /etc/passwd (blank, comment and NIS +/- lines skipped). Fails
with one finding per account other than root whose UID is 0, at its line.
Errors when /etc/passwd is missing, unreadable or has a malformed line.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		a := &f.Accounts
		if err := collected(a.Provenance, "accounts"); err != nil {
			return rampart.Errored(err)
		}
		if a.UID0 == nil {
			return rampart.Errored(errors.New("accounts: facts hold no account list"))
		}
		var findings []rampart.Finding
		for _, acc := range a.UID0 {
			if acc.Name == "root" {
				continue
			}
			findings = append(findings, rampart.Finding{
				Item: "account " + acc.Name, Message: fmt.Sprintf("%s has UID 0: it is root under another name", acc.Name),
				Location: acc.Location,
			})
		}
		return rampart.Verdict(findings, "only root has UID 0 in "+PasswdPath)
	}),
}

// ShadowPerms fails when /etc/shadow is readable beyond root and the
// shadow group.
var ShadowPerms = &rampart.Check{
	ID:       "SRV-SHADOW-PERMS",
	Version:  1,
	Title:    "/etc/shadow is readable by root only",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"SRV-01", "SRV-09"},
	Remediation: "chown root:shadow /etc/shadow && chmod 640 /etc/shadow (Debian), or " +
		"chown root:root /etc/shadow && chmod 000 /etc/shadow (RHEL).",
	Doc: `Reads the permission bits and numeric owner of /etc/shadow (stat,
following links inside the root). Fails with item "/etc/shadow mode" when
the mode has any bit beyond 0640 (group write, anything for others, owner
execute) and "/etc/shadow owner" when the owner is not UID 0. Errors when
the file is missing or its owner cannot be read.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		s := f.Shadow
		if err := collected(s.Provenance, "/etc/shadow"); err != nil {
			return rampart.Errored(err)
		}
		if !s.Exists {
			return rampart.Errored(errors.New("/etc/shadow not found"))
		}
		findings, err := permFindings(s, 0o640)
		if err != nil {
			return rampart.Errored(err)
		}
		return rampart.Verdict(findings, fmt.Sprintf("/etc/shadow mode %s, owner UID %d", s.Perm, s.UID))
	}),
}
