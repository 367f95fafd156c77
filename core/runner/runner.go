package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/matrix"
)

// Errors that decide the exit code.
var (
	// ErrUsage: the options or the input files are wrong (exit 2).
	ErrUsage = errors.New("bad usage")
	// ErrInfra: nothing could run (exit 3).
	ErrInfra = errors.New("infrastructure failure")
	// ErrResultsNotWritten: the run ran, but its document could not be
	// written (a full disk): the run returned is complete, the file is not.
	ErrResultsNotWritten = errors.New("the results document was not written")
)

// Options configure a run. Zero values take the documented defaults.
type Options struct {
	Executor exec.Executor // default exec.Local{}
	Plugins  []exec.Spec   // discovered plugins
	// Frameworks filters Plugins by name; empty means all.
	Frameworks []string
	Models     []reference.Model // default: all
	Checks     []string          // default: every check of core/checks
	// Devices are the host devices to test, already selected.
	Devices     []matrix.Device
	DeviceNotes []string
	// Precisions are the modes to run, each a cell; default fp32.
	Precisions []string
	// Timeouts per check; a check missing here has its default from
	// core/checks.
	Timeouts map[string]time.Duration
	// Perf is sent to the plugins as it is; nil means
	// pluginapi.DefaultPerfOptions().
	Perf *pluginapi.PerfOptions
	// ReferenceDir holds testdata/reference (verified against its MANIFEST).
	ReferenceDir string
	// OutDir receives journal.jsonl, run.json and run.md.
	OutDir string
	Resume bool
	// Replace lets a new run overwrite the run in OutDir, finished or not
	// (without it, a finished one is kept and an unfinished one is for
	// Resume).
	Replace bool
	// Events, when set, is called as the run goes (see Event), for a
	// progress display.
	Events func(Event)
	// Shard, when N > 1, runs only the K-th of N deterministic parts of
	// the planned cells (see shardPlan); the zero value runs them all.
	Shard   matrix.Shard
	Version string
	// Telemetry, when set, samples each GPU around its perf cells
	// (docs/spec.md §11); TelemetryOptions tune it (zero fields take
	// telemetry.DefaultOptions).
	Telemetry        telemetry.Sampler
	TelemetryOptions telemetry.Options
	// Preflight, when set, checks the devices before any cell runs
	// (core/preflight); its results go into the run.
	Preflight func(ctx context.Context, devices []matrix.Device) []matrix.PreflightCheck
	// Command is the start of each cell's reproduce line: the command
	// and the flags that define the run besides its selection
	// ("dlcompat run --config gpu.yaml"); "" is "dlcompat run".
	Command string
}

// File names inside OutDir.
const (
	JournalFile = "journal.jsonl"
	RunFile     = "run.json"
)

func (o *Options) defaults() {
	if o.Executor == nil {
		o.Executor = exec.Local{}
	}
	if len(o.Models) == 0 {
		o.Models = reference.Models
	}
	if len(o.Checks) == 0 {
		o.Checks = checks.Defaults()
	}
	if len(o.Precisions) == 0 {
		o.Precisions = []string{pluginapi.PrecisionFP32}
	}
	if o.Perf == nil {
		p := pluginapi.DefaultPerfOptions()
		o.Perf = &p
	}
	def := telemetry.DefaultOptions()
	if o.TelemetryOptions.Interval <= 0 {
		o.TelemetryOptions.Interval = def.Interval
	}
	if o.TelemetryOptions.Baseline <= 0 {
		o.TelemetryOptions.Baseline = def.Baseline
	}
	if o.Command == "" {
		o.Command = "dlcompat run"
	}
}

func (o *Options) timeout(check string) time.Duration {
	if d, ok := o.Timeouts[check]; ok && d > 0 {
		return d
	}
	c, _ := checks.Lookup(check)
	return c.Timeout
}

// ConfigDoc is the part of the options that defines what was measured;
// its hash ties a journal to the run that may resume it, and the command
// line reads it back (JournalConfig) to resume a run as it was started.
type ConfigDoc struct {
	Executor string   `json:"executor"`
	Plugins  []string `json:"plugins"`
	// Images are the plugins' images (name@image), when any runs in one:
	// a resume with other images would measure something else.
	Images []string `json:"images,omitempty"`
	// Variants are the variant values run per framework (name →
	// values), when any framework ran as variants.
	Variants map[string][]string `json:"variants,omitempty"`
	// ExecutorSettings are the settings of the executors the plugins ran
	// under (exec.Recorder), by executor: a container's limits.
	ExecutorSettings map[string]any    `json:"executor_settings,omitempty"`
	Models           []reference.Model `json:"models"`
	Checks           []string          `json:"checks"`
	Devices          []string          `json:"devices"`
	// Precision is the precisions run, comma-separated ("fp32" alone
	// keeps the documents of single-mode runs as they always were).
	Precision string                `json:"precision"`
	Perf      pluginapi.PerfOptions `json:"perf"`
	Timeouts  map[string]string     `json:"timeouts"`
	Reference string                `json:"reference_manifest_sha256"`
}

// Run plans and runs the matrix, writing OutDir/journal.jsonl as cells
// finish and OutDir/run.json (atomically) at the end. The returned run is
// complete even when err is nil and some cells failed; err is for usage
// and infrastructure problems.
func Run(ctx context.Context, o Options) (*matrix.Run, error) {
	sessionStart := time.Now()
	o.defaults()
	tols := map[string]judge.Tolerances{}
	for _, p := range o.Precisions {
		t, err := judge.ForPrecision(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		tols[p] = t
	}
	o.Precisions = runOrder(o.Precisions)
	table := map[string]checks.Check{}
	for _, name := range o.Checks {
		c, ok := checks.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("%w: %v", ErrUsage, checks.Validate(name))
		}
		table[name] = c
	}
	specs, err := selectPlugins(o.Plugins, o.Frameworks)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[specKey(s)] {
			return nil, fmt.Errorf("%w: %s is listed twice: each plugin, image and variant is one row", ErrUsage, specKey(s))
		}
		seen[specKey(s)] = true
	}
	if o.Shard.N > 0 && (o.Shard.K < 1 || o.Shard.K > o.Shard.N) {
		return nil, fmt.Errorf("%w: shard %d/%d: want 1 ≤ k ≤ n", ErrUsage, o.Shard.K, o.Shard.N)
	}
	assigned, shardNote := shardPlan(o.Devices, specs, o.Shard)
	golden := map[reference.Model]*refdata.Golden{}
	for _, m := range o.Models {
		g, err := refdata.Load(o.ReferenceDir, m)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		golden[m] = g
	}
	manifest, _ := os.ReadFile(filepath.Join(o.ReferenceDir, refdata.ManifestName))
	cfg := ConfigDoc{Executor: o.Executor.Name(), Models: o.Models, Checks: o.Checks, Precision: strings.Join(o.Precisions, ","),
		Perf: *o.Perf, Variants: variants(specs), Timeouts: map[string]string{}, Reference: sha(manifest)}
	for _, s := range specs {
		cfg.Plugins = append(cfg.Plugins, s.Name)
		if s.Image != "" {
			cfg.Images = append(cfg.Images, specKey(s))
		}
		ex := s.Executor
		if ex == nil {
			ex = o.Executor
		}
		if rec, ok := ex.(exec.Recorder); ok {
			if cfg.ExecutorSettings == nil {
				cfg.ExecutorSettings = map[string]any{}
			}
			cfg.ExecutorSettings[ex.Name()] = rec.Settings()
		}
	}
	for _, d := range o.Devices {
		cfg.Devices = append(cfg.Devices, d.ID)
	}
	for _, c := range o.Checks {
		cfg.Timeouts[c] = o.timeout(c).String()
	}
	cfgJSON, _ := json.Marshal(cfg)

	if o.Resume {
		if _, err := os.Stat(filepath.Join(o.OutDir, JournalFile)); err != nil {
			return nil, fmt.Errorf("%w: --resume: no run to resume in %s (it has no %s); start one without --resume", ErrUsage, o.OutDir, JournalFile)
		}
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: output directory: %v", ErrUsage, err)
	}
	lock, err := lockOutDir(o.OutDir)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	journalPath := filepath.Join(o.OutDir, JournalFile)
	// A shard's document lists only the devices it ran on, so that merging
	// shards from several machines keeps each machine's devices apart.
	oj := o
	if o.Shard.N > 1 {
		oj.Devices = nil
		for _, d := range o.Devices {
			for _, devs := range assigned {
				if hasMatrixDevice(devs, d.ID) {
					oj.Devices = append(oj.Devices, d)
					break
				}
			}
		}
	}
	run, done, journal, err := openJournal(journalPath, oj, cfgJSON, shardNote)
	if err != nil {
		return nil, err
	}
	defer journal.Close()
	earlier := 0.0 // the time earlier sessions of a resumed run spent
	if o.Resume {
		if prev, err := matrix.Read(filepath.Join(o.OutDir, RunFile)); err == nil && prev.RunID == run.RunID {
			earlier = prev.ElapsedSeconds
			if earlier == 0 && !prev.Finished.IsZero() {
				earlier = prev.Finished.Sub(prev.Started).Seconds()
			}
		}
	}

	r := &runState{o: o, tols: tols, golden: golden, journal: journal, done: done, run: run, checks: table}
	r.countShared(specs)
	defer r.closeExecutors()
	r.preflight(ctx, specs, oj.Devices)
	plan := map[string]map[string]int{}
	for _, spec := range specs {
		for _, d := range assigned[specKey(spec)] {
			if plan[d.ID] == nil {
				plan[d.ID] = map[string]int{}
			}
			for _, c := range o.Checks {
				if checks.IsDevice(c) {
					plan[d.ID][c]++ // one cell per row and device
					continue
				}
				plan[d.ID][c] += len(o.Models) * len(o.Precisions)
			}
		}
	}
	r.emit(Event{Kind: EventPlan, Plan: plan})
	started := 0
	var startErrs []string
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			break
		}
		if len(assigned[specKey(spec)]) == 0 {
			continue // none of its cells is in this shard
		}
		ok, err := r.runPlugin(ctx, spec, assigned[specKey(spec)])
		if ok {
			started++
		} else if err != nil {
			startErrs = append(startErrs, err.Error())
		}
	}
	r.recordJournalled()
	run.Finished = time.Now().UTC()
	run.ElapsedSeconds = earlier + time.Since(sessionStart).Seconds()
	if err := ctx.Err(); err != nil {
		// Said in the document too, not only on the terminal: whoever
		// reads run.json later should not take it for a complete run.
		run.Notes = append(run.Notes, fmt.Sprintf("interrupted at %s (%v): %d cells not run; finish with dlcompat run --resume -o %s (and the same --config, if it had one)",
			run.Finished.Format(time.RFC3339), err, run.Counts()[matrix.Unknown], o.OutDir))
	}
	if err := matrix.WriteFileAtomic(filepath.Join(o.OutDir, RunFile), func(w io.Writer) error { return matrix.WriteJSON(w, run) }); err != nil {
		return run, fmt.Errorf("%w: %s: %v (the finished cells are in %s; once there is room, dlcompat run --resume -o %s writes it)",
			ErrResultsNotWritten, filepath.Join(o.OutDir, RunFile), err, journalPath, o.OutDir)
	}
	if r.lost != nil {
		return run, fmt.Errorf("%w: %w", ErrInfra, r.lost)
	}
	if started == 0 && len(startErrs) > 0 {
		return run, fmt.Errorf("%w: no plugin could start:\n  %s", ErrInfra, strings.Join(startErrs, "\n  "))
	}
	if err := ctx.Err(); err != nil {
		return run, err
	}
	if err := noneExecuted(run); err != nil {
		return run, err
	}
	return run, nil
}

// noneExecuted is an infrastructure failure when not one cell of the run
// executed (each is a skip, or unknown): a run that measured nothing is
// never green, however its cells are labelled. It names the commonest
// reasons.
func noneExecuted(run *matrix.Run) error {
	if len(run.Cells) == 0 {
		return nil
	}
	reasons := map[string]int{}
	for _, c := range run.Cells {
		if c.Status != matrix.Skip && c.Status != matrix.Unknown {
			return nil
		}
		reasons[pluginapi.FirstLine(c.Reason)]++
	}
	type rc struct {
		reason string
		n      int
	}
	var rs []rc
	for k, n := range reasons {
		rs = append(rs, rc{k, n})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n || rs[i].n == rs[j].n && rs[i].reason < rs[j].reason })
	var lines []string
	for i, x := range rs {
		if i == 3 {
			lines = append(lines, fmt.Sprintf("… and %d other reasons", len(rs)-3))
			break
		}
		lines = append(lines, fmt.Sprintf("%s: %s", matrix.Plural(x.n, "cell"), x.reason))
	}
	return fmt.Errorf("%w: no cell could execute (%s):\n  %s", ErrInfra, run.Summary(), strings.Join(lines, "\n  "))
}

// runOrder puts fp32 first: a reduced-precision cell is judged against
// the fp32 cell of the same row, device, model and check (judge.Relative).
func runOrder(precisions []string) []string {
	out := slices.Clone(precisions)
	slices.SortStableFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == pluginapi.PrecisionFP32:
			return -1
		case b == pluginapi.PrecisionFP32:
			return 1
		}
		return 0
	})
	return out
}

// variants lists, per framework, the variants its specs run.
func variants(specs []exec.Spec) map[string][]string {
	var m map[string][]string
	for _, s := range specs {
		if s.Variant == "" {
			continue
		}
		if m == nil {
			m = map[string][]string{}
		}
		if !slices.Contains(m[s.Base()], s.Variant) {
			m[s.Base()] = append(m[s.Base()], s.Variant)
		}
	}
	return m
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// selectPlugins keeps the specs that names name: a framework ("keras",
// every variant and image of it) or one variant of it ("keras+jax").
func selectPlugins(all []exec.Spec, names []string) ([]exec.Spec, error) {
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrInfra, pluginhost.ErrNoPlugins)
	}
	if len(names) == 0 {
		return all, nil
	}
	var out []exec.Spec
	for _, n := range names {
		found := false
		for _, s := range all {
			if s.Name == n || s.Base() == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: unknown framework %q (valid: %s)", ErrUsage, n, strings.Join(specNames(all), ", "))
		}
	}
	return out, nil
}

// specNames lists the specs' names, each once, in order.
func specNames(specs []exec.Spec) []string {
	var names []string
	for _, s := range specs {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	return names
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// openJournal starts a new journal, or, with Resume, reopens the old one
// and returns the cells it already holds. A new run refuses to overwrite
// an unfinished journal: those results would be lost.
func openJournal(path string, o Options, cfgJSON []byte, shardNote string) (*matrix.Run, map[matrix.CellKey]matrix.Cell, *matrix.Journal, error) {
	done := map[matrix.CellKey]matrix.Cell{}
	if o.Resume {
		header, cells, err := matrix.ReadJournal(path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: --resume: %v", ErrUsage, err)
		}
		if header.ConfigHash != sha(cfgJSON) {
			return nil, nil, nil, fmt.Errorf("%w: --resume: %s was written with another configuration (%s); resume with the flags and --config it was started with (flags left out are taken from the journal), or start a new run without --resume", ErrUsage, path, configChanges(header.Config, cfgJSON))
		}
		if header.Shard != o.Shard.String() {
			return nil, nil, nil, fmt.Errorf("%w: --resume: %s holds shard %q, not %q; resume with the same --shard", ErrUsage, path, header.Shard, o.Shard.String())
		}
		for _, c := range cells {
			if c.Status.Finished() {
				done[c.CellKey] = c
			}
		}
		j, err := matrix.AppendJournal(path)
		if err != nil {
			return nil, nil, nil, err
		}
		header.Notes = append(header.Notes, fmt.Sprintf("resumed at %s with %d finished cells", time.Now().UTC().Format(time.RFC3339), len(done)))
		return header, done, j, nil
	}
	if _, err := os.Stat(path); err == nil && !o.Replace {
		if _, errRun := os.Stat(filepath.Join(filepath.Dir(path), RunFile)); errRun != nil || isUnfinished(path) {
			return nil, nil, nil, fmt.Errorf("%w: %s holds an unfinished run; complete it with --resume, replace it with --force, or choose another output directory with -o", ErrUsage, path)
		}
	}
	if prev := filepath.Join(filepath.Dir(path), RunFile); !o.Replace {
		if _, err := os.Stat(prev); err == nil {
			what := "a finished run"
			if r, err := matrix.Read(prev); err == nil {
				what = fmt.Sprintf("a finished run (%s, started %s, %d cells)", r.RunID, r.Started.Format(time.RFC3339), len(r.Cells))
			}
			return nil, nil, nil, fmt.Errorf("%w: %s holds %s; keep it by choosing another output directory with -o, or replace it with --force", ErrUsage, prev, what)
		}
	}
	host, _ := os.Hostname()
	run := &matrix.Run{
		SchemaVersion: matrix.SchemaVersion, RunID: newRunID(), Started: time.Now().UTC(),
		Host:            matrix.Host{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		DlcompatVersion: o.Version, Config: cfgJSON, ConfigHash: sha(cfgJSON), Shard: o.Shard.String(),
		Devices: o.Devices, DeviceNotes: o.DeviceNotes,
	}
	if shardNote != "" {
		run.Notes = append(run.Notes, shardNote)
	}
	j, err := matrix.CreateJournal(path, run)
	if err != nil {
		return nil, nil, nil, err
	}
	return run, done, j, nil
}

// isUnfinished reports whether the journal's run never finished: the
// run.json beside it belongs to another run, or still has cells that got
// no result (an interrupted run writes its document too).
func isUnfinished(journal string) bool {
	header, _, err := matrix.ReadJournal(journal)
	if err != nil {
		return false
	}
	final, err := matrix.Read(filepath.Join(filepath.Dir(journal), RunFile))
	if err != nil {
		return true
	}
	if final.RunID != header.RunID {
		return true
	}
	for _, c := range final.Cells {
		if c.Status == matrix.Unknown {
			return true
		}
	}
	return false
}

func hasMatrixDevice(ds []matrix.Device, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

// JournalConfig is the configuration of the run journalled in outDir,
// and its shard ("" for a whole run).
func JournalConfig(outDir string) (*ConfigDoc, string, error) {
	header, _, err := matrix.ReadJournal(filepath.Join(outDir, JournalFile))
	if err != nil {
		return nil, "", err
	}
	var c ConfigDoc
	if err := json.Unmarshal(header.Config, &c); err != nil {
		return nil, "", fmt.Errorf("%s: unreadable configuration: %v", filepath.Join(outDir, JournalFile), err)
	}
	return &c, header.Shard, nil
}

// configChanges names the configuration fields that differ between the
// journal's run and this one, with both values, so a refused --resume
// says what to put back.
func configChanges(was, now []byte) string {
	var a, b map[string]json.RawMessage
	if json.Unmarshal(was, &a) != nil || json.Unmarshal(now, &b) != nil {
		return "unreadable configuration in the journal"
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var diffs []string
	for _, k := range names {
		if string(a[k]) != string(b[k]) {
			diffs = append(diffs, fmt.Sprintf("%s was %s, now %s", k, orNull(a[k]), orNull(b[k])))
		}
	}
	if len(diffs) == 0 {
		return "the same fields, another hash"
	}
	return strings.Join(diffs, "; ")
}

func orNull(b json.RawMessage) string {
	if len(b) == 0 {
		return "unset"
	}
	return string(b)
}
