// Command dlcompat-plugin-cntk keeps Microsoft CNTK in the matrix as a row
// that cannot run: CNTK 2.7, its last release, exists only as PyPI wheels
// for CPython 2.7, 3.5 and 3.6, linked against OpenMPI 1.10, and none of
// those can be installed on the machines dlcompat builds on (see
// unavailable). Describe says so, and every cell is a skip with that
// reason, so the report shows the gap instead of leaving it out. It
// computes nothing; when an installable CNTK appears, it becomes a
// Python-backed plugin on plugins/pyshim like the others.
package main

import (
	"context"

	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// unavailable is the evidence, in one line (found on Debian 12 with PyPI
// and Debian's mirror; the commands are in docs/spec.md §4.11).
const unavailable = "CNTK 2.7 (the last release) cannot be installed here: PyPI serves it only for CPython 2.7, 3.5 and 3.6 " +
	"(cntk-2.7-cp36-cp36m-manylinux1_x86_64.whl; nothing for 3.7+), no Debian release the mirror still serves ships those " +
	"(bookworm has 3.11, bullseye 3.9; buster's 3.7 and stretch's 3.5 are archived) and no registry reachable here serves " +
	"a CPython at all, and the wheel links OpenMPI 1.10 " +
	"(libmpi.so.12, libmpi_cxx.so.1), which no served Debian release has (bookworm's OpenMPI 4.1 is libmpi.so.40)"

// manifest has no install command: there is none. Under the docker
// executor the plugin, a static binary that computes nothing, runs in the
// scratch image built for static Go plugins (scripts/images/gorgonia), so
// its row is in that report too.
var manifest = pluginapi.Manifest{Name: "cntk", Images: map[string]string{"cpu": "dlcompat/gorgonia:scratch"}}

// plugin answers every call with the reason CNTK cannot run.
type plugin struct{}

var _ pluginapi.Framework = plugin{}

func (plugin) Describe(ctx context.Context, req pluginapi.DescribeRequest) (pluginapi.DescribeResponse, error) {
	return pluginapi.DescribeResponse{
		Framework:   "cntk",
		Version:     "not installable",
		Unavailable: unavailable,
		Capabilities: pluginapi.Capabilities{
			Models: []string{"cnn", "lstm"}, Checks: pluginapi.AllChecks,
			Precisions: []string{pluginapi.PrecisionFP32},
		},
	}, nil
}

func (plugin) Run(ctx context.Context, req pluginapi.RunRequest) (pluginapi.RunResponse, error) {
	return pluginapi.RunResponse{Status: pluginapi.StatusSkip, Message: unavailable}, nil
}

func main() { pluginapi.Serve(manifest, plugin{}) }
