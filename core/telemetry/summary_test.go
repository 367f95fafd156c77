package telemetry

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// samples every 100 ms from t0, at 300 W, the counter counting it.
func ramp(t0 time.Time, n int, reasons func(i int) Reason) []Sample {
	var out []Sample
	for i := 0; i < n; i++ {
		s := Unknown(t0.Add(time.Duration(i) * 100 * time.Millisecond))
		s.SMClockMHz, s.MemClockMHz, s.PowerW, s.TempC = 1980-float64(i), 3201, 300, 40+float64(i)
		s.EnergyMJ, s.MemUsedBytes = 5_000_000+int64(i)*30_000, int64(i)<<20
		s.Reasons, s.ReasonsKnown = reasons(i), true
		out = append(out, s)
	}
	return out
}

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	idle := func(int) Reason { return ReasonGPUIdle }
	check := func(desc string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", desc, got, want)
		}
	}
	t.Run("series window", func(t *testing.T) {
		s := ramp(t0, 11, func(i int) Reason {
			if i == 6 {
				return ReasonSWPowerCap | ReasonHWSlowdown
			}
			return 0
		})
		// baseline until 200 ms; the series from 250 to 750 ms: 5 samples.
		got := Summarize("nvml", s, t0.Add(200*time.Millisecond), t0.Add(time.Second),
			Window{From: t0.Add(250 * time.Millisecond), To: t0.Add(750 * time.Millisecond), Iterations: 10, Batch: 32, Train: true})
		if got.Window != matrix.WindowSeries || got.Samples != 5 {
			t.Errorf("window %s with %d samples, want series with 5", got.Window, got.Samples)
		}
		check("energy J", got.EnergyJ, 0.5*300) // 30 J per 100 ms × 5, the counter interpolated at both ends
		check("J per item", got.JoulesPerItem, 150.0/320)
		check("J per step", got.JoulesPerStep, 15)
		check("SM clock median", got.SMClockMedianMHz, 1975)
		check("SM clock min", got.SMClockMinMHz, 1973)
		check("temperature max", got.TempMaxC, 47)
		if got.MemoryUsedMaxBytes != 7<<20 || got.PowerMaxW != 300 || got.PowerMedianW != 300 {
			t.Errorf("memory %d, power %v/%v", got.MemoryUsedMaxBytes, got.PowerMedianW, got.PowerMaxW)
		}
		if !got.Throttled || !reflect.DeepEqual(got.ThrottleReasons, []string{"sw_power_cap", "hw_slowdown"}) {
			t.Errorf("throttled %v %q; want sw_power_cap, hw_slowdown", got.Throttled, got.ThrottleReasons)
		}
		if got.Baseline == nil || got.Baseline.Samples != 3 {
			t.Errorf("baseline %+v, want 3 samples", got.Baseline)
		}
		if got.EnergyFrom != "counter" {
			t.Errorf("energy from %q", got.EnergyFrom)
		}
	})
	t.Run("idle is not throttling", func(t *testing.T) {
		got := Summarize("nvml", ramp(t0, 5, idle), t0, t0.Add(400*time.Millisecond),
			Window{From: t0.Add(100 * time.Millisecond), To: t0.Add(300 * time.Millisecond), Iterations: 1, Batch: 1})
		if got.Throttled || !reflect.DeepEqual(got.ClockEventReasons, []string{"gpu_idle"}) {
			t.Errorf("throttled %v, reasons %q", got.Throttled, got.ClockEventReasons)
		}
	})
	t.Run("no window: the call, no energy per item", func(t *testing.T) {
		got := Summarize("nvml", ramp(t0, 11, idle), t0.Add(200*time.Millisecond), t0.Add(time.Second), Window{Iterations: 10, Batch: 32})
		if got.Window != matrix.WindowCall || got.JoulesPerItem != 0 {
			t.Errorf("window %s, J/item %v; want call and 0", got.Window, got.JoulesPerItem)
		}
		check("energy J", got.EnergyJ, 0.8*300)
	})
	t.Run("no counter: power integrated", func(t *testing.T) {
		s := ramp(t0, 11, idle)
		for i := range s {
			s[i].EnergyMJ = -1
		}
		got := Summarize("nvml", s, t0, t0.Add(time.Second), Window{From: t0.Add(50 * time.Millisecond), To: t0.Add(850 * time.Millisecond), Iterations: 8, Batch: 1})
		check("energy J", got.EnergyJ, 0.8*300)
		if got.EnergyFrom != "power" {
			t.Errorf("energy from %q, want power", got.EnergyFrom)
		}
	})
	t.Run("window between two samples", func(t *testing.T) {
		got := Summarize("nvml", ramp(t0, 5, idle), t0, t0.Add(400*time.Millisecond),
			Window{From: t0.Add(110 * time.Millisecond), To: t0.Add(130 * time.Millisecond), Iterations: 2, Batch: 1})
		if got.Samples != 0 || got.SMClockMedianMHz == 0 || len(got.Notes) != 1 {
			t.Errorf("samples %d, clock %v, notes %q; want 0 inside, the neighbours' figures and a note", got.Samples, got.SMClockMedianMHz, got.Notes)
		}
		check("energy J", got.EnergyJ, 0.02*300)
	})
}

func TestReasonNames(t *testing.T) {
	got := (ReasonGPUIdle | ReasonHWPowerBrake | 1<<40).Names()
	want := []string{"gpu_idle", "hw_power_brake_slowdown", "reason_0x10000000000"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
}
