package config

import (
	"path/filepath"
	"reflect"
	"testing"
)

// The ROCm section of the GPU runner's configuration parses, and names
// AMD's images (they are names only: nothing pulls them in CI).
func TestGPURunnerROCm(t *testing.T) {
	f, err := Load(filepath.Join("..", "..", "testdata", "configs", "gpu-runner-rocm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"pytorch":    {"rocm/pytorch:rocm6.2.3_ubuntu22.04_py3.10_pytorch_release_2.3.0", "rocm/pytorch:rocm6.1_ubuntu22.04_py3.10_pytorch_2.1.2"},
		"tensorflow": {"rocm/tensorflow:rocm6.2.3-py3.10-tf2.16-dev"},
	}
	got := map[string][]string{}
	for _, fw := range f.Frameworks {
		if want[fw.Name] != nil {
			got[fw.Name] = fw.Images
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images %v, want %v", got, want)
	}
	if f.Devices != "cpu,rocm" {
		t.Errorf("devices %q, want cpu,rocm", f.Devices)
	}
}
