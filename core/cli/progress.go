package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dlcompat/dlcompat/core/checks"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

// Progress of a run, by where it goes:
//   - a terminal: a bar per device, with the cell running on it and an
//     estimate of the time left, redrawn in place; cells that did not
//     pass are printed above the bars as they finish, so they stay in
//     the scrollback;
//   - anything else (a CI log, a file): a line per cell (cellLine);
//   - --quiet: nothing.
// Both displays are drawn from the runner's events.

// progressFor chooses the display for w. It returns the runner's event
// handler (nil for none) and a stop function to call when the run is
// over.
func progressFor(w io.Writer, quiet bool) (events func(runner.Event), stop func()) {
	if quiet {
		return nil, func() {}
	}
	if f, ok := w.(*os.File); ok {
		if width, ok := terminalWidth(f); ok {
			b := newBars(w, width, time.Now)
			return b.handle, b.start(250 * time.Millisecond)
		}
	}
	return func(e runner.Event) {
		if e.Kind == runner.EventCellDone {
			fmt.Fprintln(w, cellLine(e))
		}
	}, func() {}
}

// cellLine is the line of a finished cell: its place in the run, key,
// status, the measured errors (or the check's own detail) and why it
// did not pass.
func cellLine(e runner.Event) string {
	c := e.Cell
	detail := ""
	check, _ := checks.Lookup(c.Check)
	switch {
	case c.MaxRelErr != nil && c.MaxAbsErr != nil:
		detail = fmt.Sprintf(" (abs %.2g, rel %.2g)", float64(*c.MaxAbsErr), float64(*c.MaxRelErr))
	case c.Status == matrix.Pass && check.Detail != nil:
		detail = " " + check.Detail(c)
	}
	if c.Reason != "" && c.Status != matrix.Pass {
		detail += ": " + pluginapi.FirstLine(c.Reason)
	}
	prefix := ""
	if e.FromJournal {
		prefix = "(journal) "
	}
	return fmt.Sprintf("[%d] %s%s %s %s %s %s: %s%s (%.1fs)", e.Done, prefix, c.Framework, c.FrameworkVersion, c.Device, c.Model, c.Check, c.Status, detail, c.Seconds)
}

// bars draws the terminal display. Safe for concurrent use (the ticker
// redraws between events).
type bars struct {
	mu      sync.Mutex
	w       io.Writer
	width   int
	now     func() time.Time
	began   time.Time
	devices []string
	total   map[string]int            // device → planned cells
	left    map[string]map[string]int // device → check → cells not yet done
	done    map[string]int
	bad     map[string]int
	cur     *matrix.CellKey
	curAt   time.Time
	took    map[string][]float64 // check → seconds of cells that really ran
	drawn   int                  // lines on screen from the last draw
}

func newBars(w io.Writer, width int, now func() time.Time) *bars {
	return &bars{w: w, width: width, now: now, began: now(), total: map[string]int{}, left: map[string]map[string]int{},
		done: map[string]int{}, bad: map[string]int{}, took: map[string][]float64{}}
}

// start redraws every period until the returned stop is called; stop
// draws the final state.
func (b *bars) start(period time.Duration) func() {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				b.mu.Lock()
				b.draw(nil)
				b.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-finished
			b.mu.Lock()
			b.cur = nil
			b.draw(nil)
			b.mu.Unlock()
		})
	}
}

func (b *bars) handle(e runner.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var above []string
	switch e.Kind {
	case runner.EventPlan:
		for dev, checks := range e.Plan {
			b.addDevice(dev)
			for check, n := range checks {
				b.total[dev] += n
				b.left[dev][check] += n
			}
		}
	case runner.EventCellStart:
		k := e.Cell.CellKey
		b.cur, b.curAt = &k, b.now()
	case runner.EventCellDone:
		c := e.Cell
		b.addDevice(c.Device)
		if b.left[c.Device][c.Check] > 0 {
			b.left[c.Device][c.Check]--
		} else {
			b.total[c.Device]++ // not in the plan (should not happen)
		}
		b.done[c.Device]++
		if b.cur != nil && *b.cur == c.CellKey {
			b.cur = nil
		}
		if !e.FromJournal && c.Status != matrix.Skip && c.Seconds > 0 {
			b.took[c.Check] = append(b.took[c.Check], c.Seconds)
		}
		if c.Status.Bad() {
			b.bad[c.Device]++
			line := fmt.Sprintf("%s %s %s %s %s %s: %s", statusMark(c.Status), c.Framework, c.FrameworkVersion, c.Device, c.Model, c.Check, c.Status)
			if c.Reason != "" {
				line += ": " + pluginapi.FirstLine(c.Reason)
			}
			above = append(above, line)
		}
	}
	b.draw(above)
}

func statusMark(s matrix.Status) string {
	if s == matrix.Pass {
		return "✓"
	}
	return "✗"
}

func (b *bars) addDevice(dev string) {
	if _, ok := b.left[dev]; ok {
		return
	}
	b.left[dev] = map[string]int{}
	b.devices = append(b.devices, dev)
	sort.Slice(b.devices, func(i, j int) bool { return deviceLess(b.devices[i], b.devices[j]) })
}

// deviceLess orders the CPU first, then GPUs by index.
func deviceLess(a, b string) bool {
	ka, na := deviceSortKey(a)
	kb, nb := deviceSortKey(b)
	if ka != kb {
		return ka < kb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

func deviceSortKey(id string) (string, int) {
	kind, idx, _ := strings.Cut(id, ":")
	n, err := strconv.Atoi(idx)
	if err != nil {
		n = -1
	}
	if kind == "cpu" {
		kind = ""
	}
	return kind, n
}

// estimate is the expected seconds of one more cell of check: the mean
// of the cells of that check that ran. Checks differ by orders of
// magnitude (forward: milliseconds; perf: seconds), so there is no
// estimate for a check until one of its cells has run.
func (b *bars) estimate(check string) (float64, bool) {
	xs := b.took[check]
	if len(xs) == 0 {
		return 0, false
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs)), true
}

// remaining estimates the seconds left on a device; ok is false while a
// check that is still to run has no estimate.
func (b *bars) remaining(dev string) (float64, bool) {
	var s float64
	for check, n := range b.left[dev] {
		if n == 0 {
			continue
		}
		est, ok := b.estimate(check)
		if !ok {
			return 0, false
		}
		s += float64(n) * est
	}
	if b.cur != nil && b.cur.Device == dev {
		s -= b.now().Sub(b.curAt).Seconds()
	}
	if s < 0 {
		s = 0
	}
	return s, true
}

func fmtETA(s float64, ok bool) string {
	if !ok {
		return "estimating…"
	}
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	if d == 0 {
		return "~0s left"
	}
	return "~" + d.String() + " left"
}

const barWidth = 24

func (b *bars) lines() []string {
	var doneAll, totalAll int
	var leftAll float64
	allOK := true
	for _, d := range b.devices {
		doneAll += b.done[d]
		totalAll += b.total[d]
		s, ok := b.remaining(d)
		leftAll += s
		allOK = allOK && ok
	}
	elapsed := b.now().Sub(b.began).Round(time.Second)
	head := fmt.Sprintf("dlcompat run · %d/%d cells · %s elapsed", doneAll, totalAll, elapsed)
	if doneAll < totalAll {
		head += " · " + fmtETA(leftAll, allOK)
	}
	out := []string{head}
	idw := 5
	for _, d := range b.devices {
		idw = max(idw, len(d))
	}
	for _, d := range b.devices {
		total, done := b.total[d], b.done[d]
		fill := 0
		if total > 0 {
			fill = barWidth * done / total
		}
		bar := strings.Repeat("█", fill) + strings.Repeat("░", barWidth-fill)
		var state string
		switch {
		case b.cur != nil && b.cur.Device == d:
			state = fmt.Sprintf("%s %s %s · %s (%s)", b.cur.Model, b.cur.Check, b.cur.Framework, fmtETA(b.remaining(d)),
				b.now().Sub(b.curAt).Round(100*time.Millisecond))
		case done >= total:
			state = "done"
		default:
			state = "waiting · " + fmtETA(b.remaining(d))
		}
		if n := b.bad[d]; n > 0 {
			state += fmt.Sprintf(" · %d not passed", n)
		}
		out = append(out, fmt.Sprintf("%-*s [%s] %3d/%-3d %s", idw, d, bar, done, total, state))
	}
	for i, l := range out {
		out[i] = clip(l, b.width-1)
	}
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if n < 1 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// draw replaces the previous bars with the current ones, printing the
// lines of above first (they scroll up and stay).
func (b *bars) draw(above []string) {
	var sb strings.Builder
	if b.drawn > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", b.drawn) // back to the first bar line
	}
	for _, l := range above {
		sb.WriteString("\r\x1b[2K" + clip(l, b.width-1) + "\n")
	}
	lines := b.lines()
	for _, l := range lines {
		sb.WriteString("\r\x1b[2K" + l + "\n")
	}
	// Clear what is left of a taller previous draw.
	for i := len(above) + len(lines); i < b.drawn; i++ {
		sb.WriteString("\r\x1b[2K\n")
	}
	if extra := b.drawn - len(above) - len(lines); extra > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", extra)
	}
	b.drawn = len(lines)
	io.WriteString(b.w, sb.String())
}
