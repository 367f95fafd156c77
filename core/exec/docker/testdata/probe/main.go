// Command probe is a hostile plugin for the docker executor's tests: run as
// a container's entrypoint (in place of a real plugin, with the executor's
// real container configuration), it tries what a hostile plugin would and
// prints what it achieved on stdout, one "key value" line per fact, so a
// test can read how far it got even when the kernel kills it.
//
//	probe identity   uid, gid, and what it could plant in the socket directory;
//	                 then it waits for the host to create "release" there
//	probe threads N  start N OS threads (the pids limit counts them)
//	probe memory N   allocate and touch N MiB
//	probe tmp N      write N MiB into /tmp
//
// It is static (CGO_ENABLED=0) and uses the standard library only, so it
// runs in the FROM-scratch gorgonia image.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe identity | threads N | memory MiB | tmp MiB")
		os.Exit(2)
	}
	n := 0
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	switch os.Args[1] {
	case "identity":
		identity()
	case "threads":
		threads(n)
	case "memory":
		memory(n)
	case "tmp":
		tmp(n)
	default:
		fmt.Fprintf(os.Stderr, "unknown probe %q\n", os.Args[1])
		os.Exit(2)
	}
}

func report(key string, err error) {
	if err != nil {
		fmt.Printf("%s refused: %v\n", key, err)
		return
	}
	fmt.Printf("%s done\n", key)
}

// identity plants what it can in the socket directory that the host
// shares with the container.
func identity() {
	fmt.Printf("uid %d\ngid %d\n", os.Getuid(), os.Getgid())
	dir := os.Getenv("PLUGIN_UNIX_SOCKET_DIR")
	if dir == "" {
		fmt.Println("no PLUGIN_UNIX_SOCKET_DIR")
		os.Exit(1)
	}
	planted := filepath.Join(dir, "planted")
	err := os.WriteFile(planted, []byte("#!/bin/sh\nid\n"), 0o755)
	if err == nil {
		err = os.Chmod(planted, 0o755|os.ModeSetuid|os.ModeSetgid)
	}
	report("setuid-file", err)
	report("chown-root", os.Chown(planted, 0, 0))
	_, err = os.ReadDir(dir)
	report("list", err)
	report("remove-host-file", os.Remove(filepath.Join(dir, "host-file")))
	report("replace-host-file", os.Rename(planted, filepath.Join(dir, "host-file")))
	report("symlink", os.Symlink("/var/run/docker.sock", filepath.Join(dir, "plugin-link")))
	report("fifo", syscall.Mkfifo(filepath.Join(dir, "plugin-fifo"), 0o666))
	report("mknod", syscall.Mknod(filepath.Join(dir, "plugin-dev"), syscall.S_IFCHR|0o666, 1<<8|3))
	// Wait (a minute at most) for the host to look at the container.
	fmt.Println("waiting")
	for i := 0; i < 600; i++ {
		if _, err := os.Stat(filepath.Join(dir, "release")); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("never released")
	os.Exit(1)
}

// threads starts n threads, each locked to a goroutine that blocks: the
// runtime cannot reuse them, so each needs a new one (a pids-cgroup task).
// Past the limit the runtime dies ("failed to create new OS thread").
func threads(n int) {
	started := make(chan struct{})
	block := make(chan struct{})
	for i := 1; i <= n; i++ {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			<-block
		}()
		<-started
		fmt.Printf("threads %d\n", i)
	}
	fmt.Println("threads all")
}

// memory allocates n MiB and writes every page.
func memory(n int) {
	var keep [][]byte
	for i := 1; i <= n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
		fmt.Printf("memory %d\n", i)
	}
	fmt.Println("memory all", len(keep))
}

// tmp writes n MiB into /tmp.
func tmp(n int) {
	f, err := os.Create("/tmp/fill")
	if err != nil {
		report("tmp-create", err)
		os.Exit(1)
	}
	b := make([]byte, 1<<20)
	for i := 1; i <= n; i++ {
		if _, err := f.Write(b); err != nil {
			report("tmp-write", err)
			os.Exit(1)
		}
		if err := f.Sync(); err != nil {
			report("tmp-sync", err)
			os.Exit(1)
		}
		fmt.Printf("tmp %d\n", i)
	}
	fmt.Println("tmp all")
}
