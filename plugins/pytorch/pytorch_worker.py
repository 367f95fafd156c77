"""PyTorch worker: the tutorial's SimpleCNN, LSTMCell and StackedLSTM as
nn.Modules, loaded with the reference weights, gradients through autograd,
on the CPU or cuda:N. PyTorch's layout is the canonical one (docs/spec.md §4.2), so
nothing is converted: state_dict keys are the canonical parameter names.
Python 3.9 compatible."""

import os

import numpy as np

import dlcompat_worker as dw

torch = None
nn = None
F = None


def _define_modules():
    global SimpleCNN, LSTMCell, StackedLSTM

    class SimpleCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(64 * 7 * 7, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x, acts=None):
            c1 = F.relu(self.conv1(x))
            p1 = self.pool(c1)
            c2 = F.relu(self.conv2(p1))
            p2 = self.pool(c2)
            f1 = F.relu(self.fc1(p2.view(-1, 64 * 7 * 7)))
            f2 = self.fc2(f1)
            if acts is not None:
                acts.update(conv1=c1, pool1=p1, conv2=c2, pool2=p2, fc1=f1, fc2=f2)
            return f2

    class LSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size, 4 * hidden_size)
            self.h2h = nn.Linear(hidden_size, 4 * hidden_size)

        def forward(self, x, state):
            h, c = state
            gates = self.i2h(x) + self.h2h(h)
            i, f, g, o = gates.chunk(4, 1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            return h, c

    class StackedLSTM(nn.Module):
        def __init__(self, input_size=28, hidden_size=128, num_layers=2, num_classes=10, dropout=0.5):
            super().__init__()
            self.hidden_size = hidden_size
            self.layers = nn.ModuleList(
                [LSTMCell(input_size if l == 0 else hidden_size, hidden_size) for l in range(num_layers)]
            )
            self.dropout = nn.Dropout(dropout)
            self.fc = nn.Linear(hidden_size, num_classes)

        def forward(self, x, acts=None):
            n, steps, _ = x.shape
            inp = x
            for l, cell in enumerate(self.layers):
                h = x.new_zeros(n, self.hidden_size)
                c = x.new_zeros(n, self.hidden_size)
                hs = []
                for t in range(steps):
                    h, c = cell(inp[:, t, :], (h, c))
                    hs.append(h)
                out = torch.stack(hs, dim=1)
                if acts is not None:
                    acts["layers.%d" % l] = out
                inp = self.dropout(out) if l < len(self.layers) - 1 else out
            logits = self.fc(inp[:, -1, :])
            if acts is not None:
                acts["fc"] = logits
            return logits

    return SimpleCNN, LSTMCell, StackedLSTM


def _np(t):
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()  # numpy has neither; the values are the framework's
    return t.cpu().numpy()


class Net(object):
    def __init__(self, backend, model, device, params, dtype):
        self.b = backend
        self.dev = backend.torch_device(device)
        self.mode = {"float64": "fp64", "float32": "fp32"}.get(dtype, dtype)
        if self.mode not in backend.precisions(self.dev):
            raise dw.CheckError("precision %s is not run on %s (it runs: %s)" % (self.mode, device, ", ".join(backend.precisions(self.dev))))
        tdtype = torch.float64 if self.mode == "fp64" else torch.float32
        self.dtype = tdtype
        # bf16 and fp16 are PyTorch's own mixed precision (torch.autocast):
        # float32 master weights, the loss computed in float32 from the
        # logits, gradients in float32 (docs/spec.md §9).
        self.autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.mode)
        if model == "cnn":
            m = SimpleCNN()
            first = m.conv1
        elif model == "lstm":
            m = StackedLSTM()
            first = m.layers[0].i2h
        else:
            raise dw.CheckError("unknown model %r" % model)
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in params.items()}
        missing, unexpected = m.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise dw.CheckError("weights do not fit %s: missing %s, unexpected %s" % (model, missing, unexpected))
        self.m = m.to(device=self.dev, dtype=tdtype)
        self.m.eval()  # dropout off: every check runs in eval mode (docs/spec.md §1.2)
        # What ran, read back (precision()): the dtype of the first layer's
        # output and of the logits, and the switches in force at the time.
        self.seen = {}
        self.end_event = None  # armed by event_timer around one timed call
        first.register_forward_hook(lambda mod, inp, out: self.seen.__setitem__("activation_dtype", str(out.dtype).replace("torch.", "")))

    def _x(self, x):
        return torch.from_numpy(np.ascontiguousarray(x)).to(device=self.dev, dtype=self.dtype)

    def _labels(self, labels):
        return torch.from_numpy(np.ascontiguousarray(labels)).to(device=self.dev, dtype=torch.int64)

    def _run(self, xt, acts=None):
        """The model in this net's mode: TF32 switched on or off for the
        call, autocast around it for bf16 and fp16."""
        tf32 = self.mode == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        if self.autocast is not None:
            with torch.autocast(device_type=self.dev.type, dtype=self.autocast):
                logits = self.m(xt, acts)
                self._record(logits)
        else:
            logits = self.m(xt, acts)
            self._record(logits)
        return logits

    def _record(self, logits):
        self.seen["output_dtype"] = str(logits.dtype).replace("torch.", "")
        if self.dev.type == "cpu":
            on, dt = torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
        else:
            on, dt = torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()
        self.seen["autocast"] = (str(dt).replace("torch.", "") if on else "off")
        self.seen["allow_tf32"] = "matmul=%s cudnn=%s" % (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)

    def precision(self):
        """The mode in effect, from what was read back (not from self.mode)."""
        s = self.seen
        out, auto = s.get("output_dtype"), s.get("autocast")
        if out == "float64":
            mode = "fp64"
        elif out == "bfloat16" and auto == "bfloat16":
            mode = "bf16"
        elif out == "float16" and auto == "float16":
            mode = "fp16"
        elif out == "float32" and auto == "off":
            tf32_on = s.get("allow_tf32") == "matmul=True cudnn=True"
            mode = "tf32" if tf32_on and self.dev.type == "cuda" else "fp32"
        else:
            mode = "unknown"
        return mode, s

    def forward(self, x, want_activations):
        acts = {} if want_activations else None
        with torch.no_grad():
            logits = self._run(self._x(x), acts)
        return _np(logits), {k: _np(v) for k, v in (acts or {}).items()}

    def _step(self, xt, lt):
        self.m.zero_grad(set_to_none=True)
        # The loss in the float32 (or float64) of the weights, from the
        # logits, outside autocast, as PyTorch's mixed-precision recipe does.
        loss = F.cross_entropy(self._run(xt).to(self.dtype), lt)  # mean over the batch
        loss.backward()
        return loss

    def backward(self, x, labels):
        loss = self._step(self._x(x), self._labels(labels))
        grads = {k: _np(p.grad) for k, p in self.m.named_parameters()}
        return float(loss.item()), grads

    def _finish(self):
        """Ends a timed call: records the armed end event (event_timer) on
        the device's stream, then waits for the device."""
        if self.end_event is not None:
            self.end_event.record(torch.cuda.current_stream(self.dev))
        self.b.sync(self.dev)

    def timed_forward(self, x):
        xt = self._x(x)

        def run():
            with torch.no_grad():
                self._run(xt)
            self._finish()

        return run

    def timed_train(self, x, labels):
        xt, lt = self._x(x), self._labels(labels)

        def run():
            self._step(xt, lt)
            self._finish()

        return run

    def event_timer(self):
        """Device-side timing on a GPU (docs/spec.md §7.1): CUDA events (HIP
        events on ROCm) recorded on the device's current stream, the start
        before the call's first kernel and the end after its last, before
        the host waits; None on the CPU."""
        if self.dev.type != "cuda":
            return None
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

        def timed(fn):
            start.record(torch.cuda.current_stream(self.dev))
            self.end_event = end
            try:
                fn()  # ends in _finish: end recorded, device synchronised
            finally:
                self.end_event = None
            return start.elapsed_time(end) / 1e3  # ms -> s

        return ("hip_event" if torch.version.hip else "cuda_event"), timed


class Backend(object):
    def __init__(self):
        self.warnings = []

    def load(self):
        global torch, nn, F
        import torch as _torch
        import torch.nn as _nn
        import torch.nn.functional as _F

        torch, nn, F = _torch, _nn, _F
        _define_modules()
        # Strict fp32: no TF32 anywhere; deterministic kernels where the
        # framework has them (the determinism check measures this mode).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        try:
            torch.use_deterministic_algorithms(True, warn_only=True)
        except TypeError:  # older torch: no warn_only
            pass

    def describe(self):
        build = {
            "torch_file": os.path.dirname(torch.__file__),
            "threads": str(torch.get_num_threads()),
            "tf32": "off (matmul, cudnn)",
            "deterministic": "cudnn.deterministic, use_deterministic_algorithms(warn_only)",
        }
        try:
            cfg = torch.__config__.show()
            for line in cfg.splitlines():
                line = line.strip()
                if line.startswith("- BLAS_INFO") or line.startswith("- LAPACK_INFO"):
                    k, _, v = line[2:].partition("=")
                    build[k.strip().lower()] = v.strip()
        except Exception:
            pass
        build["cuda"] = str(torch.version.cuda) if torch.version.cuda else "none (CPU build)"
        if getattr(torch.version, "hip", None):
            build["hip"] = str(torch.version.hip)
        devices = [{"id": "cpu", "kind": "cpu", "name": "CPU (torch, %d threads)" % torch.get_num_threads(),
                    "precisions": self.precisions(torch.device("cpu"))}]
        warnings = []
        if torch.cuda.is_available():
            try:
                build["cudnn"] = str(torch.backends.cudnn.version())
            except Exception as e:
                build["cudnn"] = "unknown (%s)" % e
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                if getattr(torch.version, "hip", None):
                    # A ROCm build: torch.cuda is HIP, and its GPUs are AMD's,
                    # numbered as ROCm numbers them (the host's rocm:N).
                    arch = getattr(p, "gcnArchName", "") or "gfx?"
                    d = {"id": "rocm:%d" % i, "kind": "rocm", "name": "hip:%d %s (%s)" % (i, p.name, arch.split(":")[0]),
                         "precisions": ["fp64", "fp32", "bf16", "fp16"]}
                else:
                    d = {"id": "gpu:%d" % i, "kind": "gpu", "name": "cuda:%d %s (sm_%d%d)" % (i, p.name, p.major, p.minor),
                         "precisions": self.precisions(torch.device("cuda:%d" % i))}
                uuid = getattr(p, "uuid", None)
                if uuid is not None:
                    u = str(uuid)
                    d["uuid"] = u if u.startswith("GPU-") else "GPU-" + u
                devices.append(d)
        elif torch.version.cuda:
            warnings.append("torch was built with CUDA %s but no GPU is usable here" % torch.version.cuda)
        return {"framework": "pytorch", "version": torch.__version__, "build": build, "devices": devices, "warnings": warnings,
                "capabilities": {"precisions": ["fp64", "fp32", "tf32", "bf16", "fp16"]}}

    def precisions(self, dev):
        """The modes run on dev: TF32 and bf16 on GPUs that have them
        (Ampere, sm_80, and later), fp16 on every GPU; on the CPU bf16 only,
        the one autocast dtype a CPU has in PyTorch 1.13."""
        if dev.type == "cpu":
            return ["fp64", "fp32", "bf16"]
        major = torch.cuda.get_device_properties(dev).major
        return ["fp64", "fp32"] + (["tf32", "bf16"] if major >= 8 else []) + ["fp16"]

    def torch_device(self, device):
        if device == "cpu":
            return torch.device("cpu")
        if device.startswith("gpu:"):
            if not torch.cuda.is_available():
                raise dw.CheckError("%s requested but torch.cuda is not available" % device)
            # CUDA_DEVICE_ORDER=PCI_BUS_ID (set by the plugin) makes cuda:N
            # the GPU that NVML calls N.
            return torch.device("cuda:%d" % int(device[4:]))
        if device.startswith("rocm:"):
            if not (torch.version.hip and torch.cuda.is_available()):
                raise dw.CheckError("%s requested but this torch has no usable ROCm GPU" % device)
            return torch.device("cuda:%d" % int(device[5:]))
        raise dw.CheckError("unknown device %r" % device)

    def sync(self, dev):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def build(self, model, batch, device, params, dtype):
        dev = self.torch_device(device)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        return Net(self, model, device, params, dtype)

    def memory(self, device):
        """torch.cuda.max_memory_allocated since build reset it (CUDA and
        ROCm); None on the CPU."""
        dev = self.torch_device(device)
        if dev.type != "cuda":
            return None
        return torch.cuda.max_memory_allocated(dev), "cuda_max_allocated"


class Characteriser(object):
    """The characterise check on one device (docs/spec.md §10): the stream
    inputs made on the device, copies by Tensor.copy_, the triad by one
    torch.add(b, c, alpha=s, out=a), host<->device copies between pinned
    host memory and the GPU (non_blocking, then synchronize), GEMMs by
    torch.matmul(out=C) in each mode the device runs: fp64 and fp32 with
    TF32 off, tf32 with allow_tf32 on, bf16 and fp16 as tensors of that
    dtype (not autocast: the GEMM alone)."""

    def __init__(self, backend, device):
        self.b = backend
        self.dev = backend.torch_device(device)
        self.kind = "gpu" if self.dev.type == "cuda" else "cpu"
        self.streams = ("copy", "triad", "h2d", "d2h") if self.kind == "gpu" else ("copy", "triad")
        self.gemm_modes = backend.precisions(self.dev)
        self.skipped = {}
        if self.kind == "cpu":
            self.skipped = {"h2d": "the CPU has no host<->device link", "d2h": "the CPU has no host<->device link"}
            self.skipped.update({"gemm_" + m: "PyTorch %s does not run %s on the CPU" % (torch.__version__, m)
                                 for m in ("tf32", "fp16") if m not in self.gemm_modes})

    def _sync(self):
        self.b.sync(self.dev)

    def _pattern(self, n, offset, dev=None):
        i = torch.arange(n, dtype=torch.int64, device=dev or self.dev)
        return (((i + offset) % 65521).to(torch.float32) * 0.25)

    def _at(self, t, idx):
        return t[torch.from_numpy(idx).to(t.device)].double().cpu().numpy()

    def stream(self, name, n):
        cpu = torch.device("cpu")
        if name == "copy":
            src = self._pattern(n, 0)
            dst = torch.empty_like(src)

            def run():
                dst.copy_(src)
                self._sync()

            def sample(idx):
                return {"src": self._at(src, idx), "dst": self._at(dst, idx), "mismatches": [int((dst != src).sum().item())]}

            return run, sample
        if name == "triad":
            a, b, c = torch.empty(n, device=self.dev), self._pattern(n, 1), self._pattern(n, 2)
            s = dw.TRIAD_SCALAR

            def run():
                torch.add(b, c, alpha=s, out=a)
                self._sync()

            def sample(idx):
                return {"a": self._at(a, idx), "b": self._at(b, idx), "c": self._at(c, idx), "scalar": [s]}

            return run, sample
        if name == "h2d":
            src, dst = self._pattern(n, 3, cpu).pin_memory(), torch.empty(n, device=self.dev)
        else:  # d2h
            src, dst = self._pattern(n, 4), torch.empty(n, pin_memory=True)

        def run():
            dst.copy_(src, non_blocking=True)
            self._sync()

        def sample(idx):
            return {"src": self._at(src, idx), "dst": self._at(dst, idx)}

        return run, sample

    def gemm(self, mode, n):
        dt = {"fp64": torch.float64, "fp32": torch.float32, "tf32": torch.float32,
              "bf16": torch.bfloat16, "fp16": torch.float16}[mode]
        g = torch.Generator(device=self.dev).manual_seed(0)
        A = (torch.rand(n, n, device=self.dev, generator=g) * 2 - 1).to(dt)
        B = (torch.rand(n, n, device=self.dev, generator=g) * 2 - 1).to(dt)
        C = torch.empty(n, n, device=self.dev, dtype=dt)
        tf32 = mode == "tf32"

        def run():
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.matmul(A, B, out=C)
            self._sync()

        def sample(rows, cols):
            r, c = torch.from_numpy(rows).to(self.dev), torch.from_numpy(cols).to(self.dev)
            return (A[r].double().cpu().numpy(), B[:, c].double().cpu().numpy(), C[r, c].double().cpu().numpy())

        return run, sample

    def close(self):
        torch.backends.cuda.matmul.allow_tf32 = False  # strict fp32 again, for the model checks
        if self.kind == "gpu":
            torch.cuda.empty_cache()


# The characterise check's entry (docs/spec.md §10), kept beside its class.
Backend.characteriser = lambda self, device: Characteriser(self, device)


def main(proto_out):
    dw.serve(Backend(), proto_out)
