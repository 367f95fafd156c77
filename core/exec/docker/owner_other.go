//go:build !linux

package docker

import (
	"fmt"
	"os"
	"syscall"
)

// Without /proc, an owner cannot be told dead from alive: nothing is swept.

func selfOwner() (string, error) {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/unknown", host, os.Getpid()), nil
}

func ownerAlive(string) bool { return true }

func detached() *syscall.SysProcAttr { return nil }

// fileUID: owners are not checked here.
func fileUID(os.FileInfo) (uid int, known bool) { return -1, false }

func fileGID(os.FileInfo) (gid int, known bool) { return -1, false }
