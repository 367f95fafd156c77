package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/render"
)

func runArgs(out string, extra ...string) []string {
	return append(append([]string{"run", "--reference", refDir(), "-o", out, "--quiet"}, cheapPerf...), extra...)
}

func keysOf(t *testing.T, path string) []string {
	t.Helper()
	r, err := matrix.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, c := range r.Cells {
		ks = append(ks, c.CellKey.String())
	}
	sort.Strings(ks)
	return ks
}

// TestShardMergeReportDiff runs the gorgonia plugin as two shards,
// merges them, and checks that the merge holds exactly the cells of a
// whole run; then reports and diffs the result, and checks the refusals.
func TestShardMergeReportDiff(t *testing.T) {
	dir := t.TempDir()
	whole, s1, s2 := filepath.Join(dir, "whole"), filepath.Join(dir, "s1"), filepath.Join(dir, "s2")
	for _, a := range [][]string{runArgs(whole), runArgs(s1, "--shard", "1/2"), runArgs(s2, "--shard", "2/2")} {
		if code, stdout, stderr := runCLI(t, a...); code != ExitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", a, code, stdout, stderr)
		}
	}
	// One device (the CPU), one plugin: a single (device, framework) pair,
	// all in shard 1; shard 2 runs nothing and says why.
	r2, err := matrix.Read(filepath.Join(s2, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Cells) != 0 || r2.Shard != "2/2" || !strings.Contains(strings.Join(r2.Notes, "\n"), "has no cells") {
		t.Errorf("shard 2/2: %d cells, shard %q, notes %q", len(r2.Cells), r2.Shard, r2.Notes)
	}
	all := filepath.Join(dir, "all.json")
	code, stdout, stderr := runCLI(t, "merge", filepath.Join(s1, "run.json"), filepath.Join(s2, "run.json"), "-o", all)
	if code != ExitOK || !strings.Contains(stdout, "merged 2 files into "+all+": 8 cells: 8 pass") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got, want := keysOf(t, all), keysOf(t, filepath.Join(whole, "run.json")); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("merged cells differ from a whole run:\n%v\n%v", got, want)
	}

	// Refusals: the same shard twice; a document of another schema.
	code, _, stderr = runCLI(t, "merge", filepath.Join(s1, "run.json"), filepath.Join(s1, "run.json"), "-o", filepath.Join(dir, "x.json"))
	if code != ExitUsage || !strings.Contains(stderr, "overlapping shards") || !strings.Contains(stderr, "both shard 1/2") {
		t.Errorf("same shard twice: exit %d: %s", code, stderr)
	}
	future := filepath.Join(dir, "future.json")
	os.WriteFile(future, []byte(`{"schema_version": 2, "cells": []}`), 0o644)
	code, _, stderr = runCLI(t, "merge", filepath.Join(s1, "run.json"), future, "-o", filepath.Join(dir, "x.json"))
	if code != ExitUsage || !strings.Contains(stderr, "mixed schema versions") || !strings.Contains(stderr, "future.json has schema_version 2") {
		t.Errorf("mixed schemas: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
		t.Error("a refused merge wrote its output")
	}
	for _, bad := range [][]string{{"run", "--shard", "3/2"}, {"run", "--shard", "0/2"}, {"run", "--shard", "half"}} {
		if code, _, stderr := runCLI(t, append(bad, "-o", filepath.Join(dir, "bad"))...); code != ExitUsage || !strings.Contains(stderr, "--shard") {
			t.Errorf("%v: exit %d: %s", bad, code, stderr)
		}
	}

	// Every report format of the merged run.
	for _, f := range render.RunFormats() {
		code, stdout, stderr := runCLI(t, "report", all, "--format", f)
		if code != ExitOK || len(stdout) < 100 {
			t.Errorf("report --format %s: exit %d, %d bytes: %s", f, code, len(stdout), stderr)
		}
	}

	// diff: the whole run against the merged one agree on every status.
	code, stdout, stderr = runCLI(t, "diff", filepath.Join(whole, "run.json"), all, "--fail-on", "regression")
	if code != ExitOK || !strings.Contains(stdout, "8 unchanged") {
		t.Errorf("diff whole vs merged: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// A cell that stopped passing fails the diff under --fail-on, in every
	// format, and only then.
	r, _ := matrix.Read(all)
	r.Cells[1].Status, r.Cells[1].Reason = matrix.Crash, "plugin process died"
	broken := filepath.Join(dir, "broken.json")
	f, _ := os.Create(broken)
	matrix.WriteJSON(f, r)
	f.Close()
	for _, format := range render.DiffFormats() {
		code, stdout, _ := runCLI(t, "diff", all, broken, "--format", format, "--fail-on", "regression")
		if code != ExitFailed || !strings.Contains(stdout, "regression") {
			t.Errorf("diff --format %s of a crashed cell: exit %d\n%s", format, code, stdout)
		}
	}
	if code, _, _ := runCLI(t, "diff", all, broken); code != ExitOK {
		t.Errorf("diff without --fail-on: exit %d, want 0", code)
	}
	if code, _, _ := runCLI(t, "diff", all, broken, "--fail-on", "speed"); code != ExitOK {
		t.Errorf("diff --fail-on speed of a status change: exit %d, want 0", code)
	}
	var cmp diff.Comparison
	_, js, _ := runCLI(t, "diff", all, broken, "--format", "json")
	if err := json.Unmarshal([]byte(js), &cmp); err != nil || cmp.Count(diff.Regression) != 1 {
		t.Errorf("diff JSON: %v, %d regressions", err, cmp.Count(diff.Regression))
	}
	for _, bad := range [][]string{{"diff", all}, {"diff", all, broken, "--format", "pdf"}, {"diff", all, broken, "--fail-on", "sometimes"}, {"diff", all, future}} {
		if code, _, _ := runCLI(t, bad...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// TestProgressWithoutTerminal: a pipe or file gets a line per cell,
// drawn from the runner's events like the bars; --quiet nothing.
func TestProgressWithoutTerminal(t *testing.T) {
	var buf bytes.Buffer
	events, stop := progressFor(&buf, false)
	if events == nil {
		t.Fatal("a pipe: no progress")
	}
	abs, rel := matrix.Float(1e-7), matrix.Float(2e-5)
	events(runner.Event{Kind: runner.EventCellStart})
	events(runner.Event{Kind: runner.EventCellDone, Done: 3, FromJournal: true, Cell: matrix.Cell{
		CellKey: matrix.CellKey{Framework: "fw", FrameworkVersion: "1", Device: "cpu", Model: "cnn", Check: "forward"},
		Status:  matrix.Pass, MaxAbsErr: &abs, MaxRelErr: &rel, Seconds: 1.25}})
	events(runner.Event{Kind: runner.EventCellDone, Done: 4, Cell: matrix.Cell{
		CellKey: matrix.CellKey{Framework: "fw", FrameworkVersion: "1", Device: "cpu", Model: "cnn", Check: "backward"},
		Status:  matrix.Error, Reason: "boom\nmore"}})
	stop()
	want := "[3] (journal) fw 1 cpu cnn forward: pass (abs 1e-07, rel 2e-05) (1.2s)\n[4] fw 1 cpu cnn backward: error: boom (0.0s)\n"
	if buf.String() != want {
		t.Errorf("lines\n%q\nwant\n%q", buf.String(), want)
	}
	if events, _ := progressFor(&buf, true); events != nil {
		t.Error("--quiet still reports progress")
	}
}

var (
	cursorUp = regexp.MustCompile(`\x1b\[[0-9]+A`)
	ansi     = regexp.MustCompile(`\x1b\[[0-9]*[A-Za-z]|\r`)
)

func TestProgressBars(t *testing.T) {
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var out bytes.Buffer
	b := newBars(&out, 100, clock)
	b.handle(runner.Event{Kind: runner.EventPlan, Plan: map[string]map[string]int{
		"gpu:1": {"forward": 2, "perf": 2}, "cpu": {"forward": 2, "perf": 2}, "gpu:0": {"forward": 2, "perf": 2},
	}})
	cell := func(dev, check string, status matrix.Status, secs float64) matrix.Cell {
		return matrix.Cell{CellKey: matrix.CellKey{Framework: "gorgonia", FrameworkVersion: "v0.9.18", Device: dev, Model: "cnn", Check: check},
			Status: status, Seconds: secs, Reason: "numbers differ\nsecond line"}
	}
	screen := func() string {
		t.Helper()
		s := out.String()
		out.Reset()
		return s
	}
	first := screen()
	if cursorUp.MatchString(first) {
		t.Errorf("first draw moves the cursor up:\n%q", first)
	}
	// Devices in inventory order, each with its own bar.
	ci, g0, g1 := strings.Index(first, "cpu "), strings.Index(first, "gpu:0"), strings.Index(first, "gpu:1")
	if !(ci >= 0 && ci < g0 && g0 < g1) || !strings.Contains(first, "0/12 cells") || !strings.Contains(first, "0/4") {
		t.Fatalf("first draw:\n%s", first)
	}
	c := cell("cpu", "forward", matrix.Pass, 2)
	b.handle(runner.Event{Kind: runner.EventCellStart, Cell: c})
	now = now.Add(2 * time.Second)
	b.handle(runner.Event{Kind: runner.EventCellDone, Cell: c})
	p := cell("cpu", "perf", matrix.Pass, 10)
	b.handle(runner.Event{Kind: runner.EventCellStart, Cell: p})
	s := screen()
	if !strings.Contains(s, "\x1b[4A") { // redraws over the 4 lines
		t.Errorf("no redraw in place:\n%q", s)
	}
	if !strings.Contains(s, "cnn perf gorgonia") || !strings.Contains(s, "estimating") {
		t.Errorf("current cell, and no estimate yet for perf:\n%s", s)
	}
	now = now.Add(10 * time.Second)
	b.handle(runner.Event{Kind: runner.EventCellDone, Cell: p})
	b.handle(runner.Event{Kind: runner.EventCellDone, Cell: cell("cpu", "forward", matrix.Fail, 2)})
	s = screen()
	// 3 of 4 done on the CPU; left: 1 perf (10 s) there, 2 forward (2 s)
	// and 2 perf on each GPU: 10 + 2×(4+20) = 58 s.
	if !strings.Contains(s, "3/4") || !strings.Contains(s, "3/12 cells") || !strings.Contains(s, "~58s left") {
		t.Errorf("after three cells:\n%s", s)
	}
	// A cell that did not pass is printed above the bars, and counted.
	if !strings.Contains(s, "✗ gorgonia v0.9.18 cpu cnn forward: fail: numbers differ") || !strings.Contains(s, "1 not passed") || strings.Contains(s, "second line") {
		t.Errorf("failure line:\n%s", s)
	}
	for _, dev := range []string{"gpu:0", "gpu:1"} {
		for _, check := range []string{"forward", "forward", "perf", "perf"} {
			b.handle(runner.Event{Kind: runner.EventCellDone, Cell: cell(dev, check, matrix.Pass, 1)})
		}
	}
	b.handle(runner.Event{Kind: runner.EventCellDone, Cell: cell("cpu", "perf", matrix.Skip, 0), FromJournal: true})
	s = screen()
	s = s[strings.LastIndex(s, "\x1b[4A"):] // the last draw
	if !strings.Contains(s, "12/12 cells") || strings.Contains(s, "left") || strings.Count(s, "done") != 3 {
		t.Errorf("at the end:\n%s", s)
	}
	// Lines never exceed the terminal's width.
	narrow := newBars(&out, 40, clock)
	narrow.handle(runner.Event{Kind: runner.EventPlan, Plan: map[string]map[string]int{"cpu": {"forward": 1}}})
	narrow.handle(runner.Event{Kind: runner.EventCellStart, Cell: cell("cpu", "forward", matrix.Pass, 0)})
	for _, l := range strings.Split(ansi.ReplaceAllString(out.String(), ""), "\n") {
		if n := len([]rune(l)); n > 39 {
			t.Errorf("line of %d runes on a 40-column terminal: %q", n, l)
		}
	}
}
