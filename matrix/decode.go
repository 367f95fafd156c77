package matrix

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"sync"
)

// The decoder reads a run document in one pass of the strict scanner
// (strict.go): from a file a window at a time, so that a document is
// never held whole in memory, only its decoded cells; the cells decoded
// on every core as the scan finds them. Everything but the cells array
// (the header: run ID, devices, frameworks…) is collected and decoded
// with encoding/json; the cells, split where the scanner found them, too.
// Since the scanner checks the whole document, keys included, what it
// returns is what a strict JSON parser sees. A document it refuses for
// its syntax, or one that does not decode, is explained from the whole
// file (explain, decodeError), as before.

var (
	runSchema  = schemaOf(reflect.TypeFor[Run]())
	cellSchema = runSchema.fields[runSchema.names["cells"]].elem
)

// window holds the input from byte base of the document: all of it
// (r nil), or the part of a file the scan is in.
type window struct {
	r    io.Reader
	buf  []byte
	n    int
	base int64
	eof  bool
	read int64
}

var errTooLarge = errors.New("document too large")

// initialWindow is the window's first size (it doubles while one value
// does not fit); a variable so that tests can make every value straddle.
var initialWindow = 1 << 20

// more keeps buf[keep:n], moved to the front, and reads on, growing the
// buffer when one value fills it.
func (w *window) more(keep int) error {
	if w.eof {
		return io.ErrUnexpectedEOF
	}
	if keep > 0 {
		copy(w.buf, w.buf[keep:w.n])
		w.n -= keep
		w.base += int64(keep)
	}
	if w.n == len(w.buf) {
		nb := make([]byte, 2*len(w.buf))
		copy(nb, w.buf[:w.n])
		w.buf = nb
	}
	// Fill the buffer (or reach the end): a value is scanned again from
	// its start after each read, so each read must at least double what
	// there is of it.
	m, err := io.ReadFull(w.r, w.buf[w.n:])
	w.n += m
	w.read += int64(m)
	switch {
	case w.read > maxDocumentBytes:
		return errTooLarge
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		w.eof = true
	case err != nil:
		return &readError{err}
	}
	return nil
}

// readError is the file failing, not its content.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// The decoder's states: where the next unit (a top-level member, a
// cell) starts.
const (
	stTop = iota
	stFirstMember
	stAfterMember
	stFirstCell
	stAfterCell
	stEnd
)

// decodeRun decodes the document in w. A *strictError, a too-large error
// or an I/O error is final; any other error means the document is not
// one this reader takes, and the caller explains it from the whole.
func decodeRun(w *window) (*Run, error) {
	head := make([]byte, 0, 4096)
	head = append(head, '{')
	ks := keySet{own: true}
	var cells cellDecoder
	defer cells.stop()
	state, pos, members := stTop, 0, 0
	for {
		s := scanner{b: w.buf[:w.n], base: w.base}
		next, nextState, err := decodeUnit(&s, state, pos, &ks, &head, &members, &cells, w.r == nil)
		if err == nil {
			state, pos = nextState, next
			continue
		}
		if err != errMore {
			return nil, err
		}
		if state == stEnd && (w.r == nil || w.eof) {
			break
		}
		if int64(w.n-pos) > maxValueBytes {
			if state == stFirstCell || state == stAfterCell {
				return nil, &strictError{msg: "cell " + itoa(cells.n+1) + " is larger than " + fmtBytes(maxValueBytes) + ": no cell is; is it the right file?"}
			}
			return nil, &strictError{msg: "a value at byte " + itoa64(w.base+int64(pos)+1) + " is larger than " + fmtBytes(maxValueBytes) + ": no field of a results document is"}
		}
		if w.r == nil {
			return nil, io.ErrUnexpectedEOF
		}
		if err := w.more(pos); err != nil {
			return nil, err
		}
		pos = 0
	}
	head = append(head, '}')
	var r Run
	if err := json.Unmarshal(head, &r); err != nil {
		return nil, err
	}
	all, err := cells.finish()
	if err != nil {
		return nil, err
	}
	if r.Cells != nil && all != nil { // else: "cells": [] or no cells
		r.Cells = all
	}
	return &r, nil
}

func itoa(n int) string { return itoa64(int64(n)) }

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// decodeUnit scans one unit from pos in state; it returns where the next
// starts and its state, or errMore (always at the end, in stEnd: only
// the caller knows whether the input ends there).
// Nothing is committed (keys, head, cells) unless the unit is complete.
func decodeUnit(s *scanner, state, pos int, ks *keySet, head *[]byte, members *int, cells *cellDecoder, stable bool) (int, int, error) {
	b := s.b
	i := s.ws(pos)
	if i == len(b) {
		return i, state, errMore
	}
	switch state {
	case stTop:
		if b[i] != '{' {
			return i, state, s.syntax(i)
		}
		return i + 1, stFirstMember, nil
	case stFirstMember, stAfterMember:
		if b[i] == '}' {
			return i + 1, stEnd, nil
		}
		var err error
		if i, err = s.comma(i, state == stAfterMember); err != nil {
			return pos, state, err
		}
		key, end, err := s.keyAt(i)
		if err != nil {
			return pos, state, err
		}
		child, err := s.key(runSchema, ks, key, i, false)
		if err != nil {
			return pos, state, err
		}
		j, err := s.colon(end)
		if err != nil {
			return pos, state, err
		}
		if j = s.ws(j); j == len(b) {
			return pos, state, errMore
		}
		if string(key) == "cells" && b[j] == '[' {
			s.key(runSchema, ks, key, i, true)
			if *members > 0 {
				*head = append(*head, ',')
			}
			*members++
			*head = append(*head, `"cells":[]`...)
			return j + 1, stFirstCell, nil
		}
		vend, err := s.value(j, child)
		if err != nil {
			return pos, state, err
		}
		if int64(vend-i) > maxValueBytes {
			return pos, state, &strictError{msg: "the value of " + string(b[i:end]) + " is larger than " + fmtBytes(maxValueBytes) + ": no field of a results document is"}
		}
		s.key(runSchema, ks, key, i, true)
		if *members > 0 {
			*head = append(*head, ',')
		}
		*members++
		*head = append(*head, b[i:vend]...)
		return vend, stAfterMember, nil
	case stFirstCell, stAfterCell:
		if b[i] == ']' {
			return i + 1, stAfterMember, nil
		}
		var err error
		if i, err = s.comma(i, state == stAfterCell); err != nil {
			return pos, state, err
		}
		end, err := s.value(i, cellSchema)
		if err != nil {
			return pos, state, err
		}
		if int64(end-i) > maxValueBytes {
			return pos, state, &strictError{msg: "cell " + itoa(cells.n+1) + " is larger than " + fmtBytes(maxValueBytes) + ": no cell is; is it the right file?"}
		}
		cells.add(b[i:end], stable)
		return end, stAfterCell, nil
	case stEnd:
		return i, state, s.syntax(i) // a second value
	}
	panic("matrix: bad decoder state")
}

// comma scans the comma before a member or an element that is not the
// first, and the white space after it.
func (s *scanner) comma(i int, want bool) (int, error) {
	if !want {
		return i, nil
	}
	if s.b[i] != ',' {
		return i, s.syntax(i)
	}
	if i = s.ws(i + 1); i == len(s.b) {
		return i, errMore
	}
	return i, nil
}

// cellDecoder decodes cells in batches on every core, in the order they
// were added.
type cellDecoder struct {
	strings interner
	n       int // cells added
	cur     *cellBatch
	work    chan *cellBatch
	wg      sync.WaitGroup
	mu      sync.Mutex
	batches []*cellBatch
}

type cellBatch struct {
	idx   int
	elems [][]byte
	data  []byte // the elements' bytes, when they were copied
	ends  []int
	cells []Cell
	err   error
}

const batchBytes = 1 << 20

// add queues one cell's JSON; stable says it stays valid (a document in
// memory), so it need not be copied.
func (d *cellDecoder) add(elem []byte, stable bool) {
	if d.cur == nil {
		d.cur = &cellBatch{idx: len(d.batches)}
		d.batches = append(d.batches, nil)
	}
	if stable {
		d.cur.elems = append(d.cur.elems, elem)
	} else {
		d.cur.data = append(d.cur.data, elem...)
		d.cur.ends = append(d.cur.ends, len(d.cur.data))
	}
	d.n++
	if len(d.cur.elems)+len(d.cur.ends) == chunkCells || len(d.cur.data) >= batchBytes {
		d.flush()
	}
}

func (d *cellDecoder) flush() {
	if d.cur == nil {
		return
	}
	if d.work == nil {
		workers := runtime.GOMAXPROCS(0)
		d.work = make(chan *cellBatch, workers)
		for range workers {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				for b := range d.work {
					b.decode()
					d.strings.cells(b.cells)
					d.mu.Lock()
					d.batches[b.idx] = b
					d.mu.Unlock()
				}
			}()
		}
	}
	d.work <- d.cur
	d.cur = nil
}

func (b *cellBatch) decode() {
	n := len(b.elems) + len(b.ends)
	b.cells = make([]Cell, n)
	from := 0
	for k := 0; k < n; k++ {
		var elem []byte
		if b.elems != nil {
			elem = b.elems[k]
		} else {
			elem = b.data[from:b.ends[k]]
			from = b.ends[k]
		}
		if err := json.Unmarshal(elem, &b.cells[k]); err != nil {
			b.err = err
			break
		}
	}
	b.elems, b.data, b.ends = nil, nil, nil
}

// interner makes the strings that repeat from cell to cell (keys,
// statuses, tensor and series names, a skip's reason) one string each:
// encoding/json allocates every one anew, and a run's cells hold
// millions of them. It keeps at most internMax strings, each short, so
// that a document of unique strings costs nothing more.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

const internMax = 1 << 16

func (in *interner) cells(cells []Cell) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.m == nil {
		in.m = map[string]string{}
	}
	for i := range cells {
		c := &cells[i]
		for _, p := range []*string{&c.Framework, &c.FrameworkVersion, &c.Device, &c.Model, &c.Check, &c.Precision,
			(*string)(&c.Status), &c.Reason, &c.Worst, &c.FirstDivergingLayer, &c.MemoryKind} {
			in.intern(p)
		}
		for k := range c.Tensors {
			in.intern(&c.Tensors[k].Name)
		}
		for k := range c.Timings {
			t := &c.Timings[k]
			in.intern(&t.Name)
			in.intern(&t.Unit)
			in.intern(&t.Better)
		}
	}
}

func (in *interner) intern(p *string) {
	if *p == "" || len(*p) > 256 {
		return
	}
	if s, ok := in.m[*p]; ok {
		*p = s
		return
	}
	if len(in.m) < internMax {
		in.m[*p] = *p
	}
}

// stop ends the workers (after an error, or after finish).
func (d *cellDecoder) stop() {
	if d.work != nil {
		close(d.work)
		d.wg.Wait()
		d.work = nil
	}
}

// finish decodes what is queued and returns every cell in order; nil
// when none was added.
func (d *cellDecoder) finish() ([]Cell, error) {
	d.flush()
	d.stop()
	if d.n == 0 {
		return nil, nil
	}
	for _, b := range d.batches {
		if b.err != nil {
			return nil, b.err
		}
	}
	if len(d.batches) == 1 {
		return d.batches[0].cells, nil
	}
	all := make([]Cell, 0, d.n)
	for i, b := range d.batches {
		all = append(all, b.cells...)
		d.batches[i] = nil
	}
	return all, nil
}

// decodeDoc decodes a document, refusing what a strict parser refuses and
// what validate does; whole gives the whole document to explain an error
// with (nil when it cannot be had).
func decodeDoc(name string, w *window, whole func() []byte) (*Run, error) {
	r, err := decodeRun(w)
	if err == nil && r.SchemaVersion == SchemaVersion {
		if err := validate(name, r); err != nil {
			return nil, err
		}
		return r, nil
	}
	var se *strictError
	var re *readError
	switch {
	case errors.As(err, &se):
		return nil, docErrorf(name, "%s", se.msg)
	case errors.Is(err, errTooLarge):
		return nil, tooLarge(name)
	case errors.As(err, &re):
		return nil, re.err
	}
	// Not a document this build reads: say why, in its terms.
	if b := whole(); b != nil {
		if e := explain(name, b); e != nil {
			return nil, e
		}
		var plain Run
		if e := json.Unmarshal(b, &plain); e != nil {
			return nil, decodeError(name, e)
		}
	}
	if err == nil {
		return nil, docErrorf(name, "schema_version %d, this dlcompat reads %d; use the dlcompat release that wrote it", r.SchemaVersion, SchemaVersion)
	}
	var syn *syntaxError
	if errors.As(err, &syn) {
		return nil, docErrorf(name, "not JSON at byte %d; is this a dlcompat results file?", syn.off)
	}
	return nil, docErrorf(name, "cannot read the document: %v", err)
}

func tooLarge(name string) error {
	return docErrorf(name, "larger than %s: no results document is (a 200,000-cell run is about 300 MB); is it the right file?", fmtBytes(maxDocumentBytes))
}

// readDoc reads the document at path a window at a time.
func readDoc(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := initialWindow
	if st.Mode().IsRegular() {
		if st.Size() > maxDocumentBytes {
			return nil, tooLarge(path)
		}
		size = int(min(int64(size), st.Size()+1, maxDocumentBytes+1))
		size = max(size, min(512, initialWindow))
	}
	w := &window{r: f, buf: make([]byte, size)}
	return decodeDoc(path, w, func() []byte {
		if !st.Mode().IsRegular() {
			if w.base == 0 {
				return w.buf[:w.n]
			}
			return nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(f, maxDocumentBytes))
		if err != nil {
			return nil
		}
		return b
	})
}
