package gokit

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// callMemory measures the plugin process's peak resident set during one
// call (docs/spec.md §7.5): on the CPU the nearest honest figure to "peak
// device memory". On Linux it resets the kernel's high-water mark when the
// call starts (writing 5 to /proc/self/clear_refs) and reads VmHWM when it
// ends, so an earlier, larger call does not leak into this one. Where the
// reset is refused it falls back to the process's peak since it started.
type callMemory struct{ reset bool }

// startCallMemory is called when the call starts.
func startCallMemory() callMemory {
	return callMemory{reset: os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil}
}

// peak is the peak resident set since startCallMemory, and its kind.
func (m callMemory) peak() (int64, string) {
	if m.reset {
		if b, ok := vmHWM(); ok {
			return b, pluginapi.MemoryCallPeakRSS
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, ""
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss, pluginapi.MemoryProcessMaxRSS
	}
	return ru.Maxrss * 1024, pluginapi.MemoryProcessMaxRSS
}

// vmHWM reads the peak resident set from /proc/self/status, in bytes.
func vmHWM() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
		return kb * 1024, err == nil
	}
	return 0, false
}
