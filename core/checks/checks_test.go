package checks

import (
	"math"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/judge"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/matrix"
)

// TestEveryProtocolCheckHasAnEntry: the table and the protocol name the
// same checks, in the same order, each with a limit and a judge.
func TestEveryProtocolCheckHasAnEntry(t *testing.T) {
	protocol := append(append([]string{}, pluginapi.AllChecks...), pluginapi.DeviceChecks...)
	if got, want := strings.Join(Names(), ","), strings.Join(protocol, ","); got != want {
		t.Errorf("table %s, protocol %s", got, want)
	}
	// The default checks are the model checks; the device checks are
	// opt-in (docs/spec.md §10).
	if got, want := strings.Join(Defaults(), ","), strings.Join(pluginapi.AllChecks, ","); got != want {
		t.Errorf("defaults %s, want %s", got, want)
	}
	for _, c := range pluginapi.DeviceChecks {
		if !IsDevice(c) {
			t.Errorf("%s is not a device check in the table", c)
		}
	}
	for _, c := range Table {
		if c.Timeout <= 0 || c.Judge == nil {
			t.Errorf("%s: timeout %s, judge set %v", c.Name, c.Timeout, c.Judge != nil)
		}
	}
	if err := Validate("nope"); err == nil || !strings.Contains(err.Error(), "valid: forward, backward, determinism, perf, characterise") {
		t.Errorf("Validate: %v", err)
	}
}

// TestNoVerdictWithoutAStatus: whatever a plugin returns, each check's
// verdict has a status; a judge that gives none is an error that says so.
func TestNoVerdictWithoutAStatus(t *testing.T) {
	g, err := refdata.Load("../../testdata/reference", reference.CNN)
	if err != nil {
		t.Fatal(err)
	}
	tols, _ := judge.ForPrecision(pluginapi.PrecisionFP32)
	for _, resp := range []pluginapi.RunResponse{{}, {Outputs: []byte("garbage")}, {Timings: []pluginapi.Timing{{Name: "x"}}}} {
		for _, name := range append(Names(), "no-such-check") {
			v := Judge(name, Input{Response: resp, Model: reference.CNN, Golden: g, Tolerances: tols})
			if v.Status == "" {
				t.Errorf("%s on %+v: no status", name, resp)
			}
		}
	}
	Table = append(Table, Check{Name: "silent", Judge: func(Input) judge.Verdict { return judge.Verdict{} }})
	defer func() { Table = Table[:len(Table)-1] }()
	if v := Judge("silent", Input{}); v.Status != matrix.Error || !strings.Contains(v.Reason, "gave no status") {
		t.Errorf("a judge without a status: %+v", v)
	}
}

func TestPerfPercentOfPeakAndNoise(t *testing.T) {
	steady := []float64{0.010, 0.0101, 0.0099, 0.010, 0.0100}
	noisy := []float64{0.010, 0.020, 0.005, 0.015, 0.010}
	resp := pluginapi.RunResponse{Timings: []pluginapi.Timing{
		{Name: pluginapi.TimingThroughput, Unit: "s", Batch: 32, Samples: steady},
		{Name: pluginapi.TimingTrainStep, Unit: "s", Batch: 32, Samples: noisy},
	}}
	v := Judge(pluginapi.CheckPerf, Input{Response: resp, Model: reference.CNN, PeakGFLOPs: 19491.84})
	if v.Status != matrix.Pass || len(v.Timings) != 2 {
		t.Fatalf("%+v", v)
	}
	thr, train := v.Timings[0], v.Timings[1]
	// 32 samples / 10 ms × 9,385,472 FLOPs = 30.03 GFLOP/s; of 19,491.84.
	if math.Abs(thr.GFLOPs-30.0335104) > 1e-6 || math.Abs(thr.PercentOfPeak-100*thr.GFLOPs/19491.84) > 1e-9 {
		t.Errorf("throughput: %v GFLOP/s, %v%% of peak", thr.GFLOPs, thr.PercentOfPeak)
	}
	if thr.Noisy || !train.Noisy || train.Summary.CV < matrix.NoisyCV {
		t.Errorf("noisy flags: throughput %v (cv %v), train %v (cv %v)", thr.Noisy, thr.Summary.CV, train.Noisy, train.Summary.CV)
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "train_step b32: noisy") {
		t.Errorf("warnings %q", v.Warnings)
	}
	if cpu := Judge(pluginapi.CheckPerf, Input{Response: resp, Model: reference.CNN}); cpu.Timings[0].PercentOfPeak != 0 {
		t.Error("a percentage of an unknown peak")
	}
	if d := perfDetail(matrix.Cell{Timings: v.Timings}); !strings.Contains(d, "b32 3200/s") || !strings.Contains(d, "train b32") {
		t.Errorf("detail %q", d)
	}
}
