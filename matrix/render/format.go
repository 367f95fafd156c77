package render

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/dlcompat/dlcompat/matrix"
)

var mdReplacer = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'")

func mdEscape(s string) string { return mdReplacer.Replace(s) }

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func fmtSeconds(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 1e-3:
		return fmt.Sprintf("%.3gµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3gms", s*1e3)
	}
	return fmt.Sprintf("%.3gs", s)
}

func fmtBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// fmtRate prints a rate with four significant digits, without an
// exponent for the rates a device reaches (12630, not 1.263e+04).
func fmtRate(v float64) string {
	if v >= 1000 && v < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

func fmtP(p *matrix.Float) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("p=%.3g", float64(*p))
}

// safely runs write onto a safeWriter around w, and returns the first
// error of either.
func safely(w io.Writer, write func(io.Writer) error) error {
	sw := &safeWriter{w: w}
	if err := write(sw); err != nil {
		return err
	}
	return sw.err
}

// safeWriter shows every control character but newline and tab, and
// every byte that is not UTF-8, as a Go escape (ESC as \x1b, CSI as
// \u009b), so that a plugin's string cannot drive the terminal or the
// pager a text report is read in. It keeps the first write error.
type safeWriter struct {
	w   io.Writer
	err error
}

func (s *safeWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, p[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.Write(p[i : i+size])
		}
		i += size
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		s.err = err
		return 0, err
	}
	return len(p), nil
}

// fmtPrecision is how well a median is known (docs/spec.md §7.1): the
// relative half-width of its 95 % interval, "±1.2%", and " capped" when an
// iteration or time cap stopped the series short of its target; "" when
// the plugin did not report it.
func fmtPrecision(precision float64, capped bool) string {
	if precision <= 0 {
		return ""
	}
	s := fmt.Sprintf("±%.1f%%", 100*precision)
	if capped {
		s += " capped"
	}
	return s
}

// cellPrecision is the least precise of a perf cell's series medians
// (fmtPrecision), capped when any series was.
func cellPrecision(c *matrix.Cell) string {
	worst, capped := 0.0, false
	for _, t := range c.Timings {
		worst = math.Max(worst, t.MedianPrecision)
		capped = capped || t.Capped
	}
	return fmtPrecision(worst, capped)
}
