package history

import (
	"fmt"
	"io"
	"strings"
)

// mdEscape makes a string from a run safe in Markdown text and table
// cells: a framework's name or a driver string cannot open a link, an
// HTML tag, a table column or a code span.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '(', ')', '#', '|', '!', '~', '>', '<', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code is s as an inline code span that s cannot close.
func code(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

// WriteMarkdown writes the body of a CI issue or PR comment: each
// regression (what, since when, what changed, the command that
// reproduces it), then the flaky keys, which do not gate.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	if len(r.Regressions) == 0 {
		fmt.Fprintf(&b, "## dlcompat: no regressions\n\nAgainst a baseline of the last %d nights of each cell (Mann-Whitney p < %g and at least %.0f%% worse for perf).\n",
			r.Options.Window, r.Options.Alpha, r.Options.MinEffect*100)
	} else {
		fmt.Fprintf(&b, "## dlcompat: %d regression%s\n\nAgainst a baseline of the last %d nights of each cell (Mann-Whitney p < %g and at least %.0f%% worse for perf).\n\n",
			len(r.Regressions), map[bool]string{true: "", false: "s"}[len(r.Regressions) == 1], r.Options.Window, r.Options.Alpha, r.Options.MinEffect*100)
		for _, g := range r.Regressions {
			fmt.Fprintf(&b, "### %s\n\n", mdEscape(g.Key.String()))
			fmt.Fprintf(&b, "- **what:** %s (%s)\n", mdEscape(g.What), g.Kind)
			fmt.Fprintf(&b, "- **since:** %s (run %s on %s); last good %s (run %s)\n", g.FirstBad.Night, code(g.FirstBad.RunID), code(g.FirstBad.Runner), g.Before.Night, code(g.Before.RunID))
			if g.FirstBad.Reason != "" && g.Kind == "status" {
				fmt.Fprintf(&b, "- **reason:** %s\n", mdEscape(truncate(g.FirstBad.Reason, 300)))
			}
			if len(g.Changed) == 0 {
				b.WriteString("- **changed that night:** nothing recorded (same framework version, image digest, driver, dlcompat and runner)\n")
			} else {
				b.WriteString("- **changed that night:**")
				for i, c := range g.Changed {
					if i > 0 {
						b.WriteString(";")
					}
					b.WriteString(" " + mdEscape(c))
				}
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "- **reproduce:** %s\n\n", code(Reproduce(g.Key)))
		}
	}
	if len(r.Flaky) > 0 {
		fmt.Fprintf(&b, "\n### Flaky (not gating)\n\n| cell | flips | nights |\n| --- | --- | --- |\n")
		for _, f := range r.Flaky {
			fmt.Fprintf(&b, "| %s | %d | %d |\n", mdEscape(f.Key.String()), f.Flips, f.Nights)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
