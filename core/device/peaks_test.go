package device

import (
	"context"
	"math"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/dlcompat/dlcompat/matrix"
)

// MockH200 is the inventory of go-nvml's dgxh200 mock with one GPU, the
// fields the mock leaves out set to an H200 SXM's (NVIDIA's datasheet:
// 6144-bit HBM3e at 3201 MHz, 132 SMs of 128 FP32 cores, 1980 MHz).
func mockH200(t *testing.T) matrix.Device {
	t.Helper()
	s := dgxh200.New()
	for _, dv := range s.Devices {
		d := dv.(*server.Device)
		d.GetMemoryBusWidthFunc = func() (uint32, nvml.Return) { return 6144, nvml.SUCCESS }
		d.GetMaxClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
			if c == nvml.CLOCK_SM {
				return 1980, nvml.SUCCESS
			}
			return 3201, nvml.SUCCESS
		}
		d.GetNumGpuCoresFunc = func() (int, nvml.Return) { return 16896, nvml.SUCCESS }
	}
	inv := Detect(context.Background(), s)
	if len(inv.Devices) < 2 {
		t.Fatalf("no GPU from the dgxh200 mock: %q", inv.Notes)
	}
	return inv.Devices[1]
}

func TestPeaksH200(t *testing.T) {
	d := mockH200(t)
	if d.ComputeCapability != "9.0" || d.SMCount != 132 {
		t.Fatalf("compute capability %q, %d SMs; want 9.0 and 132 (16896 cores / 128)", d.ComputeCapability, d.SMCount)
	}
	// 132 SMs × rate × 1.98 GHz.
	want := map[string]float64{"fp64": 66908.16, "fp32": 66908.16, "tf32": 535265.28, "bf16": 1070530.56, "fp16": 1070530.56}
	for mode, w := range want {
		if got := d.PeakGFLOPsByPrecision[mode]; math.Abs(got-w) > 1e-6 {
			t.Errorf("%s peak = %v GFLOP/s, want %v", mode, got, w)
		}
	}
	if d.PeakFP32GFLOPs != d.PeakGFLOPsByPrecision["fp32"] {
		t.Errorf("CUDA-core FP32 peak %v and the table's fp32 %v disagree", d.PeakFP32GFLOPs, d.PeakGFLOPsByPrecision["fp32"])
	}
	if math.Abs(d.TheoreticalBandwidthGBs-4916.736) > 1e-6 {
		t.Errorf("bandwidth = %v GB/s, want 4916.736 (3201 MHz × 2 × 6144 bits / 8)", d.TheoreticalBandwidthGBs)
	}
}

func TestPeaksUnknown(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		cores int
		cc    string
		clock uint32
	}{
		{"an architecture not in the table", 10240, "12.0", 2000},
		{"no CUDA core count", 0, "8.0", 1410},
		{"no clock", 6912, "8.0", 0},
	} {
		if p := peaksByPrecision(smCount(tc.cores, tc.cc), tc.cc, tc.clock); p != nil {
			t.Errorf("%s: peaks %v, want none claimed", tc.desc, p)
		}
	}
	if cpu := detectCPU(); cpu.PeakGFLOPsByPrecision != nil || cpu.SMCount != 0 {
		t.Errorf("the CPU claims peaks %v", cpu.PeakGFLOPsByPrecision)
	}
}
