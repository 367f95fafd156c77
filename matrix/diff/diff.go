package diff

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// Thresholds steer Compare. A zero field takes its value from
// DefaultThresholds, so fields can be added without breaking callers.
type Thresholds struct {
	// Alpha is the significance level of the Mann-Whitney U test on the
	// raw samples: a speed change with p > Alpha is "~", the data cannot
	// tell. Default 0.05.
	Alpha float64 `json:"alpha"`
	// MinChange is the smallest relative change of the median that is
	// called faster or slower, however significant: below it, "~".
	// Default 0.05 (5%). It applies to GPUs; CPUs have MinChangeCPU.
	MinChange float64 `json:"min_change"`
	// MinChangeCPU is MinChange for CPU devices. A CPU on a shared or
	// virtual machine runs the same configuration 5 to 15% slower or
	// faster from one run to the next (measured: two gorgonia runs a
	// minute apart differed by up to 15%, each series' own cv 3 to 4%,
	// p < 1e-5): the test is right that they differ, but it is the
	// machine, not the framework. Default 0.20 (20%).
	MinChangeCPU float64 `json:"min_change_cpu"`
	// MinSamples is the fewest samples a series needs on each side to be
	// tested at all; below it the comparison is "~" with a warning.
	// Default 4 (with fewer, no two-sided test can reach p ≤ 0.05).
	MinSamples int `json:"min_samples"`
	// ErrorGrowth is the factor by which a measured error (max absolute
	// or max relative) may grow before it is flagged. Default 10.
	ErrorGrowth float64 `json:"error_growth"`
	// ErrorFloor is the error below which errors count as equal to it, so
	// that going from 1e-15 to 1e-13 is not a "100× growth". Default 1e-10.
	ErrorFloor float64 `json:"error_floor"`
}

// DefaultThresholds are the thresholds `dlcompat diff` uses unless told.
var DefaultThresholds = Thresholds{Alpha: 0.05, MinChange: 0.05, MinChangeCPU: 0.20, MinSamples: 4, ErrorGrowth: 10, ErrorFloor: 1e-10}

// minChangeFor is the MinChange for a device of this kind.
func (t Thresholds) minChangeFor(kind string) float64 {
	if kind == matrix.KindCPU {
		return t.MinChangeCPU
	}
	return t.MinChange
}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds
	if t.Alpha == 0 {
		t.Alpha = d.Alpha
	}
	if t.MinChange == 0 {
		t.MinChange = d.MinChange
	}
	if t.MinChangeCPU == 0 {
		t.MinChangeCPU = d.MinChangeCPU
	}
	if t.MinSamples == 0 {
		t.MinSamples = d.MinSamples
	}
	if t.ErrorGrowth == 0 {
		t.ErrorGrowth = d.ErrorGrowth
	}
	if t.ErrorFloor == 0 {
		t.ErrorFloor = d.ErrorFloor
	}
	return t
}

// Change classifies a compared cell.
type Change string

const (
	Regression  Change = "regression"  // a pass became something else (or is gone from the new run), an error grew, or it got slower
	Improvement Change = "improvement" // a non-pass became a pass, or it got faster (and nothing regressed)
	Changed     Change = "changed"     // the status changed between two non-passes
	Unchanged   Change = "unchanged"
	Added       Change = "added"   // only in the new run
	Removed     Change = "removed" // only in the old run, where it did not pass (a pass that is gone is a Regression)
)

// Changes lists the classes in report order.
var Changes = []Change{Regression, Improvement, Changed, Added, Removed, Unchanged}

// Speed verdicts of a TimingDiff.
const (
	Slower = "slower"
	Faster = "faster"
	Same   = "~" // the data cannot tell, or the change is below MinChange
)

// TimingDiff compares one series (same name and batch) of two cells.
type TimingDiff struct {
	Name      string  `json:"name"`
	Batch     int     `json:"batch"`
	Unit      string  `json:"unit"`
	OldN      int     `json:"old_n"`
	NewN      int     `json:"new_n"`
	OldMedian float64 `json:"old_median"`
	NewMedian float64 `json:"new_median"`
	// Delta is the relative change of the median, (new - old) / old.
	Delta float64 `json:"delta"`
	// P is the Mann-Whitney U p-value; absent when the series was not
	// tested (too few samples).
	P *matrix.Float `json:"p,omitempty"`
	// MinChange is the threshold this series was judged with (its
	// device's: Thresholds.MinChange or MinChangeCPU).
	MinChange float64 `json:"min_change"`
	// Verdict is Slower, Faster or Same; Note says why it is Same.
	Verdict string `json:"verdict"`
	Note    string `json:"note,omitempty"`
	// OldThrottled and NewThrottled say that the device throttled during
	// the series (matrix.Telemetry). When one side did and the other did
	// not, a Slower or Faster verdict is kept but Discounted: it is no
	// regression nor improvement, since the device, not the framework,
	// may account for it.
	OldThrottled bool `json:"old_throttled,omitempty"`
	NewThrottled bool `json:"new_throttled,omitempty"`
	Discounted   bool `json:"discounted,omitempty"`
}

// Series names the series: "latency b1".
func (t TimingDiff) Series() string { return fmt.Sprintf("%s b%d", t.Name, t.Batch) }

// ErrorDiff compares the measured errors of two numeric cells.
type ErrorDiff struct {
	OldAbs matrix.Float `json:"old_max_abs_err"`
	NewAbs matrix.Float `json:"new_max_abs_err"`
	OldRel matrix.Float `json:"old_max_rel_err"`
	NewRel matrix.Float `json:"new_max_rel_err"`
	// Factor is the larger growth factor of the two (after ErrorFloor).
	Factor matrix.Float `json:"factor"`
	Grew   bool         `json:"grew"`
}

// CellDiff is one cell of the old run against its counterpart in the new.
type CellDiff struct {
	Framework string `json:"framework"`
	// OldVersion and NewVersion are the framework versions; they differ
	// when a framework was upgraded between the runs.
	OldVersion string `json:"old_version,omitempty"`
	NewVersion string `json:"new_version,omitempty"`
	// DeviceModel is the device's name ("NVIDIA A100-SXM4-40GB"), which is
	// what cells are matched on; OldDevice and NewDevice are the IDs.
	DeviceModel string        `json:"device_model"`
	OldDevice   string        `json:"old_device,omitempty"`
	NewDevice   string        `json:"new_device,omitempty"`
	Model       string        `json:"model"`
	Check       string        `json:"check"`
	Precision   string        `json:"precision"`
	OldStatus   matrix.Status `json:"old_status,omitempty"`
	NewStatus   matrix.Status `json:"new_status,omitempty"`
	// NewReason is the new cell's reason when it did not pass.
	NewReason string `json:"new_reason,omitempty"`
	Change    Change `json:"change"`
	// StatusRegression, ErrorRegression and SpeedRegression say which kind
	// of regression made Change a Regression (for --fail-on).
	StatusRegression bool         `json:"status_regression,omitempty"`
	ErrorRegression  bool         `json:"error_regression,omitempty"`
	SpeedRegression  bool         `json:"speed_regression,omitempty"`
	Errors           *ErrorDiff   `json:"errors,omitempty"`
	Timings          []TimingDiff `json:"timings,omitempty"`
	// Reasons explain the change, one phrase each.
	Reasons []string `json:"reasons,omitempty"`
}

// OnlyOld reports whether the cell is only in the old run: Removed, or
// a Regression when it passed there.
func (d CellDiff) OnlyOld() bool { return d.OldStatus != "" && d.NewStatus == "" }

// Name is the cell's label in reports.
func (d CellDiff) Name() string {
	v := d.NewVersion
	if v == "" {
		v = d.OldVersion
	} else if d.OldVersion != "" && d.OldVersion != d.NewVersion {
		v = d.OldVersion + "→" + d.NewVersion
	}
	return fmt.Sprintf("%s %s · %s · %s · %s", d.Framework, v, d.DeviceModel, d.Model, d.Check)
}

// RunRef identifies one side of a comparison.
type RunRef struct {
	File     string          `json:"file"`
	RunID    string          `json:"run_id"`
	Hostname string          `json:"hostname"`
	Started  time.Time       `json:"started"`
	Version  string          `json:"dlcompat_version"`
	Devices  []matrix.Device `json:"devices"`
}

// Comparison is the result of Compare.
type Comparison struct {
	Old        RunRef     `json:"old"`
	New        RunRef     `json:"new"`
	Thresholds Thresholds `json:"thresholds"`
	Cells      []CellDiff `json:"cells"`
	// DeviceChanges says, per device model, what changed underneath it
	// (driver, CUDA version).
	DeviceChanges []string `json:"device_changes,omitempty"`
	// Warnings are non-fatal problems, such as series too short to test.
	Warnings []string `json:"warnings,omitempty"`
}

// Count returns how many cells have the given change.
func (c *Comparison) Count(ch Change) int {
	n := 0
	for _, d := range c.Cells {
		if d.Change == ch {
			n++
		}
	}
	return n
}

// Summary is a one-line tally, such as "2 regressions, 1 improvement,
// 40 unchanged".
func (c *Comparison) Summary() string {
	var parts []string
	for _, ch := range Changes {
		n := c.Count(ch)
		if n == 0 {
			continue
		}
		if ch == Regression || ch == Improvement {
			parts = append(parts, matrix.Plural(n, string(ch)))
		} else {
			parts = append(parts, fmt.Sprintf("%d %s", n, ch)) // adjectives: "2 changed"
		}
	}
	if len(parts) == 0 {
		return "no cells"
	}
	return strings.Join(parts, ", ")
}

// diffKey matches cells across runs: the same framework on the same
// device model, model, check and precision. The framework version and
// the device's ID, UUID and driver are deliberately not in it.
type diffKey struct {
	framework, deviceModel, model, check, precision string
}

type keyedCell struct {
	cell     *matrix.Cell
	device   *matrix.Device
	devOrder int
}

// deviceModel is the name cells are matched on: the device's name, or its
// ID when the run does not describe it.
func deviceModel(d *matrix.Device, id string) string {
	if d != nil && d.Name != "" {
		return d.Name
	}
	return id
}

func group(r *matrix.Run) (map[diffKey][]keyedCell, []diffKey) {
	devs := map[string]*matrix.Device{}
	order := map[string]int{}
	for i := range r.Devices {
		devs[r.Devices[i].ID] = &r.Devices[i]
		order[r.Devices[i].ID] = i
	}
	groups := map[diffKey][]keyedCell{}
	var keys []diffKey
	for i := range r.Cells {
		c := &r.Cells[i]
		d := devs[c.Device]
		k := diffKey{c.Framework, deviceModel(d, c.Device), c.Model, c.Check, c.Precision}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		o, ok := order[c.Device]
		if !ok {
			o = len(r.Devices)
		}
		groups[k] = append(groups[k], keyedCell{c, d, o})
	}
	for _, g := range groups {
		sort.SliceStable(g, func(i, j int) bool {
			if g[i].cell.FrameworkVersion != g[j].cell.FrameworkVersion {
				return g[i].cell.FrameworkVersion < g[j].cell.FrameworkVersion
			}
			if g[i].devOrder != g[j].devOrder {
				return g[i].devOrder < g[j].devOrder
			}
			return g[i].cell.Device < g[j].cell.Device
		})
	}
	return groups, keys
}

// Compare compares two runs cell by cell. Cells are matched by framework,
// device model (the device's name, so the same GPU model compares across
// driver versions and machines), model, check and precision; where a run
// has several such cells (several GPUs of one model), they pair up in
// device order, same framework version first. Speed is judged on the raw
// samples of every timing series with a two-sided Mann-Whitney U test.
func Compare(oldRun, newRun *matrix.Run, th Thresholds) *Comparison {
	th = th.withDefaults()
	cmp := &Comparison{Old: ref(oldRun), New: ref(newRun), Thresholds: th}
	og, okeys := group(oldRun)
	ng, nkeys := group(newRun)
	short := 0
	for _, k := range okeys {
		olds, news := og[k], ng[k]
		pairs, onlyOld, onlyNew := pairUp(olds, news)
		for _, p := range pairs {
			d := compareCells(k, p[0], p[1], th)
			for _, t := range d.Timings {
				if t.P == nil {
					short++
				}
			}
			cmp.Cells = append(cmp.Cells, d)
		}
		for _, o := range onlyOld {
			cmp.Cells = append(cmp.Cells, loneCell(k, &o, nil))
		}
		for _, n := range onlyNew {
			cmp.Cells = append(cmp.Cells, loneCell(k, nil, &n))
		}
	}
	for _, k := range nkeys {
		if _, ok := og[k]; ok {
			continue
		}
		for _, n := range ng[k] {
			cmp.Cells = append(cmp.Cells, loneCell(k, nil, &n))
		}
	}
	cmp.Warnings = runWarnings(oldRun, newRun)
	if short > 0 {
		verb := "have"
		if short == 1 {
			verb = "has"
		}
		cmp.Warnings = append(cmp.Warnings, fmt.Sprintf("%s %s fewer than %d samples on a side and were not compared; run with --perf-iterations 20 or more", matrix.Plural(short, "timing series"), verb, th.MinSamples))
	}
	cmp.DeviceChanges = deviceChanges(oldRun, newRun)
	if n := discountedSeries(cmp.Cells); n > 0 {
		cmp.Warnings = append(cmp.Warnings, fmt.Sprintf("%s ran throttled in one run and not in the other; their speed changes are shown but not counted as regressions or improvements (see each cell's reasons)", matrix.Plural(n, "timing series")))
	}
	return cmp
}

func discountedSeries(cells []CellDiff) int {
	n := 0
	for _, d := range cells {
		for _, t := range d.Timings {
			if t.Discounted {
				n++
			}
		}
	}
	return n
}

// runWarnings says when the two runs look like the wrong ones to
// compare: one run twice, or NEW older than OLD.
func runWarnings(o, n *matrix.Run) []string {
	switch {
	case o.RunID != "" && o.RunID == n.RunID:
		return []string{fmt.Sprintf("OLD and NEW have the same run_id %s: this compares a run with itself (or with a copy of it)", o.RunID)}
	case !o.Started.IsZero() && !n.Started.IsZero() && n.Started.Before(o.Started):
		return []string{fmt.Sprintf("NEW started %s, before OLD (%s): if OLD is the baseline, the arguments may be swapped (the order is dlcompat diff OLD NEW)",
			n.Started.UTC().Format(time.RFC3339), o.Started.UTC().Format(time.RFC3339))}
	}
	return nil
}

func ref(r *matrix.Run) RunRef {
	return RunRef{RunID: r.RunID, Hostname: r.Host.Hostname, Started: r.Started, Version: r.DlcompatVersion, Devices: r.Devices}
}

// pairUp pairs cells of one key: equal framework versions first, in
// device order, then what is left on both sides, in order (a framework
// upgrade).
func pairUp(olds, news []keyedCell) (pairs [][2]keyedCell, onlyOld, onlyNew []keyedCell) {
	usedNew := make([]bool, len(news))
	byVersion := map[string][]int{} // version → indexes into news, in order
	for j, n := range news {
		byVersion[n.cell.FrameworkVersion] = append(byVersion[n.cell.FrameworkVersion], j)
	}
	var leftOld []keyedCell
	for _, o := range olds {
		v := o.cell.FrameworkVersion
		if js := byVersion[v]; len(js) > 0 {
			usedNew[js[0]] = true
			byVersion[v] = js[1:]
			pairs = append(pairs, [2]keyedCell{o, news[js[0]]})
			continue
		}
		leftOld = append(leftOld, o)
	}
	var leftNew []keyedCell
	for j, n := range news {
		if !usedNew[j] {
			leftNew = append(leftNew, n)
		}
	}
	for len(leftOld) > 0 && len(leftNew) > 0 {
		pairs = append(pairs, [2]keyedCell{leftOld[0], leftNew[0]})
		leftOld, leftNew = leftOld[1:], leftNew[1:]
	}
	return pairs, leftOld, leftNew
}

func baseDiff(k diffKey) CellDiff {
	return CellDiff{Framework: k.framework, DeviceModel: k.deviceModel, Model: k.model, Check: k.check, Precision: k.precision}
}

func loneCell(k diffKey, o, n *keyedCell) CellDiff {
	d := baseDiff(k)
	if o != nil {
		d.OldVersion, d.OldDevice, d.OldStatus = o.cell.FrameworkVersion, o.cell.Device, o.cell.Status
		d.Change = Removed
		d.Reasons = []string{fmt.Sprintf("only in the old run (%s there)", o.cell.Status)}
		if o.cell.Status == matrix.Pass {
			// A pass that became anything else is a regression, and
			// gone is something else: a plugin or a shard that vanished
			// must not pass CI.
			d.Change, d.StatusRegression = Regression, true
			d.Reasons = []string{"pass → gone: only in the old run"}
		}
	} else {
		d.NewVersion, d.NewDevice, d.NewStatus = n.cell.FrameworkVersion, n.cell.Device, n.cell.Status
		d.Change = Added
		d.Reasons = []string{fmt.Sprintf("only in the new run (%s)", n.cell.Status)}
		if n.cell.Status != matrix.Pass {
			d.NewReason = n.cell.Reason
		}
	}
	return d
}

func compareCells(k diffKey, o, n keyedCell, th Thresholds) CellDiff {
	oc, nc := o.cell, n.cell
	d := baseDiff(k)
	d.OldVersion, d.NewVersion = oc.FrameworkVersion, nc.FrameworkVersion
	d.OldDevice, d.NewDevice = oc.Device, nc.Device
	d.OldStatus, d.NewStatus = oc.Status, nc.Status
	if nc.Status != matrix.Pass {
		d.NewReason = nc.Reason
	}
	var improved bool
	if oc.FrameworkVersion != nc.FrameworkVersion {
		d.Reasons = append(d.Reasons, fmt.Sprintf("framework %s → %s", oc.FrameworkVersion, nc.FrameworkVersion))
	}
	switch {
	case oc.Status == nc.Status:
	case oc.Status == matrix.Pass:
		d.StatusRegression = true
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s → %s", oc.Status, nc.Status))
	case nc.Status == matrix.Pass:
		improved = true
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s → %s", oc.Status, nc.Status))
	default:
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s → %s", oc.Status, nc.Status))
	}
	if oc.MaxAbsErr != nil && nc.MaxAbsErr != nil && oc.MaxRelErr != nil && nc.MaxRelErr != nil {
		e := &ErrorDiff{OldAbs: *oc.MaxAbsErr, NewAbs: *nc.MaxAbsErr, OldRel: *oc.MaxRelErr, NewRel: *nc.MaxRelErr}
		fa := growth(float64(e.OldAbs), float64(e.NewAbs), th.ErrorFloor)
		fr := growth(float64(e.OldRel), float64(e.NewRel), th.ErrorFloor)
		e.Factor = matrix.Float(math.Max(fa, fr))
		if float64(e.Factor) > th.ErrorGrowth {
			e.Grew = true
			d.ErrorRegression = true
			which, from, to := "abs", e.OldAbs, e.NewAbs
			if fr > fa {
				which, from, to = "rel", e.OldRel, e.NewRel
			}
			d.Reasons = append(d.Reasons, fmt.Sprintf("max %s error %.2g → %.2g (%s×, over %g×)", which, float64(from), float64(to), fmtFactor(float64(e.Factor)), th.ErrorGrowth))
		}
		d.Errors = e
	}
	discounted := false
	for _, p := range pairSeries(oc.Timings, nc.Timings) {
		t := compareTiming(oc.Timings[p[0]], nc.Timings[p[1]], th, th.minChangeFor(deviceKind(o)))
		t.OldThrottled, t.NewThrottled = oc.Timings[p[0]].Throttled(), nc.Timings[p[1]].Throttled()
		if t.Verdict != Same && t.OldThrottled != t.NewThrottled {
			t.Discounted, discounted = true, true
			side, tm := "new", nc.Timings[p[1]]
			if t.OldThrottled {
				side, tm = "old", oc.Timings[p[0]]
			}
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s %.1f%% %s (p=%.2g), but the %s run's device throttled during it (%s) and the other's did not: not counted as a %s",
				t.Series(), 100*math.Abs(t.Delta), t.Verdict, float64(*t.P), side, strings.Join(tm.Telemetry.ThrottleReasons, ", "), map[string]string{Slower: "regression", Faster: "improvement"}[t.Verdict]))
			d.Timings = append(d.Timings, t)
			continue
		}
		switch t.Verdict {
		case Slower:
			d.SpeedRegression = true
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s %.1f%% slower (p=%.2g)", t.Series(), 100*math.Abs(t.Delta), float64(*t.P)))
		case Faster:
			improved = true
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s %.1f%% faster (p=%.2g)", t.Series(), 100*math.Abs(t.Delta), float64(*t.P)))
		}
		d.Timings = append(d.Timings, t)
	}
	switch {
	case d.StatusRegression || d.ErrorRegression || d.SpeedRegression:
		d.Change = Regression
	case improved:
		d.Change = Improvement
	case oc.Status != nc.Status, discounted:
		d.Change = Changed
	default:
		d.Change = Unchanged
	}
	return d
}

// pairSeries pairs the series of two cells by name and batch, in order:
// the i-th old series of a name and batch with the i-th new one. Linear
// however many series share a name (a crafted cell can have thousands;
// comparing each with each was quadratic).
func pairSeries(olds, news []matrix.Timing) [][2]int {
	if len(olds) == 0 || len(news) == 0 {
		return nil
	}
	var pairs [][2]int
	if len(news) <= 8 { // the usual cell: four series, one of each
		used := make([]bool, len(news))
		for i, o := range olds {
			for j, n := range news {
				if !used[j] && o.Name == n.Name && o.Batch == n.Batch {
					used[j] = true
					pairs = append(pairs, [2]int{i, j})
					break
				}
			}
		}
		return pairs
	}
	type series struct {
		name  string
		batch int
	}
	byName := make(map[series][]int, len(news))
	for j, t := range news {
		k := series{t.Name, t.Batch}
		byName[k] = append(byName[k], j)
	}
	for i, t := range olds {
		k := series{t.Name, t.Batch}
		if js := byName[k]; len(js) > 0 {
			pairs = append(pairs, [2]int{i, js[0]})
			byName[k] = js[1:]
		}
	}
	return pairs
}

func fmtFactor(f float64) string {
	if math.IsInf(f, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.3g", f)
}

func growth(old, new, floor float64) float64 {
	if math.IsNaN(new) || math.IsInf(new, 0) {
		if math.IsNaN(old) || math.IsInf(old, 0) {
			return 1
		}
		return math.Inf(1)
	}
	return math.Max(new, floor) / math.Max(old, floor)
}

// deviceKind is the kind of a cell's device ("cpu", "gpu"), from the
// run's device list, else from its ID.
func deviceKind(k keyedCell) string {
	if k.device != nil && k.device.Kind != "" {
		return k.device.Kind
	}
	if k.cell.Device == "cpu" || strings.HasPrefix(k.cell.Device, "cpu@") {
		return matrix.KindCPU
	}
	return ""
}

func compareTiming(o, n matrix.Timing, th Thresholds, minChange float64) TimingDiff {
	t := TimingDiff{Name: o.Name, Batch: o.Batch, Unit: o.Unit, OldN: len(o.Samples), NewN: len(n.Samples), MinChange: minChange}
	xs, ys := slices.Clone(o.Samples), slices.Clone(n.Samples)
	slices.Sort(xs)
	slices.Sort(ys)
	if len(xs) > 0 && len(ys) > 0 {
		t.OldMedian, t.NewMedian = matrix.Quantile(xs, 0.5), matrix.Quantile(ys, 0.5)
	}
	if t.OldMedian > 0 {
		t.Delta = (t.NewMedian - t.OldMedian) / t.OldMedian
	}
	t.Verdict = Same
	if t.OldN < th.MinSamples || t.NewN < th.MinSamples {
		t.Note = fmt.Sprintf("too few samples (%d and %d; need %d)", t.OldN, t.NewN, th.MinSamples)
		return t
	}
	mw := mannWhitneySorted(xs, ys)
	t.P = matrix.F(mw.P)
	switch {
	case mw.P > th.Alpha:
		t.Note = fmt.Sprintf("p=%.2g > α=%g", mw.P, th.Alpha)
	case math.Abs(t.Delta) < minChange:
		t.Note = fmt.Sprintf("%+.1f%% is below the %g%% threshold", 100*t.Delta, 100*minChange)
	default:
		worse := t.Delta > 0
		if o.Better == "higher" {
			worse = !worse
		}
		if worse {
			t.Verdict = Slower
		} else {
			t.Verdict = Faster
		}
	}
	return t
}

// deviceChanges lists, per device model in both runs, the driver and
// CUDA versions that changed.
func deviceChanges(o, n *matrix.Run) []string {
	type sw struct{ driver, cuda string }
	collect := func(r *matrix.Run) map[string]sw {
		m := map[string]sw{}
		for _, d := range r.Devices {
			m[deviceModel(&d, d.ID)] = sw{d.DriverVersion, d.CUDADriverVersion}
		}
		return m
	}
	om, nm := collect(o), collect(n)
	var out []string
	for name, a := range om {
		b, ok := nm[name]
		if !ok {
			continue
		}
		var parts []string
		if a.driver != b.driver {
			parts = append(parts, fmt.Sprintf("driver %s → %s", cmp.Or(a.driver, "-"), cmp.Or(b.driver, "-")))
		}
		if a.cuda != b.cuda {
			parts = append(parts, fmt.Sprintf("CUDA %s → %s", cmp.Or(a.cuda, "-"), cmp.Or(b.cuda, "-")))
		}
		if len(parts) > 0 {
			out = append(out, name+": "+strings.Join(parts, ", "))
		}
	}
	sort.Strings(out)
	return out
}
