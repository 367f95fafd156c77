package matrixtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// YearStart is the first night of Year.
var YearStart = time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)

// Planted says where Year put each event, for tests to find them.
type Planted struct {
	// PerfRegression: pytorch's cnn perf (forward b64) 30 % slower from
	// this night on, the night pytorch went from 2.5.1 to 2.6.0 in a new
	// image (the key continues across the upgrade: history.Key.Row).
	PerfRegressionNight int
	// StatusRegression: jax's lstm backward fails from this night on, the
	// night the dlcompat version changed.
	StatusRegressionNight int
	// Flaky: tensorflow's cnn forward fails every third night from
	// FlakyFrom on.
	FlakyFrom int
	// Throttled nights: tensorflow's lstm perf ran 40 % slower with the
	// telemetry's Throttled set, and recovered (one is the last night
	// but one).
	ThrottledNights []int
	// InfraNight: the runner broke, every cell unknown.
	InfraNight int
	// DriverChangeNight: the H100 runner's driver went 550 → 560.
	DriverChangeNight int
	// StaleRunnerLast: the A100 runner's last night (it went silent).
	StaleRunnerLast int
}

// YearPlanted is where Year plants its events.
var YearPlanted = Planted{PerfRegressionNight: 354, StatusRegressionNight: 360, FlakyFrom: 334,
	ThrottledNights: []int{200, 363}, InfraNight: 250, DriverChangeNight: 180, StaleRunnerLast: 320}

// Year is nights synthetic nights of two runners (an H100 one every
// night, an A100 one until it goes silent), three frameworks × two
// models × three checks each, with the events of YearPlanted; nights
// is 365 for the full year.
func Year(nights int) []*matrix.Run {
	p := YearPlanted
	var out []*matrix.Run
	for d := 0; d < nights; d++ {
		out = append(out, yearNight("h100-runner", "NVIDIA H100 80GB HBM3", d, p, nights))
		if d <= p.StaleRunnerLast {
			out = append(out, yearNight("a100-runner", "NVIDIA A100-SXM4-40GB", d, p, nights))
		}
	}
	return out
}

func yearNight(runner, gpu string, d int, p Planted, nights int) *matrix.Run {
	rng := rand.New(rand.NewPCG(uint64(d), uint64(len(runner)+len(gpu))))
	h100 := runner == "h100-runner"
	driver := "550.54.15"
	if d >= p.DriverChangeNight {
		driver = "560.35.03"
	}
	ver := "0.9.0"
	if d >= p.StatusRegressionNight {
		ver = "0.10.0"
	}
	started := YearStart.AddDate(0, 0, d)
	r := &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: fmt.Sprintf("%s-%s", runner, started.Format("2006-01-02")),
		Started: started, Finished: started.Add(40 * time.Minute), DlcompatVersion: ver, ConfigHash: "cfg",
		Host:    matrix.Host{Hostname: runner, OS: "linux", Arch: "amd64", CPUs: 32, Go: "go1.26"},
		Devices: []matrix.Device{{ID: "gpu:0", Kind: matrix.KindGPU, Name: gpu, DriverVersion: driver}}}
	fws := [][2]string{{"pytorch", "2.5.1"}, {"jax", "0.4.35"}, {"tensorflow", "2.18.0"}}
	if d >= p.PerfRegressionNight {
		fws[0][1] = "2.6.0" // the upgrade that brings pytorch's new image
	}
	for _, f := range fws {
		digest := "sha256:" + f[0] + "-1111"
		if f[0] == "pytorch" && d >= p.PerfRegressionNight {
			digest = "sha256:" + f[0] + "-2222"
		}
		r.Frameworks = append(r.Frameworks, matrix.Framework{Name: f[0], Version: f[1], Executor: "docker", Image: "dlcompat/" + f[0], ImageDigest: digest})
	}
	infra := h100 && d == p.InfraNight
	for _, f := range fws {
		for mi, model := range []string{"cnn", "lstm"} {
			for _, check := range []string{"forward", "backward", "perf"} {
				c := matrix.Cell{CellKey: matrix.CellKey{Framework: f[0], FrameworkVersion: f[1], Device: "gpu:0", Model: model, Check: check, Precision: "fp32"},
					Status: matrix.Pass, Started: started, Seconds: 1}
				switch {
				case infra:
					c.Status, c.Reason = matrix.Unknown, "no result arrived: the runner lost its Docker engine"
				case check == "perf":
					base := 10.0 + 3*float64(mi)
					if !h100 {
						base *= 1.6
					}
					t := matrix.Timing{Name: "forward", Unit: "ms", Better: "lower", Batch: 64}
					slow := 1.0
					if h100 && f[0] == "pytorch" && model == "cnn" && d >= p.PerfRegressionNight {
						slow = 1.3
					}
					if h100 && f[0] == "tensorflow" && model == "lstm" && contains(p.ThrottledNights, d) {
						slow = 1.4
						t.Telemetry = &matrix.Telemetry{Source: "nvml", Window: matrix.WindowSeries, Throttled: true, ThrottleReasons: []string{"hw_thermal_slowdown"}}
					}
					for i := 0; i < 12; i++ {
						t.Samples = append(t.Samples, base*slow*(1+0.02*rng.NormFloat64()))
					}
					t.Summary = matrix.Summary{Median: base * slow}
					c.Timings = []matrix.Timing{t}
				default:
					e := 1e-6 * (1 + 0.3*rng.Float64())
					if h100 && f[0] == "jax" && model == "lstm" && check == "backward" && d >= p.StatusRegressionNight {
						c.Status, c.Reason, e = matrix.Fail, "grad layers.0.weight_hh: max abs err 3.1e-02 > atol 1e-05", 3.1e-2
					}
					if h100 && f[0] == "tensorflow" && model == "cnn" && check == "forward" && d >= p.FlakyFrom && (d-p.FlakyFrom)%3 == 1 {
						c.Status, c.Reason, e = matrix.Fail, "output: max abs err 2.0e-03 > atol 1e-05 (nondeterministic reduction)", 2e-3
					}
					c.MaxAbsErr, c.MaxRelErr = matrix.F(e), matrix.F(e*10)
				}
				r.Cells = append(r.Cells, c)
			}
		}
	}
	return r
}

func contains(v []int, x int) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}
