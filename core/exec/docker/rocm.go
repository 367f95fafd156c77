package docker

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
)

// KFDDevice is the ROCm compute device every AMD GPU container needs.
const KFDDevice = "/dev/kfd"

// rocmGroups are the host groups that own AMD GPU device nodes on the
// distributions ROCm supports (render: the render nodes; video: /dev/kfd
// on older ones). Those the host has are added, with the device nodes'
// own groups, to the container's process: it runs as an unprivileged
// uid, and the nodes are 0660.
var rocmGroups = []string{"video", "render"}

// rocmAccess is what a container needs to use one AMD GPU.
type rocmAccess struct {
	devices []dc.Device
	groups  []string // numeric gids, ascending
}

// rocmDevices finds, under hostRoot ("" is "/"), the device nodes of
// dev (an AMD GPU): /dev/kfd and its render node, each passed at the same
// path, and the groups that can open them, by gid: each node's own group
// and the host's video and render groups from /etc/group. A node that is
// not there is ErrNoAMDDevice, saying what to do.
func rocmDevices(hostRoot string, dev exec.Device) (rocmAccess, error) {
	if hostRoot == "" {
		hostRoot = "/"
	}
	if !strings.HasPrefix(dev.RenderNode, "/dev/dri/renderD") {
		return rocmAccess{}, fmt.Errorf("%w: %s has no render node (%q): its KFD node names no drm_render_minor; see dlcompat devices", ErrNoAMDDevice, dev.ID, dev.RenderNode)
	}
	var a rocmAccess
	gids := map[int]bool{}
	for _, p := range []string{KFDDevice, dev.RenderNode} {
		fi, err := os.Stat(filepath.Join(hostRoot, p))
		if err != nil {
			return rocmAccess{}, fmt.Errorf("%w: %s needs %s: %v (load the amdgpu driver: modprobe amdgpu)", ErrNoAMDDevice, dev.ID, p, err)
		}
		if g, ok := fileGID(fi); ok {
			gids[g] = true
		}
		a.devices = append(a.devices, dc.Device{PathOnHost: p, PathInContainer: p, CgroupPermissions: "rwm"})
	}
	named, err := groupIDs(filepath.Join(hostRoot, "etc", "group"), rocmGroups)
	if err != nil {
		return rocmAccess{}, err
	}
	for _, g := range named {
		gids[g] = true
	}
	delete(gids, 0) // root's group: never handed to a plugin
	var sorted []int
	for g := range gids {
		sorted = append(sorted, g)
	}
	sort.Ints(sorted)
	for _, g := range sorted {
		a.groups = append(a.groups, strconv.Itoa(g))
	}
	return a, nil
}

// groupIDs returns the gids of the named groups in an /etc/group file;
// a group the file lacks is left out, and a missing file is no group.
func groupIDs(path string, names []string) ([]int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker: reading the host's groups: %v", err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []int
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		fields := strings.Split(s.Text(), ":") // name:password:gid:members
		if len(fields) < 3 || !want[fields[0]] {
			continue
		}
		gid, err := strconv.Atoi(fields[2])
		if err != nil {
			return nil, fmt.Errorf("docker: %s line %d: group %s has gid %q, not a number", path, line, fields[0], fields[2])
		}
		out = append(out, gid)
	}
	return out, s.Err()
}
