package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/preflight"
	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/matrix"
)

// preflight checks the run's devices (Options.Preflight) and, when the
// run has a GPU, each executor that needs something of its own to give
// a plugin one (exec.GPURuntimeChecker), before any cell runs. A resumed
// run checks again: the machine may have changed since.
func (r *runState) preflight(ctx context.Context, specs []exec.Spec, devices []matrix.Device) {
	var checks []matrix.PreflightCheck
	if r.o.Preflight != nil {
		checks = r.o.Preflight(ctx, devices)
	}
	hasGPU := slices.ContainsFunc(devices, func(d matrix.Device) bool { return d.Kind == matrix.KindGPU })
	var asked []exec.Executor
	for _, s := range specs {
		ex := s.Executor
		if ex == nil {
			ex = r.o.Executor
		}
		ck, ok := ex.(exec.GPURuntimeChecker)
		if !ok || !hasGPU || slices.Contains(asked, ex) {
			continue
		}
		asked = append(asked, ex)
		if rs, ok := ex.(exec.RunScoped); ok {
			if err := r.executors.open(ctx, rs, r.run.RunID); err != nil {
				checks = append(checks, matrix.PreflightCheck{Device: matrix.PreflightHost, Name: preflight.CheckContainerRuntime,
					Status: matrix.PreflightBad, Detail: fmt.Sprintf("%s executor: %v", ex.Name(), err)})
				continue
			}
		}
		c := matrix.PreflightCheck{Device: matrix.PreflightHost, Name: preflight.CheckContainerRuntime, Status: matrix.PreflightOK,
			Detail: ex.Name() + " executor: the NVIDIA runtime is there"}
		if err := ck.CheckGPURuntime(ctx); err != nil {
			c.Status, c.Detail = matrix.PreflightBad, ex.Name()+" executor: "+err.Error()
		}
		checks = append(checks, c)
	}
	r.run.Preflight = checks
}

// startTelemetry starts sampling the cell's device when it is a perf
// cell on a device the sampler knows; nil otherwise. The plugin's
// processes are named to the sampler, for the device memory they hold;
// when the executor cannot name them, the cell's telemetry says so.
func (r *runState) startTelemetry(ctx context.Context, inst *pluginhost.Instance, c matrix.Cell) *telemetry.Recording {
	if r.o.Telemetry == nil || c.Check != pluginapi.CheckPerf {
		return nil
	}
	for _, d := range r.o.Devices {
		if d.ID != c.Device {
			continue
		}
		src, ok := r.o.Telemetry.Source(d)
		if !ok {
			return nil
		}
		opts := r.o.TelemetryOptions
		pids, err := inst.HostPIDs(ctx)
		opts.Processes = pids
		rec := telemetry.Start(ctx, src, opts)
		if err != nil {
			rec.Note("process_memory: " + err.Error())
		}
		return rec
	}
	return nil
}

// attachTelemetry cuts the recording to each series' window, as the
// plugin reported it (the whole call when it did not), onto c's timings.
func (r *runState) attachTelemetry(c *matrix.Cell, rec *telemetry.Recording, reported []pluginapi.Timing) {
	samples, baselineEnd := rec.Samples()
	used := make([]bool, len(reported))
	for i := range c.Timings {
		t := &c.Timings[i]
		w := telemetry.Window{Iterations: len(t.Samples), Batch: t.Batch, Train: t.Name == pluginapi.TimingTrainStep}
		for j, p := range reported {
			if !used[j] && p.Name == t.Name && p.Batch == t.Batch {
				used[j] = true
				w.From, w.To = p.WindowStart, p.WindowEnd
				break
			}
		}
		t.Telemetry = telemetry.Summarize(r.o.Telemetry.Name(), samples, baselineEnd, rec.Stopped(), w)
		t.Telemetry.Notes = append(t.Telemetry.Notes, rec.Notes()...)
	}
}

// reproduce is the one command line that runs c again, alone: the run's
// command, then the cell's framework (or variant), device, model, check
// and precision.
func (r *runState) reproduce(spec exec.Spec, c matrix.Cell) string {
	name := spec.Name
	if name == "" {
		name = c.Framework
	}
	args := []string{r.o.Command, "--frameworks", ShellQuote(name), "--devices", ShellQuote(c.Device)}
	if c.Model != "" { // a device check has no model
		args = append(args, "--models", ShellQuote(c.Model))
	}
	args = append(args, "--checks", ShellQuote(c.Check))
	if c.Precision != "" {
		args = append(args, "--precisions", ShellQuote(c.Precision))
	}
	return strings.Join(append(args, "-o", "results/reproduce"), " ")
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+-_.:/=,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// packages lists what is installed where spec's plugin runs, when its
// executor can say (exec.PackageLister).
func (r *runState) packages(ctx context.Context, ex exec.Executor, spec exec.Spec, f *matrix.Framework) {
	pl, ok := ex.(exec.PackageLister)
	if !ok {
		return
	}
	p, err := pl.ListPackages(ctx, spec, f.Interpreter)
	if err != nil {
		f.PackagesNote = capText(pluginapi.FirstLine(err.Error()))
		return
	}
	f.Packages = p
}
