package nvidia

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"

	"github.com/dlcompat/dlcompat/core/internal/nvmlfake"
	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/matrix"
)

func gpu(i int) matrix.Device {
	return matrix.Device{ID: "gpu:" + string(rune('0'+i)), Kind: matrix.KindGPU}
}

// record samples src for a window of d after the baseline and sums it up.
func record(t *testing.T, src telemetry.Source, d time.Duration, during func()) *matrix.Telemetry {
	t.Helper()
	rec := telemetry.Start(context.Background(), src, telemetry.Options{Interval: 5 * time.Millisecond, Baseline: 20 * time.Millisecond})
	from := time.Now()
	if during != nil {
		during()
	}
	time.Sleep(d)
	to := time.Now()
	rec.Stop()
	samples, base := rec.Samples()
	return telemetry.Summarize(Name, samples, base, rec.Stopped(), telemetry.Window{From: from, To: to, Iterations: 10, Batch: 4})
}

func TestSampleH200(t *testing.T) {
	srv, gpus := nvmlfake.NewH200(nvmlfake.H200())
	s, err := Open(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, ok := s.Source(gpu(2))
	if !ok {
		t.Fatal("no source for gpu:2")
	}
	if _, ok := s.Source(matrix.Device{ID: "cpu", Kind: matrix.KindCPU}); ok {
		t.Error("a source for the CPU")
	}
	start := gpus[2].EnergyMJ()
	tel := record(t, src, 100*time.Millisecond, nil)
	used := float64(gpus[2].EnergyMJ()-start) / 1000
	if tel.Throttled || len(tel.Notes) != 0 {
		t.Errorf("a healthy H200: throttled %v, notes %q", tel.Throttled, tel.Notes)
	}
	if tel.SMClockMedianMHz != 1980 || tel.MemClockMedianMHz != 3201 || tel.PowerMedianW != 412.5 || tel.TempMaxC != 47 || tel.MemoryUsedMaxBytes != 2<<30 {
		t.Errorf("readings %+v", tel)
	}
	// 412.5 W for the ~100 ms window: about 41 J, and less than the
	// counter moved over the whole recording (baseline included).
	if tel.EnergyFrom != "counter" || tel.EnergyJ < 0.9*412.5*0.1 || tel.EnergyJ > used || tel.EnergyJ > 412.5*tel.WindowSeconds*1.05 {
		t.Errorf("energy %v J from %s over %v s (the counter moved %v J in all)", tel.EnergyJ, tel.EnergyFrom, tel.WindowSeconds, used)
	}
	if math.Abs(tel.JoulesPerItem-tel.EnergyJ/40) > 1e-12 {
		t.Errorf("J/item %v, want energy / 40 items", tel.JoulesPerItem)
	}
}

// A GPU that throttles halfway through is flagged, with the reasons
// whose names go-nvml keeps only as ClocksThrottleReason*.
func TestThrottledIsFlagged(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		srv, gpus := nvmlfake.NewH200(nvmlfake.H200())
		gpus[0].Update(func(st *nvmlfake.State) { st.LegacyReasons = legacy })
		s, err := Open(srv)
		if err != nil {
			t.Fatal(err)
		}
		src, _ := s.Source(gpu(0))
		tel := record(t, src, 60*time.Millisecond, func() {
			time.Sleep(20 * time.Millisecond)
			gpus[0].Update(func(st *nvmlfake.State) {
				st.Reasons = nvml.ClocksThrottleReasonHwThermalSlowdown | nvml.ClocksEventReasonSwPowerCap
				st.SMClockMHz = 1200
			})
		})
		s.Close()
		if !tel.Throttled || !slices.Equal(tel.ThrottleReasons, []string{"sw_power_cap", "hw_thermal_slowdown"}) {
			t.Errorf("legacy=%v: throttled %v %q; want sw_power_cap, hw_thermal_slowdown", legacy, tel.Throttled, tel.ThrottleReasons)
		}
		if tel.SMClockMinMHz != 1200 {
			t.Errorf("legacy=%v: SM clock min %v, want 1200", legacy, tel.SMClockMinMHz)
		}
		if tel.Baseline == nil || len(tel.Baseline.ClockEventReasons) != 0 {
			t.Errorf("legacy=%v: baseline %+v, want clean", legacy, tel.Baseline)
		}
	}
}

// dgxa100 as go-nvml ships it answers none of these queries: every
// figure is unknown, each named once, and nothing panics.
func TestBareMock(t *testing.T) {
	srv := dgxa100.New()
	s, err := Open(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, ok := s.Source(gpu(0))
	if !ok {
		t.Fatal("no source")
	}
	tel := record(t, src, 20*time.Millisecond, nil)
	if tel.EnergyFrom != "" || tel.SMClockMedianMHz != 0 || tel.Throttled {
		t.Errorf("figures from a mock that has none: %+v", tel)
	}
	for _, f := range []string{"sm_clock", "power", "energy", "temperature", "clock_event_reasons"} {
		if !slices.ContainsFunc(tel.Notes, func(n string) bool { return strings.HasPrefix(n, f+": ") }) {
			t.Errorf("no note for %s: %q", f, tel.Notes)
		}
	}
}

// The plugin's device memory is its processes' own: another process on
// the same GPU is not counted, nor asked when no PIDs are given.
func TestProcessMemoryIsThePluginsOwn(t *testing.T) {
	st := nvmlfake.H200()
	st.Processes = func() []nvml.ProcessInfo {
		return []nvml.ProcessInfo{{Pid: 1, UsedGpuMemory: 5 << 30}, {Pid: 4242, UsedGpuMemory: 300 << 20}, {Pid: 4243, UsedGpuMemory: 200 << 20}}
	}
	srv, gpus := nvmlfake.NewH200(st)
	gpus[1].Update(func(s *nvmlfake.State) {
		s.Processes = func() []nvml.ProcessInfo { return []nvml.ProcessInfo{{Pid: 4242, UsedGpuMemory: math.MaxUint64}} }
	})
	s, err := Open(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum := func(dev int, pids []int) *matrix.Telemetry {
		src, _ := s.Source(gpu(dev))
		rec := telemetry.Start(context.Background(), src, telemetry.Options{Interval: 5 * time.Millisecond, Baseline: 10 * time.Millisecond, Processes: pids})
		from := time.Now()
		time.Sleep(30 * time.Millisecond)
		to := time.Now()
		rec.Stop()
		samples, base := rec.Samples()
		return telemetry.Summarize(Name, samples, base, rec.Stopped(), telemetry.Window{From: from, To: to})
	}
	if tel := sum(0, []int{4242, 4243, 9999}); tel.ProcessMemoryMaxBytes != 500<<20 || len(tel.Notes) != 0 {
		t.Errorf("the plugin's processes: %d bytes, notes %q; want %d (not pid 1's 5 GiB)", tel.ProcessMemoryMaxBytes, tel.Notes, 500<<20)
	}
	if tel := sum(0, nil); tel.ProcessMemoryMaxBytes != 0 || len(tel.Notes) != 0 {
		t.Errorf("no PIDs: %d bytes, notes %q; want nothing read", tel.ProcessMemoryMaxBytes, tel.Notes)
	}
	if tel := sum(1, []int{4242}); tel.ProcessMemoryMaxBytes != 0 || len(tel.Notes) != 1 || !strings.Contains(tel.Notes[0], "NVML_VALUE_NOT_AVAILABLE") {
		t.Errorf("an unaccounted process: %d bytes, notes %q; want none, and a note", tel.ProcessMemoryMaxBytes, tel.Notes)
	}
}
