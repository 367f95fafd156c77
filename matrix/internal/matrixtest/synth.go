package matrixtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// Spec describes a run shaped like real ones (numeric cells with
// per-tensor errors, perf cells with four series of raw samples), for
// tests and benchmarks. Everything is drawn from a generator seeded with
// Seed, so the same Spec gives the same run every time.
type Spec struct {
	ID         string
	Host       string
	Frameworks [][2]string // name, version
	Devices    []matrix.Device
	// Models and Checks default to cnn, lstm and every check.
	Models []string
	Checks []string
	// Samples per timing series; default 20.
	Samples int
	Seed    uint64
	// Slow multiplies the perf samples of cells whose framework matches.
	Slow map[string]float64
	// Limit truncates the cells (0: no limit).
	Limit int
}

// Start is when every synthetic run started.
var Start = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// A100 is the i-th GPU of a machine of A100s, with the driver given.
func A100(i int, driver string) matrix.Device {
	return matrix.Device{ID: fmt.Sprintf("gpu:%d", i), Kind: "gpu", Name: "NVIDIA A100-SXM4-40GB", Architecture: "Ampere",
		UUID: fmt.Sprintf("GPU-%08d-a100", i), MemoryTotalBytes: 40 << 30, MaxSMClockMHz: 1410, CUDACores: 6912,
		PeakFP32GFLOPs: 19491.84, TheoreticalBandwidthGBs: 1555.2, ComputeCapability: "8.0", DriverVersion: driver, CUDADriverVersion: "12.4"}
}

// CPU is a two-core test CPU.
func CPU() matrix.Device {
	return matrix.Device{ID: "cpu", Kind: "cpu", Name: "Test CPU", Cores: 2, MemoryTotalBytes: 24 << 30}
}

// Run builds the run the Spec describes.
func (s Spec) Run() *matrix.Run {
	if s.Models == nil {
		s.Models = []string{"cnn", "lstm"}
	}
	if s.Checks == nil {
		s.Checks = []string{"forward", "backward", "determinism", "perf"}
	}
	if s.Samples == 0 {
		s.Samples = 20
	}
	rng := rand.New(rand.NewPCG(s.Seed, 7))
	r := &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: s.ID, Started: Start, Finished: Start.Add(time.Hour),
		Host: matrix.Host{Hostname: s.Host, OS: "linux", Arch: "amd64", CPUs: 2, Go: "go1.26"}, DlcompatVersion: "test",
		ConfigHash: "cfg", Devices: s.Devices}
	for _, f := range s.Frameworks {
		r.Frameworks = append(r.Frameworks, matrix.Framework{Name: f[0], Version: f[1], Executor: "local", Build: map[string]string{"go": "go1.26"}})
	}
	base := map[string]float64{"cnn": 1.6e-3, "lstm": 3.2e-3}
	for fi, f := range s.Frameworks {
		for _, d := range s.Devices {
			for _, m := range s.Models {
				for _, check := range s.Checks {
					if s.Limit > 0 && len(r.Cells) == s.Limit {
						return r
					}
					c := matrix.Cell{CellKey: matrix.CellKey{Framework: f[0], FrameworkVersion: f[1], Device: d.ID, Model: m, Check: check, Precision: "fp32"},
						Status: matrix.Pass, Started: Start, Seconds: 0.05 + rng.Float64()}
					switch check {
					case "forward", "backward":
						abs, rel := 1e-7*(1+rng.Float64()), 1e-5*(1+rng.Float64())
						c.MaxAbsErr, c.MaxRelErr = matrix.F(abs), matrix.F(rel)
						c.Tolerance = &matrix.Tolerance{RTol: 1e-4, ATol: 1e-5}
						c.Worst = "logits[3,7]"
						for i := 0; i < 8; i++ { // real cells have 4 to 11

							c.Tensors = append(c.Tensors, matrix.TensorError{Name: fmt.Sprintf("grad.layer%d.weight", i),
								MaxAbsErr: matrix.Float(abs * rng.Float64()), MaxRelErr: matrix.Float(rel * rng.Float64()), WorstIndex: []int{i, 2}, Pass: true})
						}
					case "perf":
						factor := 1.0
						if f, ok := s.Slow[f[0]]; ok {
							factor = f
						}
						series := []struct {
							name  string
							batch int
							scale float64
						}{{"latency", 1, 1}, {"throughput", 32, 20}, {"throughput", 128, 70}, {"train_step", 32, 60}}
						for _, se := range series {
							t := matrix.Timing{Name: se.name, Unit: "s", Better: "lower", Batch: se.batch}
							med := base[m] * se.scale * (1 + 0.3*float64(fi)) * factor
							for i := 0; i < s.Samples; i++ {
								// Nanosecond resolution, as time.Since gives.
								t.Samples = append(t.Samples, math.Round(med*math.Exp(0.03*rng.NormFloat64())*1e9)/1e9)
							}
							t.Summary = matrix.Summarize(t.Samples)
							// Adaptive timing's record (docs/spec.md §7.1): the
							// third framework's series hit a cap.
							t.MedianPrecision, t.Capped, t.Timer = 0.008+0.004*float64(fi), fi == 2, "host_monotonic"
							if d.Kind == "gpu" {
								t.Timer = "cuda_event"
							}
							t.ItemsPerSecond = float64(t.Batch) / t.Summary.Median
							t.GFLOPs = 9.385472e6 * t.ItemsPerSecond / 1e9
							if se.name == "train_step" {
								t.GFLOPs *= 3
							}
							if m == "cnn" {
								t.FLOPsPerByte = cnnFLOPsPerByte(se.batch)
							}
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

// CellAt returns a pointer to the cell of r with the given coordinates.
func CellAt(r *matrix.Run, framework, device, model, check string) *matrix.Cell {
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Framework == framework && c.Device == device && c.Model == model && c.Check == check {
			return c
		}
	}
	panic(fmt.Sprintf("no cell %s %s %s %s", framework, device, model, check))
}

// Fleet is a run on gpus GPUs of five models, with frameworks × 2 models
// × 4 checks cells per GPU.
func Fleet(id string, seed uint64, frameworks, gpus int, slow map[string]float64) *matrix.Run {
	s := Spec{ID: id, Host: "fleet", Seed: seed, Slow: slow}
	for f := 0; f < frameworks; f++ {
		s.Frameworks = append(s.Frameworks, [2]string{fmt.Sprintf("fw%02d", f), "1.0"})
	}
	names := []string{"NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3", "NVIDIA L4", "NVIDIA A10G", "Tesla V100-SXM2-16GB"}
	for i := 0; i < gpus; i++ {
		d := A100(i, "550.54.15")
		d.Name = names[i%len(names)]
		s.Devices = append(s.Devices, d)
	}
	return s.Run()
}

// WriteRun writes r to path as a results document.
func WriteRun(b testing.TB, path string, r *matrix.Run) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := matrix.WriteJSON(f, r); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// Base is a run of gorgonia and pytorch on a CPU and an A100.
func Base(id string, seed uint64) Spec {
	return Spec{ID: id, Host: "node-a", Seed: seed,
		Frameworks: [][2]string{{"gorgonia", "v0.9.18"}, {"pytorch", "2.3.0"}},
		Devices:    []matrix.Device{CPU(), A100(0, "550.54.15")}}
}

// Hostile is EveryStatus with Payload in every string a plugin or a
// machine could set.
func Hostile() *matrix.Run {
	r := EveryStatus()
	r.Devices = append(r.Devices, matrix.Device{ID: "gpu:0", Kind: "gpu", Name: "GPU " + Payload, DriverVersion: Payload})
	r.Frameworks = append(r.Frameworks, matrix.Framework{Name: "evil", Version: Payload, Executor: "local", Image: Payload,
		Build: map[string]string{"cuda": Payload}, Warnings: []string{Payload}})
	for _, c := range append([]matrix.Cell(nil), r.Cells[:4]...) {
		c.Framework, c.FrameworkVersion = "evil", Payload
		c.Reason, c.StderrTail, c.Worst = Payload, Payload, Payload
		c.Warnings = []string{Payload}
		if c.Check == "forward" {
			c.Status = matrix.Fail
		}
		r.Cells = append(r.Cells, c)
	}
	r.Notes = append(r.Notes, Payload)
	r.Host.Hostname = Payload
	return r
}

// EveryStatus is a run with one cell of each status, and text that XML
// and HTML must carry safely.
func EveryStatus() *matrix.Run {
	s := Spec{ID: "20261120T020000Z-abcdef", Host: "node-a", Seed: 3, Frameworks: [][2]string{{"gorgonia", "v0.9.18"}},
		Devices: []matrix.Device{CPU()}, Models: []string{"cnn"}}
	r := s.Run()
	r.Cells = r.Cells[:4]
	add := func(check string, st matrix.Status, reason, stderr string) {
		c := matrix.Cell{CellKey: matrix.CellKey{Framework: "gorgonia", FrameworkVersion: "v0.9.18", Device: "cpu", Model: "lstm", Check: check, Precision: "fp32"},
			Status: st, Reason: reason, StderrTail: stderr, Seconds: 1.5}
		r.Cells = append(r.Cells, c)
	}
	fail := r.Cells[0]
	fail.Model, fail.Status, fail.Reason, fail.FirstDivergingLayer = "lstm", matrix.Fail, "logits: 3 of 80 values outside rtol 1e-4 & atol 1e-5 <b>", "layers.1"
	r.Cells = append(r.Cells, fail)
	add("backward", matrix.Error, "RuntimeError: CUDA error: an illegal memory access\nsecond line", "Traceback (most recent call last):\n  File \"worker.py\"")
	add("determinism", matrix.Crash, "plugin process died: EOF", "panic: runtime error\x1b[31m red \x00 nul\ngoroutine 1 [running]:")
	add("perf", matrix.Timeout, "no result within 30m0s; the plugin was killed", "")
	c := r.Cells[0]
	c.Device, c.Status, c.Reason = "gpu:0", matrix.Skip, "gorgonia cannot use gpu:0 (it offers: cpu)"
	c.MaxAbsErr, c.MaxRelErr = nil, nil
	r.Cells = append(r.Cells, c)
	c.Check, c.Status, c.Reason = "backward", matrix.Unknown, "not run: the run was interrupted"
	r.Cells = append(r.Cells, c)
	return r
}

// Payload is what a hostile or broken plugin could put in a framework
// version, a device name, a reason or its stderr. If any of it ran, the
// page's title would change or an element with id "injected" would
// appear in the DOM.
const Payload = `"><img src=x onerror="document.title='pwned'"><script>document.title='pwned';` +
	`document.body.insertAdjacentHTML('beforeend','<div id=injected></div>')</script>`

// Report is the fixed run the golden files of matrix/render show: every
// status; a framework that is not installed (its skips share a reason);
// perf cells on the CPU and on a GPU with a known FP32 peak, one of them
// noisy; a warning on a passing cell; run and device notes; compute time
// and a resumed run's elapsed time. Change it and the golden files change
// with it (go test ./matrix/render -update).
func Report() *matrix.Run {
	s := Spec{ID: "20261120T020000Z-golden", Host: "node-a", Seed: 11, Samples: 6,
		Frameworks: [][2]string{{"gorgonia", "v0.9.18"}, {"pytorch", "2.3.0"}},
		Devices:    []matrix.Device{CPU(), A100(0, "550.54.15")},
		Models:     []string{"cnn"}, Checks: []string{"forward", "determinism", "perf"}}
	r := s.Run()
	r.ElapsedSeconds = 3000 // resumed: less than Finished − Started
	r.DeviceNotes = []string{"gpu:1: NVML cannot read its clocks (not supported)"}
	r.Notes = []string{"shard by (device, framework): whole run"}
	for i := range r.Cells {
		r.Cells[i].ComputeSeconds = r.Cells[i].Seconds / 2
	}
	for _, c := range []*matrix.Cell{CellAt(r, "gorgonia", "gpu:0", "cnn", "forward"), CellAt(r, "gorgonia", "gpu:0", "cnn", "determinism"), CellAt(r, "gorgonia", "gpu:0", "cnn", "perf")} {
		*c = matrix.Cell{CellKey: c.CellKey, Status: matrix.Skip, Reason: "gorgonia cannot use gpu:0 (it offers: cpu)", Seconds: 0}
	}
	fail := CellAt(r, "pytorch", "gpu:0", "cnn", "forward")
	fail.Status, fail.Reason, fail.FirstDivergingLayer = matrix.Fail, "logits: 3 of 80 values outside rtol 1e-4, atol 1e-5", "conv2"
	fail.MaxAbsErr, fail.MaxRelErr = matrix.F(2e-3), matrix.F(0.25)
	fail.Tensors[0].Pass, fail.Tensors[0].Violations = false, 3
	CellAt(r, "pytorch", "cpu", "cnn", "forward").Warnings = []string{"torch.backends.mkldnn is off"}
	perf := CellAt(r, "pytorch", "cpu", "cnn", "perf")
	perf.Timings[0].Summary.CV, perf.Timings[0].Noisy = 0.14, true
	det := CellAt(r, "pytorch", "gpu:0", "cnn", "determinism")
	det.Status, det.Reason, det.StderrTail = matrix.Crash, "plugin process died: EOF", "panic: runtime error\ngoroutine 1 [running]:"
	r.Frameworks = append(r.Frameworks, matrix.Framework{Name: "caffe", Version: "not installed", Executor: "local",
		Unavailable: "caffe is not installed for python3; install it with: scripts/build-images.sh caffe-cpu"})
	for _, d := range []string{"cpu", "gpu:0"} {
		for _, check := range []string{"forward", "determinism"} {
			r.Cells = append(r.Cells, matrix.Cell{CellKey: matrix.CellKey{Framework: "caffe", FrameworkVersion: "not installed", Device: d, Model: "cnn", Check: check, Precision: "fp32"},
				Status: matrix.Skip, Reason: "caffe is not installed for python3; install it with: scripts/build-images.sh caffe-cpu"})
		}
	}
	// The device characterisation: pytorch on both devices (the GPU's
	// theoretical peaks an A100's, docs/spec.md §10.3), numpy on the CPU.
	r.Devices[1].SMCount = 108
	r.Devices[1].PeakGFLOPsByPrecision = map[string]float64{"fp64": 19491.84, "fp32": 19491.84, "tf32": 155934.72, "bf16": 311869.44, "fp16": 311869.44}
	cpuChar := Characterisation{Streams: map[string]float64{"copy": 18, "triad": 14}, GEMM: map[string]float64{"fp64": 95, "fp32": 210, "bf16": 60}, StreamElements: 1 << 25, GEMMSize: 1024}
	r.Cells = append(r.Cells, CharacteriseCell("pytorch", "2.3.0", "cpu", cpuChar, 6, 3))
	gpuChar := Characterisation{Streams: map[string]float64{"copy": 1320, "triad": 1350, "h2d": 24.5, "d2h": 25.1},
		GEMM: map[string]float64{"fp64": 18900, "fp32": 18800, "tf32": 128000, "bf16": 262000, "fp16": 270000}, StreamElements: 1 << 28, GEMMSize: 8192}
	r.Cells = append(r.Cells, CharacteriseCell("pytorch", "2.3.0", "gpu:0", gpuChar, 6, 4))
	for _, c := range []struct {
		check  string
		status matrix.Status
		reason string
	}{
		{"backward", matrix.Error, "RuntimeError: CUDA error: an illegal memory access\nsecond line"},
		{"perf", matrix.Timeout, "no result within 30m0s; the plugin was killed"},
		{"forward", matrix.Unknown, "not run: the run was interrupted"},
	} {
		r.Cells = append(r.Cells, matrix.Cell{CellKey: matrix.CellKey{Framework: "pytorch", FrameworkVersion: "2.3.0", Device: "gpu:0", Model: "lstm", Check: c.check, Precision: "fp32"},
			Status: c.status, Reason: c.reason, Seconds: 1.5})
	}
	AddTelemetry(r)
	return r
}

// AddTelemetry gives a Report-like run what the host records around a
// GPU (docs/spec.md §11): the fingerprint of gpu:0, telemetry on the
// perf series of pytorch on gpu:0 (the throughput series throttled), a
// preflight with a downtrained link and an ECC error, a package list,
// and reproduce lines.
func AddTelemetry(r *matrix.Run) {
	for i := range r.Devices {
		d := &r.Devices[i]
		if d.Kind == matrix.KindGPU {
			d.VBIOSVersion, d.InfoROMVersion, d.Persistence = "92.00.45.00.03", "G503.0201.00.03", "enabled"
			d.AppSMClockMHz, d.AppMemClockMHz = 1095, 1215
		}
	}
	for i := range r.Frameworks {
		if f := &r.Frameworks[i]; f.Name == "pytorch" {
			f.Packages = &matrix.Packages{Digest: "sha256:3f1c9a0e5b7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e", From: "pip, dpkg in image sha256:5d2e",
				Items: []matrix.Package{{Manager: "dpkg", Name: "libc6", Version: "2.36-9"}, {Manager: "pip", Name: "numpy", Version: "1.26.4"}, {Manager: "pip", Name: "torch", Version: "2.3.0"}}}
		}
		if f := &r.Frameworks[i]; f.Name == "gorgonia" {
			f.PackagesNote = "bin/plugins/dlcompat-plugin-gorgonia carries no Go build information (built with -buildvcs=false -trimpath?)"
		}
	}
	for i := range r.Cells {
		c := &r.Cells[i]
		c.Reproduce = "dlcompat run --frameworks " + c.Framework + " --devices " + c.Device + " --models " + c.Model + " --checks " + c.Check + " --precisions fp32 -o results/reproduce"
		if c.Framework != "pytorch" || c.Device != "gpu:0" || c.Check != "perf" || c.Status != matrix.Pass {
			continue
		}
		for j := range c.Timings {
			t := &c.Timings[j]
			n := float64(len(t.Samples) * t.Batch)
			tel := &matrix.Telemetry{Source: "nvml", Window: matrix.WindowSeries, WindowSeconds: 0.84, Samples: 42,
				SMClockMedianMHz: 1410, SMClockMinMHz: 1410, MemClockMedianMHz: 1215, PowerMedianW: 251, PowerMaxW: 268,
				EnergyJ: 210.8, EnergyFrom: "counter", JoulesPerItem: 210.8 / n, TempMaxC: 61, MemoryUsedMaxBytes: 3 << 30, ProcessMemoryMaxBytes: 2600 << 20,
				Baseline: &matrix.TelemetryBaseline{Seconds: 0.2, Samples: 10, SMClockMedianMHz: 210, PowerMedianW: 54, TempMaxC: 38, MemoryUsedBytes: 512 << 20, ClockEventReasons: []string{"gpu_idle"}}}
			if t.Name == "throughput" {
				tel.SMClockMedianMHz, tel.SMClockMinMHz, tel.PowerMedianW, tel.PowerMaxW, tel.TempMaxC = 1305, 1110, 398, 400, 88
				tel.ClockEventReasons = []string{"sw_power_cap", "hw_thermal_slowdown"}
				tel.Throttled, tel.ThrottleReasons = true, []string{"sw_power_cap", "hw_thermal_slowdown"}
			}
			if t.Name == "train_step" {
				tel.JoulesPerStep = 210.8 / float64(len(t.Samples))
			}
			t.Telemetry = tel
		}
	}
	r.Preflight = []matrix.PreflightCheck{
		{Device: "host", Name: "nvml", Status: matrix.PreflightOK, Detail: "NVML 12.550.54.15, driver 550.54.15"},
		{Device: "host", Name: "gpu_count", Status: matrix.PreflightOK, Detail: "1 on the PCI bus, 1 in NVML"},
		{Device: "gpu:0", Name: "persistence", Status: matrix.PreflightOK, Detail: "enabled"},
		{Device: "gpu:0", Name: "pcie_link", Status: matrix.PreflightWarn, Detail: "Gen4 x8, trained down from x16 (Gen4): host-device copies run at a fraction of their speed; reseat the card or check the slot"},
		{Device: "gpu:0", Name: "ecc_mode", Status: matrix.PreflightOK, Detail: "enabled"},
		{Device: "gpu:0", Name: "ecc_uncorrected", Status: matrix.PreflightBad, Detail: "2 volatile uncorrected ECC errors since the driver loaded: results on this GPU may be corrupt; drain it and reset it"},
		{Device: "gpu:0", Name: "retired_pages", Status: matrix.PreflightNA, Detail: "not supported by this GPU"},
		{Device: "gpu:0", Name: "mig", Status: matrix.PreflightOK, Detail: "disabled"},
	}
}

// Shard is the k-th of n shards of a fleet's run, as BenchmarkMerge and
// scripts/bench-reports.sh merge them: a machine node-k with its own gpu:0
// and the CPU, 100 cells of seven frameworks.
func Shard(k, n int) *matrix.Run {
	gpu := A100(0, "550.54.15") // each machine's own gpu:0
	gpu.UUID = fmt.Sprintf("GPU-node-%04d", k)
	s := Spec{ID: fmt.Sprintf("run-%04d", k), Host: fmt.Sprintf("node-%04d", k), Seed: uint64(k), Limit: 100,
		Devices: []matrix.Device{CPU(), gpu}}
	for f := 0; f < 7; f++ {
		s.Frameworks = append(s.Frameworks, [2]string{fmt.Sprintf("fw%02d", f), "1.0"})
	}
	r := s.Run()
	r.Shard = fmt.Sprintf("%d/%d", k, n)
	return r
}

// WriteShard writes Shard(k, n) to path.
func WriteShard(path string, k, n int) error { return WriteFile(path, Shard(k, n)) }

// WriteFile writes r to path as a results document.
func WriteFile(path string, r *matrix.Run) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := matrix.WriteJSON(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
