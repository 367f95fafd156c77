package runner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/matrix"
)

// specKey names a plugin spec as a framework row: its name, and its image
// when it has one.
func specKey(sp exec.Spec) string {
	if sp.Image != "" {
		return sp.Name + "@" + sp.Image
	}
	return sp.Name
}

// shardPlan decides which planned cells belong to shard s, before any
// plugin starts, from what every shard sees alike: the selected devices
// in inventory order and the plugins' names. It returns, per specKey,
// the devices whose cells this shard runs (a plugin with none is not
// started), and a line for the run's notes.
//
// The unit of the split is the device when there are at least as many
// devices as shards: device i (0-based, inventory order) goes to shard
// i mod n + 1, so a GPU is never used by two shards and every shard gets
// ⌊d/n⌋ or ⌈d/n⌉ devices. With fewer devices than shards, the unit is the
// pair (device, framework), pairs ordered by device then plugin name and
// dealt the same way: meant for shards on separate machines that each
// have the same devices (Kubernetes pods with one GPU each), since two
// shards then use "gpu:0" each on their own machine. A shard left without
// a unit (more shards than pairs) runs nothing, and says so.
func shardPlan(devices []matrix.Device, specs []exec.Spec, s matrix.Shard) (map[string][]matrix.Device, string) {
	out := map[string][]matrix.Device{}
	if s.N <= 1 {
		for _, sp := range specs {
			out[specKey(sp)] = devices
		}
		return out, ""
	}
	// One unit per framework row: several images of one framework are
	// several rows, and a name listed twice is still one row.
	seen := map[string]bool{}
	names := make([]string, 0, len(specs))
	for _, sp := range specs {
		if k := specKey(sp); !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var units []string
	if len(devices) >= s.N {
		for i, d := range devices {
			if i%s.N == s.K-1 {
				for _, n := range names {
					out[n] = append(out[n], d)
				}
				units = append(units, d.ID)
			}
		}
		return out, fmt.Sprintf("shard %s by device: %s", s, orNone(units))
	}
	u := 0
	for _, d := range devices {
		for _, n := range names {
			if u%s.N == s.K-1 {
				out[n] = append(out[n], d)
				units = append(units, d.ID+" × "+n)
			}
			u++
		}
	}
	if len(units) == 0 {
		return out, fmt.Sprintf("shard %s by (device, framework) has no cells: %s for %d shards", s, matrix.Plural(u, "pair"), s.N)
	}
	return out, fmt.Sprintf("shard %s by (device, framework), %s being fewer than %d shards: %s", s, matrix.Plural(len(devices), "device"), s.N, strings.Join(units, ", "))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
