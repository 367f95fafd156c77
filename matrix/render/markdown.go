package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// WriteMarkdown renders the run as GitHub-flavoured Markdown, fit for a
// pull-request comment, with control characters escaped as in WriteText
// (run.md is read in a terminal too).
func WriteMarkdown(w io.Writer, r *matrix.Run) error {
	return safely(w, func(w io.Writer) error { return writeMarkdown(w, r) })
}

func writeMarkdown(w io.Writer, r *matrix.Run) error {
	icon := "✅"
	if r.Failed() {
		icon = "❌"
	}
	fmt.Fprintf(w, "## %s dlcompat run `%s`\n\n", icon, mdEscape(r.RunID))
	fmt.Fprintf(w, "%s · host `%s` · started %s\n\n", r.Summary(), mdEscape(r.Host.Hostname), r.Started.Format("2006-01-02 15:04 MST"))
	st := statusTable(r)
	for _, row := range st.rows {
		for i := 4; i < len(row); i++ {
			status, _, _ := strings.Cut(row[i], " ")
			if e, ok := mdStatusIcon[matrix.Status(status)]; ok {
				row[i] = e + " " + row[i]
			}
		}
	}
	writeMDTable(w, st)
	if pt := perfTable(r); len(pt.rows) > 0 {
		fmt.Fprint(w, "\n### Performance\n\n")
		writeMDTable(w, pt)
	}
	if ct := charTable(r); len(ct.rows) > 0 {
		fmt.Fprint(w, "\n### Device characterisation\n\n")
		writeMDTable(w, ct)
		fmt.Fprintln(w, "\n"+mdEscape(charNote))
	}
	if hasTelemetry(r) {
		fmt.Fprint(w, "\n### Telemetry\n\nSampled by the host through NVML during each series' timed window; a THROTTLED series ran while a thermal or power reason held the clocks down.\n\n")
		writeMDTable(w, telemetryTable(r))
	}
	if ps := problems(r); len(ps) > 0 {
		fmt.Fprint(w, "\n### Problems\n\n")
		for _, p := range ps {
			fmt.Fprintln(w, "- "+mdEscape(p))
		}
	}
	if rs := reproduceLines(r); len(rs) > 0 {
		fmt.Fprint(w, "\n### Reproduce\n\n")
		for _, l := range rs {
			k, cmd, _ := strings.Cut(l, ": ")
			fmt.Fprintf(w, "- %s: `%s`\n", mdEscape(k), strings.ReplaceAll(cmd, "`", "'"))
		}
	}
	if l := preflightLine(r); l != "" {
		fmt.Fprint(w, "\n### Preflight\n\n"+mdEscape(l)+"\n\n")
		writeMDTable(w, preflightTable(r))
	}
	fmt.Fprint(w, "\n### Devices\n\n")
	for _, d := range r.Devices {
		fmt.Fprintf(w, "- `%s` %s", mdEscape(d.ID), mdEscape(d.Name))
		if fp := fingerprint(d); fp != "" {
			fmt.Fprintf(w, ": %s", mdEscape(fp))
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.DeviceNotes {
		fmt.Fprintf(w, "- note: %s\n", mdEscape(n))
	}
	var pk []string
	for _, f := range r.Frameworks {
		if p := packagesText(f); p != "" {
			pk = append(pk, fmt.Sprintf("- %s `%s`: %s", mdEscape(f.Name), mdEscape(f.Version), mdEscape(p)))
		}
	}
	if len(pk) > 0 {
		fmt.Fprint(w, "\n### Environment\n\n"+strings.Join(pk, "\n")+"\n")
	}
	return nil
}

func writeMDTable(w io.Writer, t table) {
	esc := func(row []string) []string {
		out := make([]string, len(row))
		for i, s := range row {
			out[i] = mdEscape(s)
		}
		return out
	}
	fmt.Fprintln(w, "| "+strings.Join(esc(t.header), " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat(" --- |", len(t.header)))
	for _, row := range t.rows {
		fmt.Fprintln(w, "| "+strings.Join(esc(row), " | ")+" |")
	}
}

// mdStatusIcon marks statuses in Markdown, where a comment has no CSS:
// the word stays beside it, for readers without colour.
var mdStatusIcon = map[matrix.Status]string{matrix.Pass: "✅", matrix.Fail: "❌", matrix.Error: "⚠️", matrix.Crash: "💥", matrix.Timeout: "⏱️", matrix.Skip: "⏭️", matrix.Unknown: "❓"}
