package matrix_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

func TestFloatSurvivesJSON(t *testing.T) {
	for _, v := range []float64{0, 1.5e-7, math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(matrix.F(v))
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		var back matrix.Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !(float64(back) == v || (math.IsNaN(v) && math.IsNaN(float64(back)))) {
			t.Errorf("%v came back as %v (%s)", v, back, b)
		}
	}
}

func TestJournalSurvivesATornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := matrix.CreateJournal(path, &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []matrix.Status{matrix.Pass, matrix.Fail} {
		if err := j.Add(matrix.Cell{CellKey: matrix.CellKey{Framework: "f", Check: string(s)}, Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"cell":{"framework":"f","sta`) // killed mid-write
	f.Close()
	h, cells, err := matrix.ReadJournal(path)
	if err != nil || h.RunID != "r1" || len(cells) != 2 {
		t.Fatalf("header %+v, %d cells, err %v", h, len(cells), err)
	}
}

// TestReadRefusesWhatIsNotARunDocument: each refusal names the file,
// says what is wrong in the document's terms (never a Go type) and, where
// there is one, the fix.
func TestReadRefusesWhatIsNotARunDocument(t *testing.T) {
	dir := t.TempDir()
	doc := func(edit func(r *matrix.Run)) []byte {
		r := matrixtest.EveryStatus()
		if edit != nil {
			edit(r)
		}
		var b bytes.Buffer
		if err := matrix.WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	whole := doc(nil)
	// A journal, as an unfinished run leaves it.
	journal := filepath.Join(dir, "journal.jsonl")
	j, err := matrix.CreateJournal(journal, matrixtest.EveryStatus())
	if err != nil {
		t.Fatal(err)
	}
	j.Add(matrixtest.EveryStatus().Cells[0])
	j.Close()
	journalBytes, _ := os.ReadFile(journal)
	for _, tc := range []struct {
		desc string
		body []byte
		want []string
	}{
		{"future schema", []byte(`{"schema_version": 2}`), []string{"schema_version 2, this dlcompat reads 1", "use the dlcompat release that wrote it"}},
		{"no schema", []byte(`{"cells": []}`), []string{"no \"schema_version\""}},
		{"not json", []byte(`<html>`), []string{"not JSON", "byte 1"}},
		{"empty", []byte("\n"), []string{"empty"}},
		{"an array", []byte(`[1,2]`), []string{"x.json: not a dlcompat results document (a JSON array, want an object with schema_version)"}},
		{"schema_version a string", []byte(`{"schema_version":"1"}`), []string{"x.json: schema_version must be a number, got a string"}},
		{"schema_version a fraction", []byte(`{"schema_version":1.5}`), []string{"schema_version must be a whole number, got 1.5"}},
		{"truncated", whole[:len(whole)/2], []string{"truncated JSON", fmt.Sprintf("byte %d", len(whole)/2), "incomplete"}},
		{"a journal", journalBytes, []string{"x.json looks like a run journal (journal.jsonl), not a results document: give the run.json beside it (" + filepath.Join(dir, "run.json") + "), or finish the run with `dlcompat run --resume -o " + dir + "`"}},
		{"a journal's header line", []byte(strings.SplitN(string(journalBytes), "\n", 2)[0]), []string{"looks like a run journal"}},
		{"two documents", append(append([]byte{}, whole...), whole...), []string{"more than one JSON value"}},
		{"nothing but the version", []byte(`{"schema_version":1}`), []string{"incomplete results document: no run_id, no started time and no cells array"}},
		{"cells null", []byte(`{"schema_version":1,"run_id":"r","started":"2026-11-20T02:00:00Z","cells":null}`), []string{"no cells array"}},
		{"a zero start", doc(func(r *matrix.Run) { r.Started = time.Time{} }), []string{"no started time"}},
		{"a start that is not a time", []byte(`{"schema_version":1,"run_id":"r","started":5,"cells":[]}`), []string{"started must be an RFC 3339 time string", "got a number"}},
		{"an unknown status", doc(func(r *matrix.Run) { r.Cells[1].Status = "passed"; r.Cells[2].Status = "ok" }), []string{
			`cell 2 (gorgonia v0.9.18 × cpu × cnn × backward, precision fp32) has unknown status "passed" (2 cells in all); valid statuses: pass, fail, error, crash, timeout, skip, unknown`}},
		{"no status", doc(func(r *matrix.Run) { r.Cells[0].Status = "" }), []string{"cell 1 (gorgonia v0.9.18 × cpu × cnn × forward, precision fp32) has no status; valid statuses: pass"}},
		{"a status that is not a string", []byte(`{"schema_version":1,"run_id":"r","started":"2026-11-20T02:00:00Z","cells":[{"status":5}]}`), []string{"cells.status must be a string, got a number"}},
	} {
		p := filepath.Join(dir, "x.json")
		os.WriteFile(p, tc.body, 0o644)
		_, err := matrix.Read(p)
		if err == nil {
			t.Errorf("%s: read without error", tc.desc)
			continue
		}
		msg := err.Error()
		if !errors.Is(err, matrix.ErrSchema) || !strings.HasPrefix(msg, p) {
			t.Errorf("%s: %v: want ErrSchema, naming the file first", tc.desc, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %v\nwant %q", tc.desc, err, w)
			}
		}
		for _, leak := range []string{"Go value", "Go struct", "struct {", "matrix.", "time.Time", "[]", "UnmarshalJSON", "json: "} {
			if strings.Contains(strings.TrimPrefix(msg, p), leak) {
				t.Errorf("%s: %v: shows Go's %q", tc.desc, err, leak)
			}
		}
	}
}

// TestReadAcceptsWhatDlcompatWrites: every kind of document the tool
// writes reads back: a whole run, an interrupted one (unknown cells), a
// shard with no cells, a merged run, in any JSON layout.
func TestReadAcceptsWhatDlcompatWrites(t *testing.T) {
	interrupted := matrixtest.EveryStatus()
	for i := range interrupted.Cells[3:] {
		interrupted.Cells[3+i].Status, interrupted.Cells[3+i].Reason = matrix.Unknown, "not run: the run was interrupted"
	}
	interrupted.Finished = time.Time{}
	emptyShard := &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: "20261120T020000Z-abcdef", Started: matrixtest.Start, Shard: "3/3", Cells: []matrix.Cell{}}
	merged, err := matrix.Merge([]matrix.MergeInput{{"a.json", shardOf(1, 3, "node-a", matrixtest.A100(0, "1"), "pytorch")}, {"c.json", emptyShard}})
	if err != nil {
		t.Fatal(err)
	}
	for desc, r := range map[string]*matrix.Run{"every status": matrixtest.EveryStatus(), "interrupted": interrupted, "a shard with no cells": emptyShard, "merged": merged} {
		var b bytes.Buffer
		if err := matrix.WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		indented, _ := json.MarshalIndent(r, "", "\t")
		for layout, body := range map[string][]byte{"as written": b.Bytes(), "indented": indented} {
			got, err := matrix.Decode(desc+".json", body)
			if err != nil || got.RunID != r.RunID || len(got.Cells) != len(r.Cells) {
				t.Errorf("%s, %s: %v", desc, layout, err)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	s := matrix.Summarize([]float64{5, 1, 4, 2, 3})
	if s.N != 5 || s.Median != 3 || s.Min != 1 || s.Max != 5 || math.Abs(s.P90-4.6) > 1e-12 || math.Abs(s.CV-math.Sqrt(2.5)/3) > 1e-12 {
		t.Fatalf("%+v", s)
	}
	if (matrix.Summarize(nil) != matrix.Summary{}) {
		t.Fatal("empty summary")
	}
}
