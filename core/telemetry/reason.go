package telemetry

import "strings"

// Reason is a set of clock-event reasons: why a device runs its clocks
// below their maximum. The bits are NVML's (nvmlClocksEventReason*), the
// common language of GPU telemetry; a sampler for another kind of device
// maps its own flags onto them.
type Reason uint64

const (
	ReasonGPUIdle           Reason = 1 << 0
	ReasonAppClocksSetting  Reason = 1 << 1
	ReasonSWPowerCap        Reason = 1 << 2
	ReasonHWSlowdown        Reason = 1 << 3
	ReasonSyncBoost         Reason = 1 << 4
	ReasonSWThermalSlowdown Reason = 1 << 5
	ReasonHWThermalSlowdown Reason = 1 << 6
	ReasonHWPowerBrake      Reason = 1 << 7
	ReasonDisplayClocks     Reason = 1 << 8
)

// Throttling is the reasons that mark a series throttled: the device
// slowed down for heat or power, by the hardware or the driver. Idle,
// application clocks, sync boost and display clocks are configuration,
// not throttling.
const Throttling = ReasonSWPowerCap | ReasonHWSlowdown | ReasonSWThermalSlowdown | ReasonHWThermalSlowdown | ReasonHWPowerBrake

var reasonNames = []struct {
	bit  Reason
	name string
}{
	{ReasonGPUIdle, "gpu_idle"},
	{ReasonAppClocksSetting, "applications_clocks_setting"},
	{ReasonSWPowerCap, "sw_power_cap"},
	{ReasonHWSlowdown, "hw_slowdown"},
	{ReasonSyncBoost, "sync_boost"},
	{ReasonSWThermalSlowdown, "sw_thermal_slowdown"},
	{ReasonHWThermalSlowdown, "hw_thermal_slowdown"},
	{ReasonHWPowerBrake, "hw_power_brake_slowdown"},
	{ReasonDisplayClocks, "display_clock_setting"},
}

// Names lists the reasons in r, in bit order; an unnamed bit is
// "reason_0x…".
func (r Reason) Names() []string {
	var out []string
	left := r
	for _, n := range reasonNames {
		if r&n.bit != 0 {
			out = append(out, n.name)
			left &^= n.bit
		}
	}
	for b := Reason(1); left != 0 && b != 0; b <<= 1 {
		if left&b != 0 {
			out = append(out, "reason_0x"+strings.TrimLeft(hex(uint64(b)), "0"))
			left &^= b
		}
	}
	return out
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b)
}
