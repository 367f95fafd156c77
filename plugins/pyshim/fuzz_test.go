package pyshim

import (
	"bytes"
	"testing"
)

// FuzzWorkerFrames feeds arbitrary bytes to the reader of the worker's
// stdout, as a hello and as a result: it must never panic, never hand
// out more blob bytes than the stream held, and never allocate what a
// header claims before the bytes arrive.
func FuzzWorkerFrames(f *testing.F) {
	for _, seed := range []map[string]any{
		{"type": "result", "response": map[string]any{"status": "ok", "compute_seconds": 0.5,
			"timings": []any{map[string]any{"name": "latency", "unit": "s", "batch": 1, "samples": []float64{0.001, 0.002}}}}},
		{"type": "result", "response": map[string]any{"status": "error", "message": "boom"}},
		{"type": "hello", "protocol": 2, "python": "3.11", "numpy": "1.26", "ok": true,
			"describe": map[string]any{"framework": "fake", "version": "1", "devices": []any{map[string]any{"id": "cpu", "kind": "cpu"}}}},
	} {
		var b bytes.Buffer
		if err := writeFrame(&b, seed, []byte("blob-bytes")); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte("DLCW\xff\xff\xff\x00{}"))
	f.Add([]byte("Traceback (most recent call last):\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range []any{&result{}, &hello{}} {
			blobs, err := readFrame(bytes.NewReader(data), target)
			if err != nil {
				continue
			}
			total := 0
			for _, b := range blobs {
				total += len(b)
			}
			if total > len(data) {
				t.Fatalf("%d blob bytes from a %d-byte stream", total, len(data))
			}
		}
	})
}
