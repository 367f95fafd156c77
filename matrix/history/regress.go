package history

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
)

// Options are the rules of regression detection (docs/spec.md §12).
type Options struct {
	// Window is N, the nights of the same key the baseline pools.
	Window int
	// Alpha is the Mann-Whitney significance level.
	Alpha float64
	// MinEffect is the smallest relative change of the median called a
	// regression, however significant.
	MinEffect float64
	// FlakyFlips is k: a key whose status flipped at least k times in
	// the last Window nights is flaky: listed, never gating.
	FlakyFlips int
}

// DefaultOptions: two weeks of nights, p < 0.01, 10 %, 3 flips.
var DefaultOptions = Options{Window: 14, Alpha: 0.01, MinEffect: 0.10, FlakyFlips: 3}

// Regression is one key that is worse on its latest night than its
// baseline, and has been since FirstBad.
type Regression struct {
	Key Key
	// Kind is "status" (it passed, now it does not) or "perf".
	Kind string
	// Series names the perf series ("forward b64"); empty for status.
	Series string
	// What says it in a line: "pass → fail", "+23% median (p=1e-05)".
	What string
	// FirstBad is the first night of the regression, Last the latest;
	// Before the last good night before FirstBad.
	FirstBad, Last, Before Night
	// Changed lists what differs between Before and FirstBad.
	Changed []string
}

// Flaky is a key whose status flips too often to gate on.
type Flaky struct {
	Key      Key
	Flips    int
	Nights   int
	Statuses []matrix.Status
}

// Report is what Detect found over the whole store.
type Report struct {
	Options     Options
	Regressions []Regression
	Flaky       []Flaky
}

// usable drops infrastructure nights: a night where nothing ran says
// nothing about the framework, good or bad.
func usable(ns []Night) []Night {
	out := make([]Night, 0, len(ns))
	for _, n := range ns {
		if !n.Infra {
			out = append(out, n)
		}
	}
	return out
}

// Detect looks at one key's nights (oldest first, as History returns
// them) and returns its regressions and, when it flips too often, its
// flakiness.
func Detect(nights []Night, o Options) ([]Regression, *Flaky) {
	ns := usable(nights)
	if len(ns) < 2 {
		return nil, nil
	}
	var flaky *Flaky
	recent := ns[max(0, len(ns)-o.Window):]
	flips := 0
	st := make([]matrix.Status, len(recent))
	for i, n := range recent {
		st[i] = n.Status
		if i > 0 && n.Status.Bad() != recent[i-1].Status.Bad() {
			flips++
		}
	}
	if flips >= o.FlakyFlips {
		flaky = &Flaky{Key: ns[0].Key, Flips: flips, Nights: len(recent), Statuses: st}
	}
	var out []Regression
	if flaky == nil {
		if r, ok := statusRegression(ns, o); ok {
			out = append(out, r)
		}
	}
	out = append(out, perfRegressions(ns, o)...)
	return out, flaky
}

// statusRegression: the latest night is bad, and the night before its
// run of bad nights passed.
func statusRegression(ns []Night, o Options) (Regression, bool) {
	last := len(ns) - 1
	if !ns[last].Status.Bad() {
		return Regression{}, false
	}
	j := last
	for j > 0 && ns[j-1].Status.Bad() {
		j--
	}
	if j == 0 || ns[j-1].Status != matrix.Pass || last-j >= o.Window {
		return Regression{}, false // never passed in view, or bad for longer than the window: not new
	}
	return Regression{Key: ns[last].Key, Kind: "status", What: fmt.Sprintf("%s → %s", ns[j-1].Status, ns[last].Status),
		FirstBad: ns[j], Last: ns[last], Before: ns[j-1], Changed: changed(ns[j-1], ns[j])}, true
}

type seriesID struct {
	name  string
	batch int
}

func seriesOfNight(n Night, id seriesID) *Series {
	for i := range n.Series {
		if n.Series[i].Name == id.name && n.Series[i].Batch == id.batch {
			return &n.Series[i]
		}
	}
	return nil
}

// worse tests night samples x against the pooled baseline: significant
// and past MinEffect in the series' bad direction; it returns the
// relative change of the median and p.
func worse(base, x []float64, better string, o Options) (bool, float64, float64) {
	if len(base) < 4 || len(x) < 4 {
		return false, 0, 1
	}
	mb, mx := median(base), median(x)
	if mb == 0 {
		return false, 0, 1
	}
	rel := (mx - mb) / mb
	if better == "higher" {
		rel = -rel
	}
	p := diff.MannWhitneyU(base, x).P
	return p < o.Alpha && rel >= o.MinEffect, rel, p
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pool is the samples of series id over ns, leaving out throttled
// nights (they measured the cooling as much as the framework).
func pool(ns []Night, id seriesID) []float64 {
	var out []float64
	for _, n := range ns {
		if s := seriesOfNight(n, id); s != nil && !s.Throttled {
			out = append(out, s.Samples...)
		}
	}
	return out
}

// perfRegressions: per series, the earliest night j (within the window)
// such that every night from j to the latest is worse than the pooled
// baseline of the Window nights before j (a baseline taken just before
// the latest night would hold the bad nights themselves). A single slow night that
// recovered is not one; neither is a throttled latest night.
func perfRegressions(ns []Night, o Options) []Regression {
	last := len(ns) - 1
	var out []Regression
	for _, s := range ns[last].Series {
		if s.Throttled {
			continue
		}
		id := seriesID{s.Name, s.Batch}
		first := -1
		var rel, p float64
		for j := last; j > 0 && last-j < o.Window; j-- {
			base := pool(ns[max(0, j-o.Window):j], id)
			all := true
			var r0, p0 float64
			for i := j; i <= last && all; i++ {
				x := seriesOfNight(ns[i], id)
				if x == nil {
					all = false
					break
				}
				if x.Throttled {
					continue
				}
				ok, r, pp := worse(base, x.Samples, s.Better, o)
				all = ok
				if i == j {
					r0, p0 = r, pp
				}
			}
			if all { // the earliest such j wins: the onset
				first, rel, p = j, r0, p0
			}
		}
		if first < 0 {
			continue
		}
		word := "slower"
		if s.Better == "higher" {
			word = "lower"
		}
		out = append(out, Regression{Key: ns[last].Key, Kind: "perf", Series: fmt.Sprintf("%s b%d", s.Name, s.Batch),
			What:     fmt.Sprintf("%s %.0f%% %s than the %d nights before (Mann-Whitney p=%.2g)", fmt.Sprintf("%s b%d", s.Name, s.Batch), rel*100, word, min(first, o.Window), p),
			FirstBad: ns[first], Last: ns[last], Before: ns[first-1], Changed: changed(ns[first-1], ns[first])})
	}
	return out
}

// changed lists what differs between two nights of one key.
func changed(a, b Night) []string {
	var out []string
	add := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %s → %s", what, orNone(x), orNone(y)))
		}
	}
	add("framework version", a.FrameworkVersion, b.FrameworkVersion)
	add("image digest", a.ImageDigest, b.ImageDigest)
	add("driver", a.Driver, b.Driver)
	add("dlcompat", a.DlcompatVersion, b.DlcompatVersion)
	add("runner", a.Runner, b.Runner)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Gating reports whether the report should fail a CI job: any
// regression (flaky keys never gate).
func (r *Report) Gating() bool { return len(r.Regressions) > 0 }

// Reproduce is the command that reruns the cell of a key.
func Reproduce(k Key) string {
	cmd := fmt.Sprintf("dlcompat run --frameworks %s --models %s --checks %s", shellQuote(k.Framework), shellQuote(k.Model), shellQuote(k.Check))
	if k.Precision != "" {
		cmd += " --precisions " + shellQuote(k.Precision)
	}
	return cmd
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.+,:/=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
