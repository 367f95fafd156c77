// Package testenv is the one rule for tests that need something from the
// machine (a Docker engine, an image, a framework, a browser): outside CI
// they may skip, saying how to install what is missing; in CI, and under
// `make test` (which installs everything first), they fail instead, so a
// missing install step can never turn into a quietly skipped check.
//
// It is for tests only, and imports nothing of this module: matrix's
// tests use it too (matrix's own code imports nothing from core).
package testenv

import (
	"os"
	"testing"
)

// EnvRequire is set to 1 by `make test` after scripts/setup.sh.
const EnvRequire = "DLCOMPAT_REQUIRE"

// Required reports whether skipping is forbidden: CI is set to anything
// but "", "false" or "0", or DLCOMPAT_REQUIRE is set likewise.
func Required() bool { return truthy(os.Getenv("CI")) || truthy(os.Getenv(EnvRequire)) }

func truthy(v string) bool { return v != "" && v != "false" && v != "0" }

// Need skips (or, when Required, fails) the test unless ok; why says what
// is missing and how to install it.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if Required() {
		t.Fatalf("%s (CI=%q %s=%q: this test must not skip)", why, os.Getenv("CI"), EnvRequire, os.Getenv(EnvRequire))
	}
	t.Skip(why)
}
