package diff_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
	"github.com/dlcompat/dlcompat/matrix/render"
)

func findDiff(t *testing.T, c *diff.Comparison, framework, deviceModel, model, check string) diff.CellDiff {
	t.Helper()
	for _, d := range c.Cells {
		if d.Framework == framework && d.DeviceModel == deviceModel && d.Model == model && d.Check == check {
			return d
		}
	}
	t.Fatalf("no diff for %s %s %s %s", framework, deviceModel, model, check)
	return diff.CellDiff{}
}

func TestDiffIdenticalConfigurationFlagsNothing(t *testing.T) {
	// Two runs of the same configuration: the same medians, fresh noise.
	oldRun := matrixtest.Base("old", 1).Run()
	newRun := matrixtest.Base("new", 2).Run()
	c := diff.Compare(oldRun, newRun, diff.DefaultThresholds)
	if n := c.Count(diff.Unchanged); n != len(oldRun.Cells) {
		t.Errorf("%d unchanged of %d; summary %s", n, len(oldRun.Cells), c.Summary())
	}
	for _, d := range c.Cells {
		if d.Change != diff.Unchanged {
			t.Errorf("%s: %s: %s", d.Name(), d.Change, strings.Join(d.Reasons, "; "))
		}
		for _, tm := range d.Timings {
			if tm.Verdict != diff.Same || tm.P == nil {
				t.Errorf("%s %s: verdict %s p %v", d.Name(), tm.Series(), tm.Verdict, tm.P)
			}
		}
	}
	if len(c.Warnings) != 0 || len(c.DeviceChanges) != 0 {
		t.Errorf("warnings %q, device changes %q", c.Warnings, c.DeviceChanges)
	}
}

func TestDiffClassifiesChanges(t *testing.T) {
	check := func(desc string, d diff.CellDiff, want diff.Change, reason string) {
		t.Helper()
		if d.Change != want || !strings.Contains(strings.Join(d.Reasons, "; "), reason) {
			t.Errorf("%s: %s (%q), want %s with %q", desc, d.Change, d.Reasons, want, reason)
		}
	}
	for _, tc := range []struct {
		desc   string
		edit   func(o, n *matrix.Run)
		cell   [4]string // framework, device model, model, check
		want   diff.Change
		reason string
	}{
		{"pass that fails is a regression", func(o, n *matrix.Run) {
			c := matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "forward")
			c.Status, c.Reason = matrix.Fail, "logits differ"
		}, [4]string{"gorgonia", "Test CPU", "cnn", "forward"}, diff.Regression, "pass → fail"},
		{"pass that became skip is a regression too", func(o, n *matrix.Run) {
			matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "forward").Status = matrix.Skip
		}, [4]string{"gorgonia", "Test CPU", "cnn", "forward"}, diff.Regression, "pass → skip"},
		{"fail that passes is an improvement", func(o, n *matrix.Run) {
			matrixtest.CellAt(o, "pytorch", "gpu:0", "lstm", "backward").Status = matrix.Fail
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "lstm", "backward"}, diff.Improvement, "fail → pass"},
		{"error that crashes is a change", func(o, n *matrix.Run) {
			matrixtest.CellAt(o, "pytorch", "gpu:0", "lstm", "forward").Status = matrix.Error
			matrixtest.CellAt(n, "pytorch", "gpu:0", "lstm", "forward").Status = matrix.Crash
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "lstm", "forward"}, diff.Changed, "error → crash"},
		{"error grown 30× is a regression", func(o, n *matrix.Run) {
			c := matrixtest.CellAt(n, "pytorch", "gpu:0", "cnn", "forward")
			c.MaxRelErr = matrix.F(float64(*matrixtest.CellAt(o, "pytorch", "gpu:0", "cnn", "forward").MaxRelErr) * 30)
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "forward"}, diff.Regression, "max rel error"},
		{"error grown 5× is not flagged", func(o, n *matrix.Run) {
			c := matrixtest.CellAt(n, "pytorch", "gpu:0", "cnn", "forward")
			c.MaxAbsErr = matrix.F(float64(*matrixtest.CellAt(o, "pytorch", "gpu:0", "cnn", "forward").MaxAbsErr) * 5)
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "forward"}, diff.Unchanged, ""},
		{"2× slower is a regression with its p-value", func(o, n *matrix.Run) {
			for i := range matrixtest.CellAt(n, "gorgonia", "cpu", "lstm", "perf").Timings {
				t := &matrixtest.CellAt(n, "gorgonia", "cpu", "lstm", "perf").Timings[i]
				for j := range t.Samples {
					t.Samples[j] *= 2
				}
			}
		}, [4]string{"gorgonia", "Test CPU", "lstm", "perf"}, diff.Regression, "% slower (p="},
		{"faster is an improvement", func(o, n *matrix.Run) {
			t := &matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "perf").Timings[1]
			for j := range t.Samples {
				t.Samples[j] *= 0.5
			}
		}, [4]string{"gorgonia", "Test CPU", "cnn", "perf"}, diff.Improvement, "% faster (p="},
		{"a significant 2% change is under the threshold", func(o, n *matrix.Run) {
			ot := matrixtest.CellAt(o, "gorgonia", "cpu", "cnn", "perf").Timings[0]
			t := &matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "perf").Timings[0]
			for j := range t.Samples {
				t.Samples[j] = ot.Samples[j]*1.02 + 1e-12
			}
		}, [4]string{"gorgonia", "Test CPU", "cnn", "perf"}, diff.Unchanged, ""},
		{"a significant 12% change on a CPU is under the CPU threshold", func(o, n *matrix.Run) {
			ot := matrixtest.CellAt(o, "gorgonia", "cpu", "cnn", "perf").Timings[0]
			t := &matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "perf").Timings[0]
			for j := range t.Samples {
				t.Samples[j] = ot.Samples[j] * 1.12
			}
		}, [4]string{"gorgonia", "Test CPU", "cnn", "perf"}, diff.Unchanged, ""},
		{"the same 12% on a GPU is a regression", func(o, n *matrix.Run) {
			ot := matrixtest.CellAt(o, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			t := &matrixtest.CellAt(n, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			for j := range t.Samples {
				t.Samples[j] = ot.Samples[j] * 1.12
			}
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "perf"}, diff.Regression, "% slower (p="},
		{"slower while throttled, against a clean run, is not a regression, and says so", func(o, n *matrix.Run) {
			ot := matrixtest.CellAt(o, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			t := &matrixtest.CellAt(n, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			for j := range t.Samples {
				t.Samples[j] = ot.Samples[j] * 1.3
			}
			t.Telemetry = &matrix.Telemetry{Source: "nvml", Throttled: true, ThrottleReasons: []string{"hw_thermal_slowdown"}}
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "perf"}, diff.Changed, "but the new run's device throttled during it (hw_thermal_slowdown) and the other's did not: not counted as a regression"},
		{"faster once the old run's throttling is gone is no improvement either", func(o, n *matrix.Run) {
			ot := &matrixtest.CellAt(o, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			t := &matrixtest.CellAt(n, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			for j := range t.Samples {
				t.Samples[j] = ot.Samples[j] * 0.7
			}
			ot.Telemetry = &matrix.Telemetry{Source: "nvml", Throttled: true, ThrottleReasons: []string{"sw_power_cap"}}
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "perf"}, diff.Changed, "old run's device throttled"},
		{"slower with both runs throttled is a regression", func(o, n *matrix.Run) {
			ot := &matrixtest.CellAt(o, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			t := &matrixtest.CellAt(n, "pytorch", "gpu:0", "cnn", "perf").Timings[0]
			for j := range t.Samples {
				t.Samples[j] = ot.Samples[j] * 1.3
			}
			th := &matrix.Telemetry{Source: "nvml", Throttled: true, ThrottleReasons: []string{"sw_power_cap"}}
			ot.Telemetry, t.Telemetry = th, th
		}, [4]string{"pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "perf"}, diff.Regression, "% slower (p="},
		{"three samples cannot tell", func(o, n *matrix.Run) {
			t := &matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "perf").Timings[0]
			t.Samples = []float64{9, 9, 9}
		}, [4]string{"gorgonia", "Test CPU", "cnn", "perf"}, diff.Unchanged, ""},
	} {
		o, n := matrixtest.Base("old", 1).Run(), matrixtest.Base("new", 2).Run()
		tc.edit(o, n)
		c := diff.Compare(o, n, diff.DefaultThresholds)
		check(tc.desc, findDiff(t, c, tc.cell[0], tc.cell[1], tc.cell[2], tc.cell[3]), tc.want, tc.reason)
		if strings.Contains(tc.desc, "throttled, against a clean run") {
			d := findDiff(t, c, "pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "perf")
			if d.SpeedRegression || !d.Timings[0].Discounted || d.Timings[0].Verdict != diff.Slower || !d.Timings[0].NewThrottled ||
				len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "1 timing series ran throttled in one run and not in the other") {
				t.Errorf("%s: %+v, warnings %q", tc.desc, d, c.Warnings)
			}
		}
		if tc.desc == "three samples cannot tell" {
			d := findDiff(t, c, "gorgonia", "Test CPU", "cnn", "perf")
			if d.Timings[0].P != nil || !strings.Contains(d.Timings[0].Note, "too few samples") || len(c.Warnings) != 1 {
				t.Errorf("%s: timing %+v, warnings %q", tc.desc, d.Timings[0], c.Warnings)
			}
		}
	}
}

func TestDiffKeysOnDeviceModelAcrossDrivers(t *testing.T) {
	old := matrixtest.Base("old", 1)
	old.Devices = []matrix.Device{matrixtest.A100(0, "550.54.15"), matrixtest.A100(1, "550.54.15")}
	nw := matrixtest.Base("new", 2)
	// Another machine: the A100s are gpu:2 and gpu:5 with other UUIDs,
	// under a newer driver.
	g2, g5 := matrixtest.A100(2, "555.42.02"), matrixtest.A100(5, "555.42.02")
	nw.Devices = []matrix.Device{matrixtest.CPU(), g2, g5}
	o, n := old.Run(), nw.Run()
	c := diff.Compare(o, n, diff.DefaultThresholds)
	if got := strings.Join(c.DeviceChanges, "|"); got != "NVIDIA A100-SXM4-40GB: driver 550.54.15 → 555.42.02" {
		t.Errorf("device changes %q", got)
	}
	pairs := map[string]string{}
	for _, d := range c.Cells {
		if d.DeviceModel == "NVIDIA A100-SXM4-40GB" && d.Change != diff.Added {
			pairs[d.OldDevice] = d.NewDevice
			if d.Change != diff.Unchanged {
				t.Errorf("%s: %s %q", d.Name(), d.Change, d.Reasons)
			}
		}
	}
	if pairs["gpu:0"] != "gpu:2" || pairs["gpu:1"] != "gpu:5" {
		t.Errorf("A100s paired %v, want gpu:0→gpu:2 and gpu:1→gpu:5 (device order)", pairs)
	}
	if n := c.Count(diff.Added); n != 16 { // the CPU is new: 2 frameworks × 2 models × 4 checks
		t.Errorf("%d added, want 16", n)
	}
}

func TestDiffFrameworkUpgradeStillCompares(t *testing.T) {
	o := matrixtest.Base("old", 1).Run()
	nw := matrixtest.Base("new", 2)
	nw.Frameworks = [][2]string{{"gorgonia", "v0.9.18"}, {"pytorch", "2.4.0"}}
	c := diff.Compare(o, nw.Run(), diff.DefaultThresholds)
	d := findDiff(t, c, "pytorch", "Test CPU", "cnn", "forward")
	if d.OldVersion != "2.3.0" || d.NewVersion != "2.4.0" || d.Change != diff.Unchanged || !strings.Contains(d.Name(), "2.3.0→2.4.0") {
		t.Errorf("%+v", d)
	}
	if c.Count(diff.Added)+c.Count(diff.Removed) != 0 {
		t.Errorf("summary %s", c.Summary())
	}
}

func TestDiffAddedAndRemoved(t *testing.T) {
	o := matrixtest.Base("old", 1).Run()
	nw := matrixtest.Base("new", 2)
	nw.Frameworks = [][2]string{{"gorgonia", "v0.9.18"}, {"tensorflow", "2.21.0"}}
	// pytorch is gone from the new run: its passes are regressions, its
	// one failure is only removed.
	matrixtest.CellAt(o, "pytorch", "cpu", "cnn", "forward").Status = matrix.Fail
	c := diff.Compare(o, nw.Run(), diff.DefaultThresholds)
	if c.Count(diff.Removed) != 1 || c.Count(diff.Added) != 16 || c.Count(diff.Regression) != 15 {
		t.Errorf("summary %s", c.Summary())
	}
	for _, d := range c.Cells {
		if d.Framework != "pytorch" {
			continue
		}
		if !d.OnlyOld() || d.NewStatus != "" {
			t.Errorf("%s: only old %v, new status %q", d.Name(), d.OnlyOld(), d.NewStatus)
		}
		switch {
		case d.OldStatus == matrix.Pass && (d.Change != diff.Regression || !d.StatusRegression || !strings.Contains(strings.Join(d.Reasons, "; "), "pass → gone")):
			t.Errorf("a pass that is gone: %s, status regression %v, %q", d.Change, d.StatusRegression, d.Reasons)
		case d.OldStatus == matrix.Fail && (d.Change != diff.Removed || d.StatusRegression):
			t.Errorf("a failure that is gone: %s, status regression %v, %q", d.Change, d.StatusRegression, d.Reasons)
		}
	}
	var b bytes.Buffer
	render.WriteDiffText(&b, c)
	if s := b.String(); !strings.Contains(s, "REGRESSION:\n  pytorch 2.3.0 · Test CPU · cnn · backward: pass → gone") {
		t.Errorf("text:\n%s", s)
	}
}
