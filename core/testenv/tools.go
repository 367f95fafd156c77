package testenv

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"
)

// NeedTool returns the path of a program a test needs (looked up in PATH,
// or a path as given); without it the test skips or fails as Need says,
// with how to install it.
func NeedTool(t testing.TB, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Need(t, err == nil, name+" not found; "+how)
	return p
}

// Chromium runs Debian's headless Chromium (scripts/setup.d/40-chromium.sh)
// with args after the flags that work as root in a container, with a
// fresh profile and 3 s of virtual time for the page's scripts, and
// returns what it printed (--dump-dom's DOM). A failure fails the test.
func Chromium(t testing.TB, args ...string) []byte {
	t.Helper()
	bin := NeedTool(t, "chromium", "run scripts/setup.d/40-chromium.sh (make test does)")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=3000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}
