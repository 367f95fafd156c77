package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile, inside OutDir, is held (flock) by the run writing there, for
// its whole life: a second run, --force or --resume into the same
// directory is refused while it lives, and the kernel releases the lock
// however the holder ends, SIGKILL included.
const LockFile = ".dlcompat.lock"

// errLocked: another process holds the output directory.
var errLocked = errors.New("locked")

// dirLock is a held LockFile.
type dirLock struct{ f *os.File }

// lockOutDir takes dir's lock, or says which process holds it.
func lockOutDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: output directory: %v", ErrUsage, err)
	}
	if err := tryLock(f); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf("dlcompat (pid %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w: %s is in use: %s is running into it; wait for it to end, or choose another output directory with -o", ErrUsage, dir, holder)
		}
		return nil, fmt.Errorf("%w: locking %s: %v", ErrInfra, path, err)
	}
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid())
	}
	return &dirLock{f}, nil
}

// release drops the lock; the file stays (removing it would race with
// the next run opening it).
func (l *dirLock) release() {
	if l != nil {
		l.f.Close()
	}
}
