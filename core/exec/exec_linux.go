package exec

import "syscall"

// sysProcAttr asks the kernel to SIGKILL the plugin when the host exits.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
