//go:build !linux

package exec

import (
	"errors"
	"os"
	osexec "os/exec"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// waitExit is not available here: the runner reaps with cmd.Wait alone.
func waitExit(int) error { return errors.ErrUnsupported }

// killTree kills the plugin process alone.
func killTree(cmd *osexec.Cmd) { _ = cmd.Process.Kill() }

// processAlive cannot tell here: every socket directory is kept.
func processAlive(int) bool { return true }

// ownedByMe cannot tell here; the 0700 mode check stands alone.
func ownedByMe(os.FileInfo) bool { return true }
