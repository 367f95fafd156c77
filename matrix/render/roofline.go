package render

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// The device characterisation (docs/spec.md §10): a table of what each
// framework measured on each device, beside the device's theoretical
// figures where they can be known, and in the HTML report a roofline per
// device with every model perf series placed on it.

const checkCharacterise = "characterise"

// Stream and GEMM series of a characterise cell, in report order.
var (
	streamSeries = []string{"copy", "triad", "h2d", "d2h"}
	gemmModes    = []string{"fp64", "fp32", "tf32", "bf16", "fp16"}
)

// charCells are the passing characterise cells, in run order.
func charCells(r *matrix.Run) []*matrix.Cell {
	var out []*matrix.Cell
	for i := range r.Cells {
		if c := &r.Cells[i]; c.Check == checkCharacterise && c.Status == matrix.Pass {
			out = append(out, c)
		}
	}
	return out
}

func timingNamed(c *matrix.Cell, name string) (matrix.Timing, bool) {
	for _, t := range c.Timings {
		if t.Name == name {
			return t, true
		}
	}
	return matrix.Timing{}, false
}

// charTable has a row per characterise cell and, after each device's
// rows, the device's theoretical figures where the inventory knows them.
// A column no row fills is left out.
func charTable(r *matrix.Run) table {
	cells := charCells(r)
	if len(cells) == 0 {
		return table{}
	}
	devs := map[string]matrix.Device{}
	for _, d := range r.Devices {
		devs[d.ID] = d
	}
	var cols []string // series names
	for _, s := range streamSeries {
		for _, c := range cells {
			if _, ok := timingNamed(c, s); ok {
				cols = append(cols, s)
				break
			}
		}
	}
	for _, m := range gemmModes {
		for _, c := range cells {
			if _, ok := timingNamed(c, "gemm_"+m); ok {
				cols = append(cols, "gemm_"+m)
				break
			}
		}
	}
	t := table{header: []string{"framework", "version", "device"}}
	for _, s := range cols {
		if strings.HasPrefix(s, "gemm_") {
			t.header = append(t.header, "GEMM "+strings.TrimPrefix(s, "gemm_")+" GFLOP/s")
		} else {
			t.header = append(t.header, s+" GB/s")
		}
	}
	byDevice := map[string][]*matrix.Cell{}
	var order []string
	for _, c := range cells {
		if _, ok := byDevice[c.Device]; !ok {
			order = append(order, c.Device)
		}
		byDevice[c.Device] = append(byDevice[c.Device], c)
	}
	for _, id := range order {
		for _, c := range byDevice[id] {
			row := []string{c.Framework, c.FrameworkVersion, c.Device}
			for _, s := range cols {
				tm, ok := timingNamed(c, s)
				switch {
				case !ok:
					row = append(row, "—")
				case tm.GBPerSecond > 0:
					row = append(row, fmtRateFig(tm.GBPerSecond, tm.Noisy))
				default:
					row = append(row, fmtRateFig(tm.GFLOPs, tm.Noisy))
				}
			}
			t.rows = append(t.rows, row)
		}
		d := devs[id]
		if d.TheoreticalBandwidthGBs == 0 && len(d.PeakGFLOPsByPrecision) == 0 {
			continue
		}
		row := []string{"theoretical", "device inventory", id}
		for _, s := range cols {
			v := 0.0
			switch {
			case s == "copy" || s == "triad":
				v = d.TheoreticalBandwidthGBs
			case strings.HasPrefix(s, "gemm_"):
				v = d.PeakGFLOPsByPrecision[strings.TrimPrefix(s, "gemm_")]
			}
			if v > 0 {
				row = append(row, fmtRateFig(v, false))
			} else {
				row = append(row, "—")
			}
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// fmtRateFig writes a GB/s or GFLOP/s figure with 4 significant digits.
func fmtRateFig(v float64, noisy bool) string {
	s := fmt.Sprintf("%.4g", v)
	if strings.Contains(s, "e") {
		s = fmt.Sprintf("%.0f", v)
	}
	if noisy {
		s += " ~"
	}
	return s
}

// charNote says how to read the table.
const charNote = "Device characterisation (docs/spec.md §10): medians; bytes are STREAM's (read + written), a GEMM counts 2n³ FLOPs; ~ marks a noisy series (cv > 10%); theoretical figures only where the device inventory knows them (none for a CPU)."

// A roofline, laid out in Go; the template draws it.
type roofline struct {
	Title, Subtitle      string
	Width, Height        float64
	Left, Right, Top, Bt float64
	XTicks, YTicks       []svgTick
	YTickY               []float64
	Lines                []roofLine
	Points               []roofPoint
	Legend               []svgLegend
	XLabelX, YLabelY     float64
}

type roofLine struct {
	Class, Label, Title string
	X1, Y1, X2, Y2      float64
	LabelX, LabelY      float64
}

type roofPoint struct {
	Class, Title, Label string
	X, Y, LabelX        float64
}

const (
	roofW, roofH                   = 960.0, 520.0
	roofLeft, roofRight            = 80.0, 210.0
	roofTop, roofBottom            = 40.0, 50.0
	roofXMin, roofXMax             = 0.1, 1e4 // FLOP/byte
	roofPointsMax                  = 400
	roofMinDecades                 = 3.0
	roofCeilingLabelMinSpacingPx   = 11.0
	roofSeriesPerFrameworkClasses  = 6
	roofTheoreticalDashClassSuffix = " theo"
)

// rooflines is one roofline per device that has a passing characterise
// cell: the achieved bandwidth slope (the best stream figure of any
// framework there) and a compute ceiling per GEMM precision (the best of
// any framework), the theoretical ones dashed where the inventory knows
// them, and each model perf series of that device at its arithmetic
// intensity and achieved GFLOP/s.
func rooflines(r *matrix.Run) []roofline {
	cells := charCells(r)
	devs := map[string]matrix.Device{}
	for _, d := range r.Devices {
		devs[d.ID] = d
	}
	var order []string
	byDevice := map[string][]*matrix.Cell{}
	for _, c := range cells {
		if _, ok := byDevice[c.Device]; !ok {
			order = append(order, c.Device)
		}
		byDevice[c.Device] = append(byDevice[c.Device], c)
	}
	var out []roofline
	for _, id := range order {
		out = append(out, deviceRoofline(r, devs[id], id, byDevice[id]))
	}
	return out
}

func deviceRoofline(r *matrix.Run, d matrix.Device, id string, cells []*matrix.Cell) roofline {
	// The achieved roof: the best bandwidth and per-mode GEMM rate.
	bw, bwFrom := 0.0, ""
	ceil := map[string]float64{}
	ceilFrom := map[string]string{}
	for _, c := range cells {
		for _, t := range c.Timings {
			if (t.Name == "copy" || t.Name == "triad") && t.GBPerSecond > bw {
				bw, bwFrom = t.GBPerSecond, fmt.Sprintf("%s %s", c.Framework, t.Name)
			}
			if m, ok := strings.CutPrefix(t.Name, "gemm_"); ok && t.GFLOPs > ceil[m] {
				ceil[m], ceilFrom[m] = t.GFLOPs, c.Framework
			}
		}
	}
	type pt struct {
		x, y         float64
		label, title string
		class        string
	}
	var pts []pt
	fwClass := map[string]string{}
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Check != "perf" || c.Status != matrix.Pass || c.Device != id {
			continue
		}
		if _, ok := fwClass[c.Framework]; !ok {
			fwClass[c.Framework] = fmt.Sprintf("f%d", len(fwClass)%roofSeriesPerFrameworkClasses)
		}
		prec := c.Precision
		if prec == "" {
			prec = "fp32"
		}
		for _, t := range c.Timings {
			if t.FLOPsPerByte <= 0 || t.GFLOPs <= 0 || len(pts) >= roofPointsMax {
				continue
			}
			label := fmt.Sprintf("%s %s %s b%d %s", c.Framework, c.Model, shortSeries(t.Name), t.Batch, prec)
			pts = append(pts, pt{x: t.FLOPsPerByte, y: t.GFLOPs, label: label, class: fwClass[c.Framework],
				title: fmt.Sprintf("%s %s: %.3g GFLOP/s at %.3g FLOP/byte", c.Framework, c.FrameworkVersion, t.GFLOPs, t.FLOPsPerByte) + roofShare(t, bw, ceil[prec])})
		}
	}
	// The y range: decades around everything drawn.
	yMax, yMin := 0.0, math.Inf(1)
	consider := func(v float64) {
		if v > 0 {
			yMax, yMin = math.Max(yMax, v), math.Min(yMin, v)
		}
	}
	for m, v := range ceil {
		consider(v)
		consider(d.PeakGFLOPsByPrecision[m])
	}
	for _, p := range pts {
		consider(p.y)
	}
	consider(bw * roofXMin)
	if math.IsInf(yMin, 1) {
		yMin, yMax = 1, 10
	}
	lo := math.Floor(math.Log10(yMin))
	hi := math.Ceil(math.Log10(yMax * 1.05))
	if hi-lo < roofMinDecades {
		lo = hi - roofMinDecades
	}
	rf := roofline{Width: roofW, Height: roofH, Left: roofLeft, Right: roofW - roofRight, Top: roofTop, Bt: roofH - roofBottom}
	name := d.Name
	if name == "" {
		name = id
	}
	rf.Title = fmt.Sprintf("%s · %s: roofline (log-log)", id, name)
	rf.Subtitle = fmt.Sprintf("achieved bandwidth %s GB/s (%s)", fmtRateFig(bw, false), bwFrom)
	if d.TheoreticalBandwidthGBs > 0 {
		rf.Subtitle += fmt.Sprintf(", theoretical %.4g GB/s (dashed)", d.TheoreticalBandwidthGBs)
	}
	lx0, lx1 := math.Log10(roofXMin), math.Log10(roofXMax)
	sx := func(x float64) float64 { return rf.Left + (rf.Right-rf.Left)*(math.Log10(x)-lx0)/(lx1-lx0) }
	sy := func(y float64) float64 {
		ly := math.Max(lo, math.Min(hi, math.Log10(y)))
		return rf.Bt - (rf.Bt-rf.Top)*(ly-lo)/(hi-lo)
	}
	for e := lx0; e <= lx1+1e-9; e++ {
		rf.XTicks = append(rf.XTicks, svgTick{X: sx(math.Pow(10, e)), Label: fmtDecade(e)})
	}
	for e := lo; e <= hi+1e-9; e++ {
		rf.YTicks = append(rf.YTicks, svgTick{X: sy(math.Pow(10, e)), Label: fmtDecade(e)})
	}
	rf.XLabelX, rf.YLabelY = (rf.Left+rf.Right)/2, (rf.Top+rf.Bt)/2
	// A roof: the slope bw·x up to the ridge, then the ceiling.
	roof := func(bw, c float64, class, label, title string) []roofLine {
		if c <= 0 {
			return nil
		}
		yTop := math.Pow(10, hi)
		var ls []roofLine
		if bw > 0 {
			ridge := c / bw
			x0 := math.Max(roofXMin, math.Pow(10, lo)/bw)
			if ridge > x0 {
				ls = append(ls, roofLine{Class: class, X1: sx(x0), Y1: sy(bw * x0), X2: sx(math.Min(ridge, roofXMax)), Y2: sy(math.Min(c, bw*roofXMax)), Title: title})
			}
			if ridge < roofXMax {
				ls = append(ls, roofLine{Class: class, X1: sx(math.Max(ridge, roofXMin)), Y1: sy(c), X2: sx(roofXMax), Y2: sy(c), Title: title,
					Label: label, LabelX: sx(roofXMax) + 6, LabelY: sy(c) + 4})
			}
		} else if c <= yTop {
			ls = append(ls, roofLine{Class: class, X1: sx(roofXMin), Y1: sy(c), X2: sx(roofXMax), Y2: sy(c), Title: title, Label: label, LabelX: sx(roofXMax) + 6, LabelY: sy(c) + 4})
		}
		return ls
	}
	var modes []string
	for _, m := range gemmModes {
		if ceil[m] > 0 || d.PeakGFLOPsByPrecision[m] > 0 {
			modes = append(modes, m)
		}
	}
	var labelled []roofLine
	for _, m := range modes {
		if p := d.PeakGFLOPsByPrecision[m]; p > 0 {
			rf.Lines = append(rf.Lines, roof(d.TheoreticalBandwidthGBs, p, "ceil-"+m+roofTheoreticalDashClassSuffix,
				m+" theoretical "+fmtRateFig(p, false),
				fmt.Sprintf("%s theoretical: %.4g GFLOP/s, %.4g GB/s", m, p, d.TheoreticalBandwidthGBs))...)
		}
		if c := ceil[m]; c > 0 {
			rf.Lines = append(rf.Lines, roof(bw, c, "ceil-"+m, m+" GEMM "+fmtRateFig(c, false)+" ("+ceilFrom[m]+")",
				fmt.Sprintf("%s GEMM achieved by %s: %.4g GFLOP/s; bandwidth %.3g GB/s", m, ceilFrom[m], c, bw))...)
		}
	}
	// Keep ceiling labels from overlapping: push each down past the last.
	for i := range rf.Lines {
		if rf.Lines[i].Label != "" {
			labelled = append(labelled, rf.Lines[i])
		}
	}
	sort.SliceStable(labelled, func(i, j int) bool { return labelled[i].LabelY < labelled[j].LabelY })
	last := -1e9
	for i := range labelled {
		if labelled[i].LabelY < last+roofCeilingLabelMinSpacingPx {
			labelled[i].LabelY = last + roofCeilingLabelMinSpacingPx
		}
		last = labelled[i].LabelY
	}
	lbl := map[string]float64{}
	for _, l := range labelled {
		lbl[l.Label] = l.LabelY
	}
	for i := range rf.Lines {
		if y, ok := lbl[rf.Lines[i].Label]; ok && rf.Lines[i].Label != "" {
			rf.Lines[i].LabelY = y
		}
	}
	for _, p := range pts {
		rf.Points = append(rf.Points, roofPoint{Class: p.class, Title: p.label + ": " + p.title, Label: p.label, X: sx(p.x), Y: sy(p.y), LabelX: sx(p.x) + 6})
	}
	var fws []string
	for f := range fwClass {
		fws = append(fws, f)
	}
	sort.Strings(fws)
	lx := rf.Left
	for _, f := range fws {
		rf.Legend = append(rf.Legend, svgLegend{Class: fwClass[f], Label: f, X: lx, Y: roofH - 14, TextX: lx + 10, TextY: roofH - 10})
		lx += 14 + 7*float64(len(f)) + 12
	}
	return rf
}

// roofShare says how far a series is from the roof at its intensity.
func roofShare(t matrix.Timing, bw, ceil float64) string {
	if bw <= 0 || ceil <= 0 {
		return ""
	}
	roof := math.Min(ceil, bw*t.FLOPsPerByte)
	bound := "compute-bound"
	if bw*t.FLOPsPerByte < ceil {
		bound = "memory-bound"
	}
	return fmt.Sprintf(" (%s there; %.1f%% of the achieved roof)", bound, 100*t.GFLOPs/roof)
}

func fmtDecade(e float64) string {
	v := math.Pow(10, e)
	if e >= 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(fmt.Sprintf("%.6f", v), "0")
}
