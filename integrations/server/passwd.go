package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rampart-dev/rampart"
)

// PasswdPath is the local account database.
const PasswdPath = "/etc/passwd"

// Account is one line of /etc/passwd.
type Account struct {
	Name     string           `json:"name"`
	UID      int              `json:"uid"`
	Shell    string           `json:"shell,omitempty"`
	Location rampart.Location `json:"location"`
}

// ParsePasswd reads /etc/passwd lines (name:password:uid:gid:gecos:home:
// shell). Blank lines, comments and NIS "+"/"-" entries are skipped; a
// line with too few fields or a UID that is not a number is an error,
// since it hides what the system sees.
func ParsePasswd(file string, data []byte) ([]Account, error) {
	var out []Account
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 4 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 7", file, n+1, len(f))
		}
		uid, err := strconv.Atoi(f[2])
		if err != nil || uid < 0 {
			return nil, fmt.Errorf("%s:%d: uid %q of %s is not a number", file, n+1, f[2], f[0])
		}
		a := Account{Name: f[0], UID: uid, Location: rampart.Location{Path: file, Line: n + 1}}
		if len(f) >= 7 {
			a.Shell = f[6]
		}
		out = append(out, a)
	}
	return out, nil
}
