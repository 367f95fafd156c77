//go:build linux

package history_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// Benchmarks of the SQLite store (issue 13 item 6), at sizes a shared
// two-core machine finishes: cells per run and nights stored vary so that
// the growth shows. Each reports the process's peak RSS so far
// (peak-RSS-MiB; it includes building the runs and filling the store).
//
//	go test ./matrix/history -run '^$' -bench . -benchtime 3x
//
// Measured on the shared two-core machine (3x, SQLite): ingest 20–30k
// cells/s (a 10,000-cell run in 0.34 s into an empty store, 0.85 s into
// one of 30 such nights), peak RSS 52 MiB; Latest 90 ms at 1,000 cells ×
// 30 nights, 129 ms × 90 nights, 2.9 s at 10,000 × 30; one cell's
// History 10–14 ms at every size (the key index); Detect 3.8 s at 1,000
// × 30, 6.4 s × 90, 15 s at 10,000 × 30 (1.7 GB allocated: it decodes
// every night's samples).

// fleetOf is a run of about cells cells (frameworks × GPUs × 2 models ×
// 4 checks), started on night d.
func fleetOf(cells, d int) *matrix.Run {
	gpus := 10
	fw := max(1, cells/(gpus*8))
	r := matrixtest.Fleet(fmt.Sprintf("bench-%d-%04d", cells, d), uint64(d), fw, gpus, nil)
	r.Started = time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
	r.Host.Hostname = "bench"
	return r
}

func peakRSS(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB") // Linux: KiB
	}
}

func benchStore(b *testing.B) *history.Store {
	s, err := history.Open(context.Background(), filepath.Join(b.TempDir(), "h.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkIngest stores one run per iteration into a store that already
// holds nights runs of the same size.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	for _, cells := range []int{1000, 10000} {
		for _, nights := range []int{0, 30} {
			b.Run(fmt.Sprintf("cells=%d/stored=%d", cells, nights), func(b *testing.B) {
				s := benchStore(b)
				tmpl := fleetOf(cells, 0)
				for d := 0; d < nights; d++ {
					r := *tmpl
					r.RunID = fmt.Sprintf("pre-%d", d)
					r.Started = tmpl.Started.AddDate(0, 0, d)
					if _, err := s.Ingest(ctx, &r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r := *tmpl
					r.RunID = fmt.Sprintf("run-%d", i)
					r.Started = tmpl.Started.AddDate(0, 0, nights+i)
					res, err := s.Ingest(ctx, &r)
					if err != nil || !res.Stored {
						b.Fatal(res, err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(len(tmpl.Cells))*float64(b.N)/b.Elapsed().Seconds(), "cells/s")
				peakRSS(b)
			})
		}
	}
}

// filled is a store of nights runs of cells cells each.
func filled(b *testing.B, cells, nights int) (*history.Store, *matrix.Run) {
	ctx := context.Background()
	s := benchStore(b)
	tmpl := fleetOf(cells, 0)
	for d := 0; d < nights; d++ {
		r := *tmpl
		r.RunID = fmt.Sprintf("n-%d", d)
		r.Started = tmpl.Started.AddDate(0, 0, d)
		if _, err := s.Ingest(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
	return s, tmpl
}

var querySizes = [][2]int{{1000, 30}, {1000, 90}, {10000, 30}}

// BenchmarkLatest queries the latest matrix (every key's newest night).
func BenchmarkLatest(b *testing.B) {
	ctx := context.Background()
	for _, sz := range querySizes {
		b.Run(fmt.Sprintf("cells=%d/nights=%d", sz[0], sz[1]), func(b *testing.B) {
			s, tmpl := filled(b, sz[0], sz[1])
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ns, err := s.Latest(ctx)
				if err != nil || len(ns) != len(tmpl.Cells) {
					b.Fatalf("latest: %d nights, %v; want %d", len(ns), err, len(tmpl.Cells))
				}
			}
			b.StopTimer()
			peakRSS(b)
		})
	}
}

// BenchmarkHistory queries one cell's every night.
func BenchmarkHistory(b *testing.B) {
	ctx := context.Background()
	for _, sz := range querySizes {
		b.Run(fmt.Sprintf("cells=%d/nights=%d", sz[0], sz[1]), func(b *testing.B) {
			s, tmpl := filled(b, sz[0], sz[1])
			c := tmpl.Cells[len(tmpl.Cells)-1]
			var dev string
			for _, d := range tmpl.Devices {
				if d.ID == c.Device {
					dev = d.Name
				}
			}
			k := history.Key{Framework: c.Framework, FrameworkVersion: c.FrameworkVersion, Model: c.Model, Check: c.Check, Device: dev, Precision: c.Precision}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ns, err := s.History(ctx, k)
				if err != nil || len(ns) < sz[1] {
					b.Fatalf("history of %s: %d nights, %v; want ≥ %d", k, len(ns), err, sz[1])
				}
			}
			b.StopTimer()
			peakRSS(b)
		})
	}
}

// BenchmarkDetect runs regression detection over the whole store.
func BenchmarkDetect(b *testing.B) {
	ctx := context.Background()
	for _, sz := range querySizes {
		b.Run(fmt.Sprintf("cells=%d/nights=%d", sz[0], sz[1]), func(b *testing.B) {
			s, _ := filled(b, sz[0], sz[1])
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Detect(ctx, history.DefaultOptions); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			peakRSS(b)
		})
	}
}
