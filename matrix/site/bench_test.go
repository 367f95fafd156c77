package site_test

import (
	"context"
	"flag"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
	"github.com/dlcompat/dlcompat/matrix/site"
)

// The same sizes as matrix/history's benchmarks (scripts/bench-history.sh
// passes both packages the same flags).
var (
	benchNights = flag.Int("history.nights", 30, "nights for the history benchmarks")
	benchCells  = flag.Int("history.cells", 1000, "cells per night for the history benchmarks")
)

// BenchmarkSiteBuild: one op rebuilds the whole site (index, a page per
// key, the driver pages) from a store of benchNights × benchCells.
func BenchmarkSiteBuild(b *testing.B) {
	s, err := history.Open(context.Background(), filepath.Join(b.TempDir(), "bench.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for d := 0; d < *benchNights; d++ {
		if _, err := s.Ingest(context.Background(), matrixtest.BenchNight(d, *benchCells)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	var st site.Stats
	for i := 0; i < b.N; i++ {
		if st, err = site.Build(context.Background(), s, b.TempDir(), site.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(st.Pages), "pages")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/1e6, "MBalloc/op")
	b.ReportMetric(float64(m1.HeapSys)/1e6, "MBheap-sys")
}
