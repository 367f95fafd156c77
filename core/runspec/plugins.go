package runspec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
)

// Executors are the executors a run may start plugins with, by name.
type Executors struct {
	Local  exec.Local
	Docker *docker.Executor
}

// Executors builds the run's executors; the docker one does nothing
// until the runner opens it, so building it costs nothing when no plugin
// uses it.
func (s *Spec) Executors() (Executors, error) {
	p, err := docker.ParsePullPolicy(s.Pull)
	if err != nil {
		return Executors{}, usagef("--pull: %v", err)
	}
	if _, err := s.Limits.Resolve(); err != nil {
		return Executors{}, usagef("%s: %v", s.from(FieldLimits), err)
	}
	return Executors{Docker: docker.New(docker.Options{Pull: p, ReferenceDir: s.ReferenceDir, Limits: s.Limits})}, nil
}

// ByName returns the executor called name, nil if there is none.
func (x Executors) ByName(name string) exec.Executor {
	switch name {
	case "local":
		return x.Local
	case "docker":
		return x.Docker
	}
	return nil
}

// Default is the run's default executor, the one Spec.Executor names.
func (x Executors) Default(s *Spec) (exec.Executor, error) {
	ex := x.ByName(s.Executor)
	if ex == nil {
		return nil, usagef("--executor: unknown executor %q (valid: %s)", s.Executor, strings.Join(config.Executors, ", "))
	}
	return ex, nil
}

// Discover lists the plugins in the spec's plugin directory, with their
// manifests: a directory that is not there is bad usage, an empty one an
// infrastructure problem.
func (s *Spec) Discover(ctx context.Context) ([]pluginhost.Plugin, error) {
	if st, err := os.Stat(s.PluginsDir); err != nil || !st.IsDir() {
		return nil, usagef("--%s: %s is not a directory of plugins; build them with make build (into bin/plugins), or set $%s", FieldPluginsDir, s.PluginsDir, EnvPluginsDir)
	}
	found, err := pluginhost.Discover(ctx, s.PluginsDir)
	if err != nil {
		return nil, infraf("%v", err)
	}
	return found, nil
}

// EnvPluginsDir overrides the default plugin directory.
const EnvPluginsDir = "DLCOMPAT_PLUGINS_DIR"

// Plugins resolves the plugin specs the run starts from the discovered
// plugins: with a configuration file's frameworks section, its
// frameworks in file order, one spec per image under the docker
// executor; without one, every discovered plugin. Under docker a
// framework with no image runs in its manifest's default image. Then
// each framework with variants asked for becomes one spec per variant,
// and the Frameworks filter keeps what it names.
func (s *Spec) Plugins(ctx context.Context, found []pluginhost.Plugin, x Executors) ([]exec.Spec, error) {
	manifests := map[string]pluginapi.Manifest{}
	for _, p := range found {
		manifests[p.Manifest.Name] = p.Manifest
	}
	specs, err := s.configured(ctx, found, manifests, x)
	if err != nil {
		return nil, err
	}
	if specs, err = s.expandVariants(specs, manifests); err != nil {
		return nil, err
	}
	return s.filter(specs)
}

// configured is Plugins before variants and the filter.
func (s *Spec) configured(ctx context.Context, found []pluginhost.Plugin, manifests map[string]pluginapi.Manifest, x Executors) ([]exec.Spec, error) {
	f := s.Config
	if f == nil || f.Frameworks == nil {
		var out []exec.Spec
		for _, p := range found {
			sp := p.Spec()
			if s.Executor == "docker" {
				sp.Image = defaultImage(p.Manifest)
			}
			out = append(out, sp)
		}
		return out, nil
	}
	known := make([]string, 0, len(found))
	for _, p := range found {
		known = append(known, p.Manifest.Name)
	}
	var out []exec.Spec
	var errs []error
	for _, fw := range f.Frameworks {
		if !s.selects(fw.Name) {
			continue // left out by --frameworks: not looked for
		}
		bad := func(format string, a ...any) {
			errs = append(errs, &config.Error{File: f.Path, Line: fw.Line, Field: "frameworks." + fw.Name, Msg: fmt.Sprintf(format, a...)})
		}
		path := fw.Plugin
		switch {
		case path == "":
			path = filepath.Join(s.PluginsDir, pluginhost.BinaryPrefix+fw.Name)
		case strings.ContainsRune(path, filepath.Separator):
			path = f.Resolve(path)
		default:
			path = filepath.Join(s.PluginsDir, path)
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			if fw.Plugin == "" && !slices.Contains(known, fw.Name) {
				bad("unknown framework %q (plugins found in %s: %s); a plugin of your own needs plugin: PATH", fw.Name, s.PluginsDir, strings.Join(known, ", "))
				continue
			}
			bad("no plugin binary at %s (build the plugins with `make build`, or set plugin:)", path)
			continue
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		name := s.Executor
		var ex exec.Executor
		if fw.Executor != "" && fw.Executor != s.Executor {
			name = fw.Executor
			if ex = x.ByName(name); ex == nil {
				bad("executor %s is not available", name)
				continue
			}
		}
		base := exec.Spec{Name: fw.Name, Framework: fw.Name, Path: path, Env: fw.Env, Executor: ex}
		if name != "docker" {
			out = append(out, base)
			continue
		}
		images := fw.Images
		if len(images) == 0 {
			m, ok := manifests[fw.Name]
			if !ok && fw.Plugin != "" {
				// A plugin named by path: ask it.
				var err error
				if m, err = pluginhost.ReadManifest(ctx, path); err != nil {
					m = pluginapi.Manifest{}
				}
			}
			if d := defaultImage(m); d != "" {
				images = []string{d}
			} else {
				bad("the docker executor needs an image: add images: (the plugin names no default image)")
				continue
			}
		}
		for _, img := range images {
			sp := base
			sp.Image = img
			out = append(out, sp)
		}
	}
	if len(errs) > 0 {
		return nil, usagef("%w", errors.Join(errs...))
	}
	return out, nil
}

// defaultImage is the image a manifest names for the docker executor:
// its CPU image, which serves every device (no GPU image is built here);
// else the first of the others, by device kind.
func defaultImage(m pluginapi.Manifest) string {
	if img := m.Images["cpu"]; img != "" {
		return img
	}
	kinds := make([]string, 0, len(m.Images))
	for k := range m.Images {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if len(kinds) == 0 {
		return ""
	}
	return m.Images[kinds[0]]
}

// expandVariants replaces each spec of a framework with variants asked
// for by one spec per variant, named <framework>+<variant> and started
// with the manifest's variable set to it. A variant with an image of its
// own (VariantAxis.Images) runs there instead of the framework's default
// image; an image the configuration chose otherwise is kept.
func (s *Spec) expandVariants(specs []exec.Spec, manifests map[string]pluginapi.Manifest) ([]exec.Spec, error) {
	for fw, values := range s.Variants {
		if !s.selects(fw) {
			continue // left out by --frameworks: not looked for, as in configured
		}
		axis := manifests[fw].Variant
		if _, ok := manifests[fw]; !ok {
			return nil, usagef("--%s: there is no %s plugin (found: %s)", FieldVariants, fw, strings.Join(slices.Sorted(maps.Keys(manifests)), ", "))
		}
		if axis == nil {
			return nil, usagef("--%s: %s has no variants", FieldVariants, fw)
		}
		seen := map[string]bool{}
		for _, v := range values {
			if v == "" || strings.ContainsAny(v, " +=/,;") {
				return nil, usagef("--%s: %q is not a %s %s (known: %s)", FieldVariants, v, fw, axis.Name, strings.Join(axis.Values, ", "))
			}
			if seen[v] {
				return nil, usagef("--%s: %s %q is listed twice", FieldVariants, fw, v)
			}
			if len(axis.Values) > 0 && !slices.Contains(axis.Values, v) {
				return nil, usagef("--%s: %q is not a %s %s (known: %s)", FieldVariants, v, fw, axis.Name, strings.Join(axis.Values, ", "))
			}
			seen[v] = true
		}
	}
	var out []exec.Spec
	for _, sp := range specs {
		values := s.Variants[sp.Base()]
		if len(values) == 0 || sp.Variant != "" {
			out = append(out, sp)
			continue
		}
		axis := manifests[sp.Base()].Variant
		for _, v := range values {
			vs := sp
			vs.Name, vs.Variant = variantName(sp.Base(), v), v
			vs.Env = append(slices.Clone(sp.Env), axis.Env+"="+v)
			if img := axis.Images[v]; img != "" && sp.Image != "" && sp.Image == defaultImage(manifests[sp.Base()]) {
				vs.Image = img
			}
			out = append(out, vs)
		}
	}
	return out, nil
}

// variantName names the row of framework fw's variant v.
func variantName(fw, v string) string { return fw + "+" + v }

// selects reports whether the Frameworks filter keeps framework fw, or
// one of its variants.
func (s *Spec) selects(fw string) bool {
	if len(s.Frameworks) == 0 {
		return true
	}
	for _, n := range s.Frameworks {
		v, isVariant := strings.CutPrefix(n, variantName(fw, ""))
		if n == fw || isVariant && slices.Contains(s.Variants[fw], v) {
			return true
		}
	}
	return false
}

// filter keeps the specs that Frameworks names ("keras": all of them;
// "keras+jax": that variant); a name no spec has is bad usage.
func (s *Spec) filter(specs []exec.Spec) ([]exec.Spec, error) {
	if len(s.Frameworks) == 0 {
		return specs, nil
	}
	var out []exec.Spec
	for _, n := range s.Frameworks {
		found := false
		for _, sp := range specs {
			if sp.Name == n || sp.Base() == n {
				if !slices.ContainsFunc(out, func(o exec.Spec) bool { return o.Name == sp.Name && o.Image == sp.Image }) {
					out = append(out, sp)
				}
				found = true
			}
		}
		if !found {
			var valid []string
			for _, sp := range specs {
				if !slices.Contains(valid, sp.Name) {
					valid = append(valid, sp.Name)
				}
			}
			return nil, usagef("--%s: unknown framework %q (valid: %s)", FieldFrameworks, n, strings.Join(valid, ", "))
		}
	}
	return out, nil
}

// CheckInterpreter refuses a local spec whose configured interpreter
// ($DLCOMPAT_PYTHON_<FRAMEWORK>, handed to the plugin as it is) does not
// exist, naming it, before any plugin starts.
func CheckInterpreter(sp exec.Spec) error {
	v := pluginapi.InterpreterEnv(sp.Base())
	val, ok := os.LookupEnv(v)
	if !ok {
		return nil
	}
	f := strings.Fields(val)
	if len(f) == 0 {
		return usagef("%s is set but empty: unset it, or name %s's python interpreter", v, sp.Base())
	}
	if _, err := osexec.LookPath(f[0]); err != nil {
		return usagef("%s=%s: the interpreter %s does not exist or is not executable (fix the path, or unset %s to let the plugin find one)", v, val, f[0], v)
	}
	return nil
}
