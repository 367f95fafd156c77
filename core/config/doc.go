// Package config reads a matrix configuration file (matrix.yaml): which
// frameworks to run, with which plugin binary and in which images (each
// image a framework-version row of its own), under which executor, on
// which devices, with which models, checks, timeouts and image pull
// policy. Every validation error names the file, the line and the field.
//
// The format, with every key optional:
//
//	version: 1
//	executor: docker          # local (default) | docker
//	pull: never               # never (default) | if-missing; docker only
//	devices: all              # all | cpu | gpu | a list such as cpu,gpu:0
//	models: [cnn, lstm]
//	checks: [forward, backward, determinism, perf]
//	timeouts: {forward: 5m, perf: 30m}
//	plugins_dir: ../bin/plugins   # relative to this file
//	frameworks:               # absent: every plugin found
//	  pytorch:
//	    plugin: dlcompat-plugin-pytorch   # default; or a path
//	    images: [pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime]
//	    executor: docker      # overrides the top-level executor
//	    env: {OMP_NUM_THREADS: "8"}
//
// It does not start anything: core/cli turns a File into runner options
// (Specs builds the plugin list), and command-line flags win over it.
package config
