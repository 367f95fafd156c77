// Package preflight checks the devices before their cells run: does
// NVML load, is the GPU set up and healthy (persistence mode, PCIe link,
// ECC and its error counters, retired pages and row remapping, MIG), and
// does the host see as many NVIDIA GPUs on its PCI bus as NVML does
// ([NVIDIA]); and, for AMD GPUs, from sysfs alone, is the KFD topology
// there, with as many GPUs as the PCI bus, and each GPU's PCIe link, RAS
// ECC, uncorrectable errors and bad-page table ([AMD], docs/spec.md §11.2).
//
// Every check ends in a matrix.PreflightStatus, an axis of its own: a
// preflight problem makes the machine suspect, never a framework's cell
// fail. The docker executor's own check (is the NVIDIA container
// runtime there) is exec.GPURuntimeChecker's, run by the runner.
//
// It does not change any device setting, and reads nothing but NVML
// (go-nvml's nvml.Interface, so tests run on its mock servers) and sysfs
// (under a root tests can move).
package preflight
