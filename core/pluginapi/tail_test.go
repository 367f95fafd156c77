package pluginapi

import "testing"

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		desc, s, first, last, last2 string
	}{
		{desc: "empty"},
		{desc: "one line", s: "boom", first: "boom", last: "boom", last2: "boom"},
		{desc: "trailing newlines and blanks", s: "a\nb\nc\n\n  \n", first: "a", last: "c", last2: "\n  "},
		{desc: "three lines", s: "a\nb\nc\n", first: "a", last: "c", last2: "b\nc"},
	} {
		if got := FirstLine(tc.s); got != tc.first {
			t.Errorf("%s: FirstLine %q, want %q", tc.desc, got, tc.first)
		}
		if got := LastLine(tc.s); got != tc.last {
			t.Errorf("%s: LastLine %q, want %q", tc.desc, got, tc.last)
		}
		if got := LastLines(tc.s, 2); got != tc.last2 {
			t.Errorf("%s: LastLines(2) %q, want %q", tc.desc, got, tc.last2)
		}
	}
}
