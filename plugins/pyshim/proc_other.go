//go:build !linux

package pyshim

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
