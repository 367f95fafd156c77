package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dlcompat/dlcompat/matrix/diff"
)

func fmtDelta(t diff.TimingDiff) string {
	if t.OldMedian == 0 {
		return "?"
	}
	return fmt.Sprintf("%+.1f%%", 100*t.Delta)
}

// speedCell is a timing's verdict as benchstat shows it: the change and
// its p-value, or "~" and the p-value when the data cannot tell.
func speedCell(t diff.TimingDiff, th diff.Thresholds) string {
	switch {
	case t.Discounted:
		side := "new"
		if t.OldThrottled {
			side = "old"
		}
		return fmt.Sprintf("%s %s (%s), %s run THROTTLED: not counted", fmtDelta(t), t.Verdict, fmtP(t.P), side)
	case t.Verdict == diff.Slower, t.Verdict == diff.Faster:
		return fmt.Sprintf("%s %s (%s)", fmtDelta(t), t.Verdict, fmtP(t.P))
	}
	switch {
	case t.P == nil:
		return "~ (" + t.Note + ")"
	case float64(*t.P) <= th.Alpha:
		return fmt.Sprintf("~ (%s, under %g%%)", fmtP(t.P), 100*t.MinChange)
	}
	return fmt.Sprintf("~ (%s)", fmtP(t.P))
}

func header(c *diff.Comparison) []string {
	side := func(label string, r diff.RunRef) string {
		s := fmt.Sprintf("%s: %s", label, r.RunID)
		if r.File != "" {
			s += " (" + r.File + ")"
		}
		if r.Hostname != "" {
			s += " on " + r.Hostname
		}
		if !r.Started.IsZero() {
			s += ", " + r.Started.UTC().Format("2006-01-02 15:04 UTC")
		}
		return s
	}
	return []string{side("old", c.Old), side("new", c.New)}
}

func thresholdsLine(c *diff.Comparison) string {
	t := c.Thresholds
	return fmt.Sprintf("speed: Mann-Whitney U on the raw samples, α=%g, changes under %g%% ignored (%g%% on CPUs), at least %d samples; errors flagged above %g× growth",
		t.Alpha, 100*t.MinChange, 100*t.MinChangeCPU, t.MinSamples, t.ErrorGrowth)
}

// WriteDiffText renders a comparison for a terminal: the tally, each
// changed cell with its reasons, then every timing series with its
// verdict, as benchstat does.
func WriteDiffText(w io.Writer, c *diff.Comparison) error {
	return safely(w, func(w io.Writer) error { return writeDiffText(w, c) })
}

func writeDiffText(w io.Writer, c *diff.Comparison) error {
	for _, h := range header(c) {
		fmt.Fprintln(w, h)
	}
	for _, d := range c.DeviceChanges {
		fmt.Fprintln(w, "device: "+d)
	}
	fmt.Fprintln(w, thresholdsLine(c))
	fmt.Fprintln(w)
	fmt.Fprintln(w, c.Summary())
	for _, ch := range []diff.Change{diff.Regression, diff.Improvement, diff.Changed, diff.Added, diff.Removed} {
		first := true
		for _, d := range c.Cells {
			if d.Change != ch {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", strings.ToUpper(string(ch)))
				first = false
			}
			fmt.Fprintf(w, "  %s: %s\n", d.Name(), strings.Join(d.Reasons, "; "))
			if d.NewReason != "" {
				fmt.Fprintf(w, "      %s\n", firstLineOf(d.NewReason))
			}
		}
	}
	if rows := timingRows(c); len(rows) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "framework\tdevice\tmodel\tseries\told median\tnew median\tchange\tverdict\tn")
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	for _, warn := range c.Warnings {
		fmt.Fprintln(w, "warning: "+warn)
	}
	return nil
}

func timingRows(c *diff.Comparison) [][]string {
	var rows [][]string
	for _, d := range c.Cells {
		for _, t := range d.Timings {
			verdict := speedCell(t, c.Thresholds)
			if t.Verdict == diff.Slower && !t.Discounted {
				verdict += " REGRESSION"
			}
			rows = append(rows, []string{d.Framework + " " + d.NewVersion, d.DeviceModel, d.Model, t.Series(),
				fmtSeconds(t.OldMedian), fmtSeconds(t.NewMedian), fmtDelta(t), verdict, fmt.Sprintf("%d+%d", t.OldN, t.NewN)})
		}
	}
	return rows
}

// WriteDiffMarkdown renders a comparison for a pull-request comment:
// the tally first, regressions in a table, everything else folded.
func WriteDiffMarkdown(w io.Writer, c *diff.Comparison) error {
	icon := "✅"
	if c.Count(diff.Regression) > 0 {
		icon = "❌"
	}
	fmt.Fprintf(w, "## %s dlcompat diff: %s\n\n", icon, mdEscape(c.Summary()))
	for _, h := range header(c) {
		fmt.Fprintf(w, "- %s\n", mdEscape(h))
	}
	for _, d := range c.DeviceChanges {
		fmt.Fprintf(w, "- device: %s\n", mdEscape(d))
	}
	fmt.Fprintf(w, "\n_%s_\n", mdEscape(thresholdsLine(c)))
	for _, ch := range []diff.Change{diff.Regression, diff.Improvement, diff.Changed, diff.Added, diff.Removed} {
		var rows [][]string
		for _, d := range c.Cells {
			if d.Change == ch {
				rows = append(rows, []string{d.Name(), statusPair(d), strings.Join(d.Reasons, "; ")})
			}
		}
		if len(rows) == 0 {
			continue
		}
		title := fmt.Sprintf("%s (%d)", strings.ToUpper(string(ch[:1]))+string(ch[1:]), len(rows))
		open, close := "", ""
		if ch != diff.Regression {
			open = fmt.Sprintf("<details><summary>%s</summary>\n\n", title)
			close = "\n</details>\n"
		} else {
			open = "### " + title + "\n\n"
		}
		fmt.Fprint(w, "\n"+open)
		writeMDTable(w, table{header: []string{"cell", "status", "why"}, rows: rows})
		fmt.Fprint(w, close)
	}
	if rows := timingRows(c); len(rows) > 0 {
		fmt.Fprintf(w, "\n<details><summary>Speed, every series (%d)</summary>\n\n", len(rows))
		writeMDTable(w, table{header: []string{"framework", "device", "model", "series", "old median", "new median", "change", "verdict", "n"}, rows: rows})
		fmt.Fprint(w, "\n</details>\n")
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(w, "\n> warning: %s\n", mdEscape(warn))
	}
	return nil
}

func statusPair(d diff.CellDiff) string {
	switch {
	case d.OldStatus == "":
		return "— → " + string(d.NewStatus)
	case d.NewStatus == "":
		return string(d.OldStatus) + " → —"
	case d.OldStatus == d.NewStatus:
		return string(d.NewStatus)
	}
	return string(d.OldStatus) + " → " + string(d.NewStatus)
}

type htmlDiffRow struct {
	Name, Status, Why, Class, NewReason string
	Change                              diff.Change
	Timings                             []htmlDiffTiming
}

type htmlDiffTiming struct {
	Series, Old, New, Delta, Verdict, N, Class string
}

type htmlDiff struct {
	Title, Summary, Thresholds string
	Header, DeviceChanges      []string
	Warnings                   []string
	Counts                     []legendItem
	Rows                       []htmlDiffRow
}

// WriteDiffHTML renders a comparison as a self-contained HTML page.
func WriteDiffHTML(w io.Writer, c *diff.Comparison) error {
	h := htmlDiff{Title: "dlcompat diff " + c.Old.RunID + " → " + c.New.RunID, Summary: c.Summary(), Thresholds: thresholdsLine(c),
		Header: header(c), DeviceChanges: c.DeviceChanges, Warnings: c.Warnings}
	for _, ch := range diff.Changes {
		h.Counts = append(h.Counts, legendItem{Label: string(ch), Count: c.Count(ch), Class: "d-" + string(ch)})
	}
	for _, ch := range diff.Changes {
		for _, d := range c.Cells {
			if d.Change != ch {
				continue
			}
			row := htmlDiffRow{Name: d.Name(), Status: statusPair(d), Why: strings.Join(d.Reasons, "; "), Class: "d-" + string(ch), Change: ch, NewReason: firstLineOf(d.NewReason)}
			for _, t := range d.Timings {
				ht := htmlDiffTiming{Series: t.Series(), Old: fmtSeconds(t.OldMedian), New: fmtSeconds(t.NewMedian), Delta: fmtDelta(t),
					Verdict: speedCell(t, c.Thresholds), N: fmt.Sprintf("%d+%d", t.OldN, t.NewN)}
				switch {
				case t.Discounted:
					ht.Class = "throttled"
				case t.Verdict == diff.Slower:
					ht.Class = "d-regression"
				case t.Verdict == diff.Faster:
					ht.Class = "d-improvement"
				}
				row.Timings = append(row.Timings, ht)
			}
			h.Rows = append(h.Rows, row)
		}
	}
	return htmlTemplates.ExecuteTemplate(w, "diff", h)
}

// WriteDiffJSON writes the comparison as indented JSON.
func WriteDiffJSON(w io.Writer, c *diff.Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
