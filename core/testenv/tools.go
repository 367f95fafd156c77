package testenv

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
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

// EnvScreenshotDir, when set, is where the tests keep their screenshots
// (CI collects them; the PNGs in docs/ were taken so).
const EnvScreenshotDir = "DLCOMPAT_SCREENSHOT_DIR"

// Screenshot has Chromium render page (a file) at width×height into name,
// under $DLCOMPAT_SCREENSHOT_DIR or else a temporary directory, and fails
// the test unless the result is a PNG of that size with colours in it (a
// blank page has one or two). It returns the screenshot's path.
func Screenshot(t testing.TB, name string, width, height int, page string) string {
	t.Helper()
	dir := os.Getenv(EnvScreenshotDir)
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, name)
	Chromium(t, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", width, height), "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("screenshot %s is %v, want %dx%d", name, b, width, height)
	}
	colours := map[uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot %s has %d colours: blank?", name, len(colours))
	}
	t.Logf("screenshot: %s", shot)
	return shot
}
