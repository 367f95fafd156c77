package runspec

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
)

// fixture is a plugin directory of stand-in binaries (the manifests are
// given, as Discover would read them) and a configuration path.
type fixture struct {
	dir, plugins, cfgPath string
	found                 []pluginhost.Plugin
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{dir: t.TempDir()}
	f.plugins = filepath.Join(f.dir, "plugins")
	f.cfgPath = filepath.Join(f.dir, "m.yaml")
	os.MkdirAll(f.plugins, 0o755)
	for _, n := range []string{"gorgonia", "pytorch", "caffe", "keras"} {
		os.WriteFile(filepath.Join(f.plugins, pluginhost.BinaryPrefix+n), []byte("#!/bin/true\n"), 0o755)
	}
	os.WriteFile(filepath.Join(f.dir, "my-plugin"), []byte("#!/bin/true\n"), 0o755)
	f.found = []pluginhost.Plugin{
		{Path: filepath.Join(f.plugins, pluginhost.BinaryPrefix+"caffe"), Manifest: pluginapi.Manifest{Name: "caffe", Images: map[string]string{"cpu": "img/caffe"}}},
		{Path: filepath.Join(f.plugins, pluginhost.BinaryPrefix+"gorgonia"), Manifest: pluginapi.Manifest{Name: "gorgonia", Images: map[string]string{"cpu": "img/gorgonia"}}},
		{Path: filepath.Join(f.plugins, pluginhost.BinaryPrefix+"keras"), Manifest: pluginapi.Manifest{Name: "keras",
			Images:  map[string]string{"cpu": "img/tf"},
			Variant: &pluginapi.VariantAxis{Name: "backend", Env: "KERAS_BACKEND", Values: []string{"tensorflow", "jax", "torch"}, Images: map[string]string{"torch": "img/torch"}}}},
	}
	return f
}

func (f fixture) spec(t *testing.T, executor, yaml string) Spec {
	t.Helper()
	s := Default(f.plugins, "")
	s.Executor = executor
	if yaml != "" {
		c, err := config.Parse(f.cfgPath, []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(FromConfig(c)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (f fixture) resolve(t *testing.T, s Spec) ([]exec.Spec, error) {
	t.Helper()
	x, err := s.Executors()
	if err != nil {
		t.Fatal(err)
	}
	return s.Plugins(context.Background(), f.found, x)
}

type row struct{ name, path, image, executor string }

func rows(specs []exec.Spec) []row {
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

func TestPluginsFromConfigAndManifests(t *testing.T) {
	f := newFixture(t)
	p := pluginhost.BinaryPrefix
	for _, tc := range []struct {
		desc, yaml, executor string
		frameworks           []string
		want                 []row
	}{
		{desc: "no frameworks under docker: every plugin, in its manifest's image", executor: "docker", frameworks: []string{"caffe", "gorgonia"},
			want: []row{{"caffe", p + "caffe", "img/caffe", ""}, {"gorgonia", p + "gorgonia", "img/gorgonia", ""}}},
		{desc: "no frameworks under local: every plugin, no image", executor: "local",
			want: []row{{"caffe", p + "caffe", "", ""}, {"gorgonia", p + "gorgonia", "", ""}, {"keras", p + "keras", "", ""}}},
		{desc: "one spec per image, in file order", executor: "docker", yaml: `
frameworks:
  pytorch:
    images: [a/torch:1, a/torch:2]
  gorgonia:
    plugin: ./my-plugin
    executor: local
`, want: []row{{"pytorch", p + "pytorch", "a/torch:1", ""}, {"pytorch", p + "pytorch", "a/torch:2", ""}, {"gorgonia", "my-plugin", "", "local"}}},
		{desc: "images do not apply under local", executor: "local", yaml: "frameworks:\n  pytorch:\n    images: [a/torch:1, a/torch:2]\n",
			want: []row{{"pytorch", p + "pytorch", "", ""}}},
		{desc: "a framework that overrides local with docker", executor: "local", yaml: "frameworks:\n  caffe:\n    executor: docker\n",
			want: []row{{"caffe", p + "caffe", "img/caffe", "docker"}}},
		{desc: "--frameworks leaves the others out before they are looked for", executor: "docker", frameworks: []string{"caffe"},
			yaml: "frameworks:\n  mxnet:\n  caffe:\n", want: []row{{"caffe", p + "caffe", "img/caffe", ""}}},
		{desc: "a variant with an image of its own runs there, the others in the framework's", executor: "docker",
			yaml: "frameworks:\n  keras:\n    images: [img/tf]\n    variants: [tensorflow, torch]\n",
			want: []row{{"keras+tensorflow", p + "keras", "img/tf", ""}, {"keras+torch", p + "keras", "img/torch", ""}}},
		{desc: "an image the file chose is kept for every variant", executor: "docker",
			yaml: "frameworks:\n  keras:\n    images: [my/keras]\n    variants: [torch]\n",
			want: []row{{"keras+torch", p + "keras", "my/keras", ""}}},
		{desc: "variants from the file, each a row", executor: "local", yaml: "frameworks:\n  keras:\n    variants: [jax, tensorflow]\n",
			want: []row{{"keras+jax", p + "keras", "", ""}, {"keras+tensorflow", p + "keras", "", ""}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s := f.spec(t, tc.executor, tc.yaml)
			s.Frameworks = tc.frameworks
			specs, err := f.resolve(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if got := rows(specs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}

	_, err := f.resolve(t, f.spec(t, "docker", "frameworks:\n  mxnet:\n    images: [x]\n  onnx:\n    plugin: dlcompat-plugin-onnx\n    images: [y]\n"))
	for _, w := range []string{
		f.cfgPath + `:2: frameworks.mxnet: unknown framework "mxnet" (plugins found in ` + f.plugins + ": caffe, gorgonia, keras); a plugin of your own needs plugin: PATH",
		f.cfgPath + ":4: frameworks.onnx: no plugin binary at " + filepath.Join(f.plugins, p+"onnx"),
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	os.WriteFile(filepath.Join(f.plugins, p+"onnx"), []byte("#!/bin/true\n"), 0o755)
	_, err = f.resolve(t, f.spec(t, "docker", "frameworks:\n  onnx:\n"))
	if err == nil || !strings.Contains(err.Error(), ":2: frameworks.onnx: the docker executor needs an image") {
		t.Errorf("a framework with no image and no default: %v", err)
	}
}

// TestVariantsAreRowsOfTheirOwn: a framework with a variant axis runs
// once per value asked for, with the manifest's variable set; the
// filter takes the framework or one variant.
func TestVariantsAreRowsOfTheirOwn(t *testing.T) {
	f := newFixture(t)
	s := f.spec(t, "local", "")
	s.Variants = map[string][]string{"keras": {"tensorflow", "jax"}}
	specs, err := f.resolve(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sp := range specs {
		got = append(got, sp.Name+" "+sp.Framework+" "+sp.Variant+" "+strings.Join(sp.Env, " "))
	}
	want := []string{"caffe caffe  ", "gorgonia gorgonia  ", "keras+tensorflow keras tensorflow KERAS_BACKEND=tensorflow", "keras+jax keras jax KERAS_BACKEND=jax"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("specs\n%q\nwant\n%q", got, want)
	}
	s.Frameworks = []string{"keras+jax", "gorgonia"}
	if specs, err = f.resolve(t, s); err != nil || len(specs) != 2 || specs[0].Name != "keras+jax" || specs[1].Name != "gorgonia" {
		t.Errorf("filter: %v %+v", err, rows(specs))
	}
	// A configuration's variants of a framework --frameworks leaves out
	// (or whose plugin is not there) are not looked for.
	s.Frameworks, s.Variants = []string{"gorgonia"}, map[string][]string{"nope": {"x"}}
	if specs, err = f.resolve(t, s); err != nil || len(specs) != 1 || specs[0].Name != "gorgonia" {
		t.Errorf("variants of a framework left out: %v %+v", err, rows(specs))
	}
	for _, bad := range []map[string][]string{{"keras": {"jax", "jax"}}, {"keras": {"a b"}}, {"gorgonia": {"x"}}, {"nope": {"x"}}} {
		s := f.spec(t, "local", "")
		s.Variants = bad
		if _, err := f.resolve(t, s); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestFrameworksFilterNamesVariantsExactly: a framework named like
// another's variant value does not select that other framework.
func TestFrameworksFilterNamesVariantsExactly(t *testing.T) {
	s := Spec{Frameworks: []string{"jax"}, Variants: map[string][]string{"keras": {"jax"}}}
	if s.selects("keras") {
		t.Error("--frameworks jax selected keras")
	}
	s.Frameworks = []string{"keras+jax"}
	if !s.selects("keras") {
		t.Error("--frameworks keras+jax did not select keras")
	}
}
