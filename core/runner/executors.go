package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/matrix"
)

// What the runner does for executors that implement exec's optional
// interfaces: open a run-scoped one once, with the run's id, before its
// first plugin, and close it when the run ends; start one plugin per
// device under a device-pinning one; prepare a spec's image and record its
// digest.

// executors are the run-scoped executors opened so far, with the error
// of opening each (which every plugin started through it then reports).
type executors struct {
	opened []exec.RunScoped
	errs   []error
}

func (x *executors) open(ctx context.Context, rs exec.RunScoped, runID string) error {
	for i, o := range x.opened {
		if o == rs {
			return x.errs[i]
		}
	}
	err := rs.Open(ctx, runID)
	x.opened = append(x.opened, rs)
	x.errs = append(x.errs, err)
	return err
}

// closeExecutors closes every executor that opened.
func (r *runState) closeExecutors() {
	for i, rs := range r.executors.opened {
		if r.executors.errs[i] != nil {
			continue
		}
		if err := rs.Close(); err != nil {
			r.run.Notes = append(r.run.Notes, "closing the executor: "+err.Error())
		}
	}
}

// prepare opens ex for this run if it is run-scoped, and prepares spec's
// image if ex runs images; it returns the image's digest.
func (r *runState) prepare(ctx context.Context, ex exec.Executor, spec exec.Spec) (string, error) {
	if rs, ok := ex.(exec.RunScoped); ok {
		if err := r.executors.open(ctx, rs, r.run.RunID); err != nil {
			return "", fmt.Errorf("%w: %s executor: %v", pluginhost.ErrStart, ex.Name(), err)
		}
	}
	ip, ok := ex.(exec.ImagePreparer)
	if !ok || spec.Image == "" {
		return "", nil
	}
	digest, err := ip.PrepareImage(ctx, spec.Image)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", pluginhost.ErrStart, spec.Name, err)
	}
	return digest, nil
}

func pins(ex exec.Executor) bool {
	p, ok := ex.(exec.DevicePinner)
	return ok && p.PinsDevices()
}

// runPinned starts spec once per device, each pinned to its device.
func (r *runState) runPinned(ctx context.Context, spec exec.Spec, devices []matrix.Device) (bool, error) {
	started := false
	var errs []error
	for _, d := range devices {
		if ctx.Err() != nil {
			break
		}
		s := spec
		s.Device = exec.Device{ID: d.ID, Kind: d.Kind, UUID: d.UUID, RenderNode: d.RenderNode}
		ok, err := r.runPlugin(ctx, s, []matrix.Device{d})
		started = started || ok
		if err != nil {
			errs = append(errs, err)
		}
	}
	return started, errors.Join(errs...)
}

// addFramework records a framework row once: a plugin pinned to several
// devices describes itself once per device.
func (r *runState) addFramework(f matrix.Framework) {
	if r.hasFramework(f) {
		return
	}
	f.Unavailable = capText(f.Unavailable)
	for i, w := range f.Warnings {
		f.Warnings[i] = capText(w)
	}
	r.run.Frameworks = append(r.run.Frameworks, f)
}

func (r *runState) hasFramework(f matrix.Framework) bool {
	for _, g := range r.run.Frameworks {
		if g.Name == f.Name && g.Version == f.Version && g.Image == f.Image && g.Executor == f.Executor {
			return true
		}
	}
	return false
}

// addFrameworkListed is addFramework for a plugin that started: a new
// row also gets the packages where it runs, when ex can list them.
func (r *runState) addFrameworkListed(ctx context.Context, ex exec.Executor, spec exec.Spec, f matrix.Framework) {
	if r.hasFramework(f) {
		return
	}
	if f.Unavailable == "" {
		r.packages(ctx, ex, spec, &f)
	}
	r.addFramework(f)
}

// pluginDevice finds, among the devices a plugin offers, host device dev:
// the one with the same id, or, for a plugin pinned to that GPU (a
// container given that GPU alone, where it is renumbered from 0), the one
// with its UUID, or else the only GPU of its kind the plugin sees (an AMD
// GPU's, kind rocm, whatever UUID the framework makes of it: the
// container has that GPU's render node alone).
func pluginDevice(inst *pluginhost.Instance, dev matrix.Device) (pluginapi.Device, bool) {
	offered := inst.Desc.Devices
	if pin := inst.Spec.Device; pin.ID == dev.ID && (pin.Kind == matrix.KindGPU || pin.Kind == matrix.KindROCm) {
		var gpus []pluginapi.Device
		for _, d := range offered {
			if d.Kind != pin.Kind {
				continue
			}
			if dev.UUID != "" && d.UUID == dev.UUID {
				return d, true
			}
			gpus = append(gpus, d)
		}
		if len(gpus) == 1 && (gpus[0].UUID == "" || pin.Kind == matrix.KindROCm) {
			return gpus[0], true
		}
		return pluginapi.Device{}, false
	}
	for _, d := range offered {
		if d.ID == dev.ID {
			return d, true
		}
	}
	return pluginapi.Device{}, false
}

func offers(inst *pluginhost.Instance, dev matrix.Device) bool {
	_, ok := pluginDevice(inst, dev)
	return ok
}

// pluginDeviceID is the id the plugin knows host device id by.
func (r *runState) pluginDeviceID(inst *pluginhost.Instance, id string) string {
	for _, dev := range r.o.Devices {
		if dev.ID == id {
			if d, ok := pluginDevice(inst, dev); ok {
				return d.ID
			}
		}
	}
	return id
}

// Described is one plugin spec started and described the way a run
// starts it (dlcompat plugins).
type Described struct {
	Spec     exec.Spec
	Executor string
	// ImageDigest is the digest of Spec.Image, when it runs in one.
	ImageDigest string
	// Protocol is the negotiated protocol version; Desc is nil, and Err
	// says why, when the plugin could not be prepared or started.
	Protocol int
	Desc     *pluginapi.DescribeResponse
	Err      error
}

// Describe starts each spec as Run would (the executor opened once for
// the whole call, each image prepared), asks it to describe itself and
// stops it. ex is the executor of specs that name none; runID labels
// what a run-scoped executor creates.
func Describe(ctx context.Context, specs []exec.Spec, ex exec.Executor, runID string) []Described {
	r := &runState{run: &matrix.Run{RunID: runID}}
	defer r.closeExecutors()
	var out []Described
	for _, s := range specs {
		sx := s.Executor
		if sx == nil {
			sx = ex
		}
		d := Described{Spec: s, Executor: sx.Name()}
		var inst *pluginhost.Instance
		d.ImageDigest, d.Err = r.prepare(ctx, sx, s)
		if d.Err == nil {
			inst, d.Err = pluginhost.Start(ctx, sx, s)
		}
		if d.Err == nil {
			desc := inst.Desc
			d.Desc, d.Protocol = &desc, inst.Version
			inst.Close()
		}
		out = append(out, d)
	}
	return out
}
