package docker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Limits bound what one plugin's container may use, and say whom it runs
// as. A zero field takes DefaultLimits' value; Unlimited turns Pids or
// MemoryBytes off. Limits (the method) reports the ones in effect, for the
// results.
type Limits struct {
	// User is the numeric "uid:gid" the plugin runs as. Default "65534:65534"
	// (nobody:nogroup), or "65534:GID" with dlcompat's own gid when
	// dlcompat is not root: the plugin's socket directory and socket are
	// shared through that group, and only root can give them to a group it
	// is not in. uid 0 is refused: a plugin never runs as root.
	User string `json:"user"`
	// Pids caps the processes and threads of the container together (the
	// pids cgroup); default 4096, Unlimited for none. A framework starts a
	// thread pool or two per device; a fork bomb stops here.
	Pids int64 `json:"pids"`
	// MemoryBytes caps the container's memory, its /tmp included (tmpfs
	// pages are charged to it), with no swap beyond it; default 8 GiB,
	// Unlimited for none. A plugin over it is killed (its cell: crash,
	// "killed for using too much memory"). GPU memory is not counted.
	MemoryBytes int64 `json:"memory_bytes"`
	// TmpBytes is the size of the container's /tmp, a tmpfs (nosuid,
	// nodev) that is also $HOME; default 512 MiB. It must be positive.
	TmpBytes int64 `json:"tmp_bytes"`
}

// Unlimited, as Limits.Pids or Limits.MemoryBytes, sets no limit.
const Unlimited = -1

// nobody is the uid (and, when dlcompat is root, the gid) plugins run as
// by default.
const nobody = 65534

// DefaultLimits are the limits a zero Limits field takes. User "" is
// resolved when the executor is made (see Limits.User).
var DefaultLimits = Limits{Pids: 4096, MemoryBytes: 8 << 30, TmpBytes: 512 << 20}

// minMemory is the engine's own floor for a memory limit.
const minMemory = 6 << 20

// Resolve fills the zero fields from DefaultLimits and checks the result;
// the error names the field and what it accepts.
func (l Limits) Resolve() (Limits, error) {
	if l.User == "" {
		gid := nobody
		if os.Getuid() != 0 {
			gid = os.Getgid()
		}
		l.User = fmt.Sprintf("%d:%d", nobody, gid)
	}
	if l.Pids == 0 {
		l.Pids = DefaultLimits.Pids
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = DefaultLimits.MemoryBytes
	}
	if l.TmpBytes == 0 {
		l.TmpBytes = DefaultLimits.TmpBytes
	}
	if _, _, err := l.ids(); err != nil {
		return l, err
	}
	switch {
	case l.Pids < Unlimited:
		return l, fmt.Errorf("docker limits: pids %d: want a positive number, or %d for no limit", l.Pids, Unlimited)
	case l.MemoryBytes < Unlimited || l.MemoryBytes > 0 && l.MemoryBytes < minMemory:
		return l, fmt.Errorf("docker limits: memory %d bytes: want at least %d (6 MiB), or %d for no limit", l.MemoryBytes, minMemory, Unlimited)
	case l.TmpBytes < 0:
		return l, fmt.Errorf("docker limits: /tmp size %d bytes: want a positive number", l.TmpBytes)
	}
	return l, nil
}

// ids parses User.
func (l Limits) ids() (uid, gid int, err error) {
	u, g, ok := strings.Cut(l.User, ":")
	uid, uerr := strconv.Atoi(u)
	gid, gerr := strconv.Atoi(g)
	switch {
	case !ok || uerr != nil || gerr != nil || uid < 0 || gid < 0:
		return 0, 0, fmt.Errorf("docker limits: user %q: want numeric uid:gid, such as %d:%d", l.User, nobody, nobody)
	case uid == 0:
		return 0, 0, fmt.Errorf("docker limits: user %q: a plugin never runs as root (uid 0); use an unprivileged uid such as %d", l.User, nobody)
	}
	return uid, gid, nil
}

// tmpfs is the mount options of /tmp: bounded, no setuid, no devices;
// exec stays, since a framework may compile a kernel into $HOME and load it.
func (l Limits) tmpfs() string {
	return fmt.Sprintf("rw,nosuid,nodev,exec,size=%d,mode=1777", l.TmpBytes)
}

// String is the limits as a line for notes and logs.
func (l Limits) String() string {
	n := func(v int64, unit string) string {
		if v == Unlimited {
			return "unlimited"
		}
		if unit == "" {
			return strconv.FormatInt(v, 10)
		}
		return fmt.Sprintf("%d MiB", v>>20)
	}
	return fmt.Sprintf("user %s, pids %s, memory %s, /tmp %s", l.User, n(l.Pids, ""), n(l.MemoryBytes, "MiB"), n(l.TmpBytes, "MiB"))
}
