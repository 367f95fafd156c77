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

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/dlcompat/dlcompat/core/device"
	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/preflight"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/core/runspec"
	"github.com/dlcompat/dlcompat/core/telemetry"
	amdtelemetry "github.com/dlcompat/dlcompat/core/telemetry/amd"
	"github.com/dlcompat/dlcompat/core/telemetry/nvidia"
	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/render"
)

var devicesCmd = command{
	name:  "devices",
	short: "list the devices dlcompat can test (NVML GPUs, AMD GPUs and the CPU)",
	usage: `Usage: dlcompat devices [--json] [--preflight] [--sysfs DIR]

Lists the CPU, every NVIDIA GPU that NVML reports and every AMD GPU in
the KFD topology of sysfs (rocm:N, no ROCm needed), with what a driver
vendor needs to tell them apart: name, architecture, UUID, memory,
compute capability (an AMD GPU's gfx target), driver and CUDA versions,
VBIOS and InfoROM, power limit, application clocks, ECC and persistence,
and an AMD GPU's PCI identity and link. Without the NVIDIA driver
(libnvidia-ml.so) there is no gpu:N, and a note says why.

With --preflight it also runs the checks 'dlcompat run' makes before its
cells (docs/spec.md §11.2): NVML and the KFD topology load, the PCI bus
has as many GPUs as they do; each GPU's PCIe link, ECC mode and errors,
retired (bad) pages, and an NVIDIA GPU's persistence, row remaps and
MIG. Under --sysfs, the PCI bus and the AMD GPUs are read from that tree.
A bad check is reported, never an error of this command.

Examples:
  dlcompat devices
  dlcompat devices --preflight
  dlcompat devices --json | jq '.devices[].id'
  dlcompat devices --sysfs testdata/sysfs/amd-mi300x
  dlcompat devices --sysfs testdata/sysfs/amd-mi300x --preflight
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		asJSON := fs.Bool("json", false, "print the inventory as JSON")
		withPreflight := fs.Bool("preflight", false, "also run the preflight checks of every GPU")
		sysfs := fs.String("sysfs", "/sys", "the sysfs root AMD GPUs are read under (a recorded tree, such as testdata/sysfs/amd-mi300x)")
		if pos, err := parse(fs, args); err != nil {
			return err
		} else if err := noArgs(fs, pos); err != nil {
			return err
		}
		if _, err := os.Stat(*sysfs); err != nil {
			return usageError{fmt.Errorf("--sysfs %s: %v", *sysfs, err)}
		}
		inv := device.DetectSystemAt(ctx, *sysfs)
		var checks []matrix.PreflightCheck
		if *withPreflight {
			checks = preflightChecks(ctx, *sysfs, inv.Devices)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if *withPreflight {
				return enc.Encode(struct {
					device.Inventory
					Preflight []matrix.PreflightCheck `json:"preflight"`
				}{inv, checks})
			}
			return enc.Encode(inv)
		}
		if err := device.WriteText(e.stdout, inv); err != nil {
			return err
		}
		if !*withPreflight {
			return nil
		}
		fmt.Fprintln(e.stdout, "\nPreflight:")
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tCHECK\tSTATUS\tDETAIL")
		for _, c := range checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Device, c.Name, c.Status, c.Detail)
		}
		return tw.Flush()
	},
}

// preflightChecks runs the preflight of the NVIDIA and the AMD GPUs
// among devices (docs/spec.md §11.2), reading the PCI bus and the AMD
// GPUs under the sysfs root sysRoot.
func preflightChecks(ctx context.Context, sysRoot string, devices []matrix.Device) []matrix.PreflightCheck {
	o := preflight.Options{SysRoot: sysRoot}
	return append(preflight.NVIDIA(ctx, nvml.New(), devices, o), preflight.AMD(ctx, devices, o)...)
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
		b := newFlagLayer(fs, runspec.Default(defaultPluginsDir(), defaultReferenceDir()))
		b.common("describe the plugins as this configuration file runs them (executor, images)")
		asJSON := fs.Bool("json", false, "print as JSON")
		spec, err := b.parse(args)
		if err != nil {
			return err
		}
		x, err := spec.Executors()
		if err != nil {
			return classify(err)
		}
		def, err := x.Default(&spec)
		if err != nil {
			return classify(err)
		}
		found, err := spec.Discover(ctx)
		if err != nil {
			return classify(err)
		}
		specs, err := spec.Plugins(ctx, found, x)
		if err != nil {
			return classify(err)
		}
		type row struct {
			Plugin   string                      `json:"plugin"`
			Path     string                      `json:"path"`
			Executor string                      `json:"executor"`
			Image    string                      `json:"image,omitempty"`
			Protocol int                         `json:"protocol,omitempty"`
			Manifest *pluginapi.Manifest         `json:"manifest,omitempty"`
			Describe *pluginapi.DescribeResponse `json:"describe,omitempty"`
			Error    string                      `json:"error,omitempty"`
		}
		manifests := map[string]*pluginapi.Manifest{}
		for i := range found {
			manifests[found[i].Manifest.Name] = &found[i].Manifest
		}
		// A local spec whose interpreter does not exist is a row that says
		// so; the others start as a run would start them.
		var startable []exec.Spec
		notes := map[int]string{}
		for i, s := range specs {
			if runspec.IsLocal(s, def) {
				if err := runspec.CheckInterpreter(s); err != nil {
					notes[i] = err.Error()
					continue
				}
			}
			startable = append(startable, s)
		}
		described := runner.Describe(ctx, startable, def, "plugins-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		var rows []row
		for i, s := range specs {
			r := row{Plugin: s.Name, Path: s.Path, Executor: executorName(s, def), Image: s.Image, Manifest: manifests[s.Base()]}
			if msg, bad := notes[i]; bad {
				r.Error = msg
			} else {
				d := described[0]
				described = described[1:]
				r.Executor, r.Describe, r.Protocol = d.Executor, d.Desc, d.Protocol
				if d.Err != nil {
					r.Error = d.Err.Error()
				}
			}
			rows = append(rows, r)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rows)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PLUGIN\tFRAMEWORK\tVERSION\tEXECUTOR\tIMAGE / INTERPRETER\tDEVICES\tMODELS\tCHECKS\tPRECISIONS\tVARIANTS\tSTATUS")
		for _, r := range rows {
			if r.Describe == nil {
				fmt.Fprintf(tw, "%s\t-\t-\t%s\t-\t-\t-\t-\t-\t%s\tcannot start: %s\n", r.Plugin, r.Executor, variantsText(r.Manifest), pluginapi.FirstLine(r.Error))
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Plugin, d.Framework, d.Version, r.Executor, interp,
				strings.Join(devs, ","), strings.Join(d.Capabilities.Models, ","), strings.Join(d.Capabilities.Checks, ","),
				strings.Join(d.Capabilities.Precisions, ","), variantsText(r.Manifest), status)
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

Frameworks: every plugin in --plugins-dir, or those --frameworks names
('dlcompat plugins' lists them). Under the local executor a Python-backed
plugin starts the interpreter that $DLCOMPAT_PYTHON_<FRAMEWORK> names (a
path, or a command line), else the first of its default interpreters
that has the framework ('dlcompat plugins' shows which); one that is not
installed is a skip that says how to install it. A plugin with a variant
axis (the VARIANTS column of 'dlcompat plugins') runs once per value that
--variants FRAMEWORK=V1,V2 names, each a row of its own (FRAMEWORK+V1).

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
  dlcompat run --frameworks gorgonia --models lstm --checks forward,perf --perf-warmup 0 -o results/no-warmup
  dlcompat run --devices cpu --perf-iterations 50 -o results/nightly
  dlcompat run --resume -o results/nightly      # finish it if killed, as it was started
  dlcompat run --config testdata/configs/local-docker.yaml --frameworks gorgonia -o results/docker
  dlcompat run --executor docker --frameworks gorgonia --pull never -o results/docker-flags
`,
	run: runRun,
}

func runRun(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	b := newFlagLayer(fs, runspec.Default(defaultPluginsDir(), defaultReferenceDir()))
	b.runFlags()
	quiet := fs.Bool("quiet", false, "no progress: neither bars (on a terminal) nor a line per cell")
	spec, err := b.parse(args)
	if err != nil {
		return err
	}
	inv := device.DetectSystem(ctx)
	resolved, err := spec.Resolve(ctx, inv)
	if err != nil {
		return classify(err)
	}
	events, stopProgress := progressFor(e.stderr, *quiet)
	opts := spec.Options(resolved, inv.Notes, Version, events)
	opts.Command = reproduceBase(fs)
	opts.Preflight = func(ctx context.Context, devices []matrix.Device) []matrix.PreflightCheck {
		return preflightChecks(ctx, amd.SysRoot, devices)
	}
	var samplers []telemetry.Sampler
	if hasGPU(resolved.Devices) {
		// NVML stays initialised for the run, so each perf call on a GPU
		// is sampled (docs/spec.md §11); without it the run goes on, and
		// says so.
		if sampler, serr := nvidia.Open(nvml.New()); serr != nil {
			opts.DeviceNotes = append(opts.DeviceNotes, "no telemetry: "+serr.Error())
		} else {
			samplers = append(samplers, sampler)
		}
	}
	if hasKind(resolved.Devices, matrix.KindROCm) {
		// AMD GPUs are sampled from sysfs (docs/spec.md §12).
		samplers = append(samplers, amdtelemetry.New(amd.SysRoot))
	}
	if len(samplers) > 0 {
		sampler := telemetry.Join(samplers...)
		defer sampler.Close()
		opts.Telemetry = sampler
	}
	run, err := runner.Run(ctx, opts)
	stopProgress()
	switch {
	case errors.Is(err, runner.ErrUsage):
		return usageError{err}
	case err != nil && run == nil:
		return infraError{err}
	}
	// The terminal gets the matrix first: on a full disk it is the one
	// copy the user still sees.
	if rerr := render.WriteText(e.stdout, run); rerr != nil {
		return rerr
	}
	var written []string
	if !errors.Is(err, runner.ErrResultsNotWritten) {
		written = append(written, filepath.Join(spec.OutDir, runner.RunFile))
	}
	md := filepath.Join(spec.OutDir, "run.md")
	mdErr := matrix.WriteFileAtomic(md, func(w io.Writer) error { return render.WriteMarkdown(w, run) })
	if mdErr == nil {
		written = append(written, md)
	}
	if len(written) > 0 {
		fmt.Fprintf(e.stdout, "\nresults: %s\n", strings.Join(written, ", "))
	}
	if mdErr != nil {
		return infraError{fmt.Errorf("%s not written: %v", md, errors.Join(err, mdErr))}
	}
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// Interrupted: what finished is in the journal and run.json, the
		// rest is "unknown" (exit 1, as for any cell that did not pass).
		fmt.Fprintf(e.stderr, "dlcompat: interrupted; %d cells not run; finish with: dlcompat run --resume -o %s (and the same --config, if any)\n", run.Counts()[matrix.Unknown], spec.OutDir)
		return errCellsFailed
	}
	if err != nil {
		return infraError{err}
	}
	var requested []string // a resume's list came from its journal, not the user
	if spec.SetBy(runspec.FieldFrameworks, "flag") {
		for _, sp := range resolved.Plugins {
			requested = append(requested, sp.Base())
		}
	}
	if err := requestedButUnavailable(run, requested); err != nil {
		return err
	}
	if run.Failed() {
		return errCellsFailed
	}
	return nil
}

// executorName is the name of the executor that starts s.
func executorName(s exec.Spec, def exec.Executor) string {
	if s.Executor != nil {
		return s.Executor.Name()
	}
	return def.Name()
}

// variantsText is a manifest's variant axis for the plugins table.
func variantsText(m *pluginapi.Manifest) string {
	if m == nil || m.Variant == nil {
		return "-"
	}
	return m.Variant.Name + ": " + strings.Join(m.Variant.Values, ",")
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
		asked[r] = true
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
	// A row with no cell at all: a device characteriser (no model) in a
	// run without a device check (docs/spec.md §10).
	for _, f := range run.Frameworks {
		if asked[f.Name] && byName[f.Name] == nil {
			missing = append(missing, f.Name+": it has no cell in this run: it runs no model, only the device checks ("+strings.Join(pluginapi.DeviceChecks, ", ")+"); add them with --checks")
			byName[f.Name] = &tally{}
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

var reportCmd = command{
	name:  "report",
	short: "render a results file as text, Markdown, HTML, JSON or JUnit XML",
	usage: "Usage: dlcompat report RUN.json [--format " + strings.Join(render.RunFormats(), "|") + `] [-o FILE]

Renders a results document written by 'dlcompat run' or 'dlcompat merge'.
A document of another schema version is refused (exit 2) rather than
misread.

` + reportFormatHelp() + `
Examples:
  dlcompat report results/run.json
  dlcompat report results/run.json --format md -o matrix.md
  dlcompat report results/run.json --format html -o report.html
  dlcompat report results/run.json --format junit -o junit.xml
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		format := fs.String("format", "text", "output format: "+strings.Join(render.RunFormats(), ", "))
		out := fs.String("o", "", "write to FILE (atomically) instead of stdout")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("report takes one results file, got %d arguments", len(pos))
		}
		write, err := render.ForRun(*format)
		if err != nil {
			return usagef("--format: %v", err)
		}
		if err := checkOutFile(*out, "report."+*format); err != nil {
			return err
		}
		run, err := matrix.Read(pos[0])
		if err != nil {
			return usageError{err}
		}
		if *out == "" {
			return write(e.stdout, run)
		}
		return matrix.WriteFileAtomic(*out, func(w io.Writer) error { return write(w, run) })
	},
}

// reportFormatHelp lists report's formats, from the registry, one a
// paragraph: "  md     GitHub-flavoured Markdown, …".
func reportFormatHelp() string {
	var b strings.Builder
	for _, f := range render.Formats() {
		if f.Run != nil {
			fmt.Fprintf(&b, "  %-6s %s\n", f.Name, strings.ReplaceAll(f.About, "\n", "\n"+strings.Repeat(" ", 9)))
		}
	}
	return b.String()
}

var genReferenceCmd = command{
	name:  "gen-reference",
	short: "regenerate the reference tensors and golden values (testdata/reference)",
	usage: `Usage: dlcompat gen-reference [-o DIR] [--check]

Writes the reference weights, inputs and labels (docs/spec.md §2.4) and the oracle's
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

func hasGPU(ds []matrix.Device) bool { return hasKind(ds, matrix.KindGPU) }

func hasKind(ds []matrix.Device, kind string) bool {
	for _, d := range ds {
		if d.Kind == kind {
			return true
		}
	}
	return false
}

// reproduceBase is "dlcompat run" and the flags the user set that define
// the run besides its selection (--config, --executor, --plugins-dir,
// the perf options…): each cell's reproduce line adds its own selection.
func reproduceBase(fs *flag.FlagSet) string {
	skip := map[string]bool{"frameworks": true, "devices": true, "models": true, "checks": true, "precisions": true,
		"o": true, "resume": true, "force": true, "quiet": true, "shard": true}
	parts := []string{"dlcompat run"}
	fs.Visit(func(f *flag.Flag) {
		if skip[f.Name] {
			return
		}
		v := f.Value.String()
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() && v == "true" {
			parts = append(parts, "--"+f.Name)
			return
		}
		parts = append(parts, "--"+f.Name, runner.ShellQuote(v))
	})
	return strings.Join(parts, " ")
}
