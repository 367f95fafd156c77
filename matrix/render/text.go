package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dlcompat/dlcompat/matrix"
)

// WriteText renders the run for a terminal. Skipped cells are listed
// once per framework and reason (see problemLines), and a framework whose
// unavailability is that reason says so without repeating it.
func WriteText(w io.Writer, r *matrix.Run) error {
	return safely(w, func(w io.Writer) error { return writeText(w, r) })
}

func writeText(w io.Writer, r *matrix.Run) error {
	fmt.Fprintf(w, "dlcompat run %s  (%s, %s)\n", r.RunID, r.Host.Hostname, r.Started.Format("2006-01-02 15:04:05 MST"))
	skipReasons := map[string]bool{} // framework + reason of skipped cells
	for _, c := range r.Cells {
		if c.Status == matrix.Skip && c.Reason != "" {
			skipReasons[c.Framework+"\x00"+c.Reason] = true
		}
	}
	for _, f := range r.Frameworks {
		line := fmt.Sprintf("  %s %s via %s", f.Name, f.Version, f.Executor)
		if f.Image != "" {
			line += " image " + f.Image
		}
		switch {
		case f.Unavailable == "":
		case skipReasons[f.Name+"\x00"+f.Unavailable]:
			line += " — unavailable (the reason is with its skipped cells, below)"
		default:
			line += " — unavailable: " + f.Unavailable
		}
		if p := packagesText(f); p != "" {
			line += "; " + p
		}
		fmt.Fprintln(w, line)
	}
	for _, d := range r.Devices {
		if fp := fingerprint(d); fp != "" {
			fmt.Fprintf(w, "  %s %s: %s\n", d.ID, d.Name, fp)
		}
	}
	if l := preflightLine(r); l != "" {
		fmt.Fprintln(w, l)
		for _, p := range preflightProblems(r) {
			fmt.Fprintln(w, "  - "+p)
		}
	}
	fmt.Fprintln(w)
	writeTab(w, statusTable(r))
	if pt := perfTable(r); len(pt.rows) > 0 {
		fmt.Fprintln(w)
		writeTab(w, pt)
	}
	if ct := charTable(r); len(ct.rows) > 0 {
		fmt.Fprintln(w)
		writeTab(w, ct)
	}
	if hasTelemetry(r) {
		fmt.Fprintln(w)
		writeTab(w, telemetryTable(r))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.Summary())
	if l := computeLine(r); l != "" {
		fmt.Fprintln(w, l)
	}
	for _, p := range problemLines(r, true) {
		fmt.Fprintln(w, "  - "+p)
	}
	for _, n := range append(append([]string{}, r.DeviceNotes...), r.Notes...) {
		fmt.Fprintln(w, "  note: "+n)
	}
	return nil
}

func writeTab(w io.Writer, t table) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, row := range t.rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}
