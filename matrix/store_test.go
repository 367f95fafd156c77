package matrix

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFloatSurvivesJSON(t *testing.T) {
	for _, v := range []float64{0, 1.5e-7, math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(F(v))
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		var back Float
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
	j, err := CreateJournal(path, &Run{SchemaVersion: SchemaVersion, RunID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Status{Pass, Fail} {
		if err := j.Add(Cell{CellKey: CellKey{Framework: "f", Check: string(s)}, Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"cell":{"framework":"f","sta`) // killed mid-write
	f.Close()
	h, cells, err := ReadJournal(path)
	if err != nil || h.RunID != "r1" || len(cells) != 2 {
		t.Fatalf("header %+v, %d cells, err %v", h, len(cells), err)
	}
}

func TestReadRefusesOtherSchemas(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		desc, body, want string
	}{
		{"future schema", `{"schema_version": 2}`, "schema_version 2"},
		{"no schema", `{"cells": []}`, "no \"schema_version\""},
		{"not json", `<html>`, "not JSON"},
	} {
		p := filepath.Join(dir, "x.json")
		os.WriteFile(p, []byte(tc.body), 0o644)
		_, err := Read(p)
		if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.json") {
			t.Errorf("%s: %v", tc.desc, err)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{5, 1, 4, 2, 3})
	if s.N != 5 || s.Median != 3 || s.Min != 1 || s.Max != 5 || math.Abs(s.P90-4.6) > 1e-12 || math.Abs(s.CV-math.Sqrt(2.5)/3) > 1e-12 {
		t.Fatalf("%+v", s)
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("empty summary")
	}
}
