package matrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// The run document is written with its top level indented and one cell
// per line, compact: a 100,000-cell run is a third smaller than fully
// indented JSON, and still greppable and line-diffable. Reading splits
// the cells array at its elements and decodes them on every core. Any
// valid JSON reads (a fully indented document, one written by hand); the
// split is only a faster path to the same result.

// cellsPlaceholder is how a nil Cells field marshals at the top level of
// an indented Run; nested objects are indented deeper, and quotes inside
// strings are escaped, so it cannot match anything else.
var cellsPlaceholder = []byte("\n  \"cells\": null")

func writeRunJSON(w io.Writer, r *Run) error {
	head := *r
	head.Cells = nil
	hb, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	i := bytes.LastIndex(hb, cellsPlaceholder)
	if i < 0 {
		return errors.New("matrix: cannot place the cells in the document")
	}
	chunks := make([][]byte, (len(r.Cells)+chunkCells-1)/chunkCells)
	errs := make([]error, len(chunks))
	parallel(len(chunks), func(k int) {
		var b bytes.Buffer
		for j := k * chunkCells; j < min(len(r.Cells), (k+1)*chunkCells); j++ {
			cb, err := json.Marshal(&r.Cells[j])
			if err != nil {
				errs[k] = err
				return
			}
			b.WriteString("    ")
			b.Write(cb)
			if j < len(r.Cells)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		chunks[k] = b.Bytes()
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if _, err := w.Write(hb[:i]); err != nil {
		return err
	}
	if len(r.Cells) == 0 {
		_, err = io.WriteString(w, "\n  \"cells\": []")
	} else {
		_, err = io.WriteString(w, "\n  \"cells\": [\n")
		for _, c := range chunks {
			if err == nil {
				_, err = w.Write(c)
			}
		}
		if err == nil {
			_, err = io.WriteString(w, "  ]")
		}
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(hb[i+len(cellsPlaceholder):]); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

const chunkCells = 512

// decodeRunFast decodes b split at the elements of its top-level "cells"
// array, the cells in parallel. ok is false when b does not have the
// expected shape or does not decode: the caller then decodes it the
// plain way, which also explains what is wrong.
func decodeRunFast(b []byte) (*Run, bool) {
	start, end, elems, ok := splitCellLines(b)
	if !ok {
		start, end, elems, ok = splitCells(b)
	}
	if !ok {
		return nil, false
	}
	var r Run
	head := make([]byte, 0, start+2+len(b)-end)
	head = append(append(append(head, b[:start]...), "[]"...), b[end:]...)
	if err := json.Unmarshal(head, &r); err != nil {
		return nil, false
	}
	r.Cells = make([]Cell, len(elems))
	chunks := (len(elems) + chunkCells - 1) / chunkCells
	failed := make([]bool, chunks)
	parallel(chunks, func(k int) {
		for j := k * chunkCells; j < min(len(elems), (k+1)*chunkCells); j++ {
			if err := json.Unmarshal(b[elems[j][0]:elems[j][1]], &r.Cells[j]); err != nil {
				failed[k] = true
				return
			}
		}
	})
	for _, f := range failed {
		if f {
			return nil, false
		}
	}
	return &r, true
}

// cellsOpen and cellsClose frame the cells array as WriteJSON lays it out.
var (
	cellsOpen  = []byte("\n  \"cells\": [\n")
	cellsClose = []byte("  ]")
)

// splitCellLines splits the cells array of a document laid out as
// WriteJSON writes it, a cell per line, at its line ends: far quicker
// than scanning every byte. JSON strings cannot hold a raw newline, so a
// line is an element whenever the layout is WriteJSON's; a document laid
// out otherwise is not recognised (ok is false), and an element that is
// not one fails to decode, which sends the document to the plain path.
func splitCellLines(b []byte) (start, end int, elems [][2]int, ok bool) {
	// The first match is the top-level key: nested keys are indented
	// deeper, and the header before the cells is short.
	i := bytes.Index(b, cellsOpen)
	if i < 0 {
		return 0, 0, nil, false
	}
	start = i + len(cellsOpen) - 2 // the '['
	pos := i + len(cellsOpen)
	for {
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			return 0, 0, nil, false
		}
		line := b[pos : pos+nl]
		if bytes.Equal(line, cellsClose) || bytes.HasPrefix(line, []byte("  ],")) {
			end = pos + len(cellsClose)
			break
		}
		if !bytes.HasPrefix(line, []byte("    {")) {
			return 0, 0, nil, false
		}
		e := len(line)
		if line[e-1] == ',' {
			e--
		}
		if line[e-1] != '}' {
			return 0, 0, nil, false
		}
		// Every element but the last ends with a comma.
		elems = append(elems, [2]int{pos + 4, pos + e})
		last := e == len(line)
		pos += nl + 1
		if last {
			if !bytes.HasPrefix(b[pos:], cellsClose) {
				return 0, 0, nil, false
			}
		}
	}
	if len(elems) > 0 && b[elems[len(elems)-1][1]] == ',' {
		return 0, 0, nil, false // a comma after the last element
	}
	return start, end, elems, true
}

// splitCells finds the top-level "cells" array of a JSON object: its
// extent [start, end) including the brackets, and each element's extent.
func splitCells(b []byte) (start, end int, elems [][2]int, ok bool) {
	depth := 0
	inString := false
	var keyStart, keyEnd int // the last string closed at depth 1
	arrayDepth := -1         // depth inside the cells array while in it
	found := false
	elemStart := -1
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
				if depth == 1 {
					keyEnd = i
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			if depth == 1 {
				keyStart = i + 1
			}
		case ':':
			if depth == 1 && !found && string(b[keyStart:keyEnd]) == "cells" {
				j := i + 1
				for j < len(b) && (b[j] == ' ' || b[j] == '\n' || b[j] == '\t' || b[j] == '\r') {
					j++
				}
				if j == len(b) || b[j] != '[' {
					return 0, 0, nil, false // null or not an array
				}
				start, arrayDepth, found = j, 2, true
				depth = 2
				i = j
			}
		case '{', '[':
			if depth == arrayDepth && elemStart < 0 {
				elemStart = i
			}
			depth++
		case '}', ']':
			depth--
			if depth == arrayDepth && elemStart >= 0 {
				elems = append(elems, [2]int{elemStart, i + 1})
				elemStart = -1
			}
			if arrayDepth > 0 && depth == arrayDepth-1 {
				end = i + 1
				arrayDepth = -1
			}
		}
	}
	if end == 0 || depth != 0 || inString {
		return 0, 0, nil, false
	}
	// Between the elements: whitespace and exactly one comma each, so an
	// element that is not an object (which the split does not see) sends
	// the document to the plain decoder.
	for k := 0; k <= len(elems); k++ {
		from, to, want := start+1, end-1, 1
		if k > 0 {
			from = elems[k-1][1]
		}
		if k < len(elems) {
			to = elems[k][0]
		}
		if k == 0 || k == len(elems) {
			want = 0
		}
		commas := 0
		for _, c := range b[from:to] {
			switch c {
			case ',':
				commas++
			case ' ', '\n', '\t', '\r':
			default:
				return 0, 0, nil, false
			}
		}
		if commas != want {
			return 0, 0, nil, false
		}
	}
	return start, end, elems, true
}
