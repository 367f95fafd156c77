package matrix

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Benchmarks at the sizes of a large fleet (scripts/bench-reports.sh
// prints them): merging 1,000 shard files of 100 cells each, diffing two
// 100,000-cell runs, and rendering the HTML report of 10,000 cells. The
// cells are shaped like real ones (synth): numeric cells with per-tensor
// errors, perf cells with four series of 20 raw samples.

// fleet is a run on gpus GPUs of five models, with frameworks × 2 models
// × 4 checks cells per GPU.
func fleet(id string, seed uint64, frameworks, gpus int, slow map[string]float64) *Run {
	s := synth{id: id, host: "fleet", seed: seed, slow: slow}
	for f := 0; f < frameworks; f++ {
		s.frameworks = append(s.frameworks, [2]string{fmt.Sprintf("fw%02d", f), "1.0"})
	}
	names := []string{"NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3", "NVIDIA L4", "NVIDIA A10G", "Tesla V100-SXM2-16GB"}
	for i := 0; i < gpus; i++ {
		d := a100(i, "550.54.15")
		d.Name = names[i%len(names)]
		s.devices = append(s.devices, d)
	}
	return s.run()
}

func writeRun(b *testing.B, path string, r *Run) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := WriteJSON(f, r); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// BenchmarkMerge1000Shards: `dlcompat merge` of 1,000 files (each a
// machine with its own gpu:0 and the CPU, 100 cells) into one document:
// read, check, merge, write.
func BenchmarkMerge1000Shards(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	var bytes int64
	for k := 1; k <= 1000; k++ {
		gpu := a100(0, "550.54.15") // each machine's own gpu:0
		gpu.UUID = fmt.Sprintf("GPU-node-%04d", k)
		s := synth{id: fmt.Sprintf("run-%04d", k), host: fmt.Sprintf("node-%04d", k), seed: uint64(k), limit: 100,
			devices: []Device{cpuDevice(), gpu}}
		for f := 0; f < 7; f++ {
			s.frameworks = append(s.frameworks, [2]string{fmt.Sprintf("fw%02d", f), "1.0"})
		}
		r := s.run()
		r.Shard = fmt.Sprintf("%d/1000", k)
		p := filepath.Join(dir, fmt.Sprintf("shard-%04d.json", k))
		writeRun(b, p, r)
		st, _ := os.Stat(p)
		bytes += st.Size()
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "all.json")
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		ins, err := ReadShards(paths)
		if err != nil {
			b.Fatal(err)
		}
		m, err := Merge(ins)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Cells) != 100000 {
			b.Fatalf("%d cells", len(m.Cells))
		}
		if err := WriteFileAtomic(out, func(w io.Writer) error { return WriteJSON(w, m) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100000, "cells")
}

// BenchmarkDiff100k: `dlcompat diff` of two 100,000-cell runs (500 GPUs
// × 25 frameworks × 2 models × 4 checks; one framework 30% slower): the
// whole command (read both, compare, render text) and the comparison
// alone.
func BenchmarkDiff100k(b *testing.B) {
	dir := b.TempDir()
	oldRun := fleet("old", 1, 25, 500, nil)
	newRun := fleet("new", 2, 25, 500, map[string]float64{"fw03": 1.3})
	if len(oldRun.Cells) != 100000 {
		b.Fatalf("%d cells", len(oldRun.Cells))
	}
	op, np := filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json")
	writeRun(b, op, oldRun)
	writeRun(b, np, newRun)
	b.Run("read+diff+text", func(b *testing.B) {
		for b.Loop() {
			// As the command does: both files at once.
			var o *Run
			var oerr error
			done := make(chan struct{})
			go func() { o, oerr = Read(op); close(done) }()
			n, err := Read(np)
			<-done
			if err != nil || oerr != nil {
				b.Fatal(err, oerr)
			}
			c := Diff(o, n, DefaultDiffThresholds)
			// fw03's perf cells (500 GPUs × 2 models), and the odd false
			// positive that α = 0.05 allows among 400,000 series.
			if n := c.Count(Regression); n < 1000 || n > 1010 {
				b.Fatalf("%s", c.Summary())
			}
			if err := WriteDiffText(io.Discard, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("diff", func(b *testing.B) {
		for b.Loop() {
			Diff(oldRun, newRun, DefaultDiffThresholds)
		}
	})
}

// BenchmarkHTML10k renders the report of a 10,000-cell run (50 GPUs × 25
// frameworks × 2 models × 4 checks), charts and per-cell details included.
func BenchmarkHTML10k(b *testing.B) {
	r := fleet("html", 1, 25, 50, nil)
	if len(r.Cells) != 10000 {
		b.Fatalf("%d cells", len(r.Cells))
	}
	var n int64
	for b.Loop() {
		cw := &countWriter{}
		if err := WriteHTML(cw, r); err != nil {
			b.Fatal(err)
		}
		n = cw.n
	}
	b.ReportMetric(float64(n)/1e6, "MB")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
