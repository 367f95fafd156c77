package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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
	if f.Pull != "never" || f.Devices != "cpu" || !reflect.DeepEqual(f.Frameworks[0].Images, []string{"dlcompat/gorgonia:scratch"}) ||
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
		{"framework key", "frameworks:\n  pytorch:\n    imgs: [x]\n", []string{"m.yaml:3: frameworks.pytorch.imgs: unknown key (valid: plugin, images, executor, env, variants)"}},
		{"image list", "frameworks:\n  pytorch:\n    images: {a: b}\n", []string{"m.yaml:3: frameworks.pytorch.images: must be a list"}},
		{"framework executor", "frameworks:\n  caffe:\n    executor: vm\n", []string{`m.yaml:3: frameworks.caffe.executor: "vm" is not one of`}},
		{"NUL in an env name", "frameworks:\n  caffe:\n    env: {\"A\\0B\": x}\n", []string{"m.yaml:3: frameworks.caffe.env.A\x00B: is not a variable name"}},
		{"env name with a dash", "frameworks:\n  caffe:\n    env: {A-B: x}\n", []string{"frameworks.caffe.env.A-B: is not a variable name"}},
		{"docker pids", "docker:\n  pids: many\n", []string{`m.yaml:2: docker.pids: "many" is not a positive number`}},
		{"docker memory", "docker:\n  memory: 8GB\n", []string{`m.yaml:2: docker.memory: "8GB" is not a size such as 512MiB`}},
		{"docker memory too small", "docker:\n  memory: 1KiB\n", []string{"m.yaml:2: docker: docker limits: memory 1024 bytes: want at least"}},
		{"docker root", "docker:\n  user: \"0:0\"\n", []string{"m.yaml:2: docker: docker limits"}},
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

func TestDockerLimits(t *testing.T) {
	f, err := Parse("m.yaml", []byte("docker:\n  user: \"1000:1000\"\n  pids: unlimited\n  memory: 2GiB\n  tmp: 64MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (docker.Limits{User: "1000:1000", Pids: docker.Unlimited, MemoryBytes: 2 << 30, TmpBytes: 64 << 20}); *f.Docker != want {
		t.Errorf("limits %+v, want %+v", *f.Docker, want)
	}
}
