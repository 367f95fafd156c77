package runner

import "github.com/dlcompat/dlcompat/matrix"

// EventKind says what happened.
type EventKind int

const (
	// EventPlan comes once, before any plugin starts: Plan holds the cells
	// the run expects, per device and check.
	EventPlan EventKind = iota
	// EventCellStart: Cell (its key) is about to run.
	EventCellStart
	// EventCellDone: Cell finished, or was taken from the journal
	// (FromJournal), or was declared without running (skip, a plugin that
	// did not start).
	EventCellDone
)

// Event is what a progress display needs, sent as the run goes: the
// runner prints nothing itself (core/cli draws bars or prints lines).
// Events come from one goroutine, in order.
type Event struct {
	Kind        EventKind
	Plan        map[string]map[string]int // device → check → cells
	Cell        matrix.Cell
	FromJournal bool
	// Done counts the cells done so far, this one included
	// (EventCellDone).
	Done int
}

func (r *runState) emit(e Event) {
	if r.o.Events != nil {
		r.o.Events(e)
	}
}
