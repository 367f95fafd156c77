package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/site"
)

// errRegressions makes the exit code 1 after a complete regressions
// report that found some.
var errRegressions = errors.New("regressions found")

var historyCmd = command{
	name:  "history",
	short: "keep nightly runs in a store, find regressions, build the static site",
	usage: `Usage: dlcompat history ingest RUN.json… [--store STORE]
       dlcompat history regressions [--store STORE] [--window N] [-o BODY.md]
       dlcompat history site -o DIR [--store STORE] [--stale 36h]

Remembers every night. STORE is a SQLite file (default history.sqlite: one
file a CI job can keep as an artifact or in a branch) or a PostgreSQL URL
(postgres://user@host/db, for a fleet of runners publishing at once); the
schema is created and migrated on first use.

ingest stores runs. It is idempotent: a run already stored (same run_id,
and shard for one shard of a fanned-out run) is stored once, so a retried
CI job does no harm; runners may publish at the same time. A run in which
no cell executed is stored as an infrastructure failure, never as the
frameworks' failures.

regressions compares each cell's latest night with a rolling baseline of
the N nights before it (same framework row, model, check, device model,
precision; an upgrade of the framework continues its row, so the new
version is what changed): Mann-Whitney on the pooled raw perf samples (p below
--alpha and at least --min-effect worse), or a status that went from
pass to not passing. Each regression says its first bad night and what
changed on it (framework version, image digest, driver, dlcompat,
runner) and the command that reproduces the cell. Cells whose status
flipped --flaky-flips times in the window are listed as flaky and do
not gate. It prints a Markdown body for a CI issue or PR comment (in
CI: dlcompat history regressions -o body.md || gh issue create -F body.md).
A fleet shares one PostgreSQL store: --store postgres://dlcompat@db/dlcompat.

site writes a static site (open DIR/index.html from disk or any static
host): the latest matrix per device model, each cell's history, a driver
comparison per device model, and when each runner last published (stale
after --stale).

Exit codes: 0 done, no regression · 1 regressions found (regressions
only) · 2 bad usage or a file that is not a results document · 3 the store
cannot be opened or written.

Examples:
  dlcompat history ingest results/run.json
  dlcompat history regressions --window 14 -o regressions.md
  dlcompat history site -o public --stale 36h
`,
	run: runHistory,
}

func runHistory(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	store := fs.String("store", history.DefaultStore, "the store: a SQLite file, or postgres://… (or set $DLCOMPAT_STORE)")
	out := fs.String("o", "", "regressions: write the Markdown body to FILE; site: the directory to write")
	window := fs.Int("window", history.DefaultOptions.Window, "regressions: nights in the rolling baseline")
	alpha := fs.Float64("alpha", history.DefaultOptions.Alpha, "regressions: Mann-Whitney significance level")
	effect := fs.Float64("min-effect", history.DefaultOptions.MinEffect, "regressions: smallest relative change of the median that counts (0.10 = 10%)")
	flips := fs.Int("flaky-flips", history.DefaultOptions.FlakyFlips, "regressions: status flips in the window that make a cell flaky (listed, not gating)")
	stale := fs.Duration("stale", 36*time.Hour, "site: a runner silent for longer is shown stale")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("history needs a subcommand: ingest, regressions or site (see 'dlcompat history --help')")
	}
	if v := os.Getenv("DLCOMPAT_STORE"); v != "" && !flagSet(fs, "store") {
		*store = v
	}
	o := history.Options{Window: *window, Alpha: *alpha, MinEffect: *effect, FlakyFlips: *flips}
	if o.Window < 2 || o.Alpha <= 0 || o.Alpha >= 1 || o.MinEffect < 0 || o.FlakyFlips < 1 {
		return usagef("history: --window must be ≥ 2, --alpha in (0, 1), --min-effect ≥ 0, --flaky-flips ≥ 1")
	}
	if i := strings.Index(*store, "://"); i > 0 && !isURL(*store) {
		return usagef("--store %s: unknown scheme %q: give a file path (history.sqlite, file:PATH) or postgres://user@host/db", *store, (*store)[:i])
	}
	sub, rest := pos[0], pos[1:]
	switch sub {
	case "ingest":
		if len(rest) == 0 {
			return usagef("history ingest takes results files (run.json), got none")
		}
		runs := make([]*matrix.Run, 0, len(rest))
		for _, p := range rest { // read all first: a bad file stores nothing
			r, err := matrix.Read(p)
			if err != nil {
				return usageError{err}
			}
			runs = append(runs, r)
		}
		s, err := history.Open(ctx, *store)
		if err != nil {
			return infraError{err}
		}
		defer s.Close()
		for i, r := range runs {
			res, err := s.Ingest(ctx, r)
			if err != nil {
				return infraError{fmt.Errorf("%s: %w", rest[i], err)}
			}
			what := "stored"
			if !res.Stored {
				what = "already stored"
			}
			note := ""
			if res.InfraFailure {
				note = " (no cell executed: an infrastructure failure)"
			}
			fmt.Fprintf(e.stdout, "%s: run %s, %s, %s%s\n", rest[i], res.RunKey, matrix.Plural(res.Cells, "cell"), what, note)
		}
		return nil
	case "regressions", "site":
		if len(rest) > 0 {
			return usagef("history %s takes no arguments, got %q", sub, rest)
		}
		if sub == "site" && *out == "" {
			return usagef("history site needs -o DIR")
		}
		if _, err := os.Stat(strings.TrimPrefix(*store, "file:")); err != nil && !isURL(*store) {
			return usagef("--store %s: %v (ingest a run first, or give --store)", *store, err)
		}
		s, err := history.Open(ctx, *store)
		if err != nil {
			return infraError{err}
		}
		defer s.Close()
		if sub == "site" {
			st, err := site.Build(ctx, s, *out, site.Options{Stale: *stale, Regress: o})
			if err != nil {
				return infraError{err}
			}
			fmt.Fprintf(e.stdout, "wrote %s for %s into %s\n", matrix.Plural(st.Pages, "page"), matrix.Plural(st.Keys, "cell"), *out)
			return nil
		}
		rep, err := s.Detect(ctx, o)
		if err != nil {
			return infraError{err}
		}
		w := e.stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return infraError{err}
			}
			defer f.Close()
			w = f
		}
		if err := rep.WriteMarkdown(w); err != nil {
			return infraError{err}
		}
		if *out != "" {
			fmt.Fprintf(e.stdout, "%s, %s flaky: %s\n", matrix.Plural(len(rep.Regressions), "regression"), matrix.Plural(len(rep.Flaky), "cell"), *out)
		}
		if rep.Gating() {
			return errRegressions
		}
		return nil
	}
	return usagef("history: unknown subcommand %q: ingest, regressions or site", sub)
}

func isURL(s string) bool {
	return len(s) > 11 && (s[:11] == "postgres://" || len(s) > 13 && s[:13] == "postgresql://")
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
