package render

import (
	"fmt"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// What every report shows of a run's telemetry (docs/spec.md §11), its
// preflight, and its environment's fingerprint, renderer-neutral.

// hasTelemetry reports whether any series of the run was sampled.
func hasTelemetry(r *matrix.Run) bool {
	for _, c := range r.Cells {
		for _, t := range c.Timings {
			if t.Telemetry != nil {
				return true
			}
		}
	}
	return false
}

// throttleState is a perf cell's telemetry verdict, for the perf table:
// "throttled (reasons)", "clean", or "" when nothing was sampled.
func throttleState(c *matrix.Cell) string {
	sampled := false
	var reasons []string
	for _, t := range c.Timings {
		if t.Telemetry == nil {
			continue
		}
		sampled = true
		for _, n := range t.Telemetry.ThrottleReasons {
			if !contains(reasons, n) {
				reasons = append(reasons, n)
			}
		}
	}
	switch {
	case !sampled:
		return ""
	case len(reasons) > 0:
		return "throttled (" + strings.Join(reasons, ", ") + ")"
	}
	return "clean"
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// telemetryTable has one row per sampled series.
func telemetryTable(r *matrix.Run) table {
	t := table{header: []string{"framework", "version", "device", "model", "series", "SM MHz median (min)", "mem MHz", "power W median / max",
		"energy J", "J/item", "J/step", "temp max °C", "memory used (plugin's)", "state", "window"}}
	for _, c := range r.Cells {
		for _, tm := range c.Timings {
			tel := tm.Telemetry
			if tel == nil {
				continue
			}
			state := "clean"
			if tel.Throttled {
				state = "THROTTLED (" + strings.Join(tel.ThrottleReasons, ", ") + ")"
			}
			if others := otherReasons(tel); others != "" {
				state += "; " + others
			}
			window := fmt.Sprintf("%s %s, %d samples", tel.Window, fmtSeconds(tel.WindowSeconds), tel.Samples)
			t.rows = append(t.rows, []string{c.Framework, c.FrameworkVersion, c.Device, c.Model, fmt.Sprintf("%s b%d", tm.Name, tm.Batch),
				orDash(fmtMHz(tel.SMClockMedianMHz, tel.SMClockMinMHz)), orDash(fmtNum(tel.MemClockMedianMHz, "%.0f")),
				orDash(fmtPower(tel.PowerMedianW, tel.PowerMaxW)), orDash(fmtNum(tel.EnergyJ, "%.3g")), orDash(fmtNum(tel.JoulesPerItem, "%.3g")),
				orDash(fmtNum(tel.JoulesPerStep, "%.3g")), orDash(fmtNum(tel.TempMaxC, "%.0f")), orDash(deviceMemText(tel)), state, window})
		}
	}
	return t
}

// deviceMemText is the device's memory in use, every process's, then
// the plugin's own processes' when NVML gave it: "3.0 GiB (1.3 GiB)".
func deviceMemText(tel *matrix.Telemetry) string {
	s := memText(tel.MemoryUsedMaxBytes)
	if tel.ProcessMemoryMaxBytes > 0 {
		s += " (" + memText(tel.ProcessMemoryMaxBytes) + ")"
	}
	return s
}

// otherReasons are the clock-event reasons that are not throttling
// (idle, application clocks…), which the state column names too.
func otherReasons(tel *matrix.Telemetry) string {
	var out []string
	for _, n := range tel.ClockEventReasons {
		if !contains(tel.ThrottleReasons, n) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

func fmtMHz(median, minimum float64) string {
	if median == 0 {
		return ""
	}
	if minimum > 0 && minimum < median {
		return fmt.Sprintf("%.0f (%.0f)", median, minimum)
	}
	return fmt.Sprintf("%.0f", median)
}

func fmtPower(median, maximum float64) string {
	if median == 0 && maximum == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f / %.0f", median, maximum)
}

func fmtNum(v float64, format string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(format, v)
}

func memText(b uint64) string {
	if b == 0 {
		return ""
	}
	return fmtBytes(int64(b))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// preflightTable has one row per preflight check.
func preflightTable(r *matrix.Run) table {
	t := table{header: []string{"device", "check", "status", "detail"}}
	for _, p := range r.Preflight {
		t.rows = append(t.rows, []string{p.Device, p.Name, string(p.Status), p.Detail})
	}
	return t
}

// preflightLine tallies the preflight: "preflight: 9 checks: 7 ok, 1
// warn, 1 bad"; "" for a run without one.
func preflightLine(r *matrix.Run) string {
	if len(r.Preflight) == 0 {
		return ""
	}
	n := map[matrix.PreflightStatus]int{}
	for _, p := range r.Preflight {
		n[p.Status]++
	}
	var parts []string
	for _, s := range []matrix.PreflightStatus{matrix.PreflightOK, matrix.PreflightWarn, matrix.PreflightBad, matrix.PreflightNA} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return fmt.Sprintf("preflight: %s: %s (a device's state, never a framework's result)", matrix.Plural(len(r.Preflight), "check"), strings.Join(parts, ", "))
}

// preflightProblems are the warn and bad checks, one line each.
func preflightProblems(r *matrix.Run) []string {
	var out []string
	for _, p := range r.Preflight {
		if p.Status == matrix.PreflightWarn || p.Status == matrix.PreflightBad {
			out = append(out, fmt.Sprintf("%s %s %s: %s", p.Status, p.Device, p.Name, p.Detail))
		}
	}
	return out
}

// fingerprint is a GPU's environment on one line: driver, firmware,
// power limit, application clocks, ECC and persistence; "" for a device
// with none of them (the CPU).
func fingerprint(d matrix.Device) string {
	var parts []string
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+" "+v)
		}
	}
	add("driver", d.DriverVersion)
	add("CUDA", d.CUDADriverVersion)
	add("VBIOS", d.VBIOSVersion)
	add("InfoROM", d.InfoROMVersion)
	if d.PowerLimitW > 0 {
		add("power limit", fmt.Sprintf("%.0f W", d.PowerLimitW))
	}
	if d.AppSMClockMHz > 0 || d.AppMemClockMHz > 0 {
		add("application clocks", fmt.Sprintf("SM %d / mem %d MHz", d.AppSMClockMHz, d.AppMemClockMHz))
	}
	add("ECC", d.ECC)
	add("persistence", d.Persistence)
	add("MIG", d.MIGMode)
	return strings.Join(parts, ", ")
}

// packagesText sums a framework's package list up: "214 packages,
// sha256:0123456789ab… (pip, dpkg in image sha256:…)", or why there is
// none; "" when nothing was listed.
func packagesText(f matrix.Framework) string {
	switch {
	case f.Packages != nil:
		d := f.Packages.Digest
		if len(d) > 19 {
			d = d[:19] + "…"
		}
		return fmt.Sprintf("%s, %s (%s)", matrix.Plural(len(f.Packages.Items), "package"), d, f.Packages.From)
	case f.PackagesNote != "":
		return "packages not listed: " + f.PackagesNote
	}
	return ""
}

// reproduceLines are the reproduce commands of the cells that did not
// pass and were not skipped, one a line.
func reproduceLines(r *matrix.Run) []string {
	var out []string
	for _, c := range r.Cells {
		if c.Reproduce != "" && c.Status != matrix.Pass && c.Status != matrix.Skip {
			out = append(out, c.CellKey.String()+": "+c.Reproduce)
		}
	}
	return out
}
