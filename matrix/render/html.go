package render

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// The HTML report is one self-contained file: inline CSS, inline SVG,
// no script and no network (a Content-Security-Policy says so to the
// browser too). html/template escapes every value by context, so a
// framework version such as "<script>…" is text, never markup.

//go:embed templates/*
var templateFS embed.FS

var htmlTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"css":    func() template.CSS { return template.CSS(mustRead("templates/style.css")) },
	"num":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"plural": matrix.Plural,
}).ParseFS(templateFS, "templates/*.tmpl"))

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// statusLook is how a status is drawn: a symbol and a CSS class whose
// pattern differs per status, so the matrix reads in grayscale too.
var statusLook = map[matrix.Status]struct{ symbol, class string }{
	matrix.Pass:    {"✓", "s-pass"},
	matrix.Fail:    {"✗", "s-fail"},
	matrix.Error:   {"!", "s-error"},
	matrix.Crash:   {"☠", "s-crash"},
	matrix.Timeout: {"◔", "s-timeout"},
	matrix.Skip:    {"–", "s-skip"},
	matrix.Unknown: {"?", "s-unknown"},
}

func look(s matrix.Status) (string, string) {
	l, ok := statusLook[s]
	if !ok {
		return "?", "s-unknown"
	}
	return l.symbol, l.class
}

type legendItem struct {
	Symbol, Class, Label string
	Count                int
}

// htmlColumn is a device, spanning one sub-column per model.
type htmlColumn struct {
	ID, Name string
	Models   []string
}

// htmlCell is one check of one (framework version, device, model).
type htmlCell struct {
	Check                                string
	Status                               matrix.Status
	Symbol, Class, Detail, Title, Anchor string
}

// htmlRow is a framework version; Groups has one entry per (device,
// model) sub-column, holding that combination's checks in run order.
type htmlRow struct {
	Framework, Version string
	Groups             [][]htmlCell
}

type htmlPerfRow struct {
	Framework, Version, Device, Model, Latency, Memory, CV string
	// Precision is how well the least known median is known (cellPrecision).
	Precision string
	// State is the device's during the series (throttleState).
	State                           string
	Throughput, Train, GFLOPs, Peak []string
	Noisy                           bool
}

type htmlDevice struct {
	matrix.Device
	Memory, Bandwidth, Peak, Fingerprint string
}

type htmlFramework struct {
	matrix.Framework
	BuildList []string
	Packages  string
}

// htmlTelemetryRow is one sampled series; Throttled marks it.
type htmlTelemetryRow struct {
	Cells     []string
	Throttled bool
}

type htmlPreflight struct {
	matrix.PreflightCheck
	Class string
}

type htmlTensor struct {
	Name, Abs, Rel, Index string
	Violations            int
	Pass                  bool
}

type htmlTiming struct {
	Series, Median, P90, P99, Min, Max, CV, Items, GFLOPs, Peak string
	// Precision is how well the median is known (fmtPrecision); Timer
	// the clock the samples came from.
	Precision, Timer string
	// Device is the telemetry of the series, on one line; Throttled
	// marks a series that ran throttled.
	Device    string
	Throttled bool
	N         int
	Noisy     bool
}

type htmlDetail struct {
	Anchor, Symbol, Class string
	Open                  bool
	Cell                  *matrix.Cell
	Device                matrix.Device
	Framework             htmlFramework
	Seconds, Compute      string
	Errors, Memory        string
	Tensors               []htmlTensor
	Timings               []htmlTiming
}

// htmlTable is a table for the template.
type htmlTable struct {
	Header []string
	Rows   [][]string
}

type htmlChartPair struct {
	Model               string
	Throughput, Latency svgChart
}

type htmlReport struct {
	Title, Started, Duration, SummaryLine string
	Run                                   *matrix.Run
	Legend                                []legendItem
	Columns                               []htmlColumn
	Rows                                  []htmlRow
	Perf                                  []htmlPerfRow
	PerfMethod, NoisyCV                   string
	HasPeak                               bool
	LatencyBatch                          int
	Charts                                []htmlChartPair
	Devices                               []htmlDevice
	Frameworks                            []htmlFramework
	TelemetryHeader                       []string
	Telemetry                             []htmlTelemetryRow
	PreflightLine                         string
	Preflight                             []htmlPreflight
	Shards                                []matrix.ShardInfo
	Notes                                 []string
	Details                               []htmlDetail
	// Char is the device characterisation table; Rooflines one per
	// device that has one (roofline.go).
	Char      htmlTable
	CharNote  string
	Rooflines []roofline
}

// WriteHTML renders the run as one self-contained HTML page.
func WriteHTML(w io.Writer, r *matrix.Run) error {
	return htmlTemplates.ExecuteTemplate(w, "report", buildHTMLReport(r))
}

func cellAnchor(i int) string { return fmt.Sprintf("cell-%d", i) }

func buildHTMLReport(r *matrix.Run) *htmlReport {
	h := &htmlReport{Run: r, Title: "dlcompat " + r.RunID, SummaryLine: r.Summary(), Shards: r.Shards,
		NoisyCV: fmt.Sprintf("%.0f%%", 100*matrix.NoisyCV), LatencyBatch: 1}
	if !r.Started.IsZero() {
		h.Started = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		if !r.Finished.IsZero() {
			h.Duration = r.Finished.Sub(r.Started).Round(time.Second).String()
		}
	}
	counts := r.Counts()
	for _, s := range matrix.Statuses {
		sym, class := look(s)
		h.Legend = append(h.Legend, legendItem{Symbol: sym, Class: class, Label: string(s), Count: counts[s]})
	}

	devs := map[string]matrix.Device{}
	for _, d := range r.Devices {
		devs[d.ID] = d
	}
	fws := map[[2]string]htmlFramework{}
	for _, f := range r.Frameworks {
		hf := htmlFramework{Framework: f}
		for k, v := range f.Build {
			hf.BuildList = append(hf.BuildList, k+" "+v)
		}
		sort.Strings(hf.BuildList)
		hf.Packages = packagesText(f)
		h.Frameworks = append(h.Frameworks, hf)
		fws[[2]string{f.Name, f.Version}] = hf
	}

	// The status matrix: framework versions against devices and models,
	// each entry the checks of that combination.
	var models []string
	seenModel := map[string]bool{}
	for _, c := range r.Cells {
		if !seenModel[c.Model] {
			seenModel[c.Model] = true
			models = append(models, c.Model)
		}
	}
	group := map[[2]string]int{} // (device, model) → index in a row's Groups
	for _, id := range deviceOrder(r) {
		h.Columns = append(h.Columns, htmlColumn{ID: id, Name: devs[id].Name, Models: models})
		for _, m := range models {
			group[[2]string{id, m}] = len(group)
		}
	}
	rowIndex := map[[2]string]int{}
	mixed := mixedPrecision(r)
	for i := range r.Cells {
		c := &r.Cells[i]
		k := [2]string{c.Framework, c.FrameworkVersion}
		ri, ok := rowIndex[k]
		if !ok {
			ri = len(h.Rows)
			rowIndex[k] = ri
			h.Rows = append(h.Rows, htmlRow{Framework: c.Framework, Version: c.FrameworkVersion, Groups: make([][]htmlCell, len(group))})
		}
		sym, class := look(c.Status)
		label := c.Check
		if mixed {
			label += " " + c.Precision // a run of several modes names each cell's
		}
		hc := htmlCell{Check: label, Status: c.Status, Symbol: sym, Class: class, Anchor: cellAnchor(i), Title: c.CellKey.String() + ": " + string(c.Status)}
		switch {
		case c.MaxAbsErr != nil && c.MaxRelErr != nil:
			hc.Detail = fmt.Sprintf("abs %.1e · rel %.1e", float64(*c.MaxAbsErr), float64(*c.MaxRelErr))
		case c.Status == matrix.Pass && c.Check == "determinism":
			hc.Detail = "bitwise"
		case c.Status == matrix.Pass && len(c.Timings) > 0:
			hc.Detail = perfBrief(c)
		}
		if c.FirstDivergingLayer != "" {
			hc.Detail += " @" + c.FirstDivergingLayer
		}
		if c.Status != matrix.Pass && c.Reason != "" {
			hc.Title += ": " + firstLineOf(c.Reason)
		}
		g := group[[2]string{c.Device, c.Model}]
		h.Rows[ri].Groups[g] = append(h.Rows[ri].Groups[g], hc)
	}

	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Check == "perf" && c.Status == matrix.Pass && len(c.Timings) > 0 {
			row := perfRowHTML(c)
			row.State = throttleState(c)
			h.HasPeak = h.HasPeak || len(row.Peak) > 0
			h.Perf = append(h.Perf, row)
		}
	}
	if len(h.Perf) > 0 {
		h.PerfMethod = perfMethod(r)
		h.Charts = perfCharts(r)
	}

	for _, d := range r.Devices {
		hd := htmlDevice{Device: d}
		if d.MemoryTotalBytes > 0 {
			hd.Memory = fmtBytes(int64(d.MemoryTotalBytes))
		}
		if d.TheoreticalBandwidthGBs > 0 {
			hd.Bandwidth = fmt.Sprintf("%.0f GB/s", d.TheoreticalBandwidthGBs)
		}
		if d.PeakFP32GFLOPs > 0 {
			hd.Peak = fmt.Sprintf("%.1f TFLOP/s (%d CUDA cores)", d.PeakFP32GFLOPs/1000, d.CUDACores)
		}
		hd.Fingerprint = fingerprint(d)
		h.Devices = append(h.Devices, hd)
	}
	if hasTelemetry(r) {
		tt := telemetryTable(r)
		h.TelemetryHeader = tt.header
		for _, row := range tt.rows {
			h.Telemetry = append(h.Telemetry, htmlTelemetryRow{Cells: row, Throttled: strings.HasPrefix(row[13], "THROTTLED")})
		}
	}
	h.PreflightLine = preflightLine(r)
	for _, p := range r.Preflight {
		h.Preflight = append(h.Preflight, htmlPreflight{PreflightCheck: p, Class: "pf-" + strings.ReplaceAll(string(p.Status), "/", "")})
	}

	ct := charTable(r)
	h.Char, h.CharNote, h.Rooflines = htmlTable{Header: ct.header, Rows: ct.rows}, charNote, rooflines(r)

	h.Notes = append(h.Notes, problems(r)...)
	h.Notes = append(h.Notes, r.Notes...)

	h.Details = make([]htmlDetail, 0, len(r.Cells))
	for i := range r.Cells {
		c := &r.Cells[i]
		sym, class := look(c.Status)
		d := htmlDetail{Anchor: cellAnchor(i), Symbol: sym, Class: class, Open: c.Status != matrix.Pass && c.Status != matrix.Skip, Cell: c,
			Device: devs[c.Device], Framework: fws[[2]string{c.Framework, c.FrameworkVersion}],
			Seconds: fmtSeconds(c.Seconds)}
		if c.ComputeSeconds > 0 {
			d.Compute = fmtSeconds(c.ComputeSeconds)
		}
		if c.MaxAbsErr != nil && c.MaxRelErr != nil {
			d.Errors = fmt.Sprintf("max abs %.3g, max rel %.3g", float64(*c.MaxAbsErr), float64(*c.MaxRelErr))
		}
		if c.PeakMemoryBytes > 0 {
			d.Memory = fmtBytes(c.PeakMemoryBytes) + " (" + c.MemoryKind + ")"
		}
		for _, t := range c.Tensors {
			var idx []string
			for _, v := range t.WorstIndex {
				idx = append(idx, fmt.Sprint(v))
			}
			d.Tensors = append(d.Tensors, htmlTensor{Name: t.Name, Abs: fmt.Sprintf("%.3g", float64(t.MaxAbsErr)), Rel: fmt.Sprintf("%.3g", float64(t.MaxRelErr)),
				Index: "[" + strings.Join(idx, ",") + "]", Violations: t.Violations, Pass: t.Pass})
		}
		for _, t := range c.Timings {
			s := t.Summary
			ht := htmlTiming{Series: fmt.Sprintf("%s b%d", t.Name, t.Batch), N: s.N, Median: fmtSeconds(s.Median), P90: fmtSeconds(s.P90),
				P99: fmtSeconds(s.P99), Min: fmtSeconds(s.Min), Max: fmtSeconds(s.Max), CV: fmt.Sprintf("%.1f%%", 100*s.CV), Noisy: t.Noisy,
				Precision: orDash(fmtPrecision(t.MedianPrecision, t.Capped)), Timer: orDash(t.Timer)}
			if t.ItemsPerSecond > 0 {
				ht.Items = fmtRate(t.ItemsPerSecond)
			}
			if t.GFLOPs > 0 {
				ht.GFLOPs = fmt.Sprintf("%.3g", t.GFLOPs)
			}
			if t.PercentOfPeak > 0 {
				ht.Peak = fmt.Sprintf("%.2f%%", t.PercentOfPeak)
			}
			if tel := t.Telemetry; tel != nil {
				ht.Device = fmt.Sprintf("SM %s MHz · %s W · %s J", orDash(fmtMHz(tel.SMClockMedianMHz, tel.SMClockMinMHz)), orDash(fmtPower(tel.PowerMedianW, tel.PowerMaxW)), orDash(fmtNum(tel.EnergyJ, "%.3g")))
				if tel.JoulesPerItem > 0 {
					ht.Device += fmt.Sprintf(" · %.3g J/item", tel.JoulesPerItem)
				}
				if tel.Throttled {
					ht.Device += " · THROTTLED (" + strings.Join(tel.ThrottleReasons, ", ") + ")"
				}
				ht.Throttled = tel.Throttled
			}
			d.Timings = append(d.Timings, ht)
		}
		h.Details = append(h.Details, d)
	}
	return h
}

// perfMethod describes the perf options from the samples themselves.
func perfMethod(r *matrix.Run) string {
	n := 0
	for _, c := range r.Cells {
		for _, t := range c.Timings {
			if t.Summary.N > n {
				n = t.Summary.N
			}
		}
	}
	return fmt.Sprintf("up to %s per series, after untimed warm-ups", matrix.Plural(n, "timed iteration"))
}

func perfBrief(c *matrix.Cell) string {
	for _, t := range c.Timings {
		if t.Name == "latency" {
			return fmt.Sprintf("b%d %s", t.Batch, fmtSeconds(t.Summary.Median))
		}
	}
	return ""
}

func perfRowHTML(c *matrix.Cell) htmlPerfRow {
	row := htmlPerfRow{Framework: c.Framework, Version: c.FrameworkVersion, Device: c.Device, Model: c.Model, Precision: orDash(cellPrecision(c))}
	var thr, train, gf, peak []string
	maxCV := 0.0
	for _, t := range c.Timings {
		s := t.Summary
		maxCV = math.Max(maxCV, s.CV)
		row.Noisy = row.Noisy || t.Noisy
		switch t.Name {
		case "latency":
			row.Latency = fmt.Sprintf("%s / %s / %s", fmtSeconds(s.Median), fmtSeconds(s.P90), fmtSeconds(s.P99))
		case "throughput":
			thr = append(thr, fmt.Sprintf("b%d %s", t.Batch, fmtRate(t.ItemsPerSecond)))
		case "train_step":
			train = append(train, fmt.Sprintf("b%d %s", t.Batch, fmtSeconds(s.Median)))
		}
		if t.GFLOPs > 0 && t.Name != "latency" {
			gf = append(gf, fmt.Sprintf("%s b%d %.3g", shortSeries(t.Name), t.Batch, t.GFLOPs))
		}
		if t.PercentOfPeak > 0 && t.Name != "latency" {
			peak = append(peak, fmt.Sprintf("%s b%d %.2f%%", shortSeries(t.Name), t.Batch, t.PercentOfPeak))
		}
	}
	row.Throughput, row.Train, row.GFLOPs, row.Peak = thr, train, gf, peak
	row.CV = fmt.Sprintf("%.1f%%", 100*maxCV)
	if c.PeakMemoryBytes > 0 {
		row.Memory = fmtBytes(c.PeakMemoryBytes)
	}
	return row
}

func shortSeries(name string) string {
	switch name {
	case "throughput":
		return "fwd"
	case "train_step":
		return "train"
	}
	return name
}

// svgChart is a horizontal bar chart laid out in Go; the template only
// draws it.
type svgChart struct {
	Title, Unit               string
	Width, Height             float64
	PlotX, LabelX, AxisLabelX float64
	Top, Bottom               float64
	Rows                      []svgRow
	Ticks                     []svgTick
	Legend                    []svgLegend
}

type svgRow struct {
	Label, Full string
	LabelY      float64
	Bars        []svgBar
}

type svgBar struct {
	Class, Title, Text string
	X, Y, W, H         float64
	TextX, TextY       float64
	Dots               []svgDot
	Marks              []svgMark
}

type svgDot struct{ X, Y float64 }

type svgMark struct {
	Class, Title string
	X, Y1, Y2    float64
}

type svgTick struct {
	X     float64
	Label string
}

type svgLegend struct {
	Class, Label       string
	X, Y, TextX, TextY float64
}

const (
	chartWidth  = 960.0
	chartPlotX  = 280.0
	chartRight  = 150.0 // room for the value labels
	chartTop    = 30.0
	barHeight   = 14.0
	barGap      = 3.0
	groupGap    = 10.0
	chartFooter = 40.0
)

func truncLabel(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// niceScale returns an upper bound ≥ max and a tick step of 1, 2 or 5
// times a power of ten, for about five ticks.
func niceScale(max float64) (float64, float64) {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return 1, 0.2
	}
	raw := max / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	return math.Ceil(max/step) * step, step
}

func fmtTick(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.6f", v), "0"), ".")
}

func perfCharts(r *matrix.Run) []htmlChartPair {
	byModel := map[string][]*matrix.Cell{}
	var models []string
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Check != "perf" || c.Status != matrix.Pass || len(c.Timings) == 0 {
			continue
		}
		if _, ok := byModel[c.Model]; !ok {
			models = append(models, c.Model)
		}
		byModel[c.Model] = append(byModel[c.Model], c)
	}
	var out []htmlChartPair
	for _, m := range models {
		out = append(out, htmlChartPair{Model: m, Throughput: throughputChart(m, byModel[m]), Latency: latencyChart(m, byModel[m])})
	}
	return out
}

func rowLabel(c *matrix.Cell) string {
	return c.Framework + " " + c.FrameworkVersion + " · " + c.Device
}

func throughputChart(model string, cells []*matrix.Cell) svgChart {
	ch := svgChart{Title: model + ": throughput (items/s, higher is better)", Unit: "items per second (batch / median time)",
		Width: chartWidth, PlotX: chartPlotX, LabelX: chartPlotX - 8, Top: chartTop}
	batchSet := map[int]bool{}
	var max float64
	for _, c := range cells {
		for _, t := range c.Timings {
			if t.Name == "throughput" {
				batchSet[t.Batch] = true
				max = math.Max(max, t.ItemsPerSecond)
			}
		}
	}
	var batches []int
	for b := range batchSet {
		batches = append(batches, b)
	}
	sort.Ints(batches)
	classOf := map[int]string{}
	for i, b := range batches {
		classOf[b] = fmt.Sprintf("b%d", i%4)
	}
	top, step := niceScale(max)
	plotW := ch.Width - ch.PlotX - chartRight
	scale := func(v float64) float64 { return ch.PlotX + plotW*v/top }
	y := ch.Top + 6
	for _, c := range cells {
		row := svgRow{Label: truncLabel(rowLabel(c), 44), Full: rowLabel(c)}
		start := y
		for _, t := range c.Timings {
			if t.Name != "throughput" {
				continue
			}
			w := scale(t.ItemsPerSecond) - ch.PlotX
			row.Bars = append(row.Bars, svgBar{Class: classOf[t.Batch], X: ch.PlotX, Y: y, W: w, H: barHeight,
				Title: fmt.Sprintf("%s: batch %d, %s items/s (median of %d)", rowLabel(c), t.Batch, fmtRate(t.ItemsPerSecond), t.Summary.N),
				Text:  fmt.Sprintf("b%d %s/s", t.Batch, fmtRate(t.ItemsPerSecond)), TextX: ch.PlotX + w + 4, TextY: y + barHeight - 3})
			y += barHeight + barGap
		}
		row.LabelY = (start+y-barGap)/2 + 4
		ch.Rows = append(ch.Rows, row)
		y += groupGap
	}
	ch.Bottom = y
	for v := 0.0; v <= top+step/2; v += step {
		ch.Ticks = append(ch.Ticks, svgTick{X: scale(v), Label: fmtTick(v)})
	}
	ch.AxisLabelX = ch.PlotX + plotW/2
	lx := ch.PlotX
	for _, b := range batches {
		ch.Legend = append(ch.Legend, svgLegend{Class: classOf[b], Label: fmt.Sprintf("batch %d", b), X: lx, Y: 8, TextX: lx + 18, TextY: 17})
		lx += 90
	}
	for i := range ch.Legend { // legend sits at the top right of the title
		ch.Legend[i].X += 320
		ch.Legend[i].TextX += 320
	}
	ch.Height = ch.Bottom + chartFooter
	return ch
}

func latencyChart(model string, cells []*matrix.Cell) svgChart {
	ch := svgChart{Title: model + ": latency at batch 1 (ms, lower is better): bar = median, red = p90, dashed = p99, dots = raw samples",
		Unit: "milliseconds", Width: chartWidth, PlotX: chartPlotX, LabelX: chartPlotX - 8, Top: chartTop}
	// The scale fits every p90 with room to spare; a p99 or a sample
	// beyond it is drawn at the edge (the label gives its value), so one
	// outlier does not flatten every bar.
	var max float64
	for _, c := range cells {
		for _, t := range c.Timings {
			if t.Name == "latency" {
				max = math.Max(max, math.Min(t.Summary.P99, 1.5*t.Summary.P90)*1e3)
			}
		}
	}
	top, step := niceScale(max)
	plotW := ch.Width - ch.PlotX - chartRight
	scale := func(ms float64) float64 { return ch.PlotX + plotW*math.Min(ms, top)/top }
	y := ch.Top + 6
	h := barHeight + 6
	for _, c := range cells {
		for _, t := range c.Timings {
			if t.Name != "latency" {
				continue
			}
			s := t.Summary
			bar := svgBar{Class: "lat", X: ch.PlotX, Y: y, W: scale(s.Median*1e3) - ch.PlotX, H: h,
				Title: fmt.Sprintf("%s: median %s, p90 %s, p99 %s over %s", rowLabel(c), fmtSeconds(s.Median), fmtSeconds(s.P90), fmtSeconds(s.P99), matrix.Plural(s.N, "sample")),
				Text:  fmt.Sprintf("%.3g ms (p90 %.3g, p99 %.3g)", s.Median*1e3, s.P90*1e3, s.P99*1e3)}
			bar.TextX, bar.TextY = scale(s.P99*1e3)+6, y+h-5
			if s.P99*1e3 > top {
				bar.Text += " ▸"
			}
			if len(t.Samples) <= 500 {
				for i, v := range t.Samples {
					jitter := float64((i*7)%11) / 10 // deterministic spread inside the bar
					bar.Dots = append(bar.Dots, svgDot{X: scale(v * 1e3), Y: y + 3 + jitter*(h-6)})
				}
			}
			bar.Marks = []svgMark{
				{Class: "p90", Title: "p90 " + fmtSeconds(s.P90), X: scale(s.P90 * 1e3), Y1: y - 2, Y2: y + h + 2},
				{Class: "p99", Title: "p99 " + fmtSeconds(s.P99), X: scale(s.P99 * 1e3), Y1: y - 2, Y2: y + h + 2},
			}
			ch.Rows = append(ch.Rows, svgRow{Label: truncLabel(rowLabel(c), 44), Full: rowLabel(c), LabelY: y + h/2 + 4, Bars: []svgBar{bar}})
			y += h + groupGap
		}
	}
	ch.Bottom = y
	for v := 0.0; v <= top+step/2; v += step {
		ch.Ticks = append(ch.Ticks, svgTick{X: scale(v), Label: fmtTick(v)})
	}
	ch.AxisLabelX = ch.PlotX + plotW/2
	ch.Height = ch.Bottom + chartFooter
	return ch
}
