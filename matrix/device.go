package matrix

// The kinds of device, Device.Kind.
const (
	KindCPU = "cpu"
	KindGPU = "gpu"
	// KindROCm is an AMD GPU, found in sysfs (core/device/amd), with ids
	// "rocm:N", N being its index among the KFD topology's GPU nodes: the
	// order ROCm (HIP, ROCR_VISIBLE_DEVICES) numbers them in.
	KindROCm = "rocm"
)

// Device describes one device, as core/device detects it (NVML for a GPU,
// /proc for the CPU) and as a run document records it. A field left at
// its zero value is one that
// does not apply to the device or that could not be found out; in the latter
// case, unless NVML said the device does not support the query, Notes says
// why.
type Device struct {
	// ID is "cpu", "gpu:N", N being the index NVML gives the GPU, or
	// "rocm:N" for an AMD GPU (KindROCm).
	ID string `json:"id"`
	// Kind is KindCPU, KindGPU or KindROCm.
	Kind string `json:"kind"`
	// Name is the GPU's NVML name ("NVIDIA A100-SXM4-40GB") or the CPU's
	// model name from /proc/cpuinfo, runtime.GOARCH when that has none.
	Name string `json:"name"`
	// Brand is the GPU's product brand (GeForce, Quadro, Tesla, NVIDIA...).
	Brand string `json:"brand,omitempty"`
	// Architecture is the GPU's architecture ("Ampere", "Hopper"...).
	Architecture string `json:"architecture,omitempty"`
	UUID         string `json:"uuid,omitempty"`
	PCIBusID     string `json:"pci_bus_id,omitempty"`
	// The fields below to RenderNode are an AMD GPU's, read from sysfs
	// (docs/spec.md §12). GFXTarget is its LLVM target
	// ("gfx942", "gfx1100"), from KFD's gfx_target_version.
	GFXTarget string `json:"gfx_target,omitempty"`
	// ComputeUnits is its CU count: KFD simd_count / simd_per_cu.
	ComputeUnits int `json:"compute_units,omitempty"`
	// PCIVendorID, PCIDeviceID and PCIRevision are its PCI identity as
	// sysfs writes it ("0x1002", "0x74a1", "0x00").
	PCIVendorID string `json:"pci_vendor_id,omitempty"`
	PCIDeviceID string `json:"pci_device_id,omitempty"`
	PCIRevision string `json:"pci_revision,omitempty"`
	// PCIeLinkSpeed and PCIeLinkWidth are the link as trained now
	// ("32.0 GT/s PCIe", 16), sysfs current_link_speed/width.
	PCIeLinkSpeed string `json:"pcie_link_speed,omitempty"`
	PCIeLinkWidth int    `json:"pcie_link_width,omitempty"`
	// RenderNode is its DRM render node on the host ("/dev/dri/renderD128"),
	// which a container is given with /dev/kfd.
	RenderNode string `json:"render_node,omitempty"`
	// MemoryTotalBytes is the GPU's memory, or for the CPU the host's
	// MemTotal from /proc/meminfo.
	MemoryTotalBytes   uint64 `json:"memory_total_bytes,omitempty"`
	MemoryBusWidthBits uint32 `json:"memory_bus_width_bits,omitempty"`
	// MaxSMClockMHz is the maximum SM clock; for an AMD GPU, the maximum
	// shader (engine) clock, KFD max_engine_clk_fcompute.
	MaxSMClockMHz  uint32 `json:"max_sm_clock_mhz,omitempty"`
	MaxMemClockMHz uint32 `json:"max_mem_clock_mhz,omitempty"`
	// TheoreticalBandwidthGBs is the peak memory bandwidth in GB/s (10^9
	// bytes per second), computed as
	//
	//	MaxMemClockMHz × 10^6 × 2 × MemoryBusWidthBits / 8 / 10^9
	//
	// The factor 2 is for double data rate: NVML reports the memory clock
	// such that two transfers happen per cycle, for HBM and GDDR alike
	// (A100-SXM4-40GB: 1215 MHz × 2 × 5120 bits / 8 = 1555 GB/s). Zero when
	// either the clock or the bus width is unknown.
	TheoreticalBandwidthGBs float64 `json:"theoretical_bandwidth_gbs,omitempty"`
	// ComputeCapability is the CUDA compute capability, "major.minor".
	ComputeCapability string `json:"compute_capability,omitempty"`
	// MIGMode is "enabled", "disabled" or "unsupported" (current mode).
	MIGMode string `json:"mig_mode,omitempty"`
	// ECC is "enabled", "disabled" or "unsupported" (current mode).
	ECC string `json:"ecc,omitempty"`
	// PowerLimitW is the power limit the driver enforces, in watts.
	PowerLimitW float64 `json:"power_limit_w,omitempty"`
	// Persistence is the persistence mode: "enabled", "disabled" or
	// "unsupported". Without it the driver tears the device down between
	// processes, and the first call of every plugin pays for it.
	Persistence string `json:"persistence,omitempty"`
	// VBIOSVersion and InfoROMVersion identify the board's firmware.
	VBIOSVersion   string `json:"vbios_version,omitempty"`
	InfoROMVersion string `json:"inforom_version,omitempty"`
	// AppSMClockMHz and AppMemClockMHz are the application clocks, the
	// clocks the GPU runs compute at unless it throttles or boosts
	// (nvidia-smi -ac sets them).
	AppSMClockMHz  uint32 `json:"app_sm_clock_mhz,omitempty"`
	AppMemClockMHz uint32 `json:"app_mem_clock_mhz,omitempty"`
	// DriverVersion is the NVIDIA driver version ("550.54.15").
	DriverVersion string `json:"driver_version,omitempty"`
	// CUDADriverVersion is the CUDA version the driver supports ("12.4").
	CUDADriverVersion string `json:"cuda_driver_version,omitempty"`
	// Cores is, for the CPU, the number of logical cores this process may
	// use (runtime.NumCPU); 0 for a GPU.
	Cores int `json:"cores,omitempty"`
	// CUDACores is the GPU's number of CUDA cores (NVML GetNumGpuCores).
	CUDACores int `json:"cuda_cores,omitempty"`
	// PeakFP32GFLOPs is the GPU's FP32 peak in GFLOP/s (10^9 per second):
	//
	//	CUDACores × 2 × MaxSMClockMHz / 1000
	//
	// 2 for one fused multiply-add per core per clock. It is the peak of
	// the CUDA cores, the one that applies to the strict fp32 checks (TF32
	// off); tensor cores are not counted. An A100-SXM4 gives 6912 × 2 ×
	// 1410 MHz = 19,492 GFLOP/s, NVIDIA's 19.5 TFLOPS; an H100 SXM5 16896 ×
	// 2 × 1980 MHz = 66.9 TFLOPS. Zero when either input is unknown.
	PeakFP32GFLOPs float64 `json:"peak_fp32_gflops,omitempty"`
	// SMCount is the GPU's number of streaming multiprocessors: CUDACores
	// over its architecture's FP32 cores per SM (core/device/peaks.go); 0
	// for the CPU, or when either is unknown.
	SMCount int `json:"sm_count,omitempty"`
	// PeakGFLOPsByPrecision is the GPU's theoretical dense matrix-multiply
	// peak per precision mode, in GFLOP/s: SMCount × the architecture's
	// FLOPs per SM per clock in that mode × MaxSMClockMHz / 1000 (the
	// table and its sources: core/device/peaks.go, docs/spec.md §10.3).
	// Empty where the architecture is not in the table, and for the CPU:
	// nothing is claimed that cannot be known.
	PeakGFLOPsByPrecision map[string]float64 `json:"peak_gflops_by_precision,omitempty"`
	// Notes are this device's problems: each names a field NVML could not
	// report and the NVML error.
	Notes []string `json:"notes,omitempty"`
}
