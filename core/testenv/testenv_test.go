package testenv

import "testing"

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		desc, ci, req string
		want          bool
	}{
		{"nothing set", "", "", false},
		{"CI=true", "true", "", true},
		{"CI=1", "1", "", true},
		{"CI=false", "false", "", false},
		{"CI=0", "0", "", false},
		{"make test", "", "1", true},
		{"require off", "", "0", false},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv(EnvRequire, tc.req)
		if got := Required(); got != tc.want {
			t.Errorf("%s: Required() = %v, want %v", tc.desc, got, tc.want)
		}
	}
}
