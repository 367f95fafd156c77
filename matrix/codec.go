package matrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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

// chunkCells is how many cells are encoded, or decoded, as one piece of
// work.
const chunkCells = 512
