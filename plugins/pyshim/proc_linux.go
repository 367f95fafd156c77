package pyshim

import "syscall"

// sysProcAttr asks the kernel to SIGKILL the worker when the plugin dies,
// so a killed plugin (a timeout, a host that went away) leaves no worker.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
