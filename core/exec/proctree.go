package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcessRooted is a go-plugin runner.Runner that can say which host
// process is the plugin: a local plugin's subprocess, a container's first
// process as the host sees it. The plugin's processes are that one and
// its descendants (ProcessTree), the framework's worker among them;
// telemetry reads the device memory they hold (docs/spec.md §7.5).
type ProcessRooted interface {
	RootPID(ctx context.Context) (int, error)
}

// TreeKiller is a go-plugin runner.Runner that can SIGKILL the plugin's
// whole process tree at once (a local plugin's process group). A hung or
// finished plugin is killed so: go-plugin's Kill first asks the plugin to
// shut down, which a stopped or wedged plugin never answers.
type TreeKiller interface {
	KillTree()
}

// ErrNoProcess means the plugin has no process (yet, or any more).
var ErrNoProcess = errors.New("the plugin has no running process")

// ProcStat returns the fields of /proc/PID/stat after the command name
// (which may hold spaces and parentheses): the state is [0], the parent
// PID [1], the start time (clock ticks since boot) [19].
func ProcStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return f, nil
}

// ProcessTree returns root and every living descendant of it, from the
// parent PIDs in /proc: a descendant that left the plugin's process group
// (setsid) is still its child. Without /proc it is root alone.
func ProcessTree(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := ProcStat(pid)
		if err != nil {
			continue // it exited meanwhile
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}
