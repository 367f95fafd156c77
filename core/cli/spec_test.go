package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/internal/faultplugin"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/core/runspec"
	"github.com/dlcompat/dlcompat/matrix"
)

// TestSpecLayers takes each field of the run specification through each
// layer: the default, then the journal (--resume), then the
// configuration file, then a flag; each later layer wins, and a layer
// that does not name the field leaves it alone.
func TestSpecLayers(t *testing.T) {
	type layers struct{ journal, config, flag bool }
	for _, tc := range []struct {
		field runspec.Field
		// journal edits the journalled configuration; config is YAML; flag
		// is the command line; "" where the layer cannot set the field.
		journal func(*runner.ConfigDoc)
		config  string
		flag    []string
		get     func(runspec.Spec) string
		// values by layer: default, journal, config, flag.
		want [4]string
	}{
		{field: runspec.FieldExecutor, journal: func(d *runner.ConfigDoc) { d.Executor = "docker" }, config: "executor: local", flag: []string{"--executor", "docker"},
			get: func(s runspec.Spec) string { return s.Executor }, want: [4]string{"local", "docker", "local", "docker"}},
		{field: runspec.FieldFrameworks, journal: func(d *runner.ConfigDoc) { d.Plugins = []string{"a"} }, flag: []string{"--frameworks", "b,c"},
			get: func(s runspec.Spec) string { return strings.Join(s.Frameworks, ",") }, want: [4]string{"", "a", "a", "b,c"}},
		{field: runspec.FieldVariants, journal: func(d *runner.ConfigDoc) { d.Variants = map[string][]string{"k": {"x"}} },
			config: "frameworks:\n  k:\n    variants: [y, z]", flag: []string{"--variants", "k=w"},
			get:  func(s runspec.Spec) string { return fmt.Sprint(s.Variants) },
			want: [4]string{"map[]", "map[k:[x]]", "map[k:[y z]]", "map[k:[w]]"}},
		{field: runspec.FieldModels, journal: func(d *runner.ConfigDoc) { d.Models = d.Models[:1] }, config: "models: [lstm]", flag: []string{"--models", "cnn,lstm"},
			get: func(s runspec.Spec) string { return fmt.Sprint(s.Models) }, want: [4]string{"[cnn lstm]", "[cnn]", "[lstm]", "[cnn lstm]"}},
		{field: runspec.FieldChecks, journal: func(d *runner.ConfigDoc) { d.Checks = []string{"perf"} }, config: "checks: [forward]", flag: []string{"--checks", "backward"},
			get: func(s runspec.Spec) string { return strings.Join(s.Checks, ",") }, want: [4]string{"forward,backward,determinism,perf", "perf", "forward", "backward"}},
		{field: runspec.FieldDevices, journal: func(d *runner.ConfigDoc) { d.Devices = []string{"cpu", "gpu:1"} }, config: "devices: gpu", flag: []string{"--devices", "cpu"},
			get: func(s runspec.Spec) string { return s.Devices }, want: [4]string{"all", "cpu,gpu:1", "gpu", "cpu"}},
		{field: runspec.FieldPull, config: "pull: if-missing", flag: []string{"--pull", "never"},
			get: func(s runspec.Spec) string { return s.Pull }, want: [4]string{"never", "never", "if-missing", "never"}},
		{field: runspec.FieldPrecisions, journal: func(d *runner.ConfigDoc) { d.Precision = "fp32,fp64" }, config: "precisions: [bf16]", flag: []string{"--precisions", "fp32,tf32"},
			get: func(s runspec.Spec) string { return strings.Join(s.Precisions, ",") }, want: [4]string{"fp32", "fp32,fp64", "bf16", "fp32,tf32"}},
		{field: runspec.FieldTimeouts, journal: func(d *runner.ConfigDoc) { d.Timeouts["perf"] = "1m0s" }, config: "timeouts: {forward: 7s}", flag: []string{"--timeout", "9s"},
			get:  func(s runspec.Spec) string { return fmt.Sprint(s.Timeouts["forward"], " ", s.Timeouts["perf"]) },
			want: [4]string{"5m0s 30m0s", "5m0s 1m0s", "7s 1m0s", "9s 9s"}},
		{field: runspec.FieldPerf, journal: func(d *runner.ConfigDoc) { d.Perf.Warmup, d.Perf.Iterations = 3, 7 },
			flag: []string{"--perf-warmup", "0", "--throughput-batches", "8"},
			get:  func(s runspec.Spec) string { return fmt.Sprint(s.Perf) },
			want: [4]string{"{5 20 1 [32 128] 32 1000 2 0.02}", "{3 7 1 [32 128] 32 1000 2 0.02}", "{3 7 1 [32 128] 32 1000 2 0.02}", "{0 7 1 [8] 32 1000 2 0.02}"}},
		{field: runspec.FieldShard, journal: func(d *runner.ConfigDoc) {}, flag: []string{"--shard", "2/3"},
			get: func(s runspec.Spec) string { return s.Shard.String() }, want: [4]string{"", "1/2", "1/2", "2/3"}},
		{field: runspec.FieldPluginsDir, config: "plugins_dir: /x/plugins", flag: []string{"--plugins-dir", "/y"},
			get: func(s runspec.Spec) string { return s.PluginsDir }, want: [4]string{pluginsDir, pluginsDir, "/x/plugins", "/y"}},
		{field: runspec.FieldLimits, config: "docker: {pids: 64, memory: 1GiB}",
			get:  func(s runspec.Spec) string { return fmt.Sprint(s.Limits.Pids, " ", s.Limits.MemoryBytes) },
			want: [4]string{"0 0", "0 0", "64 1073741824", "64 1073741824"}},
		{field: runspec.FieldReferenceDir, flag: []string{"--reference", "/ref"},
			get: func(s runspec.Spec) string { return s.ReferenceDir }, want: [4]string{defaultReferenceDir(), defaultReferenceDir(), defaultReferenceDir(), "/ref"}},
	} {
		for i, l := range []layers{{}, {journal: true}, {journal: true, config: true}, {journal: true, config: true, flag: true}} {
			name := fmt.Sprintf("%s/%d-layers", tc.field, i)
			t.Run(name, func(t *testing.T) {
				out := t.TempDir()
				args := []string{"-o", out}
				if l.journal {
					doc := runner.ConfigDoc{Executor: "local", Plugins: []string{"gorgonia"}, Models: runspec.Default("", "").Models,
						Checks: []string{"forward", "backward", "determinism", "perf"}, Devices: []string{"cpu"}, Precision: "fp32",
						Perf: pluginapi.DefaultPerfOptions(), Timeouts: map[string]string{"forward": "5m0s", "backward": "5m0s", "determinism": "10m0s", "perf": "30m0s"}}
					if tc.journal != nil {
						tc.journal(&doc)
					}
					writeJournal(t, out, doc, "1/2")
					args = append(args, "--resume")
				}
				config := ""
				if l.config {
					config = filepath.Join(t.TempDir(), "m.yaml")
					os.WriteFile(config, []byte("version: 1\n"+tc.config+"\n"), 0o644)
				}
				if l.flag {
					args = append(args, tc.flag...)
				}
				fs := flag.NewFlagSet("run", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				b := newFlagLayer(fs, runspec.Default(defaultPluginsDir(), defaultReferenceDir()))
				b.runFlags()
				if err := fs.Parse(args); err != nil {
					t.Fatal(err)
				}
				spec, err := buildSpec(b, config)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want[i]
				if got := tc.get(spec); got != want {
					t.Errorf("got %q, want %q (from %q)", got, want, spec.Source(tc.field))
				}
				// The source names the last layer that set the field.
				src := spec.Source(tc.field)
				switch {
				case l.flag && tc.flag != nil && src != "flag",
					!l.journal && !l.config && !l.flag && src != "":
					t.Errorf("source %q", src)
				}
			})
		}
	}
}

func writeJournal(t *testing.T, dir string, doc runner.ConfigDoc, shard string) {
	t.Helper()
	cfg, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	j, err := matrix.CreateJournal(filepath.Join(dir, runner.JournalFile), &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: "r", Config: cfg, Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
}

// TestPerfWarmupZeroRunsNoWarmup: --perf-warmup 0 means no warm-up (it
// once ran the default 5). The plugin of our own logs every model call.
func TestPerfWarmupZeroRunsNoWarmup(t *testing.T) {
	for _, tc := range []struct {
		desc          string
		flags         []string
		forward, back int
	}{
		// latency b1 and throughput b2, 3 timed calls each; a training step b2.
		{"warm-up 0", []string{"--perf-warmup", "0"}, 6, 3},
		{"warm-up 2", []string{"--perf-warmup", "2"}, 10, 5},
		{"default warm-up (5)", nil, 16, 8},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			calls := filepath.Join(t.TempDir(), "calls")
			cfg := filepath.Join(t.TempDir(), "m.yaml")
			exe, _ := os.Executable()
			os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\nframeworks:\n  oracle:\n    plugin: %s\n    env: {%s: \"1\", %s: %q}\n",
				exe, faultplugin.EnvServe, faultplugin.EnvCallLog, calls)), 0o644)
			args := append([]string{"run", "--config", cfg, "--models", "lstm", "--checks", "perf", "--perf-iterations", "3", "--perf-precision", "0",
				"--throughput-batches", "2", "--train-batch", "2", "--reference", refDir(), "--quiet", "-o", t.TempDir()}, tc.flags...)
			if code, stdout, stderr := runCLI(t, args...); code != ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			log, err := os.ReadFile(calls)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Fields(string(log))
			f, b := countOf(lines, "forward"), countOf(lines, "backward")
			if f != tc.forward || b != tc.back {
				t.Errorf("%d forward and %d backward calls, want %d and %d", f, b, tc.forward, tc.back)
			}
		})
	}
}

func countOf(items []string, s string) int {
	n := 0
	for _, it := range items {
		if it == s {
			n++
		}
	}
	return n
}
