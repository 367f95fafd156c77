package main

import (
	"context"
	"os"
	osexec "os/exec"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

// image is the plugin's own CPU image (its manifest's).
var image = Config().Images["cpu"]

// TestAgainstGoldens runs the real plugin, with the jax the local executor
// finds (the venv of scripts/setup.d/30-python.sh), through the host's
// runner: both models, every check (perf included), every activation and
// gradient within docs/spec.md §6.2's tolerances, and determinism bitwise.
func TestAgainstGoldens(t *testing.T) {
	run := plugintest.Check(t, plugintest.Spec(t, "jax"), plugintest.Options{})
	f := run.Frameworks[0]
	if f.Version != pyshim.JAXPins[len("jax=="):strings.IndexByte(pyshim.JAXPins, ' ')] {
		t.Errorf("version %q, want the pinned jax (%s)", f.Version, pyshim.JAXPins)
	}
	if p := f.Build["matmul_precision"]; !strings.HasPrefix(p, "HIGHEST") {
		t.Errorf("build matmul_precision %q", p)
	}
}

// TestAgainstGoldensInItsContainer runs the plugin in its image (the
// TensorFlow image, which has jax) through the docker executor.
func TestAgainstGoldensInItsContainer(t *testing.T) {
	plugintest.CheckInImage(t, "jax", image, plugintest.Options{
		Checks: []string{pluginapi.CheckForward, pluginapi.CheckBackward, pluginapi.CheckDeterminism}})
}

// TestOracleAgreesWithJAXFloat64 is a third, independent check of the
// oracle (docs/spec.md §3.3): the same pure functions with jax_enable_x64,
// every value float64, XLA's convolutions and scan's backward pass through
// time against core/reference's hand-written loops.
func TestOracleAgreesWithJAXFloat64(t *testing.T) {
	p := pyshim.New(Config())
	defer p.Close()
	plugintest.AgreesWithOracle(t, "jax float64", p)
}

// guardScript runs after the worker library and jax_worker are loaded as
// modules: it proves that the strict-fp32 check passes both real models
// under a default matmul precision of bfloat16 (their precision is
// explicit), and refuses a matmul left at the default, a bfloat16 cast,
// and compiled HLO with reduced precision in it.
const guardScript = `
import numpy as np
import dlcompat_worker as dw
import jax_worker as jw

b = jw.Backend()
b.load()
jax = jw.jax
jax.config.update("jax_default_matmul_precision", "bfloat16")


def refused(what, f, want):
    try:
        f()
    except dw.CheckError as e:
        assert want in str(e), "%s: %s lacks %r" % (what, e, want)
        print("refused:", what, "--", e)
        return
    raise AssertionError("%s: not refused" % what)


shapes = {"cnn": {"conv1.weight": (32, 3, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
                  "fc1.weight": (128, 3136), "fc1.bias": (128,), "fc2.weight": (10, 128), "fc2.bias": (10,)},
          "lstm": {"fc.weight": (10, 128), "fc.bias": (10,)}}
for l, n_in in ((0, 28), (1, 128)):
    pre = "layers.%d." % l
    shapes["lstm"].update({pre + "i2h.weight": (512, n_in), pre + "i2h.bias": (512,), pre + "h2h.weight": (512, 128), pre + "h2h.bias": (512,)})
inputs = {"cnn": (2, 3, 28, 28), "lstm": (2, 28, 28)}
for m in ("cnn", "lstm"):
    net = b.build(m, 2, "cpu", {k: np.zeros(s, np.float32) for k, s in shapes[m].items()}, "float32")
    x, y = net._x(np.zeros(inputs[m], np.float32)), net._labels(np.zeros(2, np.int64))
    for name, f, args in (("logits", net._logits, (x,)), ("acts", net._acts, (x,)), ("grad", jax.value_and_grad(net._loss), (x, y))):
        counts = jw.check_precision(jax.jit(f).trace(net.p, *args).jaxpr, "fp32", name)
        print("strict:", m, name, counts)
        assert counts["dot_general"] > 0 and (m == "lstm" or counts["conv_general_dilated"] > 0), counts

    good = jw.linear
    jw.linear = lambda x, w, b: x @ w.T + b  # the default precision
    refused(m + " with x @ w.T", lambda: b.build(m, 2, "cpu", net.p, "float32")._fn("logits", x), "not HIGHEST")
    jw.linear = lambda x, w, b: good(x.astype("bfloat16"), w.astype("bfloat16"), b.astype("bfloat16")).astype("float32")
    refused(m + " in bfloat16", lambda: b.build(m, 2, "cpu", net.p, "float32")._fn("logits", x), "bfloat16 value")
    jw.linear = good

    # bf16: the policy's net passes its own check and says so; one whose
    # linear layers run in float32 is refused.
    bn = b.build(m, 2, "cpu", {k: np.zeros(s, np.float32) for k, s in shapes[m].items()}, "bf16")
    bn._fn("grad", x, y)
    mode, ev = bn.precision()
    assert mode == "bf16" and ev["activation_dtype"] == "bfloat16", (mode, ev)
    print("bf16:", m, ev["checked"])
    jw.linear = lambda x, w, b: good(x.astype("float32"), w.astype("float32"), b.astype("float32")).astype(x.dtype)
    refused(m + " bf16 with float32 linear", lambda: b.build(m, 2, "cpu", net.p, "bf16")._fn("logits", x), "operand, not bfloat16")
    jw.linear = good

refused("compiled bf16", lambda: jw.check_compiled("ROOT %d = bf16[2,3]{1,0} dot(...)", "fp32", "hlo"), "bf16")
refused("compiled default precision", lambda: jw.check_compiled("dot(a, b), operand_precision={default,default}", "fp32", "hlo"), "default")
jw.check_compiled("dot(a, b), operand_precision={default,default}", "tf32", "hlo")
jw.check_compiled(jax.jit(lambda x: jw.linear(x, x, 0.0)).lower(np.ones((2, 2), np.float32)).compile().as_text(), "fp32", "hlo")
print("ok")
`

// TestStrictFP32Guard runs the worker's strict-fp32 check on its own, in
// jax's interpreter (docs/spec.md §4.7).
func TestStrictFP32Guard(t *testing.T) {
	out := runWorkerScript(t, guardScript)
	if !strings.Contains(out, "refused: cnn with x @ w.T") || !strings.Contains(out, "strict: lstm grad") ||
		!strings.Contains(out, "refused: lstm bf16 with float32 linear") || !strings.Contains(out, "bf16: lstm") {
		t.Errorf("the guard script did not get through every case")
	}
}

// devicesScript fakes jax's GPU list (two CUDA GPUs, enumerated out of
// ordinal order) and a CPU jaxlib whose GPU backend fails, and checks what
// the worker describes: gpu:N is the N-th CUDA ordinal, which
// CUDA_DEVICE_ORDER=PCI_BUS_ID makes NVML's N.
const devicesScript = `
import jax_worker as jw

b = jw.Backend()
b.load()
jax = jw.jax


class FakeGPU(object):
    platform = "gpu"

    def __init__(self, ordinal, kind):
        self.id = self.local_hardware_id = ordinal
        self.device_kind, self.compute_capability = kind, "9.0"


real = jax.devices
fakes = [FakeGPU(1, "NVIDIA B"), FakeGPU(0, "NVIDIA A")]
jax.devices = lambda backend=None: fakes if backend == "gpu" else real(backend)
jw._cuda_plugin = lambda: "jax-cuda12-plugin 0.10.2"
d = b.describe()
got = [(v["id"], v["kind"], v["name"]) for v in d["devices"]]
assert got == [("cpu", "cpu", "CPU (jax, XLA:CPU)"), ("gpu:0", "gpu", "cuda:0 NVIDIA A (sm_90)"), ("gpu:1", "gpu", "cuda:1 NVIDIA B (sm_90)")], got
assert b.jax_device("gpu:1") is fakes[0] and not d["warnings"], d
try:
    b.jax_device("gpu:2")
    raise AssertionError("gpu:2 accepted")
except jw.dw.CheckError as e:
    assert "jax sees 2 GPUs" in str(e), e


def broken(backend=None):
    if backend == "gpu":
        raise RuntimeError("Unknown backend: 'gpu' requested, but no platforms that are instances of gpu are present")
    return real(backend)


jax.devices = broken
d = b.describe()
assert [v["id"] for v in d["devices"]] == ["cpu"], d
assert d["warnings"] == ["jax has jax-cuda12-plugin 0.10.2 but no GPU is usable here: Unknown backend: 'gpu' requested, but no platforms that are instances of gpu are present"], d["warnings"]
print("ok")
`

// TestDevicesInNVMLOrder: the GPUs are listed by CUDA ordinal, named, and
// a CUDA plugin with no usable GPU is a warning, not a GPU.
func TestDevicesInNVMLOrder(t *testing.T) {
	runWorkerScript(t, devicesScript)
}

// runWorkerScript runs body in jax's interpreter after loading the worker
// library and jax_worker as modules, and fails unless it ends by printing
// "ok". It returns the output.
func runWorkerScript(t *testing.T, body string) string {
	t.Helper()
	p := pyshim.New(Config())
	defer p.Close()
	d, err := p.Describe(context.Background(), pluginapi.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Unavailable != "" {
		plugintest.Unavailable(t, "jax: "+d.Unavailable)
	}
	argv, err := p.Interpreter()
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("import sys, types\n")
	for _, m := range [][2]string{{"dlcompat_worker", "../pyshim/worker/dlcompat_worker.py"}, {"jax_worker", "jax_worker.py"}} {
		src, err := os.ReadFile(m[1])
		if err != nil {
			t.Fatal(err)
		}
		// The modules travel in the script itself, so an interpreter that is
		// a command line (docker run -i IMAGE python3) runs it too.
		script.WriteString("m = types.ModuleType(" + pyString(m[0]) + ")\n")
		script.WriteString("exec(compile(" + pyString(string(src)) + ", " + pyString(m[1]) + ", 'exec'), m.__dict__)\n")
		script.WriteString("sys.modules[m.__name__] = m\n")
	}
	script.WriteString(body)
	cmd := osexec.Command(argv[0], append(argv[1:], "-")...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2")
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("the script failed: %v", err)
	}
	return string(out)
}

// pyString quotes s as a Python string literal (bytes as \x escapes are
// not needed: the sources are UTF-8, and Python reads its script as such).
func pyString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`)
	return "'" + r.Replace(s) + "'"
}

// TestInstallHintMatchesThePins: the jax the skip reason installs is the
// one requirements-tf.txt pins for the venv and the image recipe builds.
func TestInstallHintMatchesThePins(t *testing.T) {
	req, err := os.ReadFile("../../scripts/setup.d/requirements-tf.txt")
	if err != nil {
		t.Fatal(err)
	}
	recipe, err := os.ReadFile("../../scripts/images/tensorflow-cpu/image.conf")
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]bool{}
	for _, line := range strings.Split(string(req), "\n") {
		pinned[strings.TrimSpace(line)] = true
	}
	for _, pin := range strings.Fields(pyshim.JAXPins) {
		if !pinned[pin] {
			t.Errorf("%s is not what requirements-tf.txt pins", pin)
		}
		if !strings.Contains(string(recipe), pin) {
			t.Errorf("scripts/images/tensorflow-cpu/image.conf does not install %s", pin)
		}
		if !strings.Contains(Config().Install, pin) {
			t.Errorf("install hint %q lacks %s", Config().Install, pin)
		}
	}
	if got := Config().Images["cpu"]; got != pyshim.TFImage {
		t.Errorf("image %q, want %q", got, pyshim.TFImage)
	}
}

// TestPlantedKernelLayoutFailsInItsContainer: the kernel's spatial axes
// declared swapped to XLA (OIWH for OIHW, a transposed 3×3 kernel) must
// fail forward at conv1, in the plugin's image.
func TestPlantedKernelLayoutFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "jax", image, plugintest.Bug{
		What: "kernel layout OIWH", File: "jax_worker.py",
		Old: `CONV_DIMS = ("NCHW", "OIHW", "NCHW")`, New: `CONV_DIMS = ("NCHW", "OIWH", "NCHW")`,
		Model: reference.CNN, Layer: "conv1"})
}

// TestCharacterise: jax's characterise check on the CPU, in the modes it
// runs there (docs/spec.md §10).
func TestCharacterise(t *testing.T) {
	plugintest.Characterise(t, plugintest.Spec(t, "jax"), []string{"fp64", "fp32", "bf16", "fp16"})
}
