package runspec

import (
	"slices"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/checks"
	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/matrix"
)

// Spec is what defines one run. Every field holds its real value: there
// is no zero that means "the default".
type Spec struct {
	// PluginsDir holds the dlcompat-plugin-* binaries.
	PluginsDir string
	// Frameworks filters the plugins: a framework ("keras": every image
	// and variant of it) or one variant ("keras+jax"); empty runs all.
	Frameworks []string
	// Variants are, per framework, the values of its variant axis to run,
	// each a row of its own; a framework not listed runs its default.
	Variants map[string][]string
	Models   []reference.Model
	Checks   []string
	// Devices is a selection as 'dlcompat devices' names them: all, cpu,
	// gpu, or a list such as cpu,gpu:0.
	Devices string
	// Executor is the default executor: local or docker.
	Executor string
	// Pull is the docker executor's pull policy: never or if-missing.
	Pull string
	// Precisions are the precision modes to run, each a cell of its own
	// (docs/spec.md §9).
	Precisions []string
	// Timeouts has a limit for every check in Checks.
	Timeouts map[string]time.Duration
	Perf     pluginapi.PerfOptions
	// ReferenceDir holds the reference tensors and their MANIFEST.
	ReferenceDir string
	// OutDir receives the journal, run.json and run.md.
	OutDir string
	// Shard is the part of the planned cells to run; zero: all of them.
	Shard matrix.Shard
	// Limits bound the docker executor's containers (zero fields:
	// docker.DefaultLimits).
	Limits docker.Limits
	// Config is the configuration file, when there is one: its
	// frameworks section decides the plugins (Plugins).
	Config *config.File
	// Resume completes the run journalled in OutDir; Force replaces it.
	Resume, Force bool

	sources map[Field]string
}

// Field names a field of Spec in layers and errors; each is also the
// name of its flag.
type Field string

const (
	FieldPluginsDir   Field = "plugins-dir"
	FieldFrameworks   Field = "frameworks"
	FieldVariants     Field = "variants"
	FieldModels       Field = "models"
	FieldChecks       Field = "checks"
	FieldDevices      Field = "devices"
	FieldExecutor     Field = "executor"
	FieldPull         Field = "pull"
	FieldPrecisions   Field = "precisions"
	FieldTimeouts     Field = "timeout"
	FieldPerf         Field = "perf"
	FieldReferenceDir Field = "reference"
	FieldOutDir       Field = "o"
	FieldShard        Field = "shard"
	FieldConfig       Field = "config"
	FieldLimits       Field = "docker"
	FieldResume       Field = "resume"
	FieldForce        Field = "force"
)

// Default is a run of every plugin found, every model and check, on
// every device, strict fp32, with pluginapi.DefaultPerfOptions and each
// check's default limit. pluginsDir and referenceDir depend on where the
// binary is, so the caller gives them.
func Default(pluginsDir, referenceDir string) Spec {
	return Spec{
		PluginsDir:   pluginsDir,
		Models:       slices.Clone(reference.Models),
		Checks:       checks.Defaults(),
		Devices:      "all",
		Executor:     "local",
		Pull:         "never",
		Precisions:   []string{pluginapi.PrecisionFP32},
		Timeouts:     checks.DefaultTimeouts(),
		Perf:         pluginapi.DefaultPerfOptions(),
		ReferenceDir: referenceDir,
		OutDir:       "results",
		sources:      map[Field]string{},
	}
}

// Layer is one source of values (the journal, a configuration file, the
// flags): the fields it sets, each with how.
type Layer struct {
	// Name says where the values come from, for errors ("flag",
	// "config testdata/configs/local-docker.yaml").
	Name string
	sets []setting
}

type setting struct {
	field Field
	apply func(*Spec) error
}

// Set records that the layer sets field f, by apply.
func (l *Layer) Set(f Field, apply func(*Spec) error) {
	l.sets = append(l.sets, setting{f, apply})
}

// Fields lists what the layer sets, in order.
func (l Layer) Fields() []Field {
	var fs []Field
	for _, s := range l.sets {
		fs = append(fs, s.field)
	}
	return fs
}

// Apply applies layers in order: a later layer's value wins.
func (s *Spec) Apply(layers ...Layer) error {
	if s.sources == nil {
		s.sources = map[Field]string{}
	}
	for _, l := range layers {
		for _, set := range l.sets {
			if err := set.apply(s); err != nil {
				return err
			}
			s.sources[set.field] = l.Name
		}
	}
	return nil
}

// Source is the name of the layer that set f last, "" for the default.
func (s *Spec) Source(f Field) string { return s.sources[f] }

// SetBy reports whether the layer named name set f last.
func (s *Spec) SetBy(f Field, name string) bool { return s.sources[f] == name }

// UniformTimeout sets every check's limit to d (the --timeout flag).
func (s *Spec) UniformTimeout(d time.Duration) {
	s.Timeouts = map[string]time.Duration{}
	for _, c := range checks.Names() {
		s.Timeouts[c] = d
	}
}

// Validate checks what no single layer can: the fields together.
func (s *Spec) Validate() error {
	if s.Resume && s.Force {
		return usagef("--resume completes the run in -o and --force replaces it: give one of them")
	}
	if len(s.Precisions) == 0 {
		return usagef("no precision to run (from %s): name at least one of %s", s.from(FieldPrecisions), strings.Join(pluginapi.AllPrecisions, ", "))
	}
	for _, p := range s.Precisions {
		if !slices.Contains(pluginapi.AllPrecisions, p) {
			return usagef("precision %q (from %s) is not one of %s", p, s.from(FieldPrecisions), strings.Join(pluginapi.AllPrecisions, ", "))
		}
	}
	if err := s.Perf.Validate(); err != nil {
		return usagef("%v (from %s)", err, s.from(FieldPerf))
	}
	for _, c := range s.Checks {
		if s.Timeouts[c] <= 0 {
			return usagef("check %s has no time limit (from %s)", c, s.from(FieldTimeouts))
		}
	}
	return nil
}

// from names the source of f for an error.
func (s *Spec) from(f Field) string {
	if src := s.Source(f); src != "" {
		return src
	}
	return "the defaults"
}

// Only is the part of l that sets the given fields.
func (l Layer) Only(fields ...Field) Layer {
	out := Layer{Name: l.Name}
	for _, s := range l.sets {
		if slices.Contains(fields, s.field) {
			out.sets = append(out.sets, s)
		}
	}
	return out
}
