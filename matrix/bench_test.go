package matrix_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// Benchmarks at the sizes of a large fleet, which
// scripts/bench-reports.sh prints with matrix/diff's BenchmarkDiff100k and
// matrix/render's BenchmarkHTML10k. The cells are shaped like real ones
// (matrixtest.Spec): numeric cells with per-tensor errors, perf cells with
// four series of 20 raw samples.

// BenchmarkMerge1000Shards: `dlcompat merge` of 1,000 files (each a
// machine with its own gpu:0 and the CPU, 100 cells) into one document:
// read, check, merge, write.
func BenchmarkMerge1000Shards(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	var bytes int64
	for k := 1; k <= 1000; k++ {
		gpu := matrixtest.A100(0, "550.54.15") // each machine's own gpu:0
		gpu.UUID = fmt.Sprintf("GPU-node-%04d", k)
		s := matrixtest.Spec{ID: fmt.Sprintf("run-%04d", k), Host: fmt.Sprintf("node-%04d", k), Seed: uint64(k), Limit: 100,
			Devices: []matrix.Device{matrixtest.CPU(), gpu}}
		for f := 0; f < 7; f++ {
			s.Frameworks = append(s.Frameworks, [2]string{fmt.Sprintf("fw%02d", f), "1.0"})
		}
		r := s.Run()
		r.Shard = fmt.Sprintf("%d/1000", k)
		p := filepath.Join(dir, fmt.Sprintf("shard-%04d.json", k))
		matrixtest.WriteRun(b, p, r)
		st, _ := os.Stat(p)
		bytes += st.Size()
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "all.json")
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		ins, err := matrix.ReadShards(paths)
		if err != nil {
			b.Fatal(err)
		}
		m, err := matrix.Merge(ins)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Cells) != 100000 {
			b.Fatalf("%d cells", len(m.Cells))
		}
		if err := matrix.WriteFileAtomic(out, func(w io.Writer) error { return matrix.WriteJSON(w, m) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100000, "cells")
}
