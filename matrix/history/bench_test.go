package history_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// The full size of issue 13 is 365 nights × 10,000 cells; the default
// is scaled down so that -bench . stays cheap (scripts/bench-history.sh
// passes the sizes).
var (
	benchNights = flag.Int("history.nights", 30, "nights for the history benchmarks")
	benchCells  = flag.Int("history.cells", 1000, "cells per night for the history benchmarks")
)

func peakHeap(b *testing.B, f func()) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/1e6, "MBalloc/op")
	b.ReportMetric(float64(m1.HeapSys)/1e6, "MBheap-sys")
}

func benchStore(b *testing.B) (*history.Store, int) {
	s, err := history.Open(context.Background(), filepath.Join(b.TempDir(), "bench.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for d := 0; d < *benchNights; d++ {
		if _, err := s.Ingest(context.Background(), matrixtest.BenchNight(d, *benchCells)); err != nil {
			b.Fatal(err)
		}
	}
	return s, *benchNights * *benchCells
}

// BenchmarkIngest: one op is ingesting every night into a fresh store.
// The nights are generated one at a time, off the clock, so the heap
// figures are the store's and not 365 nights held at once.
func BenchmarkIngest(b *testing.B) {
	b.ResetTimer()
	peakHeap(b, func() {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := history.Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("i%d.sqlite", i)))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for d := 0; d < *benchNights; d++ {
				b.StopTimer()
				r := matrixtest.BenchNight(d, *benchCells)
				b.StartTimer()
				if _, err := s.Ingest(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
		}
	})
	b.ReportMetric(float64(*benchNights**benchCells)*float64(b.N)/b.Elapsed().Seconds(), "cells/s")
}

func BenchmarkLatest(b *testing.B) {
	s, _ := benchStore(b)
	b.ResetTimer()
	peakHeap(b, func() {
		for i := 0; i < b.N; i++ {
			if ns, err := s.Latest(context.Background()); err != nil || len(ns) != *benchCells {
				b.Fatalf("%d %v", len(ns), err)
			}
		}
	})
}

func BenchmarkCellHistory(b *testing.B) {
	s, _ := benchStore(b)
	k := history.Key{Framework: "fw0000", Model: "cnn", Check: "perf", Device: "NVIDIA H100 80GB HBM3", Precision: "fp32"}
	b.ResetTimer()
	peakHeap(b, func() {
		for i := 0; i < b.N; i++ {
			if ns, err := s.History(context.Background(), k); err != nil || len(ns) != *benchNights {
				b.Fatalf("%d %v", len(ns), err)
			}
		}
	})
}
