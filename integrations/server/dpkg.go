package server

import (
	"strings"
)

// DpkgStatusPath is dpkg's database of installed packages.
const DpkgStatusPath = "/var/lib/dpkg/status"

// Package is one stanza of dpkg's status file.
type Package struct {
	Name    string `json:"name"`
	Status  string `json:"status"` // "install ok installed"
	Version string `json:"version,omitempty"`
	Line    int    `json:"line"`
}

// Installed reports whether dpkg considers the package installed.
func (p Package) Installed() bool {
	f := strings.Fields(p.Status)
	return len(f) == 3 && f[2] == "installed"
}

// ParseDpkgStatus reads dpkg's status file (deb822 stanzas separated by
// blank lines) into its packages by name. Fields other than Package,
// Status and Version, and continuation lines, are skipped; a stanza
// without a Package field is ignored.
func ParseDpkgStatus(data []byte) map[string]Package {
	out := map[string]Package{}
	var cur Package
	flush := func() {
		if cur.Name != "" {
			out[cur.Name] = cur
		}
		cur = Package{}
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		field, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(field) {
		case "package":
			cur.Name, cur.Line = value, n+1
		case "status":
			cur.Status = value
		case "version":
			cur.Version = value
		}
	}
	flush()
	return out
}
