package history_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
)

// The full size of issue 13 is 365 nights × 10,000 cells; the default
// is scaled down so that -bench . stays cheap (scripts/bench-history.sh
// passes the sizes).
var (
	benchNights = flag.Int("history.nights", 30, "nights for the history benchmarks")
	benchCells  = flag.Int("history.cells", 1000, "cells per night for the history benchmarks")
)

// benchRun is a night of cells cells: a third perf cells with 12 raw
// samples, the rest numeric.
func benchRun(d, cells int) *matrix.Run {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
	r := &matrix.Run{SchemaVersion: 1, RunID: fmt.Sprintf("bench-%04d", d), Started: start, Host: matrix.Host{Hostname: "bench"}, DlcompatVersion: "b",
		Devices: []matrix.Device{{ID: "gpu:0", Kind: matrix.KindGPU, Name: "NVIDIA H100 80GB HBM3", DriverVersion: "560"}}}
	checks := []string{"forward", "backward", "perf"}
	for i := 0; i < cells; i++ {
		c := matrix.Cell{CellKey: matrix.CellKey{Framework: fmt.Sprintf("fw%04d", i/6), FrameworkVersion: "1.0", Device: "gpu:0",
			Model: []string{"cnn", "lstm"}[i/3%2], Check: checks[i%3], Precision: "fp32"}, Status: matrix.Pass, MaxAbsErr: matrix.F(1e-6)}
		if c.Check == "perf" {
			t := matrix.Timing{Name: "forward", Unit: "ms", Better: "lower", Batch: 64}
			for s := 0; s < 12; s++ {
				t.Samples = append(t.Samples, 10+float64((s*7+d)%5)*0.1)
			}
			c.Timings = []matrix.Timing{t}
		}
		r.Cells = append(r.Cells, c)
	}
	return r
}

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
		if _, err := s.Ingest(context.Background(), benchRun(d, *benchCells)); err != nil {
			b.Fatal(err)
		}
	}
	return s, *benchNights * *benchCells
}

// BenchmarkIngest: one op is ingesting every night into a fresh store.
func BenchmarkIngest(b *testing.B) {
	runs := make([]*matrix.Run, *benchNights)
	for d := range runs {
		runs[d] = benchRun(d, *benchCells)
	}
	b.ResetTimer()
	peakHeap(b, func() {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := history.Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("i%d.sqlite", i)))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for _, r := range runs {
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
