package cli

import (
	"flag"
	"strconv"
	"strings"

	"github.com/dlcompat/dlcompat/core/runner"
)

// resumeDefaults gives every run flag that a --resume did not set the
// value the journalled run was started with, so that `dlcompat run
// --resume -o DIR` finishes a killed run as it was started. What the
// journal cannot say (a configuration file's images and per-check
// timeouts) must be given again; the runner names any field that still
// differs. A journal that cannot be read is left to the runner to report.
func resumeDefaults(fs *flag.FlagSet, outDir string) error {
	cfg, shard, err := runner.JournalConfig(outDir)
	if err != nil {
		return nil
	}
	var models, backends []string
	for _, m := range cfg.Models {
		models = append(models, string(m))
	}
	for _, p := range cfg.Plugins {
		if b, ok := strings.CutPrefix(p, kerasPlugin+"+"); ok {
			backends = append(backends, b)
		}
	}
	var batches []string
	for _, b := range cfg.Perf.ThroughputBatches {
		batches = append(batches, strconv.Itoa(b))
	}
	values := map[string]string{
		"executor":           cfg.Executor,
		"frameworks":         strings.Join(cfg.Plugins, ","),
		"keras-backends":     strings.Join(backends, ","),
		"models":             strings.Join(models, ","),
		"checks":             strings.Join(cfg.Checks, ","),
		"devices":            strings.Join(cfg.Devices, ","),
		"precision":          cfg.Precision,
		"perf-warmup":        strconv.Itoa(cfg.Perf.Warmup),
		"perf-iterations":    strconv.Itoa(cfg.Perf.Iterations),
		"throughput-batches": strings.Join(batches, ","),
		"train-batch":        strconv.Itoa(cfg.Perf.TrainBatch),
		"shard":              shard,
		"timeout":            oneTimeout(cfg.Timeouts),
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range values {
		if v == "" || set[name] || fs.Lookup(name) == nil {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return usagef("--resume: the journal in %s says %s=%q, which this dlcompat does not take: %v", outDir, name, v, err)
		}
	}
	return nil
}

// oneTimeout is the --timeout that reproduces per-check limits that are
// all equal and not the defaults; "" otherwise (the defaults need no
// flag, and different limits came from a configuration file).
func oneTimeout(limits map[string]string) string {
	one, custom := "", false
	for check, v := range limits {
		if one != "" && v != one {
			return ""
		}
		one = v
		custom = custom || v != runner.DefaultTimeouts[check].String()
	}
	if !custom {
		return ""
	}
	return one
}
