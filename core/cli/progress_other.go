//go:build !linux

package cli

import "os"

// terminalWidth reports whether f is a character device, the nearest
// portable sign of a terminal, and assumes 100 columns.
func terminalWidth(f *os.File) (int, bool) {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return 0, false
	}
	return 100, true
}
