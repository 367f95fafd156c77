package matrix_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// written is r as WriteJSON writes it.
func written(t testing.TB, r *matrix.Run) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := matrix.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReaderAgreesWithAStrictParser (issue 9, item 6): what Read and
// Decode return is what a strict JSON parser (RFC 8259, member names
// unique and compared exactly) sees in the document, or an error.
// Before, the fast path took a nested array laid out like the top-level
// one for the cells, and duplicate keys were accepted, the last (or, on
// the fast path, the first) winning.
func TestReaderAgreesWithAStrictParser(t *testing.T) {
	r := matrixtest.EveryStatus()
	r.Config = nil
	doc := written(t, r)
	fake := `{"framework":"fake","framework_version":"1","device":"cpu","model":"cnn","check":"forward","precision":"fp32","status":"pass","seconds":1}`
	// A config laid out as WriteJSON lays out the top level, holding a
	// "cells" array: the line split took it for the document's cells.
	nested := bytes.Replace(doc, []byte("\n  \"cells\": [\n"), []byte("\n  \"config\": {\n  \"cells\": [\n    "+fake+"\n  ]\n},\n  \"cells\": [\n"), 1)
	got, err := matrix.Decode("nested.json", nested)
	if err != nil {
		t.Fatalf("nested cells: %v", err)
	}
	var strict matrix.Run
	if err := json.Unmarshal(nested, &strict); err != nil {
		t.Fatal(err)
	}
	if len(got.Cells) != len(r.Cells) || got.Cells[0].Framework == "fake" || !reflect.DeepEqual(got.Cells, strict.Cells) {
		t.Errorf("nested cells: read %d cells (first %s), a JSON parser sees %d", len(got.Cells), got.Cells[0].CellKey, len(strict.Cells))
	}

	cells := func(doc []byte) []byte { // the cells array as written
		i := bytes.Index(doc, []byte(`"cells": [`))
		return doc[i+len(`"cells": `) : bytes.LastIndex(doc, []byte("  ]"))+3]
	}
	withMember := func(member string) []byte { // doc with member before its cells
		return bytes.Replace(doc, []byte("\n  \"cells\": [\n"), []byte("\n  "+member+",\n  \"cells\": [\n"), 1)
	}
	for _, tc := range []struct {
		desc string
		doc  []byte
		want []string
	}{
		{"two cells arrays", withMember(`"cells": [` + fake + `]`), []string{`the key "cells" twice`}},
		{"two cells arrays, the fake one last", append(bytes.TrimRight(bytes.Clone(doc), "}\n"), []byte(`, "cells": [`+fake+"]}")...), []string{`the key "cells" twice`}},
		{"two run_ids", withMember(`"run_id": "other"`), []string{`the key "run_id" twice`}},
		{"an escaped duplicate", withMember(`"c\u0065lls": ` + string(cells(doc))), []string{`the key "cells" twice`}},
		{"a key in another case", withMember(`"CELLS": [` + fake + `]`), []string{`"CELLS"`, `"cells"`}},
		{"a duplicate key in a cell", bytes.Replace(doc, []byte(`"status":"fail"`), []byte(`"status":"fail","status":"pass"`), 1), []string{`the key "status" twice`, "byte "}},
		{"a duplicate key in the config", withMember(`"config": {"a": 1, "a": 2}`), []string{`the key "a" twice`}},
		{"invalid UTF-8", bytes.Replace(doc, []byte(`"node-a"`), []byte("\"node-\xff\""), 1), []string{"UTF-8"}},
	} {
		_, err := matrix.Decode("x.json", tc.doc)
		if err == nil {
			t.Errorf("%s: read without error", tc.desc)
			continue
		}
		if !errors.Is(err, matrix.ErrSchema) || !strings.HasPrefix(err.Error(), "x.json: ") {
			t.Errorf("%s: %v: want ErrSchema, naming the file", tc.desc, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant %q", tc.desc, err, w)
			}
		}
	}
}

// TestReadersRefuseDuplicateCells (issue 9, item 2): a document or a
// journal with two cells of one key is refused by Read, ReadShards (merge)
// and ReadJournal, naming the file and the key; diff reads through Read.
func TestReadersRefuseDuplicateCells(t *testing.T) {
	dir := t.TempDir()
	r := matrixtest.EveryStatus()
	dup := r.Cells[2]
	dup.Status = matrix.Fail
	r.Cells = append(r.Cells, dup)
	p := filepath.Join(dir, "run.json")
	matrixtest.WriteRun(t, p, r)
	key := dup.CellKey.String()
	check := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: accepted two cells of one key", what)
			return
		}
		for _, w := range append(want, key) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant %q", what, err, w)
			}
		}
	}
	_, err := matrix.Read(p)
	check("Read", err, p, fmt.Sprintf("cells 3 and %d", len(r.Cells)))
	_, err = matrix.ReadShards([]string{p})
	check("ReadShards", err, p)

	jp := filepath.Join(dir, "journal.jsonl")
	j, err := matrix.CreateJournal(jp, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Cells {
		if err := j.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	_, _, err = matrix.ReadJournal(jp)
	check("ReadJournal", err, fmt.Sprintf("%s:%d", jp, len(r.Cells)+1), "line 4")
}

// TestMergeIsLinearInDevicesOfOneID (issue 9, item 6): shards whose
// machines all call their GPU gpu:0 on one host name made each rename try
// every earlier suffix (quadratic).
func TestMergeIsLinearInDevicesOfOneID(t *testing.T) {
	inputs := func(n int) []matrix.MergeInput {
		var ins []matrix.MergeInput
		for k := 0; k < n; k++ {
			g := matrixtest.A100(0, "1")
			g.UUID = fmt.Sprintf("GPU-%d", k)
			ins = append(ins, matrix.MergeInput{Name: fmt.Sprintf("s%d.json", k), Run: &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: fmt.Sprint(k),
				Started: matrixtest.Start, Host: matrix.Host{Hostname: "node"}, Devices: []matrix.Device{g}, Cells: []matrix.Cell{}}})
		}
		return ins
	}
	allocs := func(n int) float64 {
		ins := inputs(n)
		return testingAllocs(func() {
			m, err := matrix.Merge(ins)
			if err != nil || len(m.Devices) != n {
				t.Fatalf("%v, %d devices", err, len(m.Devices))
			}
		})
	}
	a, b := allocs(500), allocs(2000)
	if b/a > 6 { // linear: 4×; quadratic: 16×
		t.Errorf("merging 4× the devices of one ID took %.1f× the allocations (%.0f, %.0f): not linear", b/a, a, b)
	}
}

func testingAllocs(fn func()) float64 { return testing.AllocsPerRun(1, fn) }

// TestReadRefusesAbsurdSizes: a document or a journal line past the caps
// is refused with an error that says so, before it is held in memory.
func TestReadRefusesAbsurdSizes(t *testing.T) {
	defer matrix.SetLimits(64<<10, 1<<10)()
	dir := t.TempDir()
	r := matrixtest.Fleet("big", 1, 2, 4, nil)
	p := filepath.Join(dir, "run.json")
	matrixtest.WriteRun(t, p, r)
	if st, _ := os.Stat(p); st.Size() <= 64<<10 {
		t.Fatalf("the document is only %d bytes", st.Size())
	}
	if _, err := matrix.Read(p); err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Errorf("Read: %v", err)
	}
	small := matrixtest.EveryStatus()
	small.Cells[0].StderrTail = strings.Repeat("x", 2<<10)
	if _, err := matrix.Decode("x.json", written(t, small)); err == nil || !strings.Contains(err.Error(), "cell 1") || !strings.Contains(err.Error(), "larger than 1 KiB") {
		t.Errorf("a big cell: %v", err)
	}
	jp := filepath.Join(dir, "journal.jsonl")
	j, err := matrix.CreateJournal(jp, matrixtest.EveryStatus())
	if err != nil {
		t.Fatal(err)
	}
	j.Add(small.Cells[0])
	j.Close()
	if _, _, err := matrix.ReadJournal(jp); err == nil || !strings.Contains(err.Error(), jp+":2") || !strings.Contains(err.Error(), "larger than 1 KiB") {
		t.Errorf("ReadJournal: %v", err)
	}
}
