package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/checks"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/judge"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/matrix"
)

// StderrTailLines is how much of a plugin's stderr a failed cell keeps.
const StderrTailLines = 40

// MaxTextBytes bounds each string a plugin puts into the results (a
// message, a warning, a stderr tail): far more than any real traceback,
// far less than what a hostile or broken plugin can send.
const MaxTextBytes = 64 << 10

// capText keeps the head and the tail of a string over MaxTextBytes and
// says how much was cut.
func capText(s string) string {
	if len(s) <= MaxTextBytes {
		return s
	}
	half := MaxTextBytes/2 - 64 // room for the marker: a capped string fits, so capping again changes nothing
	cut := len(s) - 2*half
	return strings.ToValidUTF8(s[:half], "") + fmt.Sprintf("\n… (%d bytes cut) …\n", cut) + strings.ToValidUTF8(s[len(s)-half:], "")
}

// capCell bounds every plugin-supplied string of c.
func capCell(c *matrix.Cell) {
	c.Reason, c.StderrTail = capText(c.Reason), capText(c.StderrTail)
	c.Warnings = slices.Clone(c.Warnings) // the journalled cell may share the slice
	for i, w := range c.Warnings {
		c.Warnings[i] = capText(w)
	}
}

type runState struct {
	o    Options
	tols map[string]judge.Tolerances // by precision
	// fp32 holds the measured errors of the fp32 cells judged so far, by
	// key with the precision left out: a reduced-precision cell is judged
	// against its fp32 twin's error (judge.Relative).
	fp32     map[matrix.CellKey]matrix.Cell
	golden   map[reference.Model]*refdata.Golden
	journal  *matrix.Journal
	done     map[matrix.CellKey]matrix.Cell
	run      *matrix.Run
	n, total int
	// shared counts the specs of each framework and variant
	// (rowQualifier): several images of one are told apart by image.
	shared map[string]int
	// recorded holds the keys already in run.Cells, so journalled cells
	// that no plugin re-planned still reach the final document.
	recorded map[matrix.CellKey]bool
	// executors are the run-scoped executors opened (executors.go).
	executors executors
	// checks are the rows of core/checks' table, by name.
	checks map[string]checks.Check
	// lost is set once an executor's environment is gone (envLost): the
	// cells not run yet stay unknown, for --resume.
	lost error
}

// envLost asks ex, after a plugin died or did not start, whether the
// environment it runs in is gone (exec.EnvironmentChecker: a Docker
// engine that stopped). Once it is, it stays lost for the run: no plugin
// is started again, every cell left is unknown rather than a crash, and
// the run ends as an infrastructure failure.
func (r *runState) envLost(ctx context.Context, ex exec.Executor) bool {
	if r.lost != nil {
		return true
	}
	ck, ok := ex.(exec.EnvironmentChecker)
	if !ok || ctx.Err() != nil {
		return false
	}
	if err := ck.CheckEnvironment(ctx); err != nil && ctx.Err() == nil {
		r.lost = err
		r.run.Notes = append(r.run.Notes, fmt.Sprintf("%s executor: %v -o %s", ex.Name(), err, r.o.OutDir))
		return true
	}
	return false
}

// plan declares the cells of one plugin on devices, in run order, all
// "unknown" until a result arrives.
func (r *runState) plan(inst *pluginhost.Instance, devices []matrix.Device) []matrix.Cell {
	d := inst.Desc
	var cells []matrix.Cell
	for _, dev := range devices {
		pd, _ := pluginDevice(inst, dev)
		for _, k := range r.cellKeys(d.Framework, d.Version, dev.ID, len(d.Capabilities.Models) == 0) {
			c := matrix.Cell{CellKey: k, Status: matrix.Unknown}
			m, check, prec := k.Model, k.Check, k.Precision
			device := checks.IsDevice(check) // no model, every precision the device has (docs/spec.md §10)
			switch {
			case d.Unavailable != "":
				c.Status, c.Reason = matrix.Skip, d.Unavailable
			case !offers(inst, dev) && len(d.Devices) > 0:
				// A plugin that lists no device at all could not look
				// (its framework does not start): its cells run, so
				// that it reports the failure on every device, a GPU
				// included, instead of skips that read as green.
				c.Status, c.Reason = matrix.Skip, fmt.Sprintf("%s cannot use %s (it offers: %s)", d.Framework, dev.ID, deviceIDs(d.Devices))
			case !device && !pluginapi.Has(d.Capabilities.Models, m):
				c.Status, c.Reason = matrix.Skip, fmt.Sprintf("%s does not implement model %s", d.Framework, m)
			case !pluginapi.Has(d.Capabilities.Checks, check):
				c.Status, c.Reason = matrix.Skip, fmt.Sprintf("%s does not implement check %s", d.Framework, check)
			case device:
			case !pluginapi.Has(d.Capabilities.Precisions, prec):
				c.Status, c.Reason = matrix.Skip, fmt.Sprintf("%s does not support precision %s (it runs: %s)", d.Framework, prec, strings.Join(d.Capabilities.Precisions, ", "))
			case len(pd.Precisions) > 0 && !pluginapi.Has(pd.Precisions, prec):
				c.Status, c.Reason = matrix.Skip, fmt.Sprintf("%s cannot run %s on %s (there it runs: %s)", d.Framework, prec, dev.ID, strings.Join(pd.Precisions, ", "))
			}
			cells = append(cells, c)
		}
	}
	return cells
}

// cellKeys are the cells of one row on one device, in run order: each
// device check once, with no model and no precision (docs/spec.md §10),
// then every model, check and precision. A row that runs no model at all
// (noModels: a device characteriser) has the device checks only.
func (r *runState) cellKeys(framework, version, device string, noModels bool) []matrix.CellKey {
	var keys []matrix.CellKey
	for _, check := range r.o.Checks {
		if checks.IsDevice(check) {
			keys = append(keys, matrix.CellKey{Framework: framework, FrameworkVersion: version, Device: device, Check: check})
		}
	}
	if noModels {
		return keys
	}
	for _, m := range r.o.Models {
		for _, check := range r.o.Checks {
			if checks.IsDevice(check) {
				continue
			}
			for _, prec := range r.o.Precisions {
				keys = append(keys, matrix.CellKey{Framework: framework, FrameworkVersion: version,
					Device: device, Model: string(m), Check: check, Precision: prec})
			}
		}
	}
	return keys
}

// UnknownVersion keys the cells of a plugin that never described itself.
const UnknownVersion = "unknown"

// A row of the matrix is one plugin spec: its cells are keyed by the
// spec's framework (the plugin's file or configuration name, never only
// what the plugin reports) and a version that carries the spec's
// variant and, when the run has several images of that framework and
// variant, its image. The qualifier depends on the run's specs alone,
// never on which plugin started first, so keys are unique by
// construction and stable across --resume.

// countShared fills r.shared from the run's specs.
func (r *runState) countShared(specs []exec.Spec) {
	r.shared = map[string]int{}
	for _, s := range specs {
		r.shared[s.Base()+"\x00"+s.Variant]++
	}
}

// rowQualifier is what spec adds to the version its plugin reports:
// "+variant", then " [image]" when the run has other images of the same
// framework and variant.
func (r *runState) rowQualifier(spec exec.Spec) (variant, image string) {
	if spec.Variant != "" {
		variant = "+" + spec.Variant
	}
	if spec.Image != "" && r.shared[spec.Base()+"\x00"+spec.Variant] > 1 {
		image = " [" + spec.Image + "]"
	}
	return variant, image
}

// rowVersion is the version of spec's row, reported being what its
// plugin says (UnknownVersion when it did not start).
func (r *runState) rowVersion(spec exec.Spec, reported string) string {
	variant, image := r.rowQualifier(spec)
	if !strings.HasSuffix(reported, variant) {
		reported += variant
	}
	return reported + image
}

// ownsKey reports whether a journalled cell key belongs to spec's row.
func (r *runState) ownsKey(spec exec.Spec, k matrix.CellKey) bool {
	variant, image := r.rowQualifier(spec)
	return k.Framework == spec.Base() && strings.HasSuffix(k.FrameworkVersion, variant+image)
}

// recordJournalled adds the journalled cells that no plugin re-planned
// (its plugin did not start this time, or is gone), so a resume never
// drops a finished result from the final document.
func (r *runState) recordJournalled() {
	var keys []matrix.CellKey
	for k := range r.done {
		if !r.recorded[k] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		r.record(r.done[k], false)
	}
}

// planUnstarted declares the cells a plugin that did not start would have
// had: every selected device, model and check.
func (r *runState) planUnstarted(spec exec.Spec, devices []matrix.Device) []matrix.Cell {
	var cells []matrix.Cell
	version := r.rowVersion(spec, UnknownVersion)
	for _, dev := range devices {
		for _, k := range r.cellKeys(spec.Base(), version, dev.ID, false) {
			cells = append(cells, matrix.Cell{CellKey: k})
		}
	}
	return cells
}

func deviceIDs(ds []pluginapi.Device) string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// runPlugin starts a plugin and runs its cells on devices. It reports
// whether the plugin started; a start failure makes crash cells keyed by
// UnknownVersion and is returned for the run's notes.
func (r *runState) runPlugin(ctx context.Context, spec exec.Spec, devices []matrix.Device) (bool, error) {
	ex := spec.Executor
	if ex == nil {
		ex = r.o.Executor
	}
	if spec.Device.ID == "" && pins(ex) {
		return r.runPinned(ctx, spec, devices)
	}
	digest, err := "", r.lost
	if err == nil {
		digest, err = r.prepare(ctx, ex, spec)
	}
	var inst *pluginhost.Instance
	if err == nil {
		inst, err = pluginhost.Start(ctx, ex, spec)
	}
	if err != nil {
		// The plugin never described itself, so its cells are keyed by its
		// file name and an unknown version; they still appear, as crash,
		// so a framework that stopped starting is red in the matrix rather
		// than silently missing from it. A start cut short by the run's
		// end is no crash: those cells are left for --resume.
		interrupted := ctx.Err() != nil
		lost := !interrupted && r.envLost(ctx, ex)
		unavailable := "could not start: " + pluginapi.FirstLine(err.Error())
		switch {
		case interrupted:
			unavailable = "not started: " + interruptedReason(ctx)
		case lost:
			unavailable = "not started: " + pluginapi.FirstLine(r.lost.Error())
		default:
			r.run.Notes = append(r.run.Notes, err.Error())
		}
		r.addFramework(matrix.Framework{Name: spec.Base(), Version: r.rowVersion(spec, UnknownVersion),
			Executor: ex.Name(), Plugin: spec.Path, Image: spec.Image, ImageDigest: digest, Unavailable: unavailable})
		// Cells this framework finished before (resume) keep their
		// results; only the others become crash cells.
		finished := map[[4]string]bool{}
		for k := range r.done {
			if r.ownsKey(spec, k) {
				finished[[4]string{k.Device, k.Model, k.Check, k.Precision}] = true
			}
		}
		for _, c := range r.planUnstarted(spec, devices) {
			c.Reproduce = r.reproduce(spec, c)
			if finished[[4]string{c.Device, c.Model, c.Check, c.Precision}] {
				continue
			}
			r.total++
			if interrupted || lost {
				c.Status, c.Reason = matrix.Unknown, interruptedReason(ctx)
				if lost {
					c.Reason = pluginapi.FirstLine(r.lost.Error())
				}
				r.record(c, true)
				continue
			}
			c.Status, c.Reason = matrix.Crash, "plugin did not start: "+strings.TrimPrefix(pluginapi.FirstLine(err.Error()), pluginhost.ErrStart.Error()+": ")
			var se *pluginhost.StartError
			if errors.As(err, &se) && se.LastStderrLine() != "" {
				c.Reason += "; it said: " + se.LastStderrLine()
			}
			c.StderrTail = err.Error()
			r.record(c, true)
		}
		if interrupted || lost {
			return false, nil // the run's own error (ctx.Err, r.lost) says what happened
		}
		return false, err
	}
	defer func() {
		if inst != nil {
			inst.Close()
		}
	}()
	if reported := inst.Desc.Framework; reported != spec.Base() {
		inst.Desc.Warnings = append(inst.Desc.Warnings, fmt.Sprintf("the plugin reports itself as %q; its row is named %q, after its file or configuration entry", reported, spec.Base()))
	}
	inst.Desc.Framework, inst.Desc.Version = spec.Base(), r.rowVersion(spec, inst.Desc.Version)
	d := inst.Desc
	r.addFrameworkListed(ctx, ex, spec, matrix.Framework{
		Name: d.Framework, Version: d.Version, Build: d.Build, Executor: inst.Executor,
		Plugin: spec.Path, Image: spec.Image, ImageDigest: digest, Interpreter: d.Interpreter, Unavailable: d.Unavailable, Warnings: d.Warnings,
	})
	cells := r.plan(inst, devices)
	for i := range cells {
		cells[i].Reproduce = r.reproduce(spec, cells[i])
	}
	if len(cells) == 0 && len(devices) > 0 {
		r.run.Notes = append(r.run.Notes, fmt.Sprintf("%s runs no model, only the device checks (%s), and this run has none of them: it has no cell", d.Framework, strings.Join(pluginapi.DeviceChecks, ", ")))
	}
	r.total += len(cells)
	for i := range cells {
		c := &cells[i]
		if prev, ok := r.done[c.CellKey]; ok {
			*c = prev
			r.record(*c, false)
			continue
		}
		if c.Status == matrix.Unknown && ctx.Err() != nil {
			c.Reason = interruptedReason(ctx)
		}
		if c.Status != matrix.Unknown || ctx.Err() != nil {
			r.record(*c, true)
			continue
		}
		if inst == nil && r.lost != nil { // the environment is gone
			c.Status, c.Reason = matrix.Unknown, pluginapi.FirstLine(r.lost.Error())
			r.record(*c, true)
			continue
		}
		if inst == nil { // restart after a crash or timeout
			inst, err = pluginhost.Start(ctx, ex, spec)
			if err != nil {
				c.Status, c.Reason = matrix.Crash, "plugin could not be restarted: "+err.Error()
				if ctx.Err() != nil {
					c.Status, c.Reason = matrix.Unknown, interruptedReason(ctx)
				} else if r.envLost(ctx, ex) {
					c.Status, c.Reason = matrix.Unknown, pluginapi.FirstLine(r.lost.Error())
				}
				r.record(*c, true)
				continue
			}
		}
		var lost bool
		r.emit(Event{Kind: EventCellStart, Cell: *c})
		*c, lost = r.runCell(ctx, inst, *c)
		if lost {
			inst = nil
			if c.Status == matrix.Crash && r.envLost(ctx, ex) {
				// Not the plugin's crash: its environment went away.
				c.Status, c.Reason, c.StderrTail = matrix.Unknown, pluginapi.FirstLine(r.lost.Error()), ""
			}
		}
		r.record(*c, true)
	}
	return true, nil
}

// record appends a cell to the run, journals it when fresh, and reports
// progress.
func (r *runState) record(c matrix.Cell, fresh bool) {
	if r.recorded == nil {
		r.recorded = map[matrix.CellKey]bool{}
	}
	r.recorded[c.CellKey] = true
	capCell(&c)
	r.run.Cells = append(r.run.Cells, c)
	if fresh && c.Status.Finished() {
		if err := r.journal.Add(c); err != nil {
			r.run.Notes = append(r.run.Notes, "journal: "+err.Error())
		}
	}
	r.n++
	r.emit(Event{Kind: EventCellDone, Cell: c, FromJournal: !fresh, Done: r.n})
}

// runCell runs one check. lost reports that the plugin was killed or died
// and must be restarted before the next cell.
func (r *runState) runCell(ctx context.Context, inst *pluginhost.Instance, c matrix.Cell) (matrix.Cell, bool) {
	m := reference.Model(c.Model)
	g := r.golden[m]
	req := pluginapi.RunRequest{
		Model: c.Model, Check: c.Check, Device: r.pluginDeviceID(inst, c.Device), Precision: c.Precision, Perf: *r.o.Perf,
		WantActivations: r.checks[c.Check].Activations && inst.Desc.Capabilities.Activations,
	}
	if g != nil { // a device check has no model, so no weights
		req.Weights, req.Inputs = g.Weights, g.Inputs
	}
	rec := r.startTelemetry(ctx, inst, c) // its baseline before the call, outside the check's limit
	limit := r.o.timeout(c.Check)
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c.Started = time.Now().UTC()
	resp, err := inst.Framework.Run(cctx, req)
	c.Seconds = time.Since(c.Started).Seconds()
	if rec != nil {
		rec.Stop()
	}
	if err != nil {
		// gRPC may report the deadline (from the server's side) a moment
		// before cctx's own timer fires: judge by the clock.
		deadline, _ := cctx.Deadline()
		expired := cctx.Err() != nil || time.Until(deadline) < 100*time.Millisecond
		// When the run's own deadline is the earlier one, an expiry is
		// the run ending, not this check being slow.
		if runDeadline, ok := ctx.Deadline(); expired && ok && !runDeadline.After(deadline) {
			waitDone(ctx, time.Second)
		}
		switch {
		case expired && ctx.Err() == nil:
			inst.Kill()
			c.Status = matrix.Timeout
			c.Reason = fmt.Sprintf("no result within %s; the plugin was killed (raise the limit with --timeout)", limit)
			c.StderrTail = pluginapi.LastLines(inst.StderrTail(), StderrTailLines)
		case ctx.Err() != nil:
			inst.Kill()
			c.Status, c.Reason = matrix.Unknown, interruptedReason(ctx)
		default:
			// The transport failed: the plugin died, or is about to.
			waitExit(inst, 2*time.Second)
			inst.Kill()
			c.Status = matrix.Crash
			c.Reason = "plugin process died: " + err.Error()
			c.StderrTail = pluginapi.LastLines(inst.StderrTail(), StderrTailLines)
		}
		return c, true
	}
	c.Warnings = append(c.Warnings, resp.Warnings...)
	c.PeakMemoryBytes, c.MemoryKind = resp.PeakMemoryBytes, resp.MemoryKind
	c.ComputeSeconds = resp.ComputeSeconds
	if !(c.ComputeSeconds >= 0 && c.ComputeSeconds <= judge.MaxSampleSeconds) { // NaN included
		c.Warnings = append(c.Warnings, fmt.Sprintf("the plugin reported %v s of compute time; recorded as 0", resp.ComputeSeconds))
		c.ComputeSeconds = 0
	}
	switch resp.Status {
	case pluginapi.StatusOK:
	case pluginapi.StatusSkip:
		c.Status, c.Reason = matrix.Skip, resp.Message
		return c, false
	case pluginapi.StatusCrash:
		c.Status, c.Reason = matrix.Crash, resp.Message
		c.StderrTail = pluginapi.LastLines(resp.Message+"\n"+inst.StderrTail(), StderrTailLines)
		return c, false
	default:
		c.Status, c.Reason = matrix.Error, resp.Message
		c.StderrTail = pluginapi.LastLines(inst.StderrTail(), StderrTailLines)
		return c, false
	}
	c.PrecisionEvidence = resp.PrecisionEvidence
	if why := precisionNotInEffect(c.Precision, resp); why != "" {
		c.Status, c.Reason = matrix.Error, why
		return c, false
	}
	v := checks.Judge(c.Check, checks.Input{Response: resp, Model: m, Golden: g, Tolerances: r.tols[c.Precision], PeakGFLOPs: r.peakGFLOPs(c.Device, c.Precision), Precision: c.Precision})
	// The logits of a reduced mode are also held to their fp32 twin's
	// error; gradients are judged by their norm (judge's Tolerances).
	if twin, ok := r.fp32Twin(c); ok && c.Check == pluginapi.CheckForward {
		v = judge.Relative(v, c.Precision, twin.MaxAbsErr, r.tols[c.Precision])
	}
	c.Status, c.Reason = v.Status, v.Reason
	c.MaxAbsErr, c.MaxRelErr, c.Worst = v.MaxAbsErr, v.MaxRelErr, v.Worst
	c.FirstDivergingLayer, c.Tolerance, c.Tensors = v.FirstDivergingLayer, v.Tolerance, v.Tensors
	c.Timings = v.Timings
	if rec != nil && len(c.Timings) > 0 {
		r.attachTelemetry(&c, rec, resp.Timings)
	}
	c.Warnings = append(c.Warnings, v.Warnings...)
	if c.Precision == pluginapi.PrecisionFP32 {
		r.keepFP32(c)
	}
	return c, false
}

// precisionNotInEffect says why a response did not run in the mode
// asked for: the plugin read its framework's switches back and reports
// another mode, or reports none for a mode other than fp32 (fp32 is what
// a plugin that predates precisions runs). "" when the mode held.
func precisionNotInEffect(asked string, resp pluginapi.RunResponse) string {
	got := resp.PrecisionInEffect
	switch {
	case got == asked, got == "" && asked == pluginapi.PrecisionFP32:
		return ""
	case got == "":
		return fmt.Sprintf("asked for %s, but the plugin does not say which precision ran (it reported no precision_in_effect); an unverified %s cell is not judged", asked, asked)
	}
	return fmt.Sprintf("asked for %s, but %s ran instead (%s)", asked, got, evidenceText(resp.PrecisionEvidence))
}

func evidenceText(ev map[string]string) string {
	if len(ev) == 0 {
		return "no evidence given"
	}
	keys := slices.Sorted(maps.Keys(ev))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + ev[k]
	}
	return strings.Join(parts, ", ")
}

// twinKey is c's key with the precision left out.
func twinKey(c matrix.Cell) matrix.CellKey {
	k := c.CellKey
	k.Precision = ""
	return k
}

func (r *runState) keepFP32(c matrix.Cell) {
	if r.fp32 == nil {
		r.fp32 = map[matrix.CellKey]matrix.Cell{}
	}
	r.fp32[twinKey(c)] = c
}

// fp32Twin is the judged fp32 cell of c's row, device, model and check,
// for a reduced-precision c (tf32, bf16, fp16) — from this run, or from
// the journal of the run being resumed.
func (r *runState) fp32Twin(c matrix.Cell) (matrix.Cell, bool) {
	if !judge.Reduced(c.Precision) {
		return matrix.Cell{}, false
	}
	if t, ok := r.fp32[twinKey(c)]; ok && t.MaxAbsErr != nil {
		return t, true
	}
	k := c.CellKey
	k.Precision = pluginapi.PrecisionFP32
	if t, ok := r.done[k]; ok && t.MaxAbsErr != nil {
		return t, true
	}
	return matrix.Cell{}, false
}

func waitExit(inst *pluginhost.Instance, d time.Duration) {
	deadline := time.Now().Add(d)
	for !inst.Exited() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// peakGFLOPs is the peak of the device with this ID for the precision the
// cell ran in, 0 if unknown (docs/spec.md §7.4): strict fp32 (or a cell
// without a precision) uses the CUDA-core FP32 peak; every other mode its
// own entry in the device's per-precision table (core/device/peaks.go),
// because the FP32 peak is the ceiling of no other mode (fp64 runs at a
// fraction of it, tf32/bf16/fp16 on tensor cores at a multiple). A mode
// the table lacks gets no percentage rather than a wrong one.
func (r *runState) peakGFLOPs(id, precision string) float64 {
	for _, d := range r.o.Devices {
		if d.ID != id {
			continue
		}
		if precision == "" || precision == pluginapi.PrecisionFP32 {
			if d.PeakFP32GFLOPs > 0 {
				return d.PeakFP32GFLOPs
			}
		}
		if precision == "" {
			precision = pluginapi.PrecisionFP32
		}
		return d.PeakGFLOPsByPrecision[precision]
	}
	return 0
}

// waitDone waits up to grace for ctx to end: gRPC can report a deadline
// a moment before the context's own timer closes it.
func waitDone(ctx context.Context, grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// interruptedReason is the reason of a cell the run ended before.
func interruptedReason(ctx context.Context) string {
	return "not run: the run was interrupted (" + ctx.Err().Error() + "); finish it with --resume"
}
