package matrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
)

// The run document is written with its top level indented and one cell
// per line, compact: a 100,000-cell run is a third smaller than fully
// indented JSON, and still greppable and line-diffable. Reading (decode.go)
// does not depend on the layout: any valid JSON reads (a fully indented
// document, one written by hand), as a strict JSON parser reads it.

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
	if _, err := w.Write(hb[:i]); err != nil {
		return err
	}
	if len(r.Cells) == 0 {
		err = writeString(w, "\n  \"cells\": []")
	} else {
		err = writeString(w, "\n  \"cells\": [\n")
		if err == nil {
			err = writeCells(w, r.Cells)
		}
		if err == nil {
			err = writeString(w, "  ]")
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

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

// writeCells writes the cells a line each, encoded on every core a few
// chunks at a time: what is held is those chunks, not the document.
func writeCells(w io.Writer, cells []Cell) error {
	chunks := (len(cells) + chunkCells - 1) / chunkCells
	group := 4 * runtime.GOMAXPROCS(0)
	bufs := make([]bytes.Buffer, group)
	errs := make([]error, group)
	for g := 0; g < chunks; g += group {
		n := min(group, chunks-g)
		parallel(n, func(k int) {
			b := &bufs[k]
			b.Reset()
			for j := (g + k) * chunkCells; j < min(len(cells), (g+k+1)*chunkCells); j++ {
				cb, err := json.Marshal(&cells[j])
				if err != nil {
					errs[k] = err
					return
				}
				b.WriteString("    ")
				b.Write(cb)
				if j < len(cells)-1 {
					b.WriteByte(',')
				}
				b.WriteByte('\n')
			}
		})
		for k := 0; k < n; k++ {
			if errs[k] != nil {
				return errs[k]
			}
			if _, err := w.Write(bufs[k].Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunkCells is how many cells are encoded, or decoded, as one piece of
// work.
const chunkCells = 512
