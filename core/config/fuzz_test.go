package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, refuses with *Error values only (each
// naming the file, each matching ErrInvalid), is deterministic, and what
// it accepts keeps the rules it checks: framework names without spaces
// or slashes, env entries NAME=value with a valid name and sorted, image
// references without blanks, docker limits that resolve. Seeded from
// testdata/configs and the shapes the tests use.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "configs", "*.yaml"))
	if len(paths) == 0 {
		f.Fatal("no seeds in testdata/configs")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "version: 1\n", "- a\n- b\n", "version: 2\n", "frameworks:\n  pytorch:\n",
		"docker:\n  pids: unlimited\n  memory: 8GiB\n  tmp: 512MiB\n  user: \"1000:1000\"\n",
		"frameworks:\n  keras:\n    variants: tensorflow,jax\n    env: {B: 2, A: 1}\n    images: [a:1, b:2]\n",
		"a: &x [*x]\n", "timeouts: {perf: 90s, forward: -1s}\n", "executor: docker\npull: if-missing\ndevices: cpu,gpu:0\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz.yaml"
		file, err := Parse(path, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			for _, e := range leaves(err) {
				var ce *Error
				if !errors.As(e, &ce) || ce.File != path || ce.Line < 0 || ce.Msg == "" {
					t.Fatalf("not an *Error naming the file and a line: %#v", e)
				}
			}
			if file != nil {
				t.Fatal("a file and an error")
			}
			return
		}
		again, err := Parse(path, data)
		if err != nil || !reflect.DeepEqual(file, again) {
			t.Fatalf("not deterministic: %v", err)
		}
		for _, fw := range file.Frameworks {
			if fw.Name == "" || strings.ContainsAny(fw.Name, " /") {
				t.Fatalf("framework name %q accepted", fw.Name)
			}
			if !slices.IsSorted(fw.Env) {
				t.Fatalf("env not sorted: %q", fw.Env)
			}
			for _, e := range fw.Env {
				name, _, ok := strings.Cut(e, "=")
				if !ok || !envName.MatchString(name) {
					t.Fatalf("env entry %q accepted", e)
				}
			}
			for _, img := range fw.Images {
				if img == "" || strings.ContainsAny(img, " \t") || strings.HasPrefix(img, "-") {
					t.Fatalf("image %q accepted", img)
				}
			}
		}
		if file.Docker != nil {
			if _, err := file.Docker.Resolve(); err != nil {
				t.Fatalf("docker limits accepted that do not resolve: %v", err)
			}
		}
		for check, d := range file.Timeouts {
			if d <= 0 {
				t.Fatalf("timeout %s = %v accepted", check, d)
			}
		}
	})
}

// leaves flattens errors.Join trees.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}
