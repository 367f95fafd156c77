package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/matrix"
)

func devicesN(n int) []matrix.Device {
	ds := []matrix.Device{{ID: "cpu", Kind: "cpu"}}
	for i := 0; i < n-1; i++ {
		ds = append(ds, matrix.Device{ID: fmt.Sprintf("gpu:%d", i), Kind: "gpu"})
	}
	return ds
}

func specsN(names ...string) []exec.Spec {
	var out []exec.Spec
	for _, n := range names {
		out = append(out, exec.Spec{Name: n})
	}
	return out
}

// TestShardPlanPartitions checks, for many shapes, that the shards of a
// plan are disjoint, cover it, are even, and keep a device in one shard
// whenever there are enough devices.
func TestShardPlanPartitions(t *testing.T) {
	plugins := []string{"tensorflow", "gorgonia", "pytorch", "caffe", "keras"}
	for d := 1; d <= 9; d++ {
		for p := 1; p <= len(plugins); p++ {
			for n := 1; n <= 12; n++ {
				devs, specs := devicesN(d), specsN(plugins[:p]...)
				owner := map[[2]string]int{}
				var sizes []int
				for k := 1; k <= n; k++ {
					got, note := shardPlan(devs, specs, matrix.Shard{K: k, N: n})
					again, _ := shardPlan(devs, specs, matrix.Shard{K: k, N: n})
					if fmt.Sprint(got) != fmt.Sprint(again) {
						t.Fatalf("d=%d p=%d n=%d: not deterministic", d, p, n)
					}
					units := 0
					shardDevs := map[string]bool{}
					for name, ds := range got {
						for _, dev := range ds {
							key := [2]string{dev.ID, name}
							if prev, ok := owner[key]; ok {
								t.Fatalf("d=%d p=%d n=%d: %v in shards %d and %d", d, p, n, key, prev, k)
							}
							owner[key] = k
							shardDevs[dev.ID] = true
							units++
						}
					}
					if n > 1 && note == "" {
						t.Errorf("d=%d p=%d n=%d k=%d: no note", d, p, n, k)
					}
					if d >= n {
						sizes = append(sizes, len(shardDevs))
					} else {
						sizes = append(sizes, units)
					}
				}
				if len(owner) != d*p {
					t.Fatalf("d=%d p=%d n=%d: shards cover %d of %d (device, plugin) pairs", d, p, n, len(owner), d*p)
				}
				min, max := math.MaxInt, 0
				for _, s := range sizes {
					min, max = int(math.Min(float64(min), float64(s))), int(math.Max(float64(max), float64(s)))
				}
				if max-min > 1 {
					t.Errorf("d=%d p=%d n=%d: uneven shards %v", d, p, n, sizes)
				}
				if d >= n { // by device: every plugin of a device in one shard
					for _, dev := range devs {
						ks := map[int]bool{}
						for _, name := range plugins[:p] {
							ks[owner[[2]string{dev.ID, name}]] = true
						}
						if len(ks) != 1 {
							t.Errorf("d=%d p=%d n=%d: %s shared by shards %v", d, p, n, dev.ID, ks)
						}
					}
				}
			}
		}
	}
}

func TestShardedRunKeepsItsDevicesAndReportsProgress(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.CNN}
	// The fault plugin computes on the CPU only; gpu:0 is a second device
	// for the split, where its cells are skips.
	o.Devices = append(o.Devices, matrix.Device{ID: "gpu:0", Kind: "gpu", Name: "test GPU"})
	var events []Event
	o.Events = func(e Event) { events = append(events, e) }
	o.Shard = matrix.Shard{K: 2, N: 2}
	run, err := Run(context.Background(), o)
	// Every cell of this shard is a skip: it measured nothing, which is an
	// infrastructure failure, never green; its document is complete all
	// the same.
	if !errors.Is(err, ErrInfra) || !strings.Contains(fmt.Sprint(err), "no cell could execute") || run == nil {
		t.Fatalf("a shard of skips: %v; want ErrInfra, no cell could execute", err)
	}
	if run.Shard != "2/2" || len(run.Devices) != 1 || run.Devices[0].ID != "gpu:0" {
		t.Errorf("shard %q, devices %+v", run.Shard, run.Devices)
	}
	for _, c := range run.Cells {
		if c.Device != "gpu:0" || c.Status != matrix.Skip {
			t.Errorf("%s: %s", c.CellKey, c.Status)
		}
	}
	if !strings.Contains(strings.Join(run.Notes, "\n"), "shard 2/2 by device: gpu:0") {
		t.Errorf("notes %q", run.Notes)
	}
	if len(events) == 0 || events[0].Kind != EventPlan || events[0].Plan["gpu:0"]["forward"] != 1 || len(events[0].Plan) != 1 {
		t.Fatalf("first event %+v", events[0])
	}
	done := 0
	for _, e := range events {
		if e.Kind == EventCellDone {
			done++
		}
	}
	if done != len(run.Cells) || done != 2 {
		t.Errorf("%d done events, %d cells", done, len(run.Cells))
	}

	// Shard 1/2 runs the CPU: real cells, with start events, and a resume
	// must name the same shard.
	o.OutDir = t.TempDir()
	o.Shard = matrix.Shard{K: 1, N: 2}
	events = nil
	run, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	for _, e := range events {
		if e.Kind == EventCellStart {
			starts++
		}
	}
	if run.Failed() || len(run.Cells) != 2 || starts != 2 || run.Cells[0].ComputeSeconds <= 0 || run.Cells[0].ComputeSeconds > run.Cells[0].Seconds {
		t.Errorf("shard 1/2: %d cells, %d starts, compute %v of %v s", len(run.Cells), starts, run.Cells[0].ComputeSeconds, run.Cells[0].Seconds)
	}
	o.Resume, o.Shard = true, matrix.Shard{K: 2, N: 2}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "same --shard") {
		t.Errorf("resume with another shard: %v", err)
	}
}

// TestShardPlanSplitsImageRows: two images of one framework are two rows;
// shards never overlap and together cover every (row, device) once.
func TestShardPlanSplitsImageRows(t *testing.T) {
	specs := []exec.Spec{{Name: "pytorch", Image: "a"}, {Name: "pytorch", Image: "b"}, {Name: "gorgonia"}}
	devices := []matrix.Device{{ID: "cpu"}, {ID: "gpu:0"}}
	for _, n := range []int{1, 2, 3, 4, 7} {
		seen := map[string]int{}
		for k := 1; k <= n; k++ {
			plan, _ := shardPlan(devices, specs, matrix.Shard{K: k, N: n})
			for row, ds := range plan {
				for _, d := range ds {
					seen[row+" "+d.ID]++
				}
			}
		}
		if len(seen) != 6 {
			t.Errorf("n=%d: %d (row, device) pairs covered, want 6: %v", n, len(seen), seen)
		}
		for pair, c := range seen {
			if c != 1 {
				t.Errorf("n=%d: %s planned %d times", n, pair, c)
			}
		}
	}
}
