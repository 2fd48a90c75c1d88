package server

import (
	"strings"

	"github.com/rampart-dev/rampart"
)

// ParseINI reads an INI file the way Python's configparser reads dnf's
// automatic.conf: "[section]" headers, "key = value" or "key: value",
// "#" and ";" comment lines, indented continuation lines appended to the
// previous value. Keys are returned as "section.key", lower-case, with
// the line of their assignment; a later assignment wins.
func ParseINI(file string, data []byte) map[string]Directive {
	out := map[string]Directive{}
	section := ""
	last := ""
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
			last = ""
			continue
		case (line[0] == ' ' || line[0] == '\t') && last != "":
			d := out[last]
			d.Value = strings.TrimSpace(d.Value + "\n" + trimmed)
			out[last] = d
			continue
		case trimmed[0] == '[':
			if end := strings.IndexByte(trimmed, ']'); end > 0 {
				section = strings.ToLower(strings.TrimSpace(trimmed[1:end]))
			}
			last = ""
			continue
		}
		i := strings.IndexAny(trimmed, "=:")
		if i <= 0 {
			last = ""
			continue
		}
		key := section + "." + strings.ToLower(strings.TrimSpace(trimmed[:i]))
		out[key] = Directive{
			Keyword:  key,
			Value:    strings.TrimSpace(trimmed[i+1:]),
			Location: rampart.Location{Path: file, Line: n + 1},
		}
		last = key
	}
	return out
}
