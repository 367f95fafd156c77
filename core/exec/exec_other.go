//go:build !linux

package exec

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
