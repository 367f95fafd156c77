package gokit

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// A call's peak is its own: a large allocation in an earlier call does not
// show in the next one (the reason for resetting the high-water mark).
func TestCallMemoryIsTheCallsOwn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the per-call reset is Linux's /proc/self/clear_refs")
	}
	const big = 256 << 20
	m := startCallMemory()
	buf := make([]byte, big)
	for i := range buf {
		buf[i] = 1 // touch every page, so it is resident
	}
	first, kind := m.peak()
	if kind != pluginapi.MemoryCallPeakRSS {
		t.Fatalf("kind %q, want %q (is /proc/self/clear_refs writable?)", kind, pluginapi.MemoryCallPeakRSS)
	}
	if first < big {
		t.Fatalf("peak %d B during a call that touched %d B", first, big)
	}
	buf = nil
	runtime.GC()
	debug.FreeOSMemory() // give the pages back, so the resident set falls
	second, _ := startCallMemory().peak()
	if second >= first-big/2 {
		t.Errorf("second call's peak %d B still holds the first's %d B", second, first)
	}
}
