package telemetry

import (
	"context"
	"sync"
	"time"
)

// Recording is a Source sampled in the background, from Start until Stop.
type Recording struct {
	src  Source
	opts Options
	stop chan struct{}
	done chan struct{}

	mu          sync.Mutex
	samples     []Sample
	notes       []string
	baselineEnd time.Time
	stopped     time.Time
}

// Start samples src every opts.Interval from now on, and returns once
// the baseline (opts.Baseline) is recorded or ctx is done.
func Start(ctx context.Context, src Source, opts Options) *Recording {
	if opts.Interval <= 0 {
		opts.Interval = DefaultOptions().Interval
	}
	r := &Recording{src: src, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	r.take()
	go r.loop()
	t := time.NewTimer(opts.Baseline)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	r.take()
	r.mu.Lock()
	r.baselineEnd = time.Now()
	r.mu.Unlock()
	return r
}

func (r *Recording) loop() {
	defer close(r.done)
	tick := time.NewTicker(r.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.take()
		}
	}
}

func (r *Recording) take() {
	var s Sample
	if ps, ok := r.src.(ProcessSource); ok && len(r.opts.Processes) > 0 {
		s = ps.SampleProcesses(r.opts.Processes)
	} else {
		s = r.src.Sample()
	}
	if s.At.IsZero() {
		s.At = time.Now()
	}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// Stop takes a last sample and ends the recording; it may be called more
// than once.
func (r *Recording) Stop() {
	r.mu.Lock()
	if !r.stopped.IsZero() {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.take()
	r.mu.Lock()
	r.stopped = time.Now()
	r.mu.Unlock()
}

// Samples returns the samples so far, in time order, and the end of the
// baseline.
func (r *Recording) Samples() ([]Sample, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sample(nil), r.samples...), r.baselineEnd
}

// Stopped is when Stop ended the recording (zero before).
func (r *Recording) Stopped() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Note records something the recording's caller could not find out (the
// plugin's processes), for the summaries' notes.
func (r *Recording) Note(n string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
}

// Notes returns what Note recorded.
func (r *Recording) Notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
}
