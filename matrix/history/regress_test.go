package history_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// yearStore is the synthetic year of matrixtest.Year ingested into a
// fresh SQLite store.
func yearStore(t testing.TB) *history.Store {
	s, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "year.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, r := range matrixtest.Year(365) {
		if _, err := s.Ingest(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func dayOf(d int) string { return matrixtest.YearStart.AddDate(0, 0, d).Format("2006-01-02") }

// TestDetectFindsEveryPlantedEvent: the planted perf and status
// regressions are found with their first bad night and what changed on
// it; the flaky cell is listed and not gating; the throttled nights and
// the infrastructure night are not regressions.
func TestDetectFindsEveryPlantedEvent(t *testing.T) {
	s := yearStore(t)
	p := matrixtest.YearPlanted
	rep, err := s.Detect(context.Background(), history.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	t.Log(md.String())
	if len(rep.Regressions) != 2 {
		t.Fatalf("want exactly the 2 planted regressions, got %d:\n%s", len(rep.Regressions), md.String())
	}
	for _, g := range rep.Regressions {
		switch {
		case g.Kind == "perf" && g.Key.Framework == "pytorch" && g.Key.Model == "cnn" && g.Key.Device == "NVIDIA H100 80GB HBM3":
			if g.FirstBad.Night != dayOf(p.PerfRegressionNight) {
				t.Errorf("perf regression first bad %s, planted %s", g.FirstBad.Night, dayOf(p.PerfRegressionNight))
			}
			if strings.Join(g.Changed, ";") != "framework version 2.5.1 → 2.6.0;image digest sha256:pytorch-1111 → sha256:pytorch-2222" {
				t.Errorf("perf regression changed: %q", g.Changed)
			}
		case g.Kind == "status" && g.Key.Framework == "jax" && g.Key.Model == "lstm" && g.Key.Check == "backward":
			if g.FirstBad.Night != dayOf(p.StatusRegressionNight) {
				t.Errorf("status regression first bad %s, planted %s", g.FirstBad.Night, dayOf(p.StatusRegressionNight))
			}
			if strings.Join(g.Changed, ";") != "dlcompat 0.9.0 → 0.10.0" {
				t.Errorf("status regression changed: %q", g.Changed)
			}
		default:
			t.Errorf("unplanted regression: %+v", g)
		}
	}
	if len(rep.Flaky) != 1 || rep.Flaky[0].Key.Framework != "tensorflow" || rep.Flaky[0].Key.Check != "forward" {
		t.Fatalf("flaky: %+v", rep.Flaky)
	}
	for _, want := range []string{"### pytorch × NVIDIA H100 80GB HBM3 × cnn × perf", "since:** " + dayOf(p.PerfRegressionNight), "dlcompat run --frameworks jax --models lstm --checks backward --precisions fp32", "Flaky (not gating)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	runs, err := s.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	infra := 0
	for _, r := range runs {
		if r.InfraFailure {
			infra++
			if r.Runner != "h100-runner" || r.Started.Format("2006-01-02") != dayOf(p.InfraNight) {
				t.Errorf("infra failure on %s %s", r.Runner, r.Started)
			}
		}
	}
	if infra != 1 {
		t.Errorf("%d infra-failure runs, planted 1", infra)
	}
}

func TestMarkdownEscapesHostileStrings(t *testing.T) {
	k := history.Key{Framework: "evil|`<script>alert(1)</script>`[x](javascript:y)", Row: "+1\n## injected", Model: "cnn", Check: "forward", Device: "gpu"}
	rep := &history.Report{Options: history.DefaultOptions, Regressions: []history.Regression{{Key: k, Kind: "status", What: "pass → fail",
		FirstBad: history.Night{Key: k, RunID: "r`1", Runner: "x` <b>"}, Changed: []string{"driver a → <img src=x>"}}}}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	// Inside code spans text is literal (GitHub shows it, never runs
	// it); outside them nothing may open a tag, link or table column.
	out := regexp.MustCompile("``` .*? ```|`` .*? ``|` .*? `").ReplaceAllString(md.String(), "CODE")
	out = regexp.MustCompile(`\\.`).ReplaceAllString(out, "E") // an escaped character is text
	if strings.Count(md.String(), "`` r`1 ``") != 1 {
		t.Errorf("a backtick in a run id closes its code span:\n%s", md.String())
	}
	for _, bad := range []string{"<script>", "<img", "](javascript", "\n## injected", "| evil"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown carries %q:\n%s", bad, out)
		}
	}
}
