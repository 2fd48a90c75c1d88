package store

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}

// processStart reads when a process started, in clock ticks since boot
// (field 22 of /proc/PID/stat). It reports alive false only when the
// process certainly is not running: no such pid, or a zombie, which will
// never finish its scan. What cannot be read counts as alive.
func processStart(pid int) (start string, alive bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		return "", true
	}
	state, start, ok := parseStat(string(b))
	if !ok {
		return "", true
	}
	return start, state != "Z" && state != "X"
}

// parseStat reads state and start time from a /proc/PID/stat line. The
// command name (field 2) is in parentheses and may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(s string) (state, start string, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[19], true
}
