package pluginhost

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/internal/faultplugin"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/tensor"
)

func TestMain(m *testing.M) {
	faultplugin.MaybeServe()
	os.Exit(m.Run())
}

func selfSpec(t *testing.T, env ...string) exec.Spec {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exec.Spec{Name: "oracle", Path: self, Env: append([]string{faultplugin.EnvServe + "=1"}, env...)}
}

func TestProtocolNegotiation(t *testing.T) {
	for _, tc := range []struct {
		desc      string
		protocols string
		wantErr   string
	}{
		{"plugin offers only ours", "1", ""},
		{"newer plugin that still speaks ours", "1,2", ""},
		{"plugin from the future", "2", "incompatible API version"},
	} {
		inst, err := Start(context.Background(), exec.Local{}, selfSpec(t, faultplugin.EnvProtocols+"="+tc.protocols))
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.desc, err)
				continue
			}
			if inst.Version != pluginapi.ProtocolVersion || inst.Desc.Framework != "oracle" {
				t.Errorf("%s: negotiated %d, framework %q", tc.desc, inst.Version, inst.Desc.Framework)
			}
			inst.Close()
			continue
		}
		if err == nil || !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "rebuild") {
			t.Errorf("%s: error %v, want ErrStart mentioning %q and how to fix it", tc.desc, err, tc.wantErr)
		}
	}
}

// TestConcurrentRuns calls one plugin process from several goroutines:
// the gokit side builds a network per request, so results must agree.
func TestConcurrentRuns(t *testing.T) {
	inst, err := Start(context.Background(), exec.Local{}, selfSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ref := filepath.Join("..", "..", "testdata", "reference")
	w, _ := os.ReadFile(filepath.Join(ref, "lstm.weights.safetensors"))
	in, _ := os.ReadFile(filepath.Join(ref, "lstm.input.safetensors"))
	req := pluginapi.RunRequest{Model: "lstm", Check: "forward", Device: "cpu", Precision: "fp32", Weights: w, Inputs: in}
	var wg sync.WaitGroup
	outs := make([][]byte, 4)
	for i := range outs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := inst.Framework.Run(context.Background(), req)
			if err != nil || resp.Status != pluginapi.StatusOK {
				t.Errorf("run %d: %v %s", i, err, resp.Message)
				return
			}
			outs[i] = resp.Outputs
		}(i)
	}
	wg.Wait()
	for i := 1; i < len(outs); i++ {
		if string(outs[i]) != string(outs[0]) {
			t.Errorf("concurrent run %d differs from run 0", i)
		}
	}
	if f, err := tensor.Decode(outs[0]); err != nil || f.Tensors["logits"].Shape[1] != 10 {
		t.Errorf("outputs: %v", err)
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dlcompat-plugin-b"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "dlcompat-plugin-a"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "dlcompat-plugin-notexec"), []byte(""), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte(""), 0o755)
	found, err := Discover(context.Background(), dir)
	if err != nil || len(found) != 2 || found[0].Manifest.Name != "a" || found[1].Manifest.Name != "b" {
		t.Fatalf("Discover: %v %+v", err, found)
	}
	// Not plugins of ours: no manifest, and the file name still names them.
	if found[0].ManifestErr == "" {
		t.Errorf("a shell script printed a manifest: %+v", found[0])
	}
	if _, err := Discover(context.Background(), t.TempDir()); !errors.Is(err, ErrNoPlugins) {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestTail(t *testing.T) {
	tl := NewTail(10)
	tl.Write([]byte("hello "))
	tl.Write([]byte("world, again"))
	if got := tl.String(); got != "rld, again" {
		t.Fatalf("tail %q", got)
	}
	tl = NewTail(1 << 10)
	tl.Write([]byte("panic: boom\n{\"@level\":\"debug\",\"@message\":\"plugin exited\"}\ngoroutine 1\n"))
	if got := tl.String(); got != "panic: boom\ngoroutine 1\n" {
		t.Fatalf("tail with go-plugin's debug lines %q", got)
	}
}
