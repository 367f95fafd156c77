// Package telemetry samples a device while a perf series runs and sums
// the samples up for the results (matrix.Telemetry): clocks, the reasons
// the clocks were held down, power, energy, temperature and memory in use.
//
// It does:
//   - define the seam a device's sampler implements ([Sampler] gives a
//     [Source] per device; a Source answers one [Sample] at a time), so
//     that NVIDIA GPUs (core/telemetry/nvidia, through NVML) and, later,
//     other devices (AMD through sysfs) plug in alike;
//   - record a Source in the background ([Start]): a short baseline
//     before the plugin is called, then everything until [Recording.Stop];
//   - cut a recording to a series' timed window and sum it up
//     ([Summarize]), marking the series throttled when a thermal or power
//     reason fired in it.
//
// It does not:
//   - time anything: the plugin's timed loop does, and reports its
//     window's boundaries; the host samples around the call;
//   - change a device setting (clocks, power limits);
//   - know which framework ran.
package telemetry
