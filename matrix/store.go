package matrix

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
)

// ErrSchema marks a document this build cannot read: wrong schema version,
// not a run document at all, or one without what every run document has
// (see Decode). It is bad input (exit 2).
var ErrSchema = errors.New("unsupported results document")

// Read loads a run document and refuses any other schema version, and
// any file that is not a complete run document (see Decode). It reads
// the file a window at a time (decode.go): what it holds is the decoded
// run, not the document's bytes.
func Read(path string) (*Run, error) { return readDoc(path) }

// Decode parses a run document; name is used in errors. It refuses, with
// an error that matches ErrSchema and says what is wrong: anything that is
// not one JSON object (an array, a truncated file, a journal), another
// schema version, a document without the fields that every document
// dlcompat writes has (run_id, started, cells), a cell whose status is
// not one of Statuses, and two cells of one CellKey. It sees what a
// strict JSON parser sees: a key twice in one object, a key that is a
// field's name only when case is ignored, and invalid UTF-8 are refused
// (strict.go), and so is a document past the size caps (4 GiB; 64 MiB
// for one cell or one other field).
func Decode(name string, b []byte) (*Run, error) {
	if int64(len(b)) > maxDocumentBytes {
		return nil, tooLarge(name)
	}
	return decodeDoc(name, &window{buf: b, n: len(b), eof: true}, func() []byte { return b })
}

// WriteJSON writes the run as JSON: the top level indented, a cell per
// line (see codec.go).
func WriteJSON(w io.Writer, r *Run) error { return writeRunJSON(w, r) }

// WriteFileAtomic writes path through a temporary file and a rename, so a
// reader (or a crash) never sees half a file.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; results and reports are for
	// everyone to read (a web server publishing report.html, a CI upload).
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// The journal is JSON lines: a header line holding the run without its
// cells, then one line per finished cell, each fsynced, so a killed run
// loses nothing that finished.
//
// A line is whole or it is not there. A write cut short (a full disk, a
// kill) leaves a fragment after the last newline: a JSON object cut
// anywhere is not a JSON object, so a fragment never reads as a line.
// The writer never writes after a fragment: each line goes where the last
// complete one ended (WriteAt, not O_APPEND), a failed write is cut back
// (Truncate) before the next one, and AppendJournal cuts a fragment it
// finds at the end. The reader ignores a fragment at the end, and reads
// the line that an older dlcompat glued onto one (its O_APPEND did).
type journalLine struct {
	Header *Run  `json:"header,omitempty"`
	Cell   *Cell `json:"cell,omitempty"`
}

var journalSchema = schemaOf(reflect.TypeFor[journalLine]())

// journalFile is what a Journal writes to: an *os.File, or in tests one
// whose disk fills up.
type journalFile interface {
	io.WriterAt
	io.ReaderAt
	Truncate(size int64) error
	Sync() error
	Close() error
}

// Journal appends finished cells to a file. Safe for concurrent use.
type Journal struct {
	mu sync.Mutex
	f  journalFile
	// size is where the complete lines end, and the next line starts.
	size int64
	// torn: bytes of a failed write may lie past size; cut them first.
	torn bool
}

// CreateJournal starts a new journal at path with the run's header.
func CreateJournal(path string, header *Run) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return createJournal(f, header)
}

func createJournal(f journalFile, header *Run) (*Journal, error) {
	h := *header
	h.Cells = nil
	j := &Journal{f: f}
	if err := j.write(journalLine{Header: &h}); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// AppendJournal reopens an existing journal to add cells (resume). A
// fragment at its end, a line that a full disk or a kill cut short, is
// cut off first (a whole line without its newline gets the newline), so
// that nothing is ever glued onto it.
func AppendJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	j, err := appendJournal(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}

func appendJournal(f journalFile) (*Journal, error) {
	size, err := fileSize(f)
	if err != nil {
		return nil, err
	}
	// The last newline, reading back from the end a block at a time.
	end := int64(0)
	buf := make([]byte, 64<<10)
	for at := size; at > 0 && end == 0; {
		n := min(int64(len(buf)), at)
		at -= n
		if _, err := f.ReadAt(buf[:n], at); err != nil {
			return nil, err
		}
		if k := bytes.LastIndexByte(buf[:n], '\n'); k >= 0 {
			end = at + int64(k) + 1
		}
		if size-at > maxValueBytes {
			break // past any line: what follows end is not one
		}
	}
	j := &Journal{f: f, size: end}
	if end == size {
		return j, nil
	}
	if size-end <= maxValueBytes {
		tail := make([]byte, size-end)
		if _, err := f.ReadAt(tail, end); err != nil {
			return nil, err
		}
		if _, err := decodeJournalLine(tail); err == nil {
			// A whole line whose newline was not written: keep it.
			if _, err := f.WriteAt([]byte{'\n'}, size); err == nil && f.Sync() == nil {
				j.size = size + 1
				return j, nil
			}
		}
	}
	if err := f.Truncate(end); err != nil {
		return nil, fmt.Errorf("cannot cut the torn line at the end of the journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return j, nil
}

func fileSize(f journalFile) (int64, error) {
	if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		fi, err := st.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	if sk, ok := f.(io.Seeker); ok {
		return sk.Seek(0, io.SeekEnd)
	}
	return 0, errors.New("journal: cannot tell the file's size")
}

func (j *Journal) write(l journalLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if j.torn {
		// What a failed write left past the last line goes first, so that
		// this line cannot be glued onto it.
		if err := j.f.Truncate(j.size); err != nil {
			return fmt.Errorf("journal: cannot cut back a failed write: %w", err)
		}
		j.torn = false
	}
	n, err := j.f.WriteAt(b, j.size)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		// Not written, or not known to be on disk: cut it back now (a
		// full disk still truncates), and again before the next line if
		// that fails too.
		j.torn = j.f.Truncate(j.size) != nil
		return err
	}
	j.size += int64(n)
	return nil
}

// Add records a finished cell.
func (j *Journal) Add(c Cell) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.write(journalLine{Cell: &c})
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// decodeJournalLine reads one line (without its newline) as strictly as
// a run document (strict.go).
func decodeJournalLine(l []byte) (journalLine, error) {
	var jl journalLine
	s := scanner{b: l}
	end, err := s.value(0, journalSchema)
	if err == errMore {
		return jl, io.ErrUnexpectedEOF
	}
	if err != nil {
		return jl, err
	}
	if k := s.ws(end); k < len(l) {
		return jl, s.syntax(k)
	}
	if err := json.Unmarshal(l, &jl); err != nil {
		return jl, err
	}
	return jl, nil
}

// ReadJournal returns the header and the cells of a journal. A torn last
// line (the process died, or the disk filled up, mid-write) is ignored,
// and so is the fragment of one that an older dlcompat glued the next
// line onto; anything else malformed is an error naming the line, and so
// are a second header line, a cell with an unknown status and two cells
// of one key (the journal of a run holds each cell once). It reads the
// file a line at a time, each at most 64 MiB.
func ReadJournal(path string) (*Run, []Cell, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var header *Run
	headerLine := 0
	var cells []Cell
	lineOf := map[CellKey]int{}
	var read int64
	for i := 1; ; i++ {
		l, complete, err := readLine(br)
		read += int64(len(l)) + 1
		switch {
		case err == errTooLarge:
			return nil, nil, fmt.Errorf("%s:%d: %w: a line larger than %s: no journal line is; is it the right file?", path, i, ErrSchema, fmtBytes(maxValueBytes))
		case err != nil:
			return nil, nil, err
		case read > maxDocumentBytes+1:
			return nil, nil, fmt.Errorf("%s: %w: larger than %s: no journal is; is it the right file?", path, ErrSchema, fmtBytes(maxDocumentBytes))
		}
		if len(bytes.TrimSpace(l)) == 0 {
			if !complete {
				break
			}
			continue
		}
		jl, err := decodeJournalLine(l)
		if err != nil && complete {
			// An older dlcompat appended after a torn line: the line
			// that follows the fragment is whole.
			for _, start := range [][]byte{[]byte(`{"cell":`), []byte(`{"header":`)} {
				if k := bytes.LastIndex(l, start); k > 0 {
					if g, gerr := decodeJournalLine(l[k:]); gerr == nil {
						jl, err = g, nil
						break
					}
				}
			}
		}
		if err != nil {
			if !complete {
				break // torn final write
			}
			var se *strictError
			if errors.As(err, &se) {
				return nil, nil, fmt.Errorf("%s:%d: %w: %s", path, i, ErrSchema, se.msg)
			}
			return nil, nil, fmt.Errorf("%s:%d: %w: %v", path, i, ErrSchema, err)
		}
		switch {
		case jl.Header != nil:
			if header != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w: a second header line (the first is line %d); a journal is one run's", path, i, ErrSchema, headerLine)
			}
			if jl.Header.SchemaVersion != SchemaVersion {
				return nil, nil, fmt.Errorf("%s:%d: %w: schema_version %d, want %d", path, i, ErrSchema, jl.Header.SchemaVersion, SchemaVersion)
			}
			header, headerLine = jl.Header, i
		case jl.Cell != nil:
			c := jl.Cell
			if !validStatus(c.Status) {
				return nil, nil, fmt.Errorf("%s:%d: %w: cell %s has status %q; valid statuses: %s", path, i, ErrSchema, c.CellKey, c.Status, statusList())
			}
			if prev, ok := lineOf[c.CellKey]; ok {
				return nil, nil, fmt.Errorf("%s:%d: %w: cell %s (precision %s) is on line %d too: a journal holds each cell once (written by two runs at once, or edited?)", path, i, ErrSchema, c.CellKey, cmp.Or(c.Precision, "-"), prev)
			}
			lineOf[c.CellKey] = i
			cells = append(cells, *c)
		}
		if !complete {
			break
		}
	}
	if header == nil {
		return nil, nil, fmt.Errorf("%s: %w: no header line", path, ErrSchema)
	}
	return header, cells, nil
}

// readLine reads a line; complete is false when the input ended before
// its newline (the last line). A line over maxValueBytes is errTooLarge.
func readLine(br *bufio.Reader) (line []byte, complete bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if int64(len(line)+len(chunk)) > maxValueBytes+1 {
			return nil, false, errTooLarge
		}
		switch err {
		case nil:
			if line == nil {
				return chunk[:len(chunk)-1], true, nil // valid until the next read
			}
			line = append(line, chunk[:len(chunk)-1]...)
			return line, true, nil
		case bufio.ErrBufferFull:
			line = append(line, chunk...)
		case io.EOF:
			return append(line, chunk...), false, nil
		default:
			return nil, false, err
		}
	}
}
