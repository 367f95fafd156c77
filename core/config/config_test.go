package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
)

func TestShippedConfigsParse(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "configs", "*.yaml"))
	if len(paths) < 2 {
		t.Fatalf("want the local and the GPU-runner configs, found %v", paths)
	}
	for _, p := range paths {
		f, err := Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if f.Executor != "docker" || len(f.Frameworks) == 0 {
			t.Errorf("%s: executor %q, %d frameworks", p, f.Executor, len(f.Frameworks))
		}
	}
	f, err := Load(filepath.Join("..", "..", "testdata", "configs", "local-docker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Pull != "never" || f.Devices != "cpu" || !reflect.DeepEqual(f.Frameworks[0].Images, []string{DefaultImages["gorgonia"]}) ||
		f.Timeouts["perf"] != 30*time.Minute || filepath.Base(f.PluginsDir) != "plugins" || !filepath.IsAbs(f.PluginsDir) {
		t.Errorf("local-docker.yaml: %+v", f)
	}
}

func TestParse(t *testing.T) {
	f, err := Parse("m.yaml", []byte(`
version: 1
executor: docker
pull: if-missing
devices: [cpu, "gpu:1"]
models: cnn
checks: [forward, perf]
timeouts: {forward: 90s}
frameworks:
  pytorch:
    images:
      - pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
      - pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime
    env: {OMP_NUM_THREADS: 4, A: "x y"}
  gorgonia:
    executor: local
  caffe:
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Path: "m.yaml", Executor: "docker", Pull: "if-missing", Devices: "cpu,gpu:1", Models: []string{"cnn"},
		Checks: []string{"forward", "perf"}, Timeouts: map[string]time.Duration{"forward": 90 * time.Second},
		Frameworks: []Framework{
			{Name: "pytorch", Images: []string{"pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime"},
				Env: []string{"A=x y", "OMP_NUM_THREADS=4"}, Line: 10},
			{Name: "gorgonia", Executor: "local", Line: 15},
			{Name: "caffe", Line: 17},
		}}
	f.lines = nil
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}

// Every error names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		desc, yaml string
		want       []string
	}{
		{"unknown key", "executor: docker\nexecuter: local\n", []string{"m.yaml:2: executer: unknown key"}},
		{"bad executor", "executor: podman\n", []string{`m.yaml:1: executor: "podman" is not one of: local, docker`}},
		{"bad pull", "pull: always\n", []string{`m.yaml:1: pull: "always" is not one of: never, if-missing`}},
		{"bad model", "models: [cnn, resnet]\n", []string{`m.yaml:1: models[1]: "resnet" is not one of: cnn, lstm`}},
		{"bad check", "checks:\n  - forward\n  - speed\n", []string{`m.yaml:3: checks[1]: "speed" is not one of`}},
		{"bad timeout", "timeouts:\n  perf: soon\n", []string{`m.yaml:2: timeouts.perf: "soon" is not a positive duration`}},
		{"timeout of no check", "timeouts:\n  speed: 1m\n", []string{"m.yaml:2: timeouts.speed: unknown check"}},
		{"framework key", "frameworks:\n  pytorch:\n    imgs: [x]\n", []string{"m.yaml:3: frameworks.pytorch.imgs: unknown key (valid: plugin, images, executor, env)"}},
		{"image list", "frameworks:\n  pytorch:\n    images: {a: b}\n", []string{"m.yaml:3: frameworks.pytorch.images: must be a list"}},
		{"framework executor", "frameworks:\n  caffe:\n    executor: vm\n", []string{`m.yaml:3: frameworks.caffe.executor: "vm" is not one of`}},
		{"version", "version: 2\n", []string{"m.yaml:1: version: must be 1"}},
		{"empty", "", []string{"m.yaml:1: the file is empty"}},
		{"only comments", "# frameworks: {}\n", []string{"m.yaml:1: the file is empty"}},
		{"duplicate", "pull: never\npull: never\n", []string{"m.yaml:2: pull: is given twice"}},
		{"not a mapping", "- a\n- b\n", []string{"m.yaml:1: the file must be a mapping"}},
		{"not YAML", "executor: [docker\n", []string{"m.yaml:", "not valid YAML"}},
		{"several at once", "pull: sometimes\nmodels: [vgg]\n", []string{"m.yaml:1: pull:", "m.yaml:2: models[0]:"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPullPoliciesMatchTheExecutor(t *testing.T) {
	var want []string
	for _, p := range docker.PullPolicies {
		want = append(want, string(p))
	}
	if !reflect.DeepEqual(PullPolicies, want) {
		t.Errorf("config accepts %v, the docker executor %v", PullPolicies, want)
	}
}

func TestSpecs(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	os.MkdirAll(plugins, 0o755)
	for _, n := range []string{"gorgonia", "pytorch", "caffe"} {
		os.WriteFile(filepath.Join(plugins, PluginPrefix+n), []byte("#!/bin/true\n"), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "my-plugin"), []byte("#!/bin/true\n"), 0o755)
	discovered := []exec.Spec{{Name: "caffe", Path: filepath.Join(plugins, PluginPrefix+"caffe")}, {Name: "gorgonia", Path: filepath.Join(plugins, PluginPrefix+"gorgonia")}}
	local, dock := exec.Local{}, docker.New(docker.Options{})
	executors := map[string]exec.Executor{"local": local, "docker": dock}
	cfgPath := filepath.Join(dir, "m.yaml")
	parse := func(t *testing.T, y string) *File {
		t.Helper()
		f, err := Parse(cfgPath, []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	type row struct{ name, path, image, executor string }
	rows := func(specs []exec.Spec) []row {
		var out []row
		for _, s := range specs {
			ex := ""
			if s.Executor != nil {
				ex = s.Executor.Name()
			}
			out = append(out, row{s.Name, filepath.Base(s.Path), s.Image, ex})
		}
		return out
	}
	for _, tc := range []struct {
		desc, yaml, executor string
		want                 []row
	}{
		{desc: "no frameworks under docker: every plugin, in its default image", executor: "docker",
			want: []row{{"caffe", PluginPrefix + "caffe", DefaultImages["caffe"], ""}, {"gorgonia", PluginPrefix + "gorgonia", DefaultImages["gorgonia"], ""}}},
		{desc: "no frameworks under local: every plugin, no image", executor: "local",
			want: []row{{"caffe", PluginPrefix + "caffe", "", ""}, {"gorgonia", PluginPrefix + "gorgonia", "", ""}}},
		{desc: "one spec per image, in file order", executor: "docker", yaml: `
frameworks:
  pytorch:
    images: [a/torch:1, a/torch:2]
  gorgonia:
    plugin: ./my-plugin
    executor: local
`, want: []row{{"pytorch", PluginPrefix + "pytorch", "a/torch:1", ""}, {"pytorch", PluginPrefix + "pytorch", "a/torch:2", ""}, {"gorgonia", "my-plugin", "", "local"}}},
		{desc: "images do not apply under local", executor: "local", yaml: "frameworks:\n  pytorch:\n    images: [a/torch:1, a/torch:2]\n",
			want: []row{{"pytorch", PluginPrefix + "pytorch", "", ""}}},
		{desc: "a framework that overrides local with docker", executor: "local", yaml: "frameworks:\n  caffe:\n    executor: docker\n",
			want: []row{{"caffe", PluginPrefix + "caffe", DefaultImages["caffe"], "docker"}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var f *File
			if tc.yaml != "" {
				f = parse(t, tc.yaml)
			}
			specs, err := Specs(f, discovered, plugins, tc.executor, executors)
			if err != nil {
				t.Fatal(err)
			}
			if got := rows(specs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}

	_, err := Specs(parse(t, "frameworks:\n  mxnet:\n    images: [x]\n  onnx:\n    plugin: dlcompat-plugin-onnx\n    images: [y]\n"), discovered, plugins, "docker", executors)
	for _, w := range []string{
		cfgPath + `:2: frameworks.mxnet: unknown framework "mxnet" (plugins found in ` + plugins + ": caffe, gorgonia); a plugin of your own needs plugin: PATH",
		cfgPath + ":4: frameworks.onnx: no plugin binary at " + filepath.Join(plugins, PluginPrefix+"onnx"),
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	os.WriteFile(filepath.Join(plugins, PluginPrefix+"onnx"), []byte("#!/bin/true\n"), 0o755)
	_, err = Specs(parse(t, "frameworks:\n  onnx:\n"), discovered, plugins, "docker", executors)
	if err == nil || !strings.Contains(err.Error(), ":2: frameworks.onnx: the docker executor needs an image") {
		t.Errorf("a framework with no image and no default: %v", err)
	}
}

func TestSelect(t *testing.T) {
	f, err := Parse("m.yaml", []byte("frameworks:\n  gorgonia:\n  pytorch:\n  caffe:\n"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fw := range f.Select([]string{"caffe", "gorgonia", "mxnet"}).Frameworks {
		names = append(names, fw.Name)
	}
	if strings.Join(names, ",") != "gorgonia,caffe" {
		t.Errorf("Select kept %v, want gorgonia,caffe in file order", names)
	}
	if len(f.Frameworks) != 3 || len(f.Select(nil).Frameworks) != 3 {
		t.Error("Select changed the file, or dropped frameworks for no names")
	}
	var none *File
	if none.Select([]string{"x"}) != nil {
		t.Error("Select of no file is not no file")
	}
}
