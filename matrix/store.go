package matrix

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrSchema marks a document this build cannot read: wrong schema version,
// not a run document at all, or one without what every run document has
// (see Decode). It is bad input (exit 2).
var ErrSchema = errors.New("unsupported results document")

// Read loads a run document and refuses any other schema version, and
// any file that is not a complete run document (see Decode).
func Read(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Decode parses a run document; name is used in errors. It refuses, with
// an error that matches ErrSchema and says what is wrong: anything that is
// not one JSON object (an array, a truncated file, a journal), another
// schema version, a document without the fields that every document
// dlcompat writes has (run_id, started, cells), and a cell whose status
// is not one of Statuses.
func Decode(name string, b []byte) (*Run, error) {
	// The fast path for the usual case; explain only looks at a document
	// that is not one this build reads.
	if r, ok := decodeRunFast(b); ok && r.SchemaVersion == SchemaVersion {
		if err := validate(name, r); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err := explain(name, b); err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, decodeError(name, err)
	}
	if err := validate(name, &r); err != nil {
		return nil, err
	}
	return &r, nil
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
type journalLine struct {
	Header *Run  `json:"header,omitempty"`
	Cell   *Cell `json:"cell,omitempty"`
}

// Journal appends finished cells to a file. Safe for concurrent use.
type Journal struct {
	mu sync.Mutex
	f  *os.File
}

// CreateJournal starts a new journal at path with the run's header.
func CreateJournal(path string, header *Run) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	h := *header
	h.Cells = nil
	j := &Journal{f: f}
	if err := j.write(journalLine{Header: &h}); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// AppendJournal reopens an existing journal to add cells (resume).
func AppendJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &Journal{f: f}, nil
}

func (j *Journal) write(l journalLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return err
	}
	return j.f.Sync()
}

// Add records a finished cell.
func (j *Journal) Add(c Cell) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.write(journalLine{Cell: &c})
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// ReadJournal returns the header and the cells of a journal. A torn last
// line (the process died mid-write) is ignored; anything else malformed is
// an error naming the line.
func ReadJournal(path string) (*Run, []Cell, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	lines := bytes.Split(b, []byte("\n"))
	var header *Run
	var cells []Cell
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var jl journalLine
		if err := json.Unmarshal(l, &jl); err != nil {
			if i == len(lines)-1 {
				break // torn final write
			}
			return nil, nil, fmt.Errorf("%s:%d: %w: %v", path, i+1, ErrSchema, err)
		}
		switch {
		case jl.Header != nil:
			if jl.Header.SchemaVersion != SchemaVersion {
				return nil, nil, fmt.Errorf("%s:%d: %w: schema_version %d, want %d", path, i+1, ErrSchema, jl.Header.SchemaVersion, SchemaVersion)
			}
			header = jl.Header
		case jl.Cell != nil:
			cells = append(cells, *jl.Cell)
		}
	}
	if header == nil {
		return nil, nil, fmt.Errorf("%s: %w: no header line", path, ErrSchema)
	}
	return header, cells, nil
}
