package matrix_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"

	"github.com/dlcompat/dlcompat/core/testenv"
)

// fullDisk is a journal file on a disk with room for limit bytes of it:
// a write past that writes what fits and fails with ENOSPC, as a full
// disk does. failTruncate makes cutting back fail too (the process is
// killed before it can).
type fullDisk struct {
	*os.File
	limit        int64
	failTruncate bool
}

func (d *fullDisk) WriteAt(b []byte, off int64) (int, error) {
	if off+int64(len(b)) <= d.limit {
		return d.File.WriteAt(b, off)
	}
	n := 0
	if room := d.limit - off; room > 0 {
		n, _ = d.File.WriteAt(b[:room], off)
	}
	return n, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
}

func (d *fullDisk) Truncate(size int64) error {
	if d.failTruncate {
		return errors.New("killed")
	}
	return d.File.Truncate(size)
}

var _ matrix.JournalFile = (*fullDisk)(nil)

// journalCells are the cells a run journals, with reasons of different
// lengths so that lines end at different offsets.
func journalCells(n int) []matrix.Cell {
	r := matrixtest.Fleet("j", 1, 2, (n+15)/16, nil)
	cells := r.Cells[:n]
	for i := range cells {
		cells[i].Reason = strings.Repeat("r", i*7%50)
	}
	return cells
}

// TestJournalSurvivesENOSPCAtAnyByte (issue 9, item 3): the disk fills up
// at a byte offset of the journal (every line end and 40 offsets drawn
// inside lines); the run goes on (for half the offsets the space comes
// back during it), is killed or ends, and resumes on a disk with room.
// Every cell whose Add returned nil is read back, once; a resumed run
// adds the rest; the journal stays readable throughout. Before, a
// resume appended onto the torn line (O_APPEND), and the journal was
// unreadable from then on.
func TestJournalSurvivesENOSPCAtAnyByte(t *testing.T) {
	header := matrixtest.EveryStatus()
	cells := journalCells(12)
	// The size of the journal when whole, to draw offsets from.
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	j, err := matrix.CreateJournal(whole, header)
	if err != nil {
		t.Fatal(err)
	}
	headerSize := fileSize(t, whole)
	var ends []int64
	for _, c := range cells {
		if err := j.Add(c); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, fileSize(t, whole))
	}
	j.Close()
	total := ends[len(ends)-1]
	offsets := append([]int64{headerSize, headerSize + 1}, ends...)
	rng := rand.New(rand.NewPCG(9, 9))
	for len(offsets) < len(ends)+2+40 {
		offsets = append(offsets, headerSize+rng.Int64N(total-headerSize))
	}
	for k, limit := range offsets {
		for _, killed := range []bool{false, true} {
			desc := fmt.Sprintf("disk full at byte %d of %d, killed %v", limit, total, killed)
			path := filepath.Join(dir, fmt.Sprintf("j-%d-%v.jsonl", k, killed))
			f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			disk := &fullDisk{File: f, limit: limit}
			j, err := matrix.CreateJournalOn(disk, header)
			if err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			written := map[matrix.CellKey]bool{}
			failed := 0
			for _, c := range cells {
				err := j.Add(c)
				if err == nil {
					written[c.CellKey] = true
					continue
				}
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("%s: %v", desc, err)
				}
				failed++
				if killed {
					disk.failTruncate = true
					break
				}
				if k%2 == 0 {
					disk.limit = 1 << 40 // space comes back during the run
				}
			}
			j.Close()
			// Resume: read, reopen, add what is missing.
			_, got, err := matrix.ReadJournal(path)
			if err != nil {
				t.Fatalf("%s: after the fault: %v", desc, err)
			}
			if len(got) != len(written) {
				t.Errorf("%s: %d cells read back, %d were written", desc, len(got), len(written))
			}
			for _, c := range got {
				if !written[c.CellKey] {
					t.Errorf("%s: %s read back, its Add failed", desc, c.CellKey)
				}
			}
			j, err = matrix.AppendJournal(path)
			if err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			for _, c := range cells {
				if !written[c.CellKey] {
					if err := j.Add(c); err != nil {
						t.Fatal(err)
					}
				}
			}
			j.Close()
			_, got, err = matrix.ReadJournal(path)
			if err != nil || len(got) != len(cells) {
				t.Errorf("%s: after the resume: %d cells of %d, %v", desc, len(got), len(cells), err)
			}
			if limit < total && failed == 0 {
				t.Errorf("%s: no write failed", desc)
			}
		}
	}
	t.Logf("%d fault offsets, each ended and killed", len(offsets))
}

// TestJournalNeverGluesOntoATornLine: a journal whose last write was cut
// short (a kill, a full disk) resumes, twice, and reads back whole. This
// failed before: the resumed run's first line was glued onto the
// fragment, and the journal was unreadable from then on.
func TestJournalNeverGluesOntoATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	cells := journalCells(6)
	j, err := matrix.CreateJournal(path, matrixtest.EveryStatus())
	if err != nil {
		t.Fatal(err)
	}
	j.Add(cells[0])
	j.Close()
	tear := func() {
		f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(`{"cell":{"framework":"f","sta`)
		f.Close()
	}
	for round, add := range [][]matrix.Cell{cells[1:3], cells[3:6]} {
		tear()
		if _, got, err := matrix.ReadJournal(path); err != nil || len(got) != 1+3*round-round {
			t.Fatalf("round %d, torn: %d cells, %v", round, len(got), err)
		}
		j, err := matrix.AppendJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range add {
			if err := j.Add(c); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
	}
	_, got, err := matrix.ReadJournal(path)
	if err != nil || len(got) != len(cells) {
		t.Fatalf("%d cells of %d, %v", len(got), len(cells), err)
	}
	// A journal that an older dlcompat glued: the line after the
	// fragment reads (the torn one is lost).
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	glued := lines[0] + lines[1][:len(lines[1])/2] + strings.Join(lines[2:], "")
	os.WriteFile(path, []byte(glued), 0o644)
	if _, got, err := matrix.ReadJournal(path); err != nil || len(got) != len(cells)-1 {
		t.Errorf("a glued journal: %d cells of %d, %v", len(got), len(cells)-1, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestJournalOnAFullTmpfs: the same on a real file system that fills up,
// a 64 KiB tmpfs (root only; in CI, and under make test, it must not
// skip): 20 runs whose lines end at different offsets of its pages, each
// journaling until ENOSPC, then resuming once the file system has room.
func TestJournalOnAFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		testenv.Need(t, false, "mounting a tmpfs needs root (CAP_SYS_ADMIN): "+err.Error())
	}
	t.Cleanup(func() { // before TempDir's removal: cleanups run last first
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	cells := journalCells(160)
	for trial := 0; trial < 20; trial++ {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=64k"); err != nil {
			t.Fatal(err)
		}
		header := matrixtest.EveryStatus()
		header.Notes = []string{strings.Repeat("n", trial*211)} // moves every line's offset
		path := filepath.Join(dir, "journal.jsonl")
		j, err := matrix.CreateJournal(path, header)
		if err != nil {
			t.Fatal(err)
		}
		written := map[matrix.CellKey]bool{}
		var failed error
		for _, c := range cells {
			if err := j.Add(c); err != nil {
				failed = err
				break
			}
			written[c.CellKey] = true
		}
		j.Close()
		if !errors.Is(failed, syscall.ENOSPC) {
			t.Fatalf("trial %d: %d cells journaled on a 64 KiB file system, then %v (want ENOSPC)", trial, len(written), failed)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=1m"); err != nil {
			t.Fatal(err)
		}
		_, got, err := matrix.ReadJournal(path)
		if err != nil || len(got) != len(written) {
			t.Fatalf("trial %d: %d cells read back of %d written, %v", trial, len(got), len(written), err)
		}
		j, err = matrix.AppendJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cells {
			if !written[c.CellKey] {
				if err := j.Add(c); err != nil {
					t.Fatal(err)
				}
			}
		}
		j.Close()
		if _, got, err = matrix.ReadJournal(path); err != nil || len(got) != len(cells) {
			t.Fatalf("trial %d: after the resume, %d cells of %d, %v", trial, len(got), len(cells), err)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}
