package render

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
)

// Format is one output format of `dlcompat report` and `dlcompat diff`:
// its renderer of a run, of a comparison, or of both.
type Format struct {
	// Name is what --format takes and what help lists.
	Name string
	// Aliases are other names --format accepts, not listed in help.
	Aliases []string
	// About says what the rendering of a run is, for report's help; a
	// line break continues it on the next line.
	About string
	// Run renders a run document; nil when the format has no such view.
	Run func(io.Writer, *matrix.Run) error
	// Diff renders a comparison of two runs; nil when the format has no
	// such view (JUnit: a comparison is not a set of test results).
	Diff func(io.Writer, *diff.Comparison) error
}

// formats is the one registry of formats, in the order help lists them.
var formats = []Format{
	{Name: "text", Run: WriteText, Diff: WriteDiffText,
		About: "the matrix for a terminal"},
	{Name: "md", Aliases: []string{"markdown"}, Run: WriteMarkdown, Diff: WriteDiffMarkdown,
		About: "GitHub-flavoured Markdown, fit for a pull-request comment"},
	{Name: "html", Run: WriteHTML, Diff: WriteDiffHTML,
		About: "one self-contained page (inline CSS and SVG charts, no script,\n" +
			"no network): status matrix with the measured errors, performance\n" +
			"table and charts per model, devices, frameworks, per-cell details"},
	{Name: "json", Run: matrix.WriteJSON, Diff: WriteDiffJSON,
		About: "the results document itself"},
	{Name: "junit", Run: WriteJUnit,
		About: "JUnit XML for CI test reports: a testcase per cell"},
}

// Formats returns the registry, in the order help lists it.
func Formats() []Format { return slices.Clone(formats) }

func hasRun(f Format) bool { return f.Run != nil }

func hasDiff(f Format) bool { return f.Diff != nil }

// names lists the formats that have a view, for help and errors.
func names(has func(Format) bool) []string {
	var out []string
	for _, f := range formats {
		if has(f) {
			out = append(out, f.Name)
		}
	}
	return out
}

// lookup finds a format by name or alias among those that have a view.
func lookup(name string, has func(Format) bool) (Format, error) {
	for _, f := range formats {
		if has(f) && (f.Name == name || slices.Contains(f.Aliases, name)) {
			return f, nil
		}
	}
	return Format{}, fmt.Errorf("unknown format %q (valid: %s)", name, strings.Join(names(has), ", "))
}

// RunFormats lists the formats a run renders in (dlcompat report).
func RunFormats() []string { return names(hasRun) }

// DiffFormats lists the formats a comparison renders in (dlcompat diff).
func DiffFormats() []string { return names(hasDiff) }

// ForRun returns the renderer of a run in the named format, or an error
// that lists the valid ones.
func ForRun(name string) (func(io.Writer, *matrix.Run) error, error) {
	f, err := lookup(name, hasRun)
	return f.Run, err
}

// ForDiff returns the renderer of a comparison in the named format, or an
// error that lists the valid ones.
func ForDiff(name string) (func(io.Writer, *diff.Comparison) error, error) {
	f, err := lookup(name, hasDiff)
	return f.Diff, err
}

// Run writes the run in the named format.
func Run(w io.Writer, r *matrix.Run, format string) error {
	write, err := ForRun(format)
	if err != nil {
		return err
	}
	return write(w, r)
}

// Diff writes the comparison in the named format.
func Diff(w io.Writer, c *diff.Comparison, format string) error {
	write, err := ForDiff(format)
	if err != nil {
		return err
	}
	return write(w, c)
}
