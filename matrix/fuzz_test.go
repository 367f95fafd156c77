package matrix_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// seedDocs are the documents the fuzz targets start from: the golden run
// document of matrix/render/testdata, the fixtures as WriteJSON writes
// them, and the crafted shapes of the strict reader's tests.
func seedDocs(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("render", "testdata", "*.json.golden"))
	if len(paths) == 0 {
		f.Fatal("no seeds in matrix/render/testdata")
	}
	var docs [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		docs = append(docs, b)
	}
	small := matrixtest.EveryStatus()
	small.Cells = small.Cells[:3]
	for _, r := range []*matrix.Run{small, matrixtest.Hostile()} {
		docs = append(docs, written(f, r))
	}
	for _, s := range []string{
		`{"schema_version":1,"run_id":"r","started":"2026-11-20T02:00:00Z","cells":[]}`,
		`{"schema_version":1,"run_id":"r","started":"2026-11-20T02:00:00Z","cells":[{"status":"pass"}],"cells":[]}`,
		`{"schema_version":1,"run_id":"r","started":"2026-11-20T02:00:00Z","CELLS":[],"c\u0065lls":[{"status":"pass","Status":"fail"}]}`,
		"{\n  \"config\": {\n  \"cells\": [\n    {\"status\":\"pass\"}\n  ]\n},\n  \"cells\": [\n  ]\n}",
		`{"schema_version":1,"run_id":"r","started":"2026-11-20T02:00:00Z","cells":[{"framework":"a","status":"pass"},{"framework":"a","status":"fail"}]}`,
	} {
		docs = append(docs, []byte(s))
	}
	return docs
}

// FuzzDecode: the results document reader never panics; what it accepts
// a strict JSON parser accepts too and reads the same (json.Valid, UTF-8,
// no key twice in an object, json.Unmarshal gives the same run), with no
// two cells of one key and every status valid, and it writes and reads
// back to the same document; what a strict parser and validate accept,
// it accepts. Read (a file, a window of 7 bytes at a time) says the same
// as Decode.
func FuzzDecode(f *testing.F) {
	for _, d := range seedDocs(f) {
		f.Add(d)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := matrix.Decode("f.json", b)
		if err != nil && !strings.HasPrefix(err.Error(), "f.json") {
			t.Fatalf("the error does not name the file: %v", err)
		}
		p := filepath.Join(dir, "f.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		restore := matrix.SetWindow(7)
		fromFile, ferr := matrix.Read(p)
		restore()
		if (err == nil) != (ferr == nil) {
			t.Fatalf("Decode: %v; Read: %v", err, ferr)
		}
		verdict, why := strictJSON(b)
		strictOK := verdict == strictAccepts
		var plain matrix.Run
		plainErr := json.Unmarshal(b, &plain)
		if err != nil {
			if strictOK && plainErr == nil && plain.SchemaVersion == matrix.SchemaVersion && matrix.Validate("f.json", &plain) == nil {
				t.Fatalf("refused what a strict parser and validate accept: %v", err)
			}
			return
		}
		if verdict == strictRefuses {
			t.Fatalf("accepted what a strict parser refuses (%s)", why)
		}
		if plainErr != nil {
			t.Fatalf("accepted what json.Unmarshal refuses: %v", plainErr)
		}
		once := written(t, got)
		if !bytes.Equal(once, written(t, &plain)) {
			t.Fatalf("reads otherwise than json.Unmarshal:\n%s\n%s", once, written(t, &plain))
		}
		if !bytes.Equal(once, written(t, fromFile)) {
			t.Fatal("Read and Decode differ")
		}
		back, err := matrix.Decode("once.json", once)
		if err != nil {
			t.Fatalf("its own output does not read back: %v\n%s", err, once)
		}
		if !bytes.Equal(once, written(t, back)) {
			t.Fatal("write, read, write differs")
		}
		seen := map[matrix.CellKey]bool{}
		for _, c := range got.Cells {
			if seen[c.CellKey] {
				t.Fatalf("two cells %s accepted", c.CellKey)
			}
			seen[c.CellKey] = true
		}
	})
}

// The reference's verdicts.
const (
	strictAccepts = iota
	strictRefuses
	strictCannotTell // a key that matches a field ignoring case: the reader knows where it is a field
)

// strictJSON is the reference: one JSON value (RFC 8259), valid UTF-8, no
// object with a key twice, nested at most 128 deep, checked with
// encoding/json's tokenizer rather than the reader's scanner. A key that
// matches a field of the run document's types only when case is ignored
// (or is past ASCII, which encoding/json may fold onto a field) it cannot
// judge: the reader refuses it where it would be taken for the field.
func strictJSON(b []byte) (int, string) {
	if !json.Valid(b) {
		return strictRefuses, "not JSON"
	}
	if !utf8.Valid(b) {
		return strictRefuses, "not UTF-8"
	}
	verdict := strictAccepts
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return verdict, ""
		}
		if err != nil {
			return strictRefuses, err.Error()
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
		case string:
			if top == nil || !top.object || !top.key {
				if top != nil && top.object {
					top.key = true
				}
				break
			}
			if top.keys[v] {
				return strictRefuses, "the key " + v + " twice"
			}
			for _, name := range fieldNames {
				if v != name && strings.EqualFold(v, name) {
					verdict = strictCannotTell
				}
			}
			if strings.ContainsFunc(v, func(r rune) bool { return r >= utf8.RuneSelf }) {
				verdict = strictCannotTell
			}
			top.keys[v] = true
			top.key = false
		default:
			if top != nil && top.object {
				top.key = true
			}
		}
		if len(stack) > 128 {
			return strictRefuses, "too deep"
		}
	}
}

// fieldNames are the keys of the run document's types.
var fieldNames = strings.Fields(`schema_version run_id started finished elapsed_seconds host dlcompat_version config config_hash shard shards devices device_notes frameworks cells notes
	hostname os arch cpus go name version build executor plugin image image_digest interpreter unavailable warnings
	framework framework_version device model check precision status reason max_abs_err max_rel_err worst first_diverging_layer tolerance tensors timings peak_memory_bytes memory_kind stderr_tail seconds compute_seconds
	rtol atol worst_index violations pass unit better batch samples summary items_per_second gflops percent_of_peak noisy n median p90 p99 min max mean cv
	file cells id kind brand architecture uuid pci_bus_id memory_total_bytes memory_bus_width_bits max_sm_clock_mhz max_mem_clock_mhz theoretical_bandwidth_gbs compute_capability mig_mode ecc power_limit_w driver_version cuda_driver_version cores cuda_cores peak_fp32_gflops sm_count peak_gflops_by_precision gb_per_second flops_per_byte header cell`)

// FuzzReadJournal: the journal reader never panics; what it accepts has
// a header of this schema, valid statuses and each cell once; and a
// journal it accepts stays readable after AppendJournal and one more
// cell, which reads back with every cell it had.
func FuzzReadJournal(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.jsonl")
	j, err := matrix.CreateJournal(p, matrixtest.EveryStatus())
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range matrixtest.EveryStatus().Cells[:3] {
		j.Add(c)
	}
	j.Close()
	seed, _ := os.ReadFile(p)
	f.Add(seed)
	f.Add(seed[:len(seed)-20])
	lines := bytes.SplitAfter(seed, []byte("\n"))
	f.Add(append(append(bytes.Clone(lines[0]), lines[1][:30]...), bytes.Join(lines[2:], nil)...))
	f.Add(append(bytes.Clone(seed), seed...))
	for _, d := range seedDocs(f)[:2] {
		f.Add(d)
	}
	extra := matrix.Cell{CellKey: matrix.CellKey{Framework: "fuzz-extra", FrameworkVersion: "0", Device: "cpu", Model: "cnn", Check: "forward", Precision: "fp32"}, Status: matrix.Pass}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "j.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		h, cells, err := matrix.ReadJournal(p)
		if err != nil {
			if !errors.Is(err, matrix.ErrSchema) || !strings.HasPrefix(err.Error(), p) {
				t.Fatalf("not ErrSchema naming the file: %v", err)
			}
			return
		}
		if h.SchemaVersion != matrix.SchemaVersion {
			t.Fatalf("header of schema %d", h.SchemaVersion)
		}
		seen := map[matrix.CellKey]bool{}
		for _, c := range cells {
			if seen[c.CellKey] || !c.Status.Finished() && c.Status != matrix.Unknown {
				t.Fatalf("cell %s (%q) accepted", c.CellKey, c.Status)
			}
			seen[c.CellKey] = true
		}
		if seen[extra.CellKey] {
			return
		}
		j, err := matrix.AppendJournal(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Add(extra); err != nil {
			t.Fatal(err)
		}
		j.Close()
		_, again, err := matrix.ReadJournal(p)
		if err != nil {
			t.Fatalf("unreadable after an append: %v", err)
		}
		if len(again) != len(cells)+1 || again[len(again)-1].CellKey != extra.CellKey {
			t.Fatalf("after an append: %d cells, want %d", len(again), len(cells)+1)
		}
	})
}
