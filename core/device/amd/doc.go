// Package amd finds AMD GPUs in sysfs, with no ROCm installed: the KFD
// topology (/sys/class/kfd/kfd/topology/nodes/N/properties) names each
// GPU the ROCm runtime can use, its gfx target, CUs, engine clock, memory,
// PCI location and render node; the PCI device directory
// (/sys/bus/pci/devices/BDF/) adds the vendor, device and revision ids,
// VRAM size, product name and PCIe link, and its hwmon directory the
// telemetry (power, temperatures, current clocks, VRAM in use).
//
// It does:
//   - [Detect]: every GPU node of the topology (CPU nodes, simd_count 0,
//     are skipped) as a matrix.Device of kind matrix.KindROCm, "rocm:N" in
//     node order, the order ROCm numbers them in;
//   - [ReadTelemetry]: one reading of a detected GPU;
//   - [ReadLink], [ReadRASFeatures], [ReadUMCErrors], [ReadBadPages]: the
//     link and RAS state core/preflight judges;
//   - [GPUID], [ProcessVRAM]: the VRAM given processes hold (KFD's proc/).
//
// Everything is read under a sysfs root ([SysRoot] on a real machine, a
// recorded tree under testdata/sysfs in the tests). A file that is there
// but cannot be parsed is an error naming the file and the line; a file
// the driver does not provide (product_name on many boards) leaves its
// field empty, with a note when the field matters.
//
// It does not load libamdhip64 or librocm_smi, open /dev/kfd, or change
// any device setting.
package amd
