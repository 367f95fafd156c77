package plugintest

import "testing"

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		desc string
		ci   string
		want bool
	}{
		{"unset or empty", "", false},
		{"GitHub Actions, GitLab", "true", true},
		{"other services", "1", true},
		{"any other value", "yes", true},
		{"switched off", "false", false},
		{"switched off with 0", "0", false},
	} {
		t.Setenv("CI", tc.ci)
		if got := InCI(); got != tc.want {
			t.Errorf("%s: CI=%q: InCI() = %v, want %v", tc.desc, tc.ci, got, tc.want)
		}
	}
}
