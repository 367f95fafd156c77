package matrix

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// synth builds runs shaped like real ones (numeric cells with per-tensor
// errors, perf cells with four series of raw samples) for tests and
// benchmarks. Everything is drawn from a seeded generator, so a synth
// run is the same every time.
type synth struct {
	id         string
	host       string
	frameworks [][2]string // name, version
	devices    []Device
	models     []string
	checks     []string
	samples    int
	seed       uint64
	// slow multiplies the perf samples of cells whose framework matches.
	slow map[string]float64
	// limit truncates the cells (0: no limit).
	limit int
}

var synthStart = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

func a100(i int, driver string) Device {
	return Device{ID: fmt.Sprintf("gpu:%d", i), Kind: "gpu", Name: "NVIDIA A100-SXM4-40GB", Architecture: "Ampere",
		UUID: fmt.Sprintf("GPU-%08d-a100", i), MemoryTotalBytes: 40 << 30, MaxSMClockMHz: 1410, CUDACores: 6912,
		PeakFP32GFLOPs: 19491.84, TheoreticalBandwidthGBs: 1555.2, ComputeCapability: "8.0", DriverVersion: driver, CUDADriverVersion: "12.4"}
}

func cpuDevice() Device {
	return Device{ID: "cpu", Kind: "cpu", Name: "Test CPU", Cores: 2, MemoryTotalBytes: 24 << 30}
}

func (s synth) run() *Run {
	if s.models == nil {
		s.models = []string{"cnn", "lstm"}
	}
	if s.checks == nil {
		s.checks = []string{"forward", "backward", "determinism", "perf"}
	}
	if s.samples == 0 {
		s.samples = 20
	}
	rng := rand.New(rand.NewPCG(s.seed, 7))
	r := &Run{SchemaVersion: SchemaVersion, RunID: s.id, Started: synthStart, Finished: synthStart.Add(time.Hour),
		Host: Host{Hostname: s.host, OS: "linux", Arch: "amd64", CPUs: 2, Go: "go1.26"}, DlcompatVersion: "test",
		ConfigHash: "cfg", Devices: s.devices}
	for _, f := range s.frameworks {
		r.Frameworks = append(r.Frameworks, Framework{Name: f[0], Version: f[1], Executor: "local", Build: map[string]string{"go": "go1.26"}})
	}
	base := map[string]float64{"cnn": 1.6e-3, "lstm": 3.2e-3}
	for fi, f := range s.frameworks {
		for _, d := range s.devices {
			for _, m := range s.models {
				for _, check := range s.checks {
					if s.limit > 0 && len(r.Cells) == s.limit {
						return r
					}
					c := Cell{CellKey: CellKey{Framework: f[0], FrameworkVersion: f[1], Device: d.ID, Model: m, Check: check, Precision: "fp32"},
						Status: Pass, Started: synthStart, Seconds: 0.05 + rng.Float64()}
					switch check {
					case "forward", "backward":
						abs, rel := 1e-7*(1+rng.Float64()), 1e-5*(1+rng.Float64())
						c.MaxAbsErr, c.MaxRelErr = F(abs), F(rel)
						c.Tolerance = &Tolerance{RTol: 1e-4, ATol: 1e-5}
						c.Worst = "logits[3,7]"
						for i := 0; i < 8; i++ { // real cells have 4 to 11

							c.Tensors = append(c.Tensors, TensorError{Name: fmt.Sprintf("grad.layer%d.weight", i),
								MaxAbsErr: Float(abs * rng.Float64()), MaxRelErr: Float(rel * rng.Float64()), WorstIndex: []int{i, 2}, Pass: true})
						}
					case "perf":
						factor := 1.0
						if f, ok := s.slow[f[0]]; ok {
							factor = f
						}
						series := []struct {
							name  string
							batch int
							scale float64
						}{{"latency", 1, 1}, {"throughput", 32, 20}, {"throughput", 128, 70}, {"train_step", 32, 60}}
						for _, se := range series {
							t := Timing{Name: se.name, Unit: "s", Better: "lower", Batch: se.batch}
							med := base[m] * se.scale * (1 + 0.3*float64(fi)) * factor
							for i := 0; i < s.samples; i++ {
								// Nanosecond resolution, as time.Since gives.
								t.Samples = append(t.Samples, math.Round(med*math.Exp(0.03*rng.NormFloat64())*1e9)/1e9)
							}
							t.Summary = Summarize(t.Samples)
							t.ItemsPerSecond = float64(t.Batch) / t.Summary.Median
							t.GFLOPs = 9.385472e6 * t.ItemsPerSecond / 1e9
							if d.PeakFP32GFLOPs > 0 {
								t.PercentOfPeak = 100 * t.GFLOPs / d.PeakFP32GFLOPs
							}
							c.Timings = append(c.Timings, t)
						}
						c.PeakMemoryBytes, c.MemoryKind = 400<<20, "process_max_rss"
					}
					r.Cells = append(r.Cells, c)
				}
			}
		}
	}
	return r
}

// cell returns a pointer to the cell of r with the given coordinates.
func cellAt(r *Run, framework, device, model, check string) *Cell {
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Framework == framework && c.Device == device && c.Model == model && c.Check == check {
			return c
		}
	}
	panic(fmt.Sprintf("no cell %s %s %s %s", framework, device, model, check))
}

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

func baseSynth(id string, seed uint64) synth {
	return synth{id: id, host: "node-a", seed: seed,
		frameworks: [][2]string{{"gorgonia", "v0.9.18"}, {"pytorch", "2.3.0"}},
		devices:    []Device{cpuDevice(), a100(0, "550.54.15")}}
}

func hostileRun() *Run {
	r := everyStatus()
	r.Devices = append(r.Devices, Device{ID: "gpu:0", Kind: "gpu", Name: "GPU " + payload, DriverVersion: payload})
	r.Frameworks = append(r.Frameworks, Framework{Name: "evil", Version: payload, Executor: "local", Image: payload,
		Build: map[string]string{"cuda": payload}, Warnings: []string{payload}})
	for _, c := range append([]Cell(nil), r.Cells[:4]...) {
		c.Framework, c.FrameworkVersion = "evil", payload
		c.Reason, c.StderrTail, c.Worst = payload, payload, payload
		c.Warnings = []string{payload}
		if c.Check == "forward" {
			c.Status = Fail
		}
		r.Cells = append(r.Cells, c)
	}
	r.Notes = append(r.Notes, payload)
	r.Host.Hostname = payload
	return r
}

// everyStatus is a run with one cell of each status, and text that XML
// and HTML must carry safely.
func everyStatus() *Run {
	s := synth{id: "20261120T020000Z-abcdef", host: "node-a", seed: 3, frameworks: [][2]string{{"gorgonia", "v0.9.18"}},
		devices: []Device{cpuDevice()}, models: []string{"cnn"}}
	r := s.run()
	r.Cells = r.Cells[:4]
	add := func(check string, st Status, reason, stderr string) {
		c := Cell{CellKey: CellKey{Framework: "gorgonia", FrameworkVersion: "v0.9.18", Device: "cpu", Model: "lstm", Check: check, Precision: "fp32"},
			Status: st, Reason: reason, StderrTail: stderr, Seconds: 1.5}
		r.Cells = append(r.Cells, c)
	}
	fail := r.Cells[0]
	fail.Model, fail.Status, fail.Reason, fail.FirstDivergingLayer = "lstm", Fail, "logits: 3 of 80 values outside rtol 1e-4 & atol 1e-5 <b>", "layers.1"
	r.Cells = append(r.Cells, fail)
	add("backward", Error, "RuntimeError: CUDA error: an illegal memory access\nsecond line", "Traceback (most recent call last):\n  File \"worker.py\"")
	add("determinism", Crash, "plugin process died: EOF", "panic: runtime error\x1b[31m red \x00 nul\ngoroutine 1 [running]:")
	add("perf", Timeout, "no result within 30m0s; the plugin was killed", "")
	c := r.Cells[0]
	c.Device, c.Status, c.Reason = "gpu:0", Skip, "gorgonia cannot use gpu:0 (it offers: cpu)"
	c.MaxAbsErr, c.MaxRelErr = nil, nil
	r.Cells = append(r.Cells, c)
	c.Check, c.Status, c.Reason = "backward", Unknown, "not run: the run was interrupted"
	r.Cells = append(r.Cells, c)
	return r
}

// payload is what a hostile or broken plugin could put in a framework
// version, a device name, a reason or its stderr. If any of it ran, the
// page's title would change or an element with id "injected" would
// appear in the DOM.
const payload = `"><img src=x onerror="document.title='pwned'"><script>document.title='pwned';` +
	`document.body.insertAdjacentHTML('beforeend','<div id=injected></div>')</script>`
