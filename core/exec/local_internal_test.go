package exec

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestSweepSocketDirs: the socket directories of hosts that no longer run
// are removed; those of running hosts, and what is not ours, are kept.
func TestSweepSocketDirs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process liveness: Linux only")
	}
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		t.Helper()
		d := filepath.Join(tmp, name)
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, mode)
		if err := os.WriteFile(filepath.Join(d, "plugin123"), nil, 0o600); err != nil && mode&0o200 != 0 {
			t.Fatal(err)
		}
		return d
	}
	dead := mk(socketPrefix+strconv.Itoa(max+1), 0o700) // no process can have it
	self := mk(socketPrefix+strconv.Itoa(os.Getpid()), 0o700)
	parent := mk(socketPrefix+strconv.Itoa(os.Getppid()), 0o700)
	notOurs := mk(socketPrefix+strconv.Itoa(max+2), 0o755) // not a 0700 directory
	other := mk("dlcompat-plugins-x", 0o700)
	sweepSocketDirs(tmp)
	for _, tc := range []struct {
		desc, dir string
		kept      bool
	}{
		{"a host that no longer runs", dead, false},
		{"this host", self, true},
		{"a running host", parent, true},
		{"a directory that is not 0700", notOurs, true},
		{"a name without a pid", other, true},
	} {
		_, err := os.Stat(tc.dir)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: kept %v, want %v", tc.desc, kept, tc.kept)
		}
	}
}
