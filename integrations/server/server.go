// Package server is the server integration: it reads a Linux host's
// configuration files (sshd, automatic updates, pending reboot, host
// firewall, auditd, file-integrity monitoring, local accounts, file
// permissions) under a root directory, the host's own "/" or a mounted
// copy of it, and checks them against the hardening the control catalog
// asks for. It never leaves that root: files are opened through os.Root
// and symbolic links are resolved as the host would resolve them.
package server

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rampart-dev/rampart"
)

// Kind is the resource kind this integration checks.
const Kind rampart.Kind = "server"

// Modes of reaching a server.
const (
	// ModeLocal reads the files under Root on the machine Rampart runs
	// on: the host itself, or a copy or mount of its file system.
	ModeLocal = "local"
	// ModeSSH is reserved for reading the files over SSH.
	ModeSSH = "ssh"
)

// Integration describes the server kind; the integration list wires it
// in.
var Integration = &rampart.Integration{
	Kind:  Kind,
	Title: "Linux server",
	Doc: `A Linux server, read from its files. Rampart reads them under root,
never following a link out of it (absolute links are resolved inside root,
as the host would see them), and records which file every fact came from.

spec:
  mode: local (default): read the files under root on this machine;
    ssh is reserved and not supported yet
  root: the host's file system (default /): a mounted image, a copy,
    or / when Rampart runs on the host; relative to the directory of
    rampart.yaml

facts: sshd's effective configuration (Include and Match handled as sshd
does), unattended-upgrades or dnf-automatic, /run/reboot-required, the
host firewall (nftables, ufw, firewalld, iptables), auditd, AIDE or a
Wazuh agent, UID 0 accounts, and the modes of /etc/shadow and the SSH
host keys.`,
	NewSpec:      func() rampart.Spec { return NewSpec() },
	NewCollector: func(rampart.Env) rampart.Collector { return &Collector{} },
	Checks:       Checks(),
}

// Checks lists the integration's checks, in the order reports show them.
func Checks() []*rampart.Check {
	return []*rampart.Check{
		SSHPasswordAuth, SSHRootLogin, SSHPubkey, SSHMaxAuthTries, SSHHostKeyPerms,
		AutoUpdates, RebootPending, Firewall, Auditd, FIM, UID0, ShadowPerms,
	}
}

// Spec is the configuration of one server resource.
type Spec struct {
	// Mode is how the files are reached: local.
	Mode string `yaml:"mode" json:"mode" doc:"How the files are reached: local (the default) reads them under root on this machine; ssh is reserved, not supported yet."`
	// Root is the directory holding the host's file system.
	Root string `yaml:"root" json:"root" doc:"Directory holding the host's file system: / (the default) when Rampart runs on the host, or a mounted copy, relative to this file."`
}

var _ rampart.Spec = (*Spec)(nil)

// NewSpec returns a spec with its defaults: local mode, root "/".
func NewSpec() *Spec { return &Spec{Mode: ModeLocal, Root: "/"} }

// SetBaseDir resolves a relative Root against dir, the directory of the
// file that declared the resource. The register calls it after decoding.
func (s *Spec) SetBaseDir(dir string) {
	if s.Root != "" && !filepath.IsAbs(s.Root) && dir != "" {
		s.Root = filepath.Join(dir, s.Root)
	}
}

// Validate implements rampart.Spec.
func (s *Spec) Validate() error {
	var errs []error
	switch s.Mode {
	case ModeLocal:
	case ModeSSH:
		errs = append(errs, errors.New("mode: ssh is not supported yet; use local (run Rampart on the host, or mount its file system and set root)"))
	default:
		errs = append(errs, fmt.Errorf("mode: %q is not a mode (want local)", s.Mode))
	}
	if s.Root == "" {
		errs = append(errs, errors.New("root: required (/ for the host Rampart runs on)"))
	}
	return errors.Join(errs...)
}
