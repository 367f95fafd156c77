// Package device finds the devices dlcompat can test a framework on: the
// host CPU, always, and every NVIDIA GPU that NVML reports, by NVML index.
//
// It does:
//   - describe each device (name, memory, compute capability, clocks,
//     theoretical bandwidth, MIG and ECC modes, power limit, driver and CUDA
//     driver versions) in an [Inventory], as far as NVML can report it;
//   - explain, as data, what it could not find out: run-level problems (no
//     NVML library, no driver) in [Inventory.Notes], a field NVML could not
//     report in [matrix.Device.Notes]. [Detect] never fails and never
//     panics on account of NVML;
//   - select devices from a user's spec ("all", "cpu", "gpu",
//     "cpu,gpu:0,gpu:3") with [Inventory.Select];
//   - render an inventory as a text table ([WriteText]); JSON is
//     json.Marshal of [Inventory].
//
// A device is a [matrix.Device], the result model's own type, so what is
// detected goes into a run document as it is, with no copy to keep in
// step.
//
// It does not:
//   - load a framework, allocate memory on a device or run anything on it:
//     a GPU listed here is one NVML can see, not one a framework can use;
//   - change any device setting (MIG, ECC, clocks, power);
//   - know about accelerators other than NVIDIA GPUs;
//   - cache: every [Detect] initialises NVML afresh and shuts it down.
//
// NVML is reached only through go-nvml's nvml.Interface, so tests run on
// go-nvml's mock servers (pkg/nvml/mock/dgxa100). go-nvml loads
// libnvidia-ml.so at Init; when it is missing, Init returns
// ERROR_LIBRARY_NOT_FOUND and no other NVML function may be called (the
// process would die on an unresolved symbol), so [Detect] then returns the
// CPU alone with a note saying why and how to fix it. Building this package
// needs cgo, even for the mocks.
package device
