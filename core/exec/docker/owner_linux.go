package docker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/dlcompat/dlcompat/core/exec"
)

// An owner is "host/pid/start": the process that started a run's
// containers, with its start time (clock ticks since boot), so that a
// reused pid is not taken for the same process.

func selfOwner() (string, error) {
	host, _ := os.Hostname()
	start, err := startTime(os.Getpid())
	if err != nil {
		return "", fmt.Errorf("docker: reading this process's start time: %v", err)
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), start), nil
}

// ownerAlive reports whether owner may still be running. An owner on
// another host, or one that cannot be parsed, is taken to be alive: only
// what is known to be dead is removed.
func ownerAlive(owner string) bool {
	parts := strings.Split(strings.TrimSpace(owner), "/")
	if len(parts) != 3 {
		return true
	}
	if host, _ := os.Hostname(); parts[0] != host {
		return true
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return true
	}
	start, err := startTime(pid)
	return err == nil && start == parts[2]
}

// startTime is field 22 of /proc/PID/stat.
func startTime(pid int) (string, error) {
	f, err := exec.ProcStat(pid)
	if err != nil {
		return "", err
	}
	return f[19], nil
}

// detached puts the janitor in its own process group.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// fileUID is the owner of a file.
func fileUID(fi os.FileInfo) (uid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}

// fileGID is the group owning fi, where the system says.
func fileGID(fi os.FileInfo) (gid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Gid), true
}
