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
// scripts/bench-reports.sh prints with matrix/diff's BenchmarkDiff200k and
// matrix/render's BenchmarkHTML10k. The cells are shaped like real ones
// (matrixtest.Spec): numeric cells with per-tensor errors, perf cells with
// four series of 20 raw samples.

// BenchmarkMerge2000Shards: `dlcompat merge` of 2,000 files (each a
// machine with its own gpu:0 and the CPU, 100 cells; matrixtest.Shard)
// into one document of 200,000 cells: read, check, merge, write.
func BenchmarkMerge2000Shards(b *testing.B) {
	const shards = 2000
	dir := b.TempDir()
	var paths []string
	var bytes int64
	for k := 1; k <= shards; k++ {
		p := filepath.Join(dir, fmt.Sprintf("shard-%04d.json", k))
		if err := matrixtest.WriteShard(p, k, shards); err != nil {
			b.Fatal(err)
		}
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
		if len(m.Cells) != 100*shards {
			b.Fatalf("%d cells", len(m.Cells))
		}
		if err := matrix.WriteFileAtomic(out, func(w io.Writer) error { return matrix.WriteJSON(w, m) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100*shards, "cells")
}
