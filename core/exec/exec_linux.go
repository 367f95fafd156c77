package exec

import (
	"errors"
	"os"
	osexec "os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the plugin in a process group of its own, so that it
// and every descendant can be killed together, and asks the kernel to
// SIGKILL the plugin when the host exits.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// waitExit blocks until the process has exited, without reaping it: its
// pid, and so its process group's id, cannot be reused until cmd.Wait.
func waitExit(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// killTree SIGKILLs the plugin's process group: the plugin and every
// descendant that did not leave it. The caller makes sure the plugin is
// not yet reaped, so the group id is still the plugin's.
func killTree(cmd *osexec.Cmd) {
	_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	_ = cmd.Process.Kill() // should the group not have been made
}

// processAlive reports whether a process with that pid exists (a zombie
// counts; one of another user too).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// ownedByMe reports whether this user owns the file.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
