package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// terminalWidth reports whether f is a terminal (the TCGETS ioctl that
// golang.org/x/term's IsTerminal uses succeeds) and, if so, its width.
func terminalWidth(f *os.File) (int, bool) {
	fd := int(f.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return 0, false
	}
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 100, true
	}
	return int(ws.Col), true
}
