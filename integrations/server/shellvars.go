package server

import (
	"strings"

	"github.com/rampart-dev/rampart"
)

// ParseShellVars reads NAME=value lines as os-release(5), /etc/ufw/ufw.conf
// and /etc/default/* write them: one assignment per line, the value
// optionally in single or double quotes, "#" comments. Lines that are not
// assignments are skipped; the last assignment of a name wins, as when a
// shell sources the file.
func ParseShellVars(file string, data []byte) map[string]Directive {
	out := map[string]Directive{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		} else if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		out[name] = Directive{Keyword: name, Value: value, Location: rampart.Location{Path: file, Line: n + 1}}
	}
	return out
}
