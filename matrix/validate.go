package matrix

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// docError is a file that is not a run document this build reads: its
// message names the file and says what is wrong and, where there is one,
// the fix. It matches ErrSchema.
type docError struct {
	file, msg string
	journal   bool // the message reads on from the name: "FILE looks like …"
}

func (e *docError) Error() string {
	if e.journal {
		return e.file + " " + e.msg
	}
	return e.file + ": " + e.msg
}
func (e *docError) Unwrap() error { return ErrSchema }

func docErrorf(file, format string, args ...any) error {
	return &docError{file: file, msg: fmt.Sprintf(format, args...)}
}

// jsonKind names the kind of JSON value that starts raw: "a JSON array".
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '{':
		return "a JSON object"
	case c == '[':
		return "a JSON array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "not JSON"
}

// explain checks the shape of a document that the fast path did not
// read, before it is decoded into a Run, so that what is wrong is said in
// the document's terms rather than as a Go decoding error. nil means the
// document is one JSON object of this schema version.
func explain(name string, b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return docErrorf(name, "the file is empty, not a dlcompat results document; give the run.json that dlcompat run or merge wrote")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return docErrorf(name, "truncated JSON: the document ends after byte %d, in the middle of a value; the file is incomplete (cut short while it was written or copied?)", len(b))
		case errors.As(err, &se):
			return docErrorf(name, "not JSON: %v at byte %d; is this a dlcompat results file?", se, se.Offset)
		}
		return docErrorf(name, "not JSON: %v", err)
	}
	var top map[string]json.RawMessage
	if first[0] == '{' {
		if err := json.Unmarshal(first, &top); err != nil {
			return docErrorf(name, "not JSON: %v", err)
		}
	}
	rest := int(dec.InputOffset())
	more := len(bytes.TrimSpace(b[rest:])) > 0
	if top != nil && top["schema_version"] == nil && (top["header"] != nil || top["cell"] != nil) {
		return journalError(name)
	}
	if top == nil {
		return docErrorf(name, "not a dlcompat results document (%s, want an object with schema_version)", jsonKind(first))
	}
	if more {
		return docErrorf(name, "more than one JSON value (the second starts after byte %d); a results document is one JSON object", rest)
	}
	raw, ok := top["schema_version"]
	if !ok {
		return docErrorf(name, "no \"schema_version\" field: not a dlcompat results document; give the run.json that dlcompat run or merge wrote")
	}
	if k := jsonKind(raw); k != "a number" {
		return docErrorf(name, "schema_version must be a number, got %s", k)
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil {
		return docErrorf(name, "schema_version must be a whole number, got %s", raw)
	}
	if v != SchemaVersion {
		return docErrorf(name, "schema_version %d, this dlcompat reads %d; use the dlcompat release that wrote it", v, SchemaVersion)
	}
	for _, f := range []string{"started", "finished"} {
		if raw, ok := top[f]; ok {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return docErrorf(name, "%s must be an RFC 3339 time string (such as %q), got %s", f, "2026-11-20T02:00:00Z", jsonKind(raw))
			}
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return docErrorf(name, "%s must be an RFC 3339 time (such as %q), got %q", f, "2026-11-20T02:00:00Z", s)
			}
		}
	}
	return nil
}

// journalError is the error for a run journal given where a run
// document is wanted: the message starts with the file's name, without
// a colon ("FILE looks like a run journal").
func journalError(name string) error {
	dir := filepath.Dir(name)
	beside := " (" + filepath.Join(dir, "run.json") + ")"
	if filepath.Base(name) == "run.json" {
		beside = ""
	}
	return &docError{file: name, journal: true, msg: fmt.Sprintf("looks like a run journal (journal.jsonl), not a results document: give the run.json beside it%s, or finish the run with `dlcompat run --resume -o %s`",
		beside, dir)}
}

// decodeError says what json.Unmarshal found wrong in a document whose
// shape explain accepted, in the document's terms: the field, what it
// must be and what it is, never a Go type.
func decodeError(name string, err error) error {
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "a value"
		}
		got := "a " + te.Value
		if strings.HasPrefix(te.Value, "a") || strings.HasPrefix(te.Value, "o") {
			got = "an " + te.Value // an array, an object
		}
		return docErrorf(name, "%s must be %s, got %s (at byte %d)", field, jsonTypeName(te), got, te.Offset)
	case errors.As(err, &pe):
		return docErrorf(name, "a time must be RFC 3339 (such as %q), got %q", "2026-11-20T02:00:00Z", pe.Value)
	case strings.HasPrefix(err.Error(), "Time.UnmarshalJSON"):
		return docErrorf(name, "a time must be an RFC 3339 string (such as %q)", "2026-11-20T02:00:00Z")
	}
	return docErrorf(name, "cannot read the document: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonTypeName is the JSON kind that the Go type of te wants.
func jsonTypeName(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "another kind of value"
	}
	switch te.Type.Kind().String() {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "another kind of value"
}

// validate refuses a decoded document that lacks what every document
// that dlcompat run or merge writes has (a run ID, a start time, a cells
// array, which may be empty: a shard can have no cells), or that has a
// cell whose status is not one of Statuses. Interrupted runs pass: their
// unfinished cells are "unknown".
func validate(name string, r *Run) error {
	var missing []string
	if r.RunID == "" {
		missing = append(missing, "no run_id")
	}
	if r.Started.IsZero() {
		missing = append(missing, "no started time")
	}
	if r.Cells == nil {
		missing = append(missing, "no cells array")
	}
	if len(missing) > 0 {
		return docErrorf(name, "incomplete results document: %s; dlcompat run and merge always write them (was the file written by hand, or cut down?)", joinAnd(missing))
	}
	if i, j, ok := duplicateCell(r.Cells); ok {
		c := r.Cells[j]
		return docErrorf(name, "cells %d and %d have the same key (%s, precision %s): a run has one cell per framework, version, device, model, check and precision; was the document merged or edited by hand?", i+1, j+1, c.CellKey, cmp.Or(c.Precision, "-"))
	}
	bad, first := 0, -1
	for i := range r.Cells {
		if !validStatus(r.Cells[i].Status) {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		c := r.Cells[first]
		what := fmt.Sprintf("unknown status %q", c.Status)
		if c.Status == "" {
			what = "no status"
		}
		more := ""
		if bad > 1 {
			more = fmt.Sprintf(" (%s in all)", Plural(bad, "cell"))
		}
		return docErrorf(name, "cell %d (%s, precision %s) has %s%s; valid statuses: %s", first+1, c.CellKey, cmp.Or(c.Precision, "-"), what, more, statusList())
	}
	return nil
}

// duplicateCell finds two cells of one key: the first such pair, by the
// second's index. Linear in time, and in memory a hash and an index per
// cell (not a map of keys).
func duplicateCell(cells []Cell) (first, second int, ok bool) {
	type entry struct {
		h uint64
		i int
	}
	seed := maphash.MakeSeed()
	es := make([]entry, len(cells))
	for i := range cells {
		es[i] = entry{maphash.Comparable(seed, cells[i].CellKey), i}
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Or(cmp.Compare(a.h, b.h), cmp.Compare(a.i, b.i)) })
	first, second = -1, -1
	for k := 0; k < len(es); {
		m := k + 1
		for m < len(es) && es[m].h == es[k].h {
			m++
		}
		// A run of equal hashes, by index: the same key (two distinct
		// keys of one 64-bit hash are as good as impossible, and then
		// cost a few comparisons). The earliest second cell of the run.
	run:
		for b := k + 1; b < m; b++ {
			for a := k; a < b; a++ {
				if cells[es[a].i].CellKey == cells[es[b].i].CellKey {
					if second < 0 || es[b].i < second {
						first, second = es[a].i, es[b].i
					}
					break run
				}
			}
		}
		k = m
	}
	return first, second, second >= 0
}

// statusList is "pass, fail, …".
func statusList() string {
	valid := make([]string, len(Statuses))
	for i, s := range Statuses {
		valid[i] = string(s)
	}
	return strings.Join(valid, ", ")
}

func validStatus(s Status) bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// joinAnd joins phrases as prose: "a", "a and b", "a, b and c".
func joinAnd(p []string) string {
	if len(p) <= 1 {
		return strings.Join(p, "")
	}
	return strings.Join(p[:len(p)-1], ", ") + " and " + p[len(p)-1]
}
