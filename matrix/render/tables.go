package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// table is a renderer-neutral grid: a header row and body rows.
type table struct {
	header []string
	rows   [][]string
}

type rowKey struct{ framework, version, model, check, precision string }

// mixedPrecision reports whether a run has cells of a mode other than
// strict fp32: its tables then show a precision column (a run of fp32
// alone reads as it always did).
func mixedPrecision(r *matrix.Run) bool {
	for _, c := range r.Cells {
		if c.Precision != "" && c.Precision != "fp32" {
			return true
		}
	}
	return false
}

// withPrecision inserts the precision after the first n columns of row,
// when the run mixes precisions.
func withPrecision(mixed bool, row []string, n int, precision string) []string {
	if !mixed {
		return row
	}
	return append(append(append([]string{}, row[:n]...), precision), row[n:]...)
}

// statusTable lays the numeric checks out with devices as columns.
func statusTable(r *matrix.Run) table {
	devices := deviceOrder(r)
	mixed := mixedPrecision(r)
	byRow := map[rowKey]map[string]*matrix.Cell{}
	var keys []rowKey
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Check == "perf" {
			continue
		}
		k := rowKey{c.Framework, c.FrameworkVersion, c.Model, c.Check, c.Precision}
		if byRow[k] == nil {
			byRow[k] = map[string]*matrix.Cell{}
			keys = append(keys, k)
		}
		byRow[k][c.Device] = c
	}
	t := table{header: append(withPrecision(mixed, []string{"framework", "version", "model", "check"}, 4, "precision"), devices...)}
	for _, k := range keys {
		model := k.model
		if model == "" {
			model = "—" // a device check has no model
		}
		row := withPrecision(mixed, []string{k.framework, k.version, model, k.check}, 4, k.precision)
		for _, d := range devices {
			row = append(row, cellText(byRow[k][d]))
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func deviceOrder(r *matrix.Run) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range r.Devices {
		seen[d.ID] = true
		out = append(out, d.ID)
	}
	var extra []string
	for _, c := range r.Cells {
		if !seen[c.Device] {
			seen[c.Device] = true
			extra = append(extra, c.Device)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func cellText(c *matrix.Cell) string {
	if c == nil {
		return "—"
	}
	s := string(c.Status)
	switch {
	case c.MaxRelErr != nil && c.MaxAbsErr != nil:
		s += fmt.Sprintf(" (abs %.1e, rel %.1e)", float64(*c.MaxAbsErr), float64(*c.MaxRelErr))
	case c.Status == matrix.Pass && c.Check == "determinism":
		s += " (bitwise)"
	}
	if c.FirstDivergingLayer != "" {
		s += " @" + c.FirstDivergingLayer
	}
	return s
}

// perfTable has one row per perf cell.
func perfTable(r *matrix.Run) table {
	mixed := mixedPrecision(r)
	t := table{header: withPrecision(mixed, []string{"framework", "version", "device", "model", "latency b1 median/p90/p99 ms", "throughput items/s", "train step ms", "GFLOP/s", "median ±", "cv"}, 4, "precision")}
	var states []string
	for _, c := range r.Cells {
		if c.Check != "perf" || c.Status != matrix.Pass {
			continue
		}
		states = append(states, throttleState(&c))
		var lat, thr, train, gf, peak []string
		maxCV := 0.0
		for _, tm := range c.Timings {
			s := tm.Summary
			if s.CV > maxCV {
				maxCV = s.CV
			}
			switch tm.Name {
			case "latency":
				lat = append(lat, fmt.Sprintf("%.3g / %.3g / %.3g", s.Median*1e3, s.P90*1e3, s.P99*1e3))
			case "throughput":
				thr = append(thr, fmt.Sprintf("b%d %s", tm.Batch, fmtRate(tm.ItemsPerSecond)))
				if tm.GFLOPs > 0 {
					gf = append(gf, fmt.Sprintf("b%d %.3g", tm.Batch, tm.GFLOPs))
				}
				if tm.PercentOfPeak > 0 {
					peak = append(peak, fmt.Sprintf("b%d %.2f%%", tm.Batch, tm.PercentOfPeak))
				}
			case "train_step":
				train = append(train, fmt.Sprintf("b%d %.4g", tm.Batch, s.Median*1e3))
			}
		}
		cv := fmt.Sprintf("%.1f%%", maxCV*100)
		if maxCV > matrix.NoisyCV {
			cv += " noisy"
		}
		t.rows = append(t.rows, withPrecision(mixed, []string{c.Framework, c.FrameworkVersion, c.Device, c.Model,
			strings.Join(lat, ", "), strings.Join(thr, ", "), strings.Join(train, ", "), strings.Join(gf, ", "), orDash(cellPrecision(&c)), cv, strings.Join(peak, ", ")}, 4, c.Precision))
	}
	// "% of FP32 peak" only where a device's peak is known (a GPU that
	// NVML describes), before cv.
	anyPeak := false
	for _, row := range t.rows {
		anyPeak = anyPeak || row[len(row)-1] != ""
	}
	for i, row := range t.rows {
		p := row[len(row)-1]
		if !anyPeak {
			t.rows[i] = row[:len(row)-1]
			continue
		}
		if p == "" {
			p = "—"
		}
		t.rows[i] = append(append(row[:len(row)-2:len(row)-2], p), row[len(row)-2])
	}
	if anyPeak {
		t.header = append(t.header[:len(t.header)-1:len(t.header)-1], "% of FP32 peak", "cv")
	}
	// The device's state during the series, where the host sampled it: a
	// throttled series measured the cooling as much as the framework.
	if hasTelemetry(r) {
		t.header = append(t.header, "device")
		for i := range t.rows {
			t.rows[i] = append(t.rows[i], orDash(states[i]))
		}
	}
	return t
}

// computeLine says how the run's wall time compares with the time the
// plugins report spending in the frameworks; "" when they report none.
func computeLine(r *matrix.Run) string {
	var compute, cells float64
	for _, c := range r.Cells {
		compute += c.ComputeSeconds
		cells += c.Seconds
	}
	if compute == 0 || r.Finished.IsZero() {
		return ""
	}
	wall, span := r.Finished.Sub(r.Started).Seconds(), "from start to end"
	if r.ElapsedSeconds > 0 && r.ElapsedSeconds < wall-1 {
		wall, span = r.ElapsedSeconds, "running (its sessions; the pauses between them left out)"
	}
	return fmt.Sprintf("time: %.1fs %s, %.1fs in plugin calls, %.1fs of it computing in the frameworks (wall / compute = %.2f)", wall, span, cells, compute, wall/compute)
}

// problems lists cells that did not pass, and warnings, as footnotes.
func problems(r *matrix.Run) []string { return problemLines(r, false) }

// problemLines lists cells that did not pass, and warnings. Cells of one
// framework row that share a status and a reason (a framework that is not
// installed skips every cell for one reason) make one line, not one per
// cell. With skipsByFramework (the text report), skipped cells are
// grouped by framework and reason whatever their version, as
// "caffe: 8 cells skipped: REASON": an install hint is long, and a
// terminal shows it once.
func problemLines(r *matrix.Run, skipsByFramework bool) []string {
	type group struct {
		key   matrix.CellKey
		msg   string
		cells int
		skip  bool // a skipsByFramework group
	}
	var out []string
	var groups []*group
	byMsg := map[string]*group{}
	for _, c := range r.Cells {
		if c.Status == matrix.Pass {
			for _, w := range c.Warnings {
				out = append(out, fmt.Sprintf("%s: warning: %s", c.CellKey, w))
			}
			continue
		}
		if skipsByFramework && c.Status == matrix.Skip {
			id := "skip\x00" + c.Framework + "\x00" + c.Reason
			if g, ok := byMsg[id]; ok {
				g.cells++
				continue
			}
			g := &group{key: c.CellKey, msg: c.Reason, cells: 1, skip: true}
			byMsg[id] = g
			groups = append(groups, g)
			continue
		}
		msg := string(c.Status)
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		if c.Worst != "" && c.Status == matrix.Fail {
			msg += " (worst: " + c.Worst + ")"
		}
		id := c.Framework + "\x00" + c.FrameworkVersion + "\x00" + msg
		if g, ok := byMsg[id]; ok && c.Status != matrix.Fail {
			g.cells++
			continue
		}
		g := &group{key: c.CellKey, msg: msg, cells: 1}
		byMsg[id] = g
		groups = append(groups, g)
	}
	var lines []string
	for _, g := range groups {
		switch {
		case g.skip:
			l := fmt.Sprintf("%s: %s skipped", g.key.Framework, matrix.Plural(g.cells, "cell"))
			if g.cells == 1 {
				l = fmt.Sprintf("%s: %s", g.key, matrix.Skip) // as for any other single cell
			}
			if g.msg != "" {
				l += ": " + g.msg
			}
			lines = append(lines, l)
		case g.cells == 1:
			lines = append(lines, fmt.Sprintf("%s: %s", g.key, g.msg))
		default:
			lines = append(lines, fmt.Sprintf("%s %s, %s: %s", g.key.Framework, g.key.FrameworkVersion, matrix.Plural(g.cells, "cell"), g.msg))
		}
	}
	return append(lines, out...)
}
