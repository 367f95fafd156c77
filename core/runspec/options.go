package runspec

import (
	"context"
	"errors"

	"github.com/dlcompat/dlcompat/core/device"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

// ParseModels reads model names.
func ParseModels(names []string) ([]reference.Model, error) {
	var out []reference.Model
	for _, n := range names {
		m, err := reference.ParseModel(n)
		if err != nil {
			return nil, usagef("--%s: %v", FieldModels, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Resolved is a spec made ready to run: its executors, the devices it
// selected and the plugin specs it starts.
type Resolved struct {
	Executors Executors
	// Executor is the default one, Spec.Executor's.
	Executor exec.Executor
	Devices  []matrix.Device
	Plugins  []exec.Spec
}

// Resolve selects the devices in inv, discovers the plugins and builds
// their specs; local specs whose interpreter does not exist are refused
// here, before anything starts.
func (s *Spec) Resolve(ctx context.Context, inv device.Inventory) (Resolved, error) {
	var r Resolved
	if err := s.Validate(); err != nil {
		return r, err
	}
	var err error
	if r.Executors, err = s.Executors(); err != nil {
		return r, err
	}
	if r.Executor, err = r.Executors.Default(s); err != nil {
		return r, err
	}
	if r.Devices, err = inv.Select(s.Devices); err != nil {
		if s.Config != nil && s.SetBy(FieldDevices, FromConfig(s.Config).Name) {
			return r, usagef("%w", s.Config.Errorf("devices", "%v", err))
		}
		return r, usagef("--%s: %v", FieldDevices, err)
	}
	found, err := s.Discover(ctx)
	if err != nil {
		return r, err
	}
	if r.Plugins, err = s.Plugins(ctx, found, r.Executors); err != nil {
		return r, err
	}
	var bad []error
	for _, sp := range r.Plugins {
		if IsLocal(sp, r.Executor) {
			if err := CheckInterpreter(sp); err != nil && !containsErr(bad, err) {
				bad = append(bad, err)
			}
		}
	}
	if len(bad) > 0 {
		return r, errors.Join(bad...)
	}
	return r, nil
}

func containsErr(errs []error, err error) bool {
	for _, e := range errs {
		if e.Error() == err.Error() {
			return true
		}
	}
	return false
}

// IsLocal reports whether sp starts under the local executor, def being
// the run's default.
func IsLocal(sp exec.Spec, def exec.Executor) bool {
	ex := sp.Executor
	if ex == nil {
		ex = def
	}
	return ex.Name() == "local"
}

// Options are the runner's options for the resolved spec; events are
// the command line's progress display.
func (s *Spec) Options(r Resolved, notes []string, version string, events func(runner.Event)) runner.Options {
	o := runner.Options{
		Executor: r.Executor, Plugins: r.Plugins, Frameworks: nil,
		Models: s.Models, Checks: s.Checks, Precisions: s.Precisions,
		Timeouts: s.Timeouts, ReferenceDir: s.ReferenceDir, OutDir: s.OutDir,
		Resume: s.Resume, Replace: s.Force, Shard: s.Shard, Version: version,
		DeviceNotes: notes, Events: events,
	}
	perf := s.Perf
	o.Perf = &perf
	o.Devices = append(o.Devices, r.Devices...)
	return o
}
