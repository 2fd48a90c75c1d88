package server

import (
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart"
)

// Facts is what the collector read from one host's files. Each part says
// which files it read (Sources, host paths) and, when it could not tell,
// why (Error); a check reading a part with an Error returns an error.
type Facts struct {
	// Root is the directory the host's files were read under ("/" on
	// the host itself).
	Root        string              `json:"root"`
	CollectedAt time.Time           `json:"collectedAt"`
	OS          OSRelease           `json:"os"`
	SSHD        SSHD                `json:"sshd"`
	AutoUpdates UpdateConfig        `json:"autoUpdates"`
	Reboot      Reboot              `json:"reboot"`
	Firewall    Firewalls           `json:"firewall"`
	Auditd      AuditDaemon         `json:"auditd"`
	FIM         IntegrityMonitoring `json:"fim"`
	Accounts    Accounts            `json:"accounts"`
	Shadow      FileInfo            `json:"shadow"`
	HostKeys    HostKeys            `json:"hostKeys"`
}

// Provenance records where a part of the facts came from.
type Provenance struct {
	// Sources lists the host paths read or looked for, in order.
	Sources []string `json:"sources"`
	// Error says why the part could not be determined.
	Error string `json:"error,omitempty"`
}

func (p *Provenance) read(path string) { p.Sources = append(p.Sources, path) }

func (p *Provenance) fail(err error) {
	if p.Error == "" {
		p.Error = err.Error()
	}
}

// Family groups distributions by how they configure updates.
type Family string

// The families the collector knows.
const (
	Debian Family = "debian" // Debian, Ubuntu and derivatives: apt
	RHEL   Family = "rhel"   // RHEL, Fedora, CentOS, Rocky, Alma: dnf
)

// OSRelease is what /etc/os-release (or /usr/lib/os-release) says.
type OSRelease struct {
	Provenance
	ID         string `json:"id,omitempty"`
	IDLike     string `json:"idLike,omitempty"`
	VersionID  string `json:"versionId,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
	// Family is inferred from ID and ID_LIKE, or from the package
	// database present when os-release is missing; empty if unknown.
	Family Family `json:"family,omitempty"`
}

// SSHD is the OpenSSH server's configuration.
type SSHD struct {
	Provenance
	// Installed is set when /usr/sbin/sshd exists.
	Installed bool `json:"installed"`
	// Config is nil when sshd_config is missing.
	Config *SSHDConfig `json:"config,omitempty"`
}

// UpdateConfig is how the host installs security updates by itself.
type UpdateConfig struct {
	Provenance
	// Mechanism is "unattended-upgrades" (Debian family) or
	// "dnf-automatic" (RHEL family).
	Mechanism string `json:"mechanism,omitempty"`
	Installed bool   `json:"installed"`
	// Settings holds the settings that turn it on, by name:
	// APT::Periodic::Update-Package-Lists and
	// APT::Periodic::Unattended-Upgrade (apt.conf.d, last file wins), or
	// commands.apply_updates (dnf automatic.conf).
	Settings map[string]Directive `json:"settings,omitempty"`
	// Timers lists the enabled systemd timers that run it.
	Timers []string `json:"timers,omitempty"`
}

// Reboot is whether the host waits for a reboot to run updated code.
type Reboot struct {
	Provenance
	Required bool `json:"required"`
	// Packages lists /run/reboot-required.pkgs.
	Packages []string `json:"packages,omitempty"`
	// Marker is the file that says a reboot is required.
	Marker string `json:"marker,omitempty"`
}

// FirewallConfig is one host firewall found configured.
type FirewallConfig struct {
	// Name is nftables, ufw, firewalld or iptables.
	Name string `json:"name"`
	// Enabled says it starts at boot; EnabledBy names the systemd link or
	// setting that says so.
	Enabled   bool   `json:"enabled"`
	EnabledBy string `json:"enabledBy,omitempty"`
	// DefaultDeny says packets no rule accepts are dropped or rejected;
	// Detail says what was seen and Location where.
	DefaultDeny bool             `json:"defaultDeny"`
	Detail      string           `json:"detail"`
	Location    rampart.Location `json:"location,omitzero"`
}

// Firewalls lists the host firewalls found.
type Firewalls struct {
	Provenance
	Configs []FirewallConfig `json:"configs,omitempty"`
}

// AuditDaemon is the Linux audit daemon, auditd.
type AuditDaemon struct {
	Provenance
	Installed   bool   `json:"installed"`
	InstalledBy string `json:"installedBy,omitempty"`
	Enabled     bool   `json:"enabled"`
	EnabledBy   string `json:"enabledBy,omitempty"`
	// Rules counts watch (-w) and syscall (-a) rules in
	// /etc/audit/rules.d/*.rules and /etc/audit/audit.rules.
	Rules     int      `json:"rules"`
	RuleFiles []string `json:"ruleFiles,omitempty"`
}

// IntegrityMonitoring is file-integrity monitoring: AIDE or a Wazuh
// agent.
type IntegrityMonitoring struct {
	Provenance
	AIDE  AIDE  `json:"aide"`
	Wazuh Wazuh `json:"wazuh"`
}

// AIDE is the Advanced Intrusion Detection Environment.
type AIDE struct {
	Config string `json:"config,omitempty"`
	// Databases lists /var/lib/aide/aide.db*, except the freshly
	// initialized aide.db.new*, which AIDE does not compare against.
	Databases []string `json:"databases,omitempty"`
	// NewDatabases lists aide.db.new*: initialized, not installed.
	NewDatabases []string `json:"newDatabases,omitempty"`
}

// Wazuh is the Wazuh (or OSSEC) agent's syscheck module.
type Wazuh struct {
	Config string `json:"config,omitempty"`
	// Syscheck is set when a <syscheck> block is present and not
	// disabled; Location is the block.
	Syscheck  bool             `json:"syscheck"`
	Location  rampart.Location `json:"location,omitzero"`
	Enabled   bool             `json:"enabled"`
	EnabledBy string           `json:"enabledBy,omitempty"`
}

// Accounts are the local accounts of /etc/passwd with UID 0.
type Accounts struct {
	Provenance
	UID0 []Account `json:"uid0"`
}

// Perm is a file's permission bits, written in octal ("0640").
type Perm uint32

// MarshalText implements encoding.TextMarshaler.
func (p Perm) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Perm) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil {
		return fmt.Errorf("permission %q is not octal", b)
	}
	*p = Perm(v)
	return nil
}

// String renders the bits in octal with a leading zero ("0640").
func (p Perm) String() string { return fmt.Sprintf("%04o", uint32(p)) }

// FileInfo is the ownership and mode of one file.
type FileInfo struct {
	Provenance
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Perm   Perm   `json:"perm"`
	// UID and GID are the numeric owner and group; -1 when the platform
	// does not report them.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Directive is the configuration line naming the file, if any.
	Directive *Directive `json:"directive,omitempty"`
}

func fileInfo(fsys fs.FS, hostPath string) FileInfo {
	fi := FileInfo{Path: hostPath, UID: -1, GID: -1}
	fi.read(hostPath)
	st, err := fs.Stat(fsys, rel(hostPath))
	switch {
	case err == nil:
		fi.Exists = true
		fi.Perm = Perm(st.Mode().Perm())
		fi.UID, fi.GID = owner(st)
	case !isNotExist(err):
		fi.fail(fmt.Errorf("stat %s: %w", hostPath, err))
	}
	return fi
}

// HostKeys are sshd's private host keys.
type HostKeys struct {
	Provenance
	Keys []FileInfo `json:"keys"`
}
