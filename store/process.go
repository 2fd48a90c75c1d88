package store

import (
	"os"
	"strconv"
	"strings"
)

// owner identifies a process among all that may share a store: its host,
// the kernel boot, the pid namespace (containers), the user, the pid and
// when the process started (pids are reused). Where the operating system
// does not tell boot, namespace or start time, they are empty and the owner
// can only be judged by its lease.
type owner struct {
	host, boot, ns string
	uid, pid       int
	start          string
}

func (o owner) String() string {
	return strings.Join([]string{o.host, o.boot, o.ns, strconv.Itoa(o.uid), strconv.Itoa(o.pid), o.start}, "|")
}

func parseOwner(s string) (owner, bool) {
	f := strings.Split(s, "|")
	if len(f) != 6 {
		return owner{}, false
	}
	uid, err := strconv.Atoi(f[3])
	if err != nil {
		return owner{}, false
	}
	pid, err := strconv.Atoi(f[4])
	if err != nil || pid <= 0 {
		return owner{}, false
	}
	return owner{host: f[0], boot: f[1], ns: f[2], uid: uid, pid: pid, start: f[5]}, true
}

func currentOwner() owner {
	host, _ := os.Hostname() // an empty host only makes owners less comparable
	o := owner{host: host, uid: os.Getuid(), pid: os.Getpid()}
	o.boot, o.ns = bootID(), pidNamespace()
	if start, ok := processStart(o.pid); ok {
		o.start = start
	}
	return o
}

// gone reports whether o has certainly stopped: it ran on this machine
// since its last boot, in this pid namespace, as this user (/proc may hide
// other users' processes), and its pid is now free or held by a process
// that started at another time. When any of that cannot be told, o is not
// gone: its lease decides.
func (o owner) gone(self owner) bool {
	if o.boot == "" || o.ns == "" || o.start == "" ||
		o.host != self.host || o.boot != self.boot || o.ns != self.ns || o.uid != self.uid {
		return false
	}
	start, alive := processStart(o.pid)
	return !alive || (start != "" && start != o.start)
}
