// Package site writes the static site of a history store: an index with
// the latest matrix per device model, a page per cell key with its
// nights (status, error trend, perf trend with a noise band, the nights
// where framework version, image digest, driver or dlcompat changed
// marked), a driver comparison per device model, and a freshness line
// per runner. Pages are plain HTML with inline SVG and CSS: no script,
// nothing fetched, so they work from file:// and any static host. Every
// string from a run goes through html/template's contextual escaping.
package site

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
)

// Options shape the site.
type Options struct {
	// Stale is how long a runner may be silent before it is shown stale.
	Stale time.Duration
	// Now is the time freshness is judged at (time.Now when zero).
	Now time.Time
	// Regress are the detection rules for the marks on the pages.
	Regress history.Options
}

// Stats says what Build wrote.
type Stats struct {
	Pages int
	Keys  int
}

// PageName is the file of a key's history page: a hash, so that no
// string from a run becomes a path.
func PageName(k history.Key) string {
	h := sha256.Sum256([]byte(strings.Join([]string{k.Framework, k.Row, k.Model, k.Check, k.Device, k.Precision}, "\x00")))
	return "cell-" + hex.EncodeToString(h[:8]) + ".html"
}

func devicePage(device string) string {
	h := sha256.Sum256([]byte(device))
	return "drivers-" + hex.EncodeToString(h[:8]) + ".html"
}

type cellSummary struct {
	Key     history.Key
	Page    string
	Latest  history.Night
	Regress []history.Regression
	Flaky   bool
	// Drivers maps a driver to its latest night's status and median.
	Drivers map[string]history.Night
}

type deviceView struct {
	Device    string
	DriverPg  string
	Rows      []string // framework rows (history.Key.Row)
	Cols      []string // model · check · precision
	Cells     map[string]map[string]*cellSummary
	Drivers   []string
	Summaries []*cellSummary
}

type runnerView struct {
	Runner, Last, Age string
	Stale, Infra      bool
	Runs, InfraRuns   int
}

// Build writes the site into dir (created; pages written atomically).
func Build(ctx context.Context, s *history.Store, dir string, o Options) (Stats, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Stale == 0 {
		o.Stale = 36 * time.Hour
	}
	if o.Regress.Window == 0 {
		o.Regress = history.DefaultOptions
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, err
	}
	var st Stats
	devices := map[string]*deviceView{}
	var order []string
	err := s.Each(ctx, func(k history.Key, ns []history.Night) error {
		regs, fl := history.Detect(ns, o.Regress)
		cs := &cellSummary{Key: k, Page: PageName(k), Latest: ns[len(ns)-1], Regress: regs, Flaky: fl != nil, Drivers: map[string]history.Night{}}
		for _, n := range ns {
			if !n.Infra {
				cs.Drivers[n.Driver] = n
			}
		}
		dv := devices[k.Device]
		if dv == nil {
			dv = &deviceView{Device: k.Device, DriverPg: devicePage(k.Device), Cells: map[string]map[string]*cellSummary{}}
			devices[k.Device] = dv
			order = append(order, k.Device)
		}
		row, col := k.Framework+k.Row, colName(k)
		if dv.Cells[row] == nil {
			dv.Cells[row] = map[string]*cellSummary{}
			dv.Rows = append(dv.Rows, row)
		}
		if !slices.Contains(dv.Cols, col) {
			dv.Cols = append(dv.Cols, col)
		}
		dv.Cells[row][col] = cs
		dv.Summaries = append(dv.Summaries, cs)
		for d := range cs.Drivers {
			if !slices.Contains(dv.Drivers, d) {
				dv.Drivers = append(dv.Drivers, d)
			}
		}
		st.Keys++
		st.Pages++
		return writePage(filepath.Join(dir, cs.Page), cellTmpl, cellPage(k, ns, regs, fl))
	})
	if err != nil {
		return st, err
	}
	runs, err := s.Runs(ctx)
	if err != nil {
		return st, err
	}
	var devs []*deviceView
	for _, d := range order {
		dv := devices[d]
		sort.Strings(dv.Cols)
		sort.Strings(dv.Drivers)
		devs = append(devs, dv)
		if err := writePage(filepath.Join(dir, dv.DriverPg), driversTmpl, driversPage(dv)); err != nil {
			return st, err
		}
		st.Pages++
	}
	idx := map[string]any{"Devices": devs, "Runners": runners(runs, o), "Generated": o.Now.UTC().Format(time.RFC3339), "Stale": o.Stale.String()}
	if err := writePage(filepath.Join(dir, "index.html"), indexTmpl, idx); err != nil {
		return st, err
	}
	st.Pages++
	return st, nil
}

func colName(k history.Key) string {
	s := k.Model + " · " + k.Check
	if k.Precision != "" {
		s += " · " + k.Precision
	}
	return s
}

func runners(runs []history.RunInfo, o Options) []runnerView {
	by := map[string]*runnerView{}
	var names []string
	last := map[string]time.Time{}
	for _, r := range runs {
		v := by[r.Runner]
		if v == nil {
			v = &runnerView{Runner: r.Runner}
			by[r.Runner] = v
			names = append(names, r.Runner)
		}
		v.Runs++
		if r.InfraFailure {
			v.InfraRuns++
		}
		if !r.Started.Before(last[r.Runner]) {
			last[r.Runner] = r.Started
			v.Infra = r.InfraFailure
		}
	}
	sort.Strings(names)
	var out []runnerView
	for _, n := range names {
		v := by[n]
		age := o.Now.Sub(last[n])
		v.Last = last[n].UTC().Format("2006-01-02 15:04 UTC")
		v.Age = age.Round(time.Hour).String()
		v.Stale = age > o.Stale
		out = append(out, *v)
	}
	return out
}

func writePage(path string, t *template.Template, data any) error {
	return matrix.WriteFileAtomic(path, func(w io.Writer) error { return t.Execute(w, data) })
}

// statusClass is the CSS class of a status; infrastructure nights have
// their own, never a framework's failure colour.
func statusClass(n history.Night) string {
	if n.Infra {
		return "infra"
	}
	return string(n.Status)
}

type point struct{ X, Y float64 }

// chart is one SVG trend: a line of medians, a band from the 10th to
// the 90th percentile of each night's samples, marks on change nights.
type chart struct {
	Title         string
	W, H          int
	Line, Band    string
	Marks         []mark
	Throttled     []point
	YMin, YMax    string
	XFirst, XLast string
	Empty         bool
}

type mark struct {
	X     float64
	Label string
}

const cw, ch, pad = 900, 180, 30

func xAt(i, n int) float64 {
	if n <= 1 {
		return pad
	}
	return pad + float64(i)*float64(cw-2*pad)/float64(n-1)
}

func newChart(title string, ns []history.Night, val func(history.Night) (med, lo, hi float64, ok bool), changes []mark, throttled func(history.Night) bool) chart {
	c := chart{Title: title, W: cw, H: ch, Marks: changes}
	type v struct {
		i           int
		med, lo, hi float64
	}
	var vs []v
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, n := range ns {
		m, lo, hi, ok := val(n)
		if !ok || n.Infra {
			continue
		}
		vs = append(vs, v{i, m, lo, hi})
		ymin, ymax = math.Min(ymin, lo), math.Max(ymax, hi)
	}
	if len(vs) == 0 {
		c.Empty = true
		return c
	}
	if ymax == ymin {
		ymax = ymin + 1
	}
	yAt := func(y float64) float64 { return ch - pad - (y-ymin)/(ymax-ymin)*float64(ch-2*pad) }
	var line, up, down []string
	for _, p := range vs {
		x := xAt(p.i, len(ns))
		line = append(line, fmt.Sprintf("%.1f,%.1f", x, yAt(p.med)))
		up = append(up, fmt.Sprintf("%.1f,%.1f", x, yAt(p.hi)))
		down = append(down, fmt.Sprintf("%.1f,%.1f", x, yAt(p.lo)))
		if throttled != nil && throttled(ns[p.i]) {
			c.Throttled = append(c.Throttled, point{x, yAt(p.med)})
		}
	}
	slices.Reverse(down)
	c.Line = strings.Join(line, " ")
	c.Band = strings.Join(append(up, down...), " ")
	c.YMin, c.YMax = fmt.Sprintf("%.3g", ymin), fmt.Sprintf("%.3g", ymax)
	c.XFirst, c.XLast = ns[0].Night, ns[len(ns)-1].Night
	return c
}

func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	t := slices.Clone(s)
	sort.Float64s(t)
	return t[int(math.Round(q*float64(len(t)-1)))]
}

func cellPage(k history.Key, ns []history.Night, regs []history.Regression, fl *history.Flaky) map[string]any {
	var changes []mark
	var changeRows []string
	for i := 1; i < len(ns); i++ {
		a, b := ns[i-1], ns[i]
		var what []string
		for _, c := range [][3]string{{"framework version", a.FrameworkVersion, b.FrameworkVersion}, {"image digest", a.ImageDigest, b.ImageDigest}, {"driver", a.Driver, b.Driver}, {"dlcompat", a.DlcompatVersion, b.DlcompatVersion}} {
			if c[1] != c[2] {
				what = append(what, c[0]+" "+c[1]+" → "+c[2])
			}
		}
		if len(what) > 0 {
			changes = append(changes, mark{xAt(i, len(ns)), b.Night})
			changeRows = append(changeRows, b.Night+": "+strings.Join(what, "; "))
		}
	}
	var charts []chart
	errChart := newChart("max abs error (log10)", ns, func(n history.Night) (float64, float64, float64, bool) {
		if n.MaxAbsErr == nil || *n.MaxAbsErr <= 0 {
			return 0, 0, 0, false
		}
		l := math.Log10(*n.MaxAbsErr)
		return l, l, l, true
	}, changes, nil)
	if !errChart.Empty {
		charts = append(charts, errChart)
	}
	seen := map[string]bool{}
	for _, n := range ns {
		for _, s := range n.Series {
			id := fmt.Sprintf("%s b%d", s.Name, s.Batch)
			if seen[id] {
				continue
			}
			seen[id] = true
			name, batch := s.Name, s.Batch
			find := func(n history.Night) *history.Series {
				for i := range n.Series {
					if n.Series[i].Name == name && n.Series[i].Batch == batch {
						return &n.Series[i]
					}
				}
				return nil
			}
			charts = append(charts, newChart(fmt.Sprintf("%s (%s, %s is better; band: 10th–90th percentile of the night's samples; ◆ throttled)", id, s.Unit, s.Better), ns,
				func(n history.Night) (float64, float64, float64, bool) {
					x := find(n)
					if x == nil || len(x.Samples) == 0 {
						return 0, 0, 0, false
					}
					return quantile(x.Samples, 0.5), quantile(x.Samples, 0.1), quantile(x.Samples, 0.9), true
				}, changes, func(n history.Night) bool { x := find(n); return x != nil && x.Throttled }))
		}
	}
	var strip []map[string]any
	for i, n := range ns {
		strip = append(strip, map[string]any{"X": xAt(i, len(ns)) - 1, "Class": statusClass(n), "Title": n.Night + " " + string(n.Status) + map[bool]string{true: " (infrastructure)", false: ""}[n.Infra]})
	}
	recent := ns[max(0, len(ns)-30):]
	rows := make([]map[string]any, 0, len(recent))
	for i := len(recent) - 1; i >= 0; i-- {
		n := recent[i]
		rows = append(rows, map[string]any{"N": n, "Class": statusClass(n), "Status": statusWord(n)})
	}
	return map[string]any{"Key": k, "Nights": len(ns), "Strip": strip, "W": cw, "Charts": charts, "Changes": changeRows,
		"Regressions": regs, "Flaky": fl, "Rows": rows, "Reproduce": history.Reproduce(k)}
}

func statusWord(n history.Night) string {
	if n.Infra {
		return "infrastructure failure"
	}
	return string(n.Status)
}

type driverRow struct {
	Cell  *cellSummary
	By    []history.Night
	Has   []bool
	Delta string
}

func driversPage(dv *deviceView) map[string]any {
	var rows []driverRow
	for _, cs := range dv.Summaries {
		r := driverRow{Cell: cs}
		var meds []float64
		for _, d := range dv.Drivers {
			n, ok := cs.Drivers[d]
			r.By, r.Has = append(r.By, n), append(r.Has, ok)
			if ok && len(n.Series) > 0 {
				meds = append(meds, quantile(n.Series[0].Samples, 0.5))
			}
		}
		if len(meds) == len(dv.Drivers) && len(meds) >= 2 && meds[0] > 0 {
			r.Delta = fmt.Sprintf("%+.1f%%", (meds[len(meds)-1]-meds[0])/meds[0]*100)
		}
		rows = append(rows, r)
	}
	return map[string]any{"D": dv, "Rows": rows}
}

// median of a night's first series, for the index and comparison.
func median(n history.Night) string {
	if len(n.Series) == 0 || len(n.Series[0].Samples) == 0 {
		return ""
	}
	return fmt.Sprintf("%.3g %s", quantile(n.Series[0].Samples, 0.5), n.Series[0].Unit)
}
