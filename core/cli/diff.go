package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/render"
)

var diffCmd = command{
	name:  "diff",
	short: "compare two results files: status changes, error growth, speed (Mann-Whitney U)",
	usage: "Usage: dlcompat diff OLD.json NEW.json [--format " + strings.Join(render.DiffFormats(), "|") + `] [-o FILE]
                     [--fail-on regression] [--alpha 0.05] [--min-change 0.05]

Compares two runs cell by cell. Cells are matched by framework, device
model (the GPU's name, not its UUID or index, so the same GPU model
compares across driver versions and machines), model and check; several
GPUs of one model pair up in device order.

  status  a pass that became anything else (or is gone from NEW) is a
          regression
  errors  a measured error (max abs or rel) that grew beyond --error-growth
  speed   every timing series, judged on the raw samples with a two-sided
          Mann-Whitney U test: "~" when p > --alpha (the data cannot tell)
          or the median moved less than --min-change (5% on GPUs; 20%,
          --min-change-cpu, on CPUs, whose speed drifts between runs on
          shared machines); fewer than 4
          samples on a side are not tested, with a warning

--fail-on sets the exit code for CI: 1 when a cell has a change of the
listed kinds: status, errors, speed, removed (a cell only in OLD), or
regression (= status,errors,speed). The default, none, exits 0 whatever
changed.

Examples:
  dlcompat diff results/run.json results/nightly/run.json
  dlcompat diff results/run.json results/nightly/run.json --format md -o diff.md
  dlcompat diff results/run.json results/nightly/run.json --fail-on regression
`,
	run: runDiff,
}

// failOnKinds are the values --fail-on accepts.
var failOnKinds = []string{"none", "regression", "status", "errors", "speed", "removed"}

func runDiff(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	th := diff.DefaultThresholds
	format := fs.String("format", "text", "output format: "+strings.Join(render.DiffFormats(), ", "))
	out := fs.String("o", "", "write to FILE (atomically) instead of stdout")
	failOn := fs.String("fail-on", "none", "exit 1 when a cell has one of these changes (comma-separated): "+strings.Join(failOnKinds, ", "))
	fs.Float64Var(&th.Alpha, "alpha", th.Alpha, "significance level of the Mann-Whitney U test")
	fs.Float64Var(&th.MinChange, "min-change", th.MinChange, "smallest relative change of a median that counts on a GPU (0.05 = 5%); given alone, on every device")
	fs.Float64Var(&th.MinChangeCPU, "min-change-cpu", th.MinChangeCPU, "smallest relative change that counts on a CPU, whose speed drifts between runs on shared machines")
	fs.IntVar(&th.MinSamples, "min-samples", th.MinSamples, "fewest samples per side for a speed comparison")
	fs.Float64Var(&th.ErrorGrowth, "error-growth", th.ErrorGrowth, "factor by which a measured error may grow before it is flagged")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("diff takes two results files, OLD and NEW; got %d arguments", len(pos))
	}
	write, err := render.ForDiff(*format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	if err := checkOutFile(*out, "diff."+*format); err != nil {
		return err
	}
	kinds, err := parseFailOn(*failOn)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["min-change"] && !set["min-change-cpu"] {
		th.MinChangeCPU = th.MinChange // one threshold, given, for every device
	}
	if th.Alpha <= 0 || th.Alpha >= 1 || th.MinChange < 0 || th.MinChangeCPU < 0 || th.MinSamples < 1 || th.ErrorGrowth <= 1 {
		return usagef("want 0 < --alpha < 1, --min-change ≥ 0, --min-change-cpu ≥ 0, --min-samples ≥ 1, --error-growth > 1")
	}
	// Both documents at once: a fleet's runs are hundreds of megabytes.
	var oldRun, newRun *matrix.Run
	var oldErr, newErr error
	done := make(chan struct{})
	go func() { oldRun, oldErr = matrix.Read(pos[0]); close(done) }()
	newRun, newErr = matrix.Read(pos[1])
	<-done
	for _, err := range []error{oldErr, newErr} {
		if err != nil {
			return usageError{err}
		}
	}
	cmp := diff.Compare(oldRun, newRun, th)
	cmp.Old.File, cmp.New.File = pos[0], pos[1]
	if *out == "" {
		err = write(e.stdout, cmp)
	} else {
		err = matrix.WriteFileAtomic(*out, func(w io.Writer) error { return write(w, cmp) })
	}
	if err != nil {
		return err
	}
	if n := failing(cmp, kinds); n > 0 {
		fmt.Fprintf(e.stderr, "dlcompat diff: %s changed in a way --fail-on %s rejects\n", matrix.Plural(n, "cell"), *failOn)
		return errCellsFailed
	}
	return nil
}

func parseFailOn(s string) (map[string]bool, error) {
	kinds := map[string]bool{}
	for _, k := range splitList(s) {
		if !pluginapi.Has(failOnKinds, k) {
			return nil, usagef("--fail-on: unknown kind %q (valid: %s)", k, strings.Join(failOnKinds, ", "))
		}
		if k == "regression" {
			kinds["status"], kinds["errors"], kinds["speed"] = true, true, true
			continue
		}
		kinds[k] = true
	}
	delete(kinds, "none")
	return kinds, nil
}

// failing counts the cells whose change --fail-on rejects.
func failing(c *diff.Comparison, kinds map[string]bool) int {
	n := 0
	for _, d := range c.Cells {
		if (kinds["status"] && d.StatusRegression) || (kinds["errors"] && d.ErrorRegression) ||
			(kinds["speed"] && d.SpeedRegression) || (kinds["removed"] && d.OnlyOld()) {
			n++
		}
	}
	return n
}
