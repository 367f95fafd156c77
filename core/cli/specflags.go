package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/checks"
	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/core/runspec"
	"github.com/dlcompat/dlcompat/matrix"
)

// EnvVariants is the default of --variants: "fw=v1,v2;fw2=v3".
const EnvVariants = "DLCOMPAT_VARIANTS"

// flagLayer builds the layer of the flags the user set: each flag
// registers how its value sets the spec, and Layer applies only those
// that the command line named (flag.FlagSet.Visit): a flag left out,
// even one whose default is zero, sets nothing.
type flagLayer struct {
	fs     *flag.FlagSet
	def    runspec.Spec
	binds  map[string]binding
	config *string // --config, read before the flags' layer applies
	// envVariants is $DLCOMPAT_VARIANTS: a default the user set, a layer
	// under the journal and the configuration file (envLayer).
	envVariants string
}

type binding struct {
	field runspec.Field
	set   func(*runspec.Spec) error
}

func newFlagLayer(fs *flag.FlagSet, def runspec.Spec) *flagLayer {
	return &flagLayer{fs: fs, def: def, binds: map[string]binding{}}
}

func (b *flagLayer) bind(name string, f runspec.Field, set func(*runspec.Spec) error) {
	b.binds[name] = binding{f, set}
}

func (b *flagLayer) str(name string, f runspec.Field, def, usage string, set func(*runspec.Spec, string) error) *string {
	p := b.fs.String(name, def, usage)
	b.bind(name, f, func(s *runspec.Spec) error { return set(s, *p) })
	return p
}

// list is a comma-separated flag; given empty, it is refused (an unset
// CI variable would otherwise mean "everything").
func (b *flagLayer) list(name string, f runspec.Field, def, usage string, set func(*runspec.Spec, []string) error) {
	p := b.fs.String(name, def, usage)
	b.bind(name, f, func(s *runspec.Spec) error {
		items := splitList(*p)
		if len(items) == 0 {
			if def == "" {
				return usagef("--%s is empty: name at least one, or leave the flag out for all", name)
			}
			return usagef("--%s is empty: name at least one, or leave the flag out for its default (%s)", name, def)
		}
		return set(s, items)
	})
}

func (b *flagLayer) int(name string, def int, usage string, set func(*runspec.Spec, int)) {
	p := b.fs.Int(name, def, usage)
	b.bind(name, runspec.FieldPerf, func(s *runspec.Spec) error { set(s, *p); return nil })
}

func (b *flagLayer) bool(name string, f runspec.Field, usage string, set func(*runspec.Spec, bool)) {
	p := b.fs.Bool(name, false, usage)
	b.bind(name, f, func(s *runspec.Spec) error { set(s, *p); return nil })
}

// Layer is the flags the user set, in the order of their names.
func (b *flagLayer) Layer() runspec.Layer {
	l := runspec.Layer{Name: "flag"}
	b.fs.Visit(func(f *flag.Flag) {
		if bd, ok := b.binds[f.Name]; ok {
			l.Set(bd.field, bd.set)
		}
	})
	return l
}

// common binds the flags that run and plugins share: the configuration
// file (configUsage says what the command takes from it), where plugins
// are, which, how they start.
func (b *flagLayer) common(configUsage string) {
	b.config = b.fs.String("config", "", configUsage)
	b.str("plugins-dir", runspec.FieldPluginsDir, b.def.PluginsDir, "directory of dlcompat-plugin-* binaries (or set $"+runspec.EnvPluginsDir+")",
		func(s *runspec.Spec, v string) error { s.PluginsDir = v; return nil })
	b.list("frameworks", runspec.FieldFrameworks, "", "comma-separated frameworks (or framework+variant) to run (default: every plugin found)",
		func(s *runspec.Spec, v []string) error { s.Frameworks = v; return nil })
	b.str("executor", runspec.FieldExecutor, b.def.Executor, "how plugins start: local (subprocesses), or docker (a container per framework image and device)",
		func(s *runspec.Spec, v string) error { s.Executor = v; return nil })
	b.str("pull", runspec.FieldPull, b.def.Pull, "docker: whether a missing image may be pulled: never, if-missing",
		func(s *runspec.Spec, v string) error { s.Pull = v; return nil })
	b.str("reference", runspec.FieldReferenceDir, b.def.ReferenceDir, "directory of the reference tensors and their MANIFEST (mounted into containers)",
		func(s *runspec.Spec, v string) error { s.ReferenceDir = v; return nil })
	env := os.Getenv(EnvVariants)
	b.str("variants", runspec.FieldVariants, env, "run a framework once per variant, each a row: FRAMEWORK=V1,V2[;FRAMEWORK=…] (or set $"+EnvVariants+"; 'dlcompat plugins' lists each plugin's variants)",
		func(s *runspec.Spec, v string) error {
			m, err := parseVariants(v)
			s.Variants = m
			return err
		})
	b.envVariants = env
}

// parseVariants reads "fw=v1,v2;fw2=v3"; "" is none.
func parseVariants(v string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, part := range strings.Split(v, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		fw, values, ok := strings.Cut(part, "=")
		fw = strings.TrimSpace(fw)
		if !ok || fw == "" || len(splitList(values)) == 0 {
			return nil, usagef("--variants: %q is not FRAMEWORK=V1,V2 (see the VARIANTS column of 'dlcompat plugins')", part)
		}
		if _, dup := m[fw]; dup {
			return nil, usagef("--variants: %s is given twice", fw)
		}
		m[fw] = splitList(values)
	}
	return m, nil
}

// runFlags binds the flags of dlcompat run.
func (b *flagLayer) runFlags() {
	b.common("matrix configuration file (YAML): frameworks, images, executor, devices, models, checks, timeouts, container limits; flags win over it")
	d := b.def
	b.list("models", runspec.FieldModels, strings.Join(reference.ModelNames(), ","), "comma-separated models: "+strings.Join(reference.ModelNames(), ", "),
		func(s *runspec.Spec, v []string) error {
			m, err := runspec.ParseModels(v)
			s.Models = m
			return err
		})
	b.list("checks", runspec.FieldChecks, strings.Join(d.Checks, ","), "comma-separated checks: "+strings.Join(checks.Names(), ", "),
		func(s *runspec.Spec, v []string) error {
			for _, c := range v {
				if err := checks.Validate(c); err != nil {
					return usagef("--checks: %v", err)
				}
			}
			s.Checks = v
			return nil
		})
	b.list("devices", runspec.FieldDevices, d.Devices, "devices: all, cpu, gpu (every GPU), or a list such as cpu,gpu:0",
		func(s *runspec.Spec, v []string) error { s.Devices = strings.Join(v, ","); return nil })
	b.list("precisions", runspec.FieldPrecisions, strings.Join(d.Precisions, ","), "comma-separated precision modes, each a cell of its own: "+strings.Join(pluginapi.AllPrecisions, ", ")+" (docs/spec.md §9; a mode a plugin or device cannot run is skip)",
		func(s *runspec.Spec, v []string) error { s.Precisions = v; return nil })
	var limits []string
	for _, c := range checks.Table {
		limits = append(limits, fmt.Sprintf("%s %s", c.Name, shortDuration(c.Timeout)))
	}
	timeout := b.fs.Duration("timeout", 0, "one limit for every check (default per check: "+strings.Join(limits, ", ")+")")
	b.bind("timeout", runspec.FieldTimeouts, func(s *runspec.Spec) error {
		if *timeout <= 0 {
			return usagef("--timeout: %s is not a positive duration", *timeout)
		}
		s.UniformTimeout(*timeout)
		return nil
	})
	b.int("perf-warmup", d.Perf.Warmup, "perf: untimed iterations before timing (0 for none)", func(s *runspec.Spec, n int) { s.Perf.Warmup = n })
	b.int("perf-iterations", d.Perf.Iterations, "perf: the minimum of timed iterations per series; exactly this many with --perf-precision 0 (docs/spec.md §7.1)", func(s *runspec.Spec, n int) { s.Perf.Iterations = n })
	b.int("perf-max-iterations", d.Perf.MaxIterations, "perf: at most this many timed iterations per series", func(s *runspec.Spec, n int) { s.Perf.MaxIterations = n })
	perfSeconds := b.fs.Float64("perf-max-seconds", d.Perf.MaxSeconds, "perf: past the minimum, stop a series after this much timed time (seconds)")
	b.bind("perf-max-seconds", runspec.FieldPerf, func(s *runspec.Spec) error { s.Perf.MaxSeconds = *perfSeconds; return nil })
	perfPrecision := b.fs.Float64("perf-precision", d.Perf.TargetPrecision, "perf: time each series until its median's 95% interval half-width / median ≤ this (0: fixed --perf-iterations)")
	b.bind("perf-precision", runspec.FieldPerf, func(s *runspec.Spec) error { s.Perf.TargetPrecision = *perfPrecision; return nil })
	b.int("train-batch", d.Perf.TrainBatch, "perf: batch size of the training step", func(s *runspec.Spec, n int) { s.Perf.TrainBatch = n })
	b.list("throughput-batches", runspec.FieldPerf, joinInts(d.Perf.ThroughputBatches), "perf: batch sizes for throughput",
		func(s *runspec.Spec, v []string) error {
			s.Perf.ThroughputBatches = nil
			for _, item := range v {
				n, err := strconv.Atoi(item)
				if err != nil || n < 1 {
					return usagef("--throughput-batches: %q is not a positive batch size", item)
				}
				s.Perf.ThroughputBatches = append(s.Perf.ThroughputBatches, n)
			}
			return nil
		})
	b.str("o", runspec.FieldOutDir, d.OutDir, "output directory",
		func(s *runspec.Spec, v string) error { s.OutDir = v; return nil })
	b.bool("resume", runspec.FieldResume, "complete the unfinished run journalled in -o, without redoing finished cells; flags left out are taken from its journal (a --config must be given again)",
		func(s *runspec.Spec, v bool) { s.Resume = v })
	b.bool("force", runspec.FieldForce, "replace the run already in -o, finished or not (without it, a finished run is kept and the new one refused)",
		func(s *runspec.Spec, v bool) { s.Force = v })
	b.str("shard", runspec.FieldShard, "", "run only part k of n of the planned cells (k/n, 1 ≤ k ≤ n), split by device; see 'dlcompat merge'",
		func(s *runspec.Spec, v string) error {
			sh, err := matrix.ParseShard(v)
			if err != nil {
				return usagef("--shard: %v", err)
			}
			s.Shard = sh
			return nil
		})
}

func shortDuration(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// parse parses the command line, which takes no arguments, and builds
// the spec.
func (b *flagLayer) parse(args []string) (runspec.Spec, error) {
	if pos, err := parse(b.fs, args); err != nil {
		return runspec.Spec{}, err
	} else if err := noArgs(b.fs, pos); err != nil {
		return runspec.Spec{}, err
	}
	return buildSpec(b, *b.config)
}

// buildSpec is the one place a command's spec is built: the defaults,
// then the journal of the run being resumed, then the configuration
// file, then the flags the user set.
func buildSpec(b *flagLayer, configPath string) (runspec.Spec, error) {
	spec := b.def
	flags := b.Layer()
	// -o and --resume decide which journal to read: they come from the
	// flags alone (neither file can set them).
	probe := b.def
	if err := probe.Apply(flags.Only(runspec.FieldOutDir, runspec.FieldResume)); err != nil {
		return spec, err
	}
	var layers []runspec.Layer
	if b.envVariants != "" {
		l := runspec.Layer{Name: "$" + EnvVariants}
		l.Set(runspec.FieldVariants, func(s *runspec.Spec) error {
			m, err := parseVariants(b.envVariants)
			s.Variants = m
			return err
		})
		layers = append(layers, l)
	}
	if probe.Resume {
		jl, ok, err := runspec.FromJournal(probe.OutDir)
		if err != nil {
			return spec, err
		}
		if ok {
			layers = append(layers, jl)
		}
	}
	if configPath != "" {
		f, err := config.Load(configPath)
		if err != nil {
			return spec, usageError{err}
		}
		layers = append(layers, runspec.FromConfig(f))
	}
	layers = append(layers, flags)
	if err := spec.Apply(layers...); err != nil {
		return spec, classify(err)
	}
	return spec, classify(spec.Validate())
}

// classify gives an error from the packages below the exit code of its
// kind.
func classify(err error) error {
	var ue usageError
	var ie infraError
	switch {
	case err == nil, errors.As(err, &ue), errors.As(err, &ie):
		return err
	case errors.Is(err, runner.ErrUsage):
		return usageError{err}
	case errors.Is(err, runner.ErrInfra):
		return infraError{err}
	}
	return err
}
