package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/device"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

var devicesCmd = command{
	name:  "devices",
	short: "list the devices dlcompat can test (NVML GPUs and the CPU)",
	usage: `Usage: dlcompat devices [--json]

Lists the CPU and every NVIDIA GPU that NVML reports, with what a driver
vendor needs to tell them apart: name, architecture, UUID, memory,
compute capability, driver and CUDA versions. Without the NVIDIA driver
(libnvidia-ml.so) the list is the CPU alone, and a note says why.

Examples:
  dlcompat devices
  dlcompat devices --json | jq '.devices[].id'
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		asJSON := fs.Bool("json", false, "print the inventory as JSON")
		if pos, err := parse(fs, args); err != nil {
			return err
		} else if err := noArgs(fs, pos); err != nil {
			return err
		}
		inv := device.DetectSystem(ctx)
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(inv)
		}
		return device.WriteText(e.stdout, inv)
	},
}

var pluginsCmd = command{
	name:  "plugins",
	short: "list the framework plugins, their versions and what they can run",
	usage: `Usage: dlcompat plugins [--plugins-dir DIR] [--config FILE | --executor local|docker] [--frameworks a,b] [--json]

Starts every plugin in the plugin directory, asks it to describe itself,
and prints its framework and version, how it is started (the interpreter
of a Python framework, or the image it runs in), the devices it can use,
its models and checks — or why it cannot run here. With --config (or
--executor docker) each framework is started the way that run would
start it: one row per image, inside its container.

Examples:
  dlcompat plugins
  dlcompat plugins --plugins-dir ./bin/plugins --json
  dlcompat plugins --config testdata/configs/local-docker.yaml --frameworks gorgonia
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		dir := fs.String("plugins-dir", defaultPluginsDir(), "directory of dlcompat-plugin-* binaries (or set $"+EnvPluginsDir+")")
		asJSON := fs.Bool("json", false, "print as JSON")
		kerasBackends := fs.String("keras-backends", os.Getenv(EnvKerasBackends), "describe the keras plugin once per Keras backend (e.g. tensorflow,jax; or set $"+EnvKerasBackends+")")
		configPath := fs.String("config", "", "describe the plugins as this configuration file runs them (executor, images)")
		executor := fs.String("executor", "local", "how plugins start: local or docker")
		pull := fs.String("pull", "never", "docker executor: never, or if-missing to pull a missing image")
		frameworks := fs.String("frameworks", "", "comma-separated frameworks to describe (default: every plugin found)")
		refDir := fs.String("reference", defaultReferenceDir(), "directory of the reference tensors (mounted into containers)")
		if pos, err := parse(fs, args); err != nil {
			return err
		} else if err := noArgs(fs, pos); err != nil {
			return err
		}
		if err := lists(fs, "frameworks"); err != nil {
			return err
		}
		cfgFile, err := applyConfig(fs, *configPath)
		if err != nil {
			return err
		}
		if *executor != "local" && *executor != "docker" {
			return usagef("--executor: unknown executor %q (valid: local, docker)", *executor)
		}
		specs, err := discover(*dir)
		if err != nil {
			return err
		}
		dockerEx, err := newDocker(*pull, *refDir)
		if err != nil {
			return err
		}
		if names := splitList(*frameworks); len(names) > 0 {
			var valid []string
			keep := map[string]bool{}
			for _, sp := range specs {
				valid = append(valid, sp.Name)
			}
			for _, n := range names {
				if !pluginapi.Has(valid, n) {
					return usagef("--frameworks: unknown framework %q (valid: %s)", n, strings.Join(valid, ", "))
				}
				keep[n] = true
			}
			var kept []exec.Spec
			for _, sp := range specs {
				if keep[sp.Name] {
					kept = append(kept, sp)
				}
			}
			specs = kept
			cfgFile = cfgFile.Select(names)
		}
		if specs, err = config.Specs(cfgFile, specs, *dir, *executor, map[string]exec.Executor{"local": exec.Local{}, "docker": dockerEx}); err != nil {
			return usageError{err}
		}
		if specs, _, err = expandKerasBackends(specs, nil, splitList(*kerasBackends)); err != nil {
			return err
		}
		opened := false
		defer func() {
			if opened {
				dockerEx.Close()
			}
		}()
		type row struct {
			Plugin   string                      `json:"plugin"`
			Path     string                      `json:"path"`
			Executor string                      `json:"executor"`
			Image    string                      `json:"image,omitempty"`
			Protocol int                         `json:"protocol,omitempty"`
			Describe *pluginapi.DescribeResponse `json:"describe,omitempty"`
			Error    string                      `json:"error,omitempty"`
		}
		var rows []row
		for _, s := range specs {
			ex := s.Executor
			if ex == nil { // the run's default executor
				ex = exec.Local{}
				if *executor == "docker" {
					ex = dockerEx
				}
			}
			r := row{Plugin: s.Name, Path: s.Path, Executor: ex.Name(), Image: s.Image}
			if ex.Name() == "local" {
				if err := checkInterpreters([]exec.Spec{s}, nil); err != nil {
					r.Error = err.Error()
					rows = append(rows, r)
					continue
				}
			}
			if ex == exec.Executor(dockerEx) {
				if !opened {
					if err := dockerEx.Open(ctx, "plugins-"+strconv.FormatInt(time.Now().UnixNano(), 36)); err != nil {
						return infraError{fmt.Errorf("docker executor: %v", err)}
					}
					opened = true
				}
				if _, err := dockerEx.PrepareImage(ctx, s.Image); err != nil {
					r.Error = err.Error()
					rows = append(rows, r)
					continue
				}
			}
			inst, err := pluginhost.Start(ctx, ex, s)
			if err != nil {
				r.Error = err.Error()
			} else {
				d := inst.Desc
				r.Describe, r.Protocol = &d, inst.Version
				inst.Close()
			}
			rows = append(rows, r)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rows)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PLUGIN\tFRAMEWORK\tVERSION\tEXECUTOR\tIMAGE / INTERPRETER\tDEVICES\tMODELS\tCHECKS\tSTATUS")
		for _, r := range rows {
			if r.Describe == nil {
				fmt.Fprintf(tw, "%s\t-\t-\t%s\t-\t-\t-\t-\tcannot start: %s\n", r.Plugin, r.Executor, pluginapi.FirstLine(r.Error))
				continue
			}
			d := r.Describe
			var devs []string
			for _, dv := range d.Devices {
				devs = append(devs, dv.ID)
			}
			status := "ready"
			if d.Unavailable != "" {
				status = "unavailable: " + d.Unavailable
			}
			interp := d.Interpreter
			if interp == "" {
				interp = "-" // a native plugin
			}
			if r.Image != "" {
				interp = r.Image + " " + strings.TrimPrefix(interp, "-")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Plugin, d.Framework, d.Version, r.Executor, interp,
				strings.Join(devs, ","), strings.Join(d.Capabilities.Models, ","), strings.Join(d.Capabilities.Checks, ","), status)
		}
		return tw.Flush()
	},
}

var runCmd = command{
	name:  "run",
	short: "run the reference models on every plugin × device and build the matrix",
	usage: `Usage: dlcompat run [flags]

Plans every cell (framework × version × device × model × check), runs
them, judges each against the float64 oracle, and writes, under -o:
  journal.jsonl  a line per finished cell, as it finishes (for --resume)
  run.json       the complete results document, written atomically
  run.md         the matrix in Markdown
Progress goes to stderr: on a terminal, a bar per device with the cell
running on it and an estimate of the time left; otherwise a line per
finished cell; nothing with --quiet. The matrix goes to stdout.

Fan-out: --shard k/n runs the k-th of n parts of the planned cells, split
by device (device i, in 'dlcompat devices' order, goes to shard i mod n +
1, so no GPU is shared), or by (device, framework) pairs when there are
fewer devices than shards, for identical machines such as one-GPU pods.
Every shard must see the same plugins and devices. 'dlcompat merge' joins
the shards' run.json files.

Devices: --devices all tests the CPU and every GPU that NVML reports;
--devices gpu:0,gpu:3 picks GPUs by NVML index (see 'dlcompat devices').

Python frameworks (pytorch, tensorflow, keras, caffe): under the local
executor each plugin starts the interpreter that $DLCOMPAT_PYTHON_<FRAMEWORK>
names (a path, or a command line), else the first default interpreter that
has the framework ('dlcompat plugins' shows which); one that is not
installed is a skip that says how to install it. --keras-backends
tensorflow,jax runs Keras once per backend, each a row of its own.

Executors: --executor docker runs each plugin in a container of its
framework's image, one per (image, device), each GPU requested by UUID;
the images come from --config (frameworks.NAME.images; each image a row
of its own), else the local ones that scripts/build-images.sh builds.
--pull never (the default) refuses a missing image instead of pulling it.

Checks: forward (logits, and the first diverging layer when wrong),
backward (every parameter's gradient), determinism (two runs, bitwise),
perf (latency at batch 1, throughput, training step; never fails on speed).

A finished run in -o is kept: a new run there is refused (exit 2) unless
--force replaces it; an unfinished one is completed with --resume (or
replaced with --force).

Examples:
  dlcompat run
  dlcompat run --frameworks gorgonia --models cnn --checks forward,backward -o results/cnn
  dlcompat run --devices cpu --perf-iterations 50 -o results/nightly
  dlcompat run --resume -o results/nightly      # finish it if killed, as it was started
  dlcompat run --config testdata/configs/local-docker.yaml --frameworks gorgonia -o results/docker
  dlcompat run --executor docker --frameworks gorgonia --pull never -o results/docker-flags
`,
	run: runRun,
}

func runRun(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	pluginsDir := fs.String("plugins-dir", defaultPluginsDir(), "directory of dlcompat-plugin-* binaries (or set $"+EnvPluginsDir+")")
	frameworks := fs.String("frameworks", "", "comma-separated frameworks to run (default: every plugin found)")
	models := fs.String("models", strings.Join(reference.ModelNames(), ","), "comma-separated models: "+strings.Join(reference.ModelNames(), ", "))
	checks := fs.String("checks", strings.Join(pluginapi.AllChecks, ","), "comma-separated checks: "+strings.Join(pluginapi.AllChecks, ", "))
	devices := fs.String("devices", "all", "devices: all, cpu, gpu (every GPU), or a list such as cpu,gpu:0")
	executor := fs.String("executor", "local", "how plugins start: local (subprocesses), or docker (a container per framework image and device)")
	configPath := fs.String("config", "", "matrix configuration file (YAML): frameworks, images, executor, devices, models, checks, timeouts; flags win over it")
	pull := fs.String("pull", string(docker.PullNever), "docker: whether a missing image may be pulled: never, if-missing")
	precision := fs.String("precision", pluginapi.PrecisionFP32, "precision mode (tolerance table row)")
	timeout := fs.Duration("timeout", 0, "limit per check (default: forward/backward 5m, determinism 10m, perf 30m)")
	warmup := fs.Int("perf-warmup", 5, "perf: untimed iterations before timing")
	iters := fs.Int("perf-iterations", 20, "perf: timed iterations per series")
	thr := fs.String("throughput-batches", "32,128", "perf: batch sizes for throughput")
	train := fs.Int("train-batch", 32, "perf: batch size of the training step")
	refDir := fs.String("reference", defaultReferenceDir(), "directory of the reference tensors and their MANIFEST")
	out := fs.String("o", "results", "output directory")
	resume := fs.Bool("resume", false, "complete the unfinished run journalled in -o, without redoing finished cells; flags left out are taken from its journal (a --config must be given again)")
	force := fs.Bool("force", false, "replace the run already in -o, finished or not (without it, a finished run is kept and the new one refused)")
	quiet := fs.Bool("quiet", false, "no progress: neither bars (on a terminal) nor a line per cell")
	shard := fs.String("shard", "", "run only part k of n of the planned cells (k/n, 1 ≤ k ≤ n), split by device; see 'dlcompat merge'")
	kerasBackends := fs.String("keras-backends", os.Getenv(EnvKerasBackends), "run the keras plugin once per Keras backend, each a row (e.g. tensorflow,jax; or set $"+EnvKerasBackends+"; default: $KERAS_BACKEND, else tensorflow)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if err := noArgs(fs, pos); err != nil {
		return err
	}
	if err := lists(fs, "frameworks", "models", "checks", "devices", "throughput-batches"); err != nil {
		return err
	}
	if *resume && *force {
		return usagef("--resume completes the run in -o and --force replaces it: give one of them")
	}
	userFrameworks := false
	fs.Visit(func(f *flag.Flag) { userFrameworks = userFrameworks || f.Name == "frameworks" })
	if *resume {
		if err := resumeDefaults(fs, *out); err != nil {
			return err
		}
	}
	cfgFile, err := applyConfig(fs, *configPath)
	if err != nil {
		return err
	}
	dockerEx, err := newDocker(*pull, *refDir)
	if err != nil {
		return err
	}
	o := runner.Options{Frameworks: splitList(*frameworks), Checks: splitList(*checks), Precision: *precision,
		ReferenceDir: *refDir, OutDir: *out, Resume: *resume, Replace: *force, Version: Version}
	for _, m := range splitList(*models) {
		mm, err := reference.ParseModel(m)
		if err != nil {
			return usagef("--models: %v", err)
		}
		o.Models = append(o.Models, mm)
	}
	for _, c := range o.Checks {
		if !pluginapi.Has(pluginapi.AllChecks, c) {
			return usagef("--checks: unknown check %q (valid: %s)", c, strings.Join(pluginapi.AllChecks, ", "))
		}
	}
	switch *executor {
	case "local":
		o.Executor = exec.Local{}
	case "docker":
		o.Executor = dockerEx
	default:
		return usagef("--executor: unknown executor %q (valid: local, docker)", *executor)
	}
	if *timeout < 0 {
		return usagef("--timeout: %s is negative", *timeout)
	}
	if *timeout > 0 {
		o.Timeouts = map[string]time.Duration{}
		for _, c := range pluginapi.AllChecks {
			o.Timeouts[c] = *timeout
		}
	}
	if *timeout == 0 && cfgFile != nil && len(cfgFile.Timeouts) > 0 {
		o.Timeouts = cfgFile.Timeouts
	}
	if *iters < 1 || *warmup < 0 || *train < 1 {
		return usagef("--perf-iterations must be ≥ 1, --perf-warmup ≥ 0, --train-batch ≥ 1")
	}
	o.Perf = pluginapi.PerfOptions{Warmup: *warmup, Iterations: *iters, TrainBatch: *train, LatencyBatch: 1}
	if *warmup == 0 {
		o.Perf.Warmup = -1 // explicit zero; see below
	}
	for _, b := range splitList(*thr) {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 {
			return usagef("--throughput-batches: %q is not a positive batch size", b)
		}
		o.Perf.ThroughputBatches = append(o.Perf.ThroughputBatches, n)
	}
	if o.Perf.Warmup < 0 {
		o.Perf.Warmup = 0
	}

	inv := device.DetectSystem(ctx)
	sel, err := inv.Select(*devices)
	if err != nil {
		if cfgFile != nil && cfgFile.Devices == *devices {
			return usageError{cfgFile.Errorf("devices", "%v", err)}
		}
		return usagef("--devices: %v", err)
	}
	for _, d := range sel {
		o.Devices = append(o.Devices, d.Matrix())
	}
	o.DeviceNotes = inv.Notes

	specs, err := discover(*pluginsDir)
	if err != nil {
		return err
	}
	if specs, err = config.Specs(cfgFile.Select(o.Frameworks), specs, *pluginsDir, *executor, map[string]exec.Executor{"local": exec.Local{}, "docker": dockerEx}); err != nil {
		return usageError{err}
	}
	if specs, o.Frameworks, err = expandKerasBackends(specs, o.Frameworks, splitList(*kerasBackends)); err != nil {
		return err
	}
	if *executor == "local" {
		if err := checkInterpreters(specs, o.Frameworks); err != nil {
			return err
		}
	}
	o.Plugins = specs
	if *shard != "" {
		if o.Shard, err = matrix.ParseShard(*shard); err != nil {
			return usagef("--shard: %v", err)
		}
	}
	var stopProgress func()
	o.Progress, o.Events, stopProgress = progressFor(e.stderr, *quiet)
	run, err := runner.Run(ctx, o)
	stopProgress()
	switch {
	case errors.Is(err, runner.ErrUsage):
		return usageError{err}
	case err != nil && run == nil:
		return infraError{err}
	}
	if run != nil {
		if werr := matrix.WriteFileAtomic(filepath.Join(*out, "run.md"), func(w io.Writer) error { return matrix.WriteMarkdown(w, run) }); werr != nil {
			return infraError{werr}
		}
		if rerr := matrix.WriteText(e.stdout, run); rerr != nil {
			return rerr
		}
		fmt.Fprintf(e.stdout, "\nresults: %s, %s\n", filepath.Join(*out, runner.RunFile), filepath.Join(*out, "run.md"))
	}
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// Interrupted: what finished is in the journal and run.json, the
		// rest is "unknown" (exit 1, as for any cell that did not pass).
		fmt.Fprintf(e.stderr, "dlcompat: interrupted; %d cells not run; finish with: dlcompat run --resume -o %s (and the same --config, if any)\n", run.Counts()[matrix.Unknown], *out)
		return errCellsFailed
	}
	if err != nil {
		return infraError{err}
	}
	requested := o.Frameworks
	if !userFrameworks {
		requested = nil // a resume's list came from its journal, not the user
	}
	if err := requestedButUnavailable(run, requested); err != nil {
		return err
	}
	if run.Failed() {
		return errCellsFailed
	}
	return nil
}

// requestedButUnavailable is an infrastructure error when a framework the
// command line named cannot run here (every one of its cells is a skip:
// not installed, no device it can use), which would otherwise let a CI
// job that asked for it go green having tested nothing. It takes
// precedence over failed cells (exit 3, not 1), and says how many there
// were. A framework found by discovery alone may be missing quietly.
func requestedButUnavailable(run *matrix.Run, requested []string) error {
	asked := map[string]bool{}
	for _, r := range requested {
		base, _, _ := strings.Cut(r, "+") // keras+jax is the keras plugin on jax
		asked[base] = true
	}
	type tally struct {
		cells, skips int
		reason       string
	}
	byName := map[string]*tally{}
	var order []string
	for _, c := range run.Cells {
		if !asked[c.Framework] {
			continue
		}
		t := byName[c.Framework]
		if t == nil {
			t = &tally{}
			byName[c.Framework] = t
			order = append(order, c.Framework)
		}
		t.cells++
		if c.Status == matrix.Skip {
			t.skips++
			if t.reason == "" {
				t.reason = c.Reason
			}
		}
	}
	var missing []string
	for _, name := range order {
		if t := byName[name]; t.skips == t.cells {
			missing = append(missing, name+": "+t.reason)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := "asked for with --frameworks but cannot run here (every one of its cells is skip in the results):\n  " + strings.Join(missing, "\n  ")
	if n := run.Counts(); run.Failed() {
		msg += fmt.Sprintf("\nbesides, %s did not pass (see the results)", matrix.Plural(len(run.Cells)-n[matrix.Pass]-n[matrix.Skip], "cell"))
	}
	return infraError{errors.New(msg)}
}

// discover lists the plugins in dir; a directory that is not there is
// bad usage (exit 2), an empty one an infrastructure problem (exit 3).
func discover(dir string) ([]exec.Spec, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usagef("--plugins-dir: %s is not a directory of plugins; build them with make build (into bin/plugins), or set $%s", dir, EnvPluginsDir)
	}
	specs, err := pluginhost.Discover(dir)
	if err != nil {
		return nil, infraError{err}
	}
	return specs, nil
}

var reportCmd = command{
	name:  "report",
	short: "render a results file as text, Markdown, HTML, JSON or JUnit XML",
	usage: `Usage: dlcompat report RUN.json [--format text|md|html|json|junit] [-o FILE]

Renders a results document written by 'dlcompat run' or 'dlcompat merge'.
A document of another schema version is refused (exit 2) rather than
misread.

  text   the matrix for a terminal
  md     GitHub-flavoured Markdown, fit for a pull-request comment
  html   one self-contained page (inline CSS and SVG charts, no script,
         no network): status matrix with the measured errors, performance
         table and charts per model, devices, frameworks, per-cell details
  json   the results document itself
  junit  JUnit XML for CI test reports: a testcase per cell

Examples:
  dlcompat report results/run.json
  dlcompat report results/run.json --format md -o matrix.md
  dlcompat report results/run.json --format html -o report.html
  dlcompat report results/run.json --format junit -o junit.xml
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		format := fs.String("format", "text", "output format: "+strings.Join(matrix.Formats, ", "))
		out := fs.String("o", "", "write to FILE (atomically) instead of stdout")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("report takes one results file, got %d arguments", len(pos))
		}
		if !pluginapi.Has(append(matrix.Formats, "markdown"), *format) {
			return usagef("--format: unknown format %q (valid: %s)", *format, strings.Join(matrix.Formats, ", "))
		}
		if err := checkOutFile(*out, "report."+*format); err != nil {
			return err
		}
		run, err := matrix.Read(pos[0])
		if err != nil {
			return usageError{err}
		}
		if *out == "" {
			return matrix.Render(e.stdout, run, *format)
		}
		return matrix.WriteFileAtomic(*out, func(w io.Writer) error { return matrix.Render(w, run, *format) })
	},
}

var genReferenceCmd = command{
	name:  "gen-reference",
	short: "regenerate the reference tensors and golden values (testdata/reference)",
	usage: `Usage: dlcompat gen-reference [-o DIR] [--check]

Writes the reference weights, inputs and labels (SPEC §2) and the oracle's
float64 golden outputs, activations and gradients, with a SHA-256 MANIFEST.
The output is deterministic: regenerating gives identical bytes.
--check compares instead of writing, and exits 1 on any difference.

Examples:
  dlcompat gen-reference --check
  dlcompat gen-reference -o testdata/reference
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		dir := fs.String("o", filepath.Join("testdata", "reference"), "output directory (with --check: the directory the run would use, testdata/reference here or beside the binary)")
		check := fs.Bool("check", false, "compare with the files in -o instead of writing")
		if pos, err := parse(fs, args); err != nil {
			return err
		} else if err := noArgs(fs, pos); err != nil {
			return err
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "o" })
		if *check && !set {
			*dir = defaultReferenceDir()
		}
		if st, err := os.Stat(*dir); *check && (err != nil || !st.IsDir()) {
			return usagef("--check: %s is not a directory of reference tensors; name one with -o", *dir)
		}
		if !*check {
			if err := refdata.Write(*dir); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s\n", *dir)
			return nil
		}
		files, err := refdata.Build()
		if err != nil {
			return err
		}
		bad := 0
		for _, name := range slices.Sorted(maps.Keys(files)) {
			got, err := os.ReadFile(filepath.Join(*dir, name))
			switch {
			case err != nil:
				fmt.Fprintf(e.stdout, "missing: %s\n", filepath.Join(*dir, name))
				bad++
			case string(got) != string(files[name]):
				fmt.Fprintf(e.stdout, "differs: %s\n", filepath.Join(*dir, name))
				bad++
			}
		}
		if bad > 0 {
			fmt.Fprintf(e.stdout, "%d of %d files in %s are not what the generator writes; regenerate with: dlcompat gen-reference -o %s\n", bad, len(files), *dir, *dir)
			return errCellsFailed
		}
		fmt.Fprintf(e.stdout, "%d files identical in %s\n", len(files), *dir)
		return nil
	},
}

var versionCmd = command{
	name:  "version",
	short: "print the dlcompat version and protocol",
	usage: "Usage: dlcompat version\n",
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		if pos, err := parse(fs, args); err != nil {
			return err
		} else if err := noArgs(fs, pos); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "dlcompat %s (plugin protocol %d, results schema %d)\n", Version, pluginapi.ProtocolVersion, matrix.SchemaVersion)
		return nil
	},
}
