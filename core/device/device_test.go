package device

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/dlcompat/dlcompat/core/internal/nvmlfake"
	"github.com/dlcompat/dlcompat/matrix"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// armed returns a mock NVML whose every method is implemented (zero values,
// SUCCESS) so that any call is recorded by the mock instead of panicking
// before the recording, with Init returning initRet.
func armed(t *testing.T, initRet nvml.Return) *mock.Interface {
	t.Helper()
	m := &mock.Interface{}
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !strings.HasSuffix(v.Type().Field(i).Name, "Func") || f.Kind() != reflect.Func || !f.CanSet() {
			continue
		}
		ft := f.Type()
		f.Set(reflect.MakeFunc(ft, func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, ft.NumOut())
			for j := range out {
				out[j] = reflect.Zero(ft.Out(j))
			}
			return out
		}))
	}
	m.InitFunc = func() nvml.Return { return initRet }
	return m
}

// calledMethods lists the methods of m that the mock recorded calls to.
func calledMethods(m *mock.Interface) []string {
	var called []string
	v := reflect.ValueOf(m)
	for i := 0; i < v.NumMethod(); i++ {
		name := v.Type().Method(i).Name
		meth := v.Method(i)
		if !strings.HasSuffix(name, "Calls") || meth.Type().NumIn() != 0 || meth.Type().NumOut() != 1 {
			continue
		}
		if n := meth.Call(nil)[0].Len(); n > 0 {
			called = append(called, strings.TrimSuffix(name, "Calls"))
		}
	}
	return called
}

func hasNote(notes []string, substrs ...string) bool {
	for _, n := range notes {
		ok := true
		for _, s := range substrs {
			ok = ok && strings.Contains(n, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func checkCPUFirst(t *testing.T, inv Inventory) {
	t.Helper()
	if len(inv.Devices) == 0 {
		t.Fatal("inventory has no device; want the CPU at least")
	}
	cpu := inv.Devices[0]
	if cpu.ID != "cpu" || cpu.Kind != matrix.KindCPU {
		t.Errorf("first device = %s (%s), want cpu", cpu.ID, cpu.Kind)
	}
	if cpu.Name == "" {
		t.Error("CPU name is empty")
	}
	if cpu.Cores != runtime.NumCPU() {
		t.Errorf("CPU cores = %d, want runtime.NumCPU() = %d", cpu.Cores, runtime.NumCPU())
	}
}

func TestDetectDGXA100(t *testing.T) {
	server := dgxa100.New()
	inv := Detect(context.Background(), server)

	checkCPUFirst(t, inv)
	if got := len(inv.Devices); got != 9 {
		t.Fatalf("got %d devices, want CPU + 8 GPUs; notes: %q", got, inv.Notes)
	}
	if len(inv.Notes) != 0 {
		t.Errorf("run-level notes = %q, want none", inv.Notes)
	}
	uuids := map[string]bool{}
	for i, d := range inv.Devices[1:] {
		want := "gpu:" + string(rune('0'+i))
		if d.ID != want || d.Kind != matrix.KindGPU {
			t.Errorf("device %d = %s (%s), want %s (gpu)", i+1, d.ID, d.Kind, want)
		}
		if !strings.Contains(d.Name, "A100-SXM4-40GB") {
			t.Errorf("%s name = %q, want an A100-SXM4-40GB", d.ID, d.Name)
		}
		if d.UUID == "" || uuids[d.UUID] {
			t.Errorf("%s UUID = %q: empty or seen before", d.ID, d.UUID)
		}
		uuids[d.UUID] = true
		if d.MemoryTotalBytes != 40960<<20 {
			t.Errorf("%s memory = %d, want 40 GiB", d.ID, d.MemoryTotalBytes)
		}
		if d.ComputeCapability != "8.0" {
			t.Errorf("%s compute capability = %q, want 8.0", d.ID, d.ComputeCapability)
		}
		if d.Architecture != "Ampere" || d.Brand != "NVIDIA" {
			t.Errorf("%s = %s %s, want NVIDIA Ampere", d.ID, d.Brand, d.Architecture)
		}
		if d.DriverVersion != "550.54.15" || d.CUDADriverVersion != "12.4" {
			t.Errorf("%s driver = %q / CUDA %q, want 550.54.15 / 12.4", d.ID, d.DriverVersion, d.CUDADriverVersion)
		}
		if d.MIGMode != "disabled" {
			t.Errorf("%s MIG mode = %q, want disabled", d.ID, d.MIGMode)
		}
		if d.PCIBusID != "" {
			t.Errorf("%s PCI bus id = %q; the mock leaves it empty, did go-nvml change?", d.ID, d.PCIBusID)
		}
		// dgxa100 does not implement these; each panic becomes a note.
		unimplemented := []string{"memory_bus_width_bits", "max_sm_clock_mhz", "max_mem_clock_mhz", "cuda_cores", "ecc", "power_limit_w",
			"persistence", "vbios_version", "inforom_version", "app_sm_clock_mhz", "app_mem_clock_mhz"}
		for _, field := range unimplemented {
			if !hasNote(d.Notes, field+": ", "panicked") {
				t.Errorf("%s has no note for %s; notes: %q", d.ID, field, d.Notes)
			}
		}
		if len(d.Notes) != len(unimplemented) {
			t.Errorf("%s notes = %q, want exactly the %d unimplemented fields", d.ID, d.Notes, len(unimplemented))
		}
	}
	if n := len(server.InitCalls()); n != 1 {
		t.Errorf("Init called %d times, want 1", n)
	}
	if n := len(server.ShutdownCalls()); n != 1 {
		t.Errorf("Shutdown called %d times, want 1", n)
	}
}

func TestDetectFieldResults(t *testing.T) {
	tests := []struct {
		desc  string
		setup func(s *dgxa100.Server, d *dgxa100.Device)
		check func(t *testing.T, inv Inventory)
	}{
		{
			desc: "every field reported",
			setup: func(s *dgxa100.Server, d *dgxa100.Device) {
				implementAll(d)
			},
			check: func(t *testing.T, inv Inventory) {
				t.Helper()
				d := inv.Devices[1]
				if len(d.Notes) != 0 {
					t.Errorf("notes = %q, want none", d.Notes)
				}
				if d.MemoryBusWidthBits != 5120 || d.MaxSMClockMHz != 1410 || d.MaxMemClockMHz != 1215 {
					t.Errorf("bus/clocks = %d bits, %d MHz, %d MHz; want 5120, 1410, 1215", d.MemoryBusWidthBits, d.MaxSMClockMHz, d.MaxMemClockMHz)
				}
				if d.TheoreticalBandwidthGBs != 1555.2 {
					t.Errorf("bandwidth = %v GB/s, want 1555.2 (1215 MHz × 2 × 5120 bits / 8)", d.TheoreticalBandwidthGBs)
				}
				if d.CUDACores != 6912 || d.PeakFP32GFLOPs != 19491.84 {
					t.Errorf("CUDA cores %d, FP32 peak %v GFLOP/s; want 6912 and 19491.84 (6912 × 2 × 1410 MHz, NVIDIA's 19.5 TFLOPS)", d.CUDACores, d.PeakFP32GFLOPs)
				}
				if d.ECC != "enabled" || d.MIGMode != "enabled" || d.PowerLimitW != 400 {
					t.Errorf("ECC %q, MIG %q, power %v W; want enabled, enabled, 400", d.ECC, d.MIGMode, d.PowerLimitW)
				}
			},
		},
		{
			desc: "NOT_SUPPORTED leaves fields empty without notes",
			setup: func(s *dgxa100.Server, d *dgxa100.Device) {
				implementAll(d)
				d.GetMemoryBusWidthFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
				d.GetEccModeFunc = func() (nvml.EnableState, nvml.EnableState, nvml.Return) {
					return 0, 0, nvml.ERROR_NOT_SUPPORTED
				}
				d.GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
			},
			check: func(t *testing.T, inv Inventory) {
				t.Helper()
				d := inv.Devices[1]
				if len(d.Notes) != 0 {
					t.Errorf("notes = %q, want none", d.Notes)
				}
				if d.MemoryBusWidthBits != 0 || d.TheoreticalBandwidthGBs != 0 {
					t.Errorf("bus width %d, bandwidth %v; want both 0", d.MemoryBusWidthBits, d.TheoreticalBandwidthGBs)
				}
				if d.ECC != "unsupported" || d.MIGMode != "unsupported" {
					t.Errorf("ECC %q, MIG %q; want unsupported, unsupported", d.ECC, d.MIGMode)
				}
			},
		},
		{
			desc: "other errors leave fields empty with notes",
			setup: func(s *dgxa100.Server, d *dgxa100.Device) {
				implementAll(d)
				d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NO_PERMISSION }
				d.GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_UNKNOWN }
			},
			check: func(t *testing.T, inv Inventory) {
				t.Helper()
				d := inv.Devices[1]
				if d.PowerLimitW != 0 || d.UUID != "" {
					t.Errorf("power %v, UUID %q; want both empty", d.PowerLimitW, d.UUID)
				}
				if !hasNote(d.Notes, "power_limit_w", "GetEnforcedPowerLimit", "ERROR_NO_PERMISSION") ||
					!hasNote(d.Notes, "uuid", "GetUUID", "ERROR_UNKNOWN") || len(d.Notes) != 2 {
					t.Errorf("notes = %q, want one for power_limit_w and one for uuid", d.Notes)
				}
			},
		},
		{
			desc: "GPU without a handle is skipped with a run-level note",
			setup: func(s *dgxa100.Server, d *dgxa100.Device) {
				get := s.DeviceGetHandleByIndexFunc
				s.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
					if i == 3 {
						return nil, nvml.ERROR_GPU_IS_LOST
					}
					return get(i)
				}
			},
			check: func(t *testing.T, inv Inventory) {
				t.Helper()
				if len(inv.Devices) != 8 {
					t.Errorf("got %d devices, want CPU + 7 GPUs", len(inv.Devices))
				}
				if _, ok := inv.Find("gpu:3"); ok {
					t.Error("gpu:3 is in the inventory; want it skipped")
				}
				if _, ok := inv.Find("gpu:4"); !ok {
					t.Error("gpu:4 is missing; IDs must keep the NVML index")
				}
				if !hasNote(inv.Notes, "gpu:3 skipped", "ERROR_GPU_IS_LOST") {
					t.Errorf("run notes = %q, want gpu:3 skipped", inv.Notes)
				}
			},
		},
		{
			desc: "DeviceGetCount failure gives the CPU alone",
			setup: func(s *dgxa100.Server, d *dgxa100.Device) {
				s.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
			},
			check: func(t *testing.T, inv Inventory) {
				t.Helper()
				if len(inv.Devices) != 1 || !hasNote(inv.Notes, "DeviceGetCount", "ERROR_UNKNOWN") {
					t.Errorf("devices %d, notes %q; want the CPU alone and a DeviceGetCount note", len(inv.Devices), inv.Notes)
				}
			},
		},
		{
			desc: "system driver version failure is a run-level note",
			setup: func(s *dgxa100.Server, d *dgxa100.Device) {
				s.SystemGetDriverVersionFunc = func() (string, nvml.Return) { return "", nvml.ERROR_UNKNOWN }
			},
			check: func(t *testing.T, inv Inventory) {
				t.Helper()
				if len(inv.Devices) != 9 || !hasNote(inv.Notes, "driver_version", "ERROR_UNKNOWN") {
					t.Errorf("devices %d, notes %q; want 9 devices and a driver_version note", len(inv.Devices), inv.Notes)
				}
				if d := inv.Devices[1]; d.DriverVersion != "" || d.CUDADriverVersion != "12.4" {
					t.Errorf("driver %q / CUDA %q; want empty / 12.4", d.DriverVersion, d.CUDADriverVersion)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s := dgxa100.New()
			tt.setup(s, s.Devices[0].(*dgxa100.Device))
			inv := Detect(context.Background(), s)
			checkCPUFirst(t, inv)
			tt.check(t, inv)
			if n := len(s.ShutdownCalls()); n != 1 {
				t.Errorf("Shutdown called %d times, want 1", n)
			}
		})
	}
}

// implementAll gives d the methods dgxa100 lacks, with an A100's values.
func implementAll(d *dgxa100.Device) {
	d.GetMemoryBusWidthFunc = func() (uint32, nvml.Return) { return 5120, nvml.SUCCESS }
	d.GetMaxClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
		switch c {
		case nvml.CLOCK_SM:
			return 1410, nvml.SUCCESS
		case nvml.CLOCK_MEM:
			return 1215, nvml.SUCCESS
		}
		return 0, nvml.ERROR_INVALID_ARGUMENT
	}
	d.GetEccModeFunc = func() (nvml.EnableState, nvml.EnableState, nvml.Return) {
		return nvml.FEATURE_ENABLED, nvml.FEATURE_ENABLED, nvml.SUCCESS
	}
	d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 400000, nvml.SUCCESS }
	d.GetNumGpuCoresFunc = func() (int, nvml.Return) { return 6912, nvml.SUCCESS }
	d.GetPersistenceModeFunc = func() (nvml.EnableState, nvml.Return) { return nvml.FEATURE_ENABLED, nvml.SUCCESS }
	d.GetVbiosVersionFunc = func() (string, nvml.Return) { return "92.00.45.00.03", nvml.SUCCESS }
	d.GetInforomImageVersionFunc = func() (string, nvml.Return) { return "G503.0201.00.03", nvml.SUCCESS }
	d.GetApplicationsClockFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
		if c == nvml.CLOCK_SM {
			return 1095, nvml.SUCCESS
		}
		return 1215, nvml.SUCCESS
	}
	d.MigMode = nvml.DEVICE_MIG_ENABLE
}

// TestDetectFingerprint: go-nvml's H200 server, extended with what it
// lacks (core/internal/nvmlfake), gives every fingerprint field.
func TestDetectFingerprint(t *testing.T) {
	srv, _ := nvmlfake.NewH200(nvmlfake.H200())
	inv := Detect(context.Background(), srv)
	if len(inv.Devices) != 9 {
		t.Fatalf("got %d devices, want CPU + 8 H200s; notes %q", len(inv.Devices), inv.Notes)
	}
	d := inv.Devices[1]
	if len(d.Notes) != 0 {
		t.Errorf("notes = %q, want none", d.Notes)
	}
	want := matrix.Device{ID: "gpu:0", Kind: matrix.KindGPU, Name: "NVIDIA H200 141GB HBM3e", Brand: "NVIDIA", Architecture: "Hopper",
		UUID: d.UUID, PCIBusID: "0000:00:00.0", MemoryTotalBytes: 144384 << 20, MemoryBusWidthBits: 6144, MaxSMClockMHz: 1980, MaxMemClockMHz: 3201,
		TheoreticalBandwidthGBs: 3201 * 2 * 6144 / 8 / 1e3, ComputeCapability: "9.0", MIGMode: "disabled", ECC: "enabled", PowerLimitW: 700,
		Persistence: "enabled", VBIOSVersion: "96.00.A5.00.01", InfoROMVersion: "G520.0200.00.05", AppSMClockMHz: 1785, AppMemClockMHz: 3201,
		DriverVersion: "550.54.15", CUDADriverVersion: "12.4", CUDACores: 16896, PeakFP32GFLOPs: 16896 * 2 * 1980 / 1e3}
	want.SMCount, want.PeakGFLOPsByPrecision = d.SMCount, d.PeakGFLOPsByPrecision // the characterisation's, tested in peaks_test
	if !reflect.DeepEqual(d, want) {
		t.Errorf("gpu:0 =\n %+v\nwant\n %+v", d, want)
	}
}

func TestDetectInitFailure(t *testing.T) {
	tests := []struct {
		desc     string
		initRet  nvml.Return
		noInit   bool // InitFunc nil: the mock panics in Init
		wantNote []string
	}{
		{desc: "no libnvidia-ml.so", initRet: nvml.ERROR_LIBRARY_NOT_FOUND,
			wantNote: []string{"no NVIDIA GPU", "libnvidia-ml.so not found", "ERROR_LIBRARY_NOT_FOUND", "install the NVIDIA driver"}},
		{desc: "driver not loaded", initRet: nvml.ERROR_DRIVER_NOT_LOADED,
			wantNote: []string{"no NVIDIA GPU", "ERROR_DRIVER_NOT_LOADED", "modprobe nvidia"}},
		{desc: "no permission", initRet: nvml.ERROR_NO_PERMISSION,
			wantNote: []string{"no NVIDIA GPU", "ERROR_NO_PERMISSION", "/dev/nvidia"}},
		{desc: "other failure", initRet: nvml.ERROR_UNKNOWN,
			wantNote: []string{"no NVIDIA GPU", "NVML Init failed", "ERROR_UNKNOWN", "nvidia-smi"}},
		{desc: "Init panics", noInit: true,
			wantNote: []string{"no NVIDIA GPU", "NVML Init panicked"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m := armed(t, tt.initRet)
			if tt.noInit {
				m.InitFunc = nil
			}
			inv := Detect(context.Background(), m)

			checkCPUFirst(t, inv)
			if len(inv.Devices) != 1 {
				t.Errorf("got %d devices, want the CPU alone", len(inv.Devices))
			}
			if len(inv.Notes) != 1 || !hasNote(inv.Notes, tt.wantNote...) {
				t.Errorf("notes = %q, want one containing %q", inv.Notes, tt.wantNote)
			}
			// Nothing but Init may be called after a failed Init.
			if n := len(m.DeviceGetCountCalls()) + len(m.ShutdownCalls()); n != 0 {
				t.Errorf("DeviceGetCount/Shutdown called %d times after a failed Init", n)
			}
			wantCalled := []string{"Init"}
			if tt.noInit {
				wantCalled = nil // the mock panics before recording
			}
			if got := calledMethods(m); !reflect.DeepEqual(got, wantCalled) {
				t.Errorf("NVML methods called: %q, want %q", got, wantCalled)
			}
		})
	}
}

func TestDetectContext(t *testing.T) {
	t.Run("cancelled before: NVML untouched", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		m := armed(t, nvml.SUCCESS)
		inv := Detect(ctx, m)
		if len(inv.Devices) != 1 || !hasNote(inv.Notes, "skipped", "context canceled") {
			t.Errorf("devices %d, notes %q; want the CPU alone and a cancellation note", len(inv.Devices), inv.Notes)
		}
		if got := calledMethods(m); len(got) != 0 {
			t.Errorf("NVML methods called: %q, want none", got)
		}
	})
	t.Run("cancelled between GPUs: stops, still shuts down", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := dgxa100.New()
		get := s.DeviceGetHandleByIndexFunc
		s.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
			if i == 1 {
				cancel()
			}
			return get(i)
		}
		inv := Detect(ctx, s)
		if len(inv.Devices) != 3 || !hasNote(inv.Notes, "stopped after 2 of 8 GPUs") {
			t.Errorf("devices %d, notes %q; want CPU + 2 GPUs and a note", len(inv.Devices), inv.Notes)
		}
		if n := len(s.ShutdownCalls()); n != 1 {
			t.Errorf("Shutdown called %d times, want 1", n)
		}
	})
}

func TestDetectSystem(t *testing.T) {
	inv := DetectSystem(context.Background())
	checkCPUFirst(t, inv)
	for _, d := range inv.Devices[1:] {
		t.Logf("found %s", Summary(d))
	}
	if len(inv.Devices) == 1 && len(inv.Notes) == 0 {
		t.Error("no GPU and no note saying why")
	}
	if _, err := os.Stat("/dev/nvidiactl"); err != nil && len(inv.Devices) == 1 {
		// The usual machine here: no driver at all.
		if !hasNote(inv.Notes, "no NVIDIA GPU") {
			t.Errorf("notes = %q, want a 'no NVIDIA GPU' note", inv.Notes)
		}
	}
}

func testInventory() Inventory {
	return Inventory{
		Devices: []matrix.Device{
			{ID: "cpu", Kind: matrix.KindCPU, Name: "Intel(R) Xeon(R) Processor", MemoryTotalBytes: 24 << 30, Cores: 2},
			{ID: "gpu:0", Kind: matrix.KindGPU, Name: "NVIDIA A100-SXM4-40GB", Brand: "NVIDIA", Architecture: "Ampere",
				UUID: "GPU-00000000-0000-0000-0000-000000000000", MemoryTotalBytes: 40 << 30,
				MaxMemClockMHz: 1215, MemoryBusWidthBits: 5120, TheoreticalBandwidthGBs: 1555.2,
				ComputeCapability: "8.0", MIGMode: "disabled", ECC: "enabled", PowerLimitW: 400,
				DriverVersion: "550.54.15", CUDADriverVersion: "12.4"},
			{ID: "gpu:1", Kind: matrix.KindGPU, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-11111111-1111-1111-1111-111111111111",
				ComputeCapability: "8.0", DriverVersion: "550.54.15", CUDADriverVersion: "12.4",
				Notes: []string{"memory_total_bytes: NVML GetMemoryInfo: ERROR_UNKNOWN"}},
			{ID: "gpu:3", Kind: matrix.KindGPU, Name: "NVIDIA H100 80GB HBM3", ComputeCapability: "9.0"},
		},
		Notes: []string{"gpu:2 skipped: NVML DeviceGetHandleByIndex: ERROR_GPU_IS_LOST"},
	}
}

func TestSelect(t *testing.T) {
	ids := func(ds []matrix.Device) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.ID)
		}
		return strings.Join(s, ",")
	}
	cpuOnly := Inventory{
		Devices: []matrix.Device{{ID: "cpu", Kind: matrix.KindCPU}},
		Notes:   []string{"no NVIDIA GPU: libnvidia-ml.so not found (NVML ERROR_LIBRARY_NOT_FOUND); install the NVIDIA driver to test GPUs"},
	}
	tests := []struct {
		desc    string
		inv     Inventory
		spec    string
		want    string
		wantErr error
		errHas  []string
	}{
		{desc: "all", inv: testInventory(), spec: "all", want: "cpu,gpu:0,gpu:1,gpu:3"},
		{desc: "cpu", inv: testInventory(), spec: "cpu", want: "cpu"},
		{desc: "every GPU", inv: testInventory(), spec: "gpu", want: "gpu:0,gpu:1,gpu:3"},
		{desc: "list in inventory order", inv: testInventory(), spec: "gpu:3,cpu,gpu:0", want: "cpu,gpu:0,gpu:3"},
		{desc: "spaces, case and repeats", inv: testInventory(), spec: " GPU:1 , gpu:1,CPU ", want: "cpu,gpu:1"},
		{desc: "word and id overlap", inv: testInventory(), spec: "gpu,gpu:0", want: "gpu:0,gpu:1,gpu:3"},
		{desc: "all on CPU-only machine", inv: cpuOnly, spec: "all", want: "cpu"},
		{desc: "unknown id lists valid ids", inv: testInventory(), spec: "cpu,gpu:2", wantErr: ErrUnknownDevice,
			errHas: []string{`"gpu:2"`, "cpu, gpu:0, gpu:1, gpu:3", "all, gpu"}},
		{desc: "unknown word", inv: testInventory(), spec: "cuda:0", wantErr: ErrUnknownDevice, errHas: []string{`"cuda:0"`}},
		{desc: "gpu without GPUs says why", inv: cpuOnly, spec: "gpu", wantErr: ErrNoGPU,
			errHas: []string{"libnvidia-ml.so not found"}},
		{desc: "gpu id without GPUs says why", inv: cpuOnly, spec: "gpu:0", wantErr: ErrNoGPU,
			errHas: []string{"libnvidia-ml.so not found"}},
		{desc: "empty", inv: testInventory(), spec: "  ", wantErr: ErrBadSpec},
		{desc: "empty element", inv: testInventory(), spec: "cpu,,gpu:0", wantErr: ErrBadSpec},
		{desc: "trailing comma", inv: testInventory(), spec: "cpu,", wantErr: ErrBadSpec},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := tt.inv.Select(tt.spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Select(%q) error = %v, want %v", tt.spec, err, tt.wantErr)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Select(%q): %v", tt.spec, err)
			}
			if ids(got) != tt.want {
				t.Errorf("Select(%q) = %s, want %s", tt.spec, ids(got), tt.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	inv := testInventory()
	tests := []struct {
		desc, id string
		want     bool
	}{
		{desc: "cpu", id: "cpu", want: true},
		{desc: "gpu", id: "gpu:3", want: true},
		{desc: "missing", id: "gpu:2"},
		{desc: "exact only", id: "GPU:0"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			d, ok := inv.Find(tt.id)
			if ok != tt.want || (ok && d.ID != tt.id) {
				t.Errorf("Find(%q) = %s, %v; want found=%v", tt.id, d.ID, ok, tt.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	inv := testInventory()
	tests := []struct {
		desc string
		d    matrix.Device
		want string
	}{
		{desc: "cpu", d: inv.Devices[0], want: "cpu Intel(R) Xeon(R) Processor (2 logical cores, 24.0 GiB)"},
		{desc: "full gpu", d: inv.Devices[1],
			want: "gpu:0 NVIDIA A100-SXM4-40GB (Ampere, compute 8.0, 40.0 GiB, 1555 GB/s, driver 550.54.15, CUDA 12.4)"},
		{desc: "sparse gpu", d: inv.Devices[3], want: "gpu:3 NVIDIA H100 80GB HBM3 (compute 9.0)"},
		{desc: "nameless", d: matrix.Device{ID: "gpu:9", Kind: matrix.KindGPU}, want: "gpu:9 unknown gpu"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Summary(tt.d); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
			if strings.Contains(Summary(tt.d), "\n") {
				t.Error("Summary() spans lines")
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, testInventory()); err != nil {
		t.Fatal(err)
	}
	golden(t, "devices.golden", buf.Bytes())
}

func TestWriteTextError(t *testing.T) {
	if err := WriteText(failWriter{}, testInventory()); err == nil {
		t.Error("WriteText to a failing writer returned nil")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestJSON(t *testing.T) {
	b, err := json.Marshal(testInventory())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"devices":`, `"notes":`, `"id":"gpu:0"`, `"kind":"gpu"`, `"memory_total_bytes":`,
		`"theoretical_bandwidth_gbs":1555.2`, `"compute_capability":"8.0"`, `"mig_mode":"disabled"`,
		`"cuda_driver_version":"12.4"`, `"power_limit_w":400`, `"cores":2`, `"pci_bus_id"`} {
		if key == `"pci_bus_id"` {
			if bytes.Contains(b, []byte(key)) {
				t.Errorf("JSON has empty %s; want it omitted", key)
			}
			continue
		}
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
	var back Inventory
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, testInventory()) {
		t.Errorf("JSON round trip changed the inventory:\n got %+v\nwant %+v", back, testInventory())
	}
}

func TestCPUInfo(t *testing.T) {
	tests := []struct {
		desc, cpuinfo, want string
	}{
		{desc: "x86", cpuinfo: "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)  CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: other\n",
			want: "Intel(R) Xeon(R) CPU @ 2.20GHz"},
		{desc: "arm64 has none", cpuinfo: "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n"},
		{desc: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := cpuModelName(strings.NewReader(tt.cpuinfo)); got != tt.want {
				t.Errorf("cpuModelName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMemTotal(t *testing.T) {
	tests := []struct {
		desc, meminfo string
		want          uint64
	}{
		{desc: "kB", meminfo: "MemTotal:       24684084 kB\nMemFree: 1 kB\n", want: 24684084 * 1024},
		{desc: "missing", meminfo: "MemFree: 1 kB\n"},
		{desc: "odd unit", meminfo: "MemTotal: 12 MB\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := memTotalBytes(strings.NewReader(tt.meminfo)); got != tt.want {
				t.Errorf("memTotalBytes = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBandwidth(t *testing.T) {
	tests := []struct {
		desc          string
		clockMHz, bus uint32
		want          float64
	}{
		{desc: "A100 HBM2", clockMHz: 1215, bus: 5120, want: 1555.2},
		{desc: "RTX 3090 GDDR6X", clockMHz: 9751, bus: 384, want: 936.096},
		{desc: "unknown clock", bus: 384},
		{desc: "unknown width", clockMHz: 9751},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := bandwidthGBs(tt.clockMHz, tt.bus)
			if d := got - tt.want; d > 1e-9 || d < -1e-9 {
				t.Errorf("bandwidthGBs(%d, %d) = %v, want %v", tt.clockMHz, tt.bus, got, tt.want)
			}
		})
	}
}

// golden compares got with testdata/name; -update rewrites it, and a
// mismatch leaves testdata/name.got to diff.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("output differs from %s; see %s.got:\n%s", path, path, got)
		return
	}
	os.Remove(path + ".got")
}
