"""JAX worker: both reference models as pure JAX functions of a parameter
pytree, gradients by jax.value_and_grad (jax.grad, with the loss) of the mean
cross-entropy, every function jit-compiled ahead of time (jit(...).trace(...)
.lower().compile()) for the net's batch. Python 3.9 compatible.

The pytree is a dict keyed by the canonical parameter names, in the canonical
layout (docs/spec.md §4.7): the dimension numbers tell XLA the layout, so
nothing is transposed on the way in or out, and the gradient pytree comes back
keyed and shaped as the weights came in.
  conv     lax.conv_general_dilated, dimension_numbers ("NCHW", "OIHW", "NCHW"),
           padding ((1, 1), (1, 1)); bias broadcast over N, H, W; jax.nn.relu
           (derivative 0 at 0)
  pool     lax.reduce_window(x, -inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
  flatten  reshape of NCHW: C, H, W order, as PyTorch's view
  linear   lax.dot_general contracting x's axis 1 with W's axis 1: x·Wᵀ with W
           as stored, [out, in]
  LSTM     docs/spec.md §1.2 over lax.scan (time-major inside, [N, T, ·] at the
           boundary): gates = (x·W_iᵀ + b_i) + (h·W_hᵀ + b_h), split i, f, g, o;
           two biases; h0 = c0 = 0
  loss     mean(logsumexp(z) − Σ z·onehot(label)): the one-hot is a comparison,
           so the backward pass has no scatter

Strict fp32: every dot_general and conv_general_dilated is given
precision=lax.Precision.HIGHEST explicitly (jax_default_matmul_precision is
left as it is and has no say over them), and each traced function, the
backward included, is checked before it is compiled: every dot and convolution
must carry HIGHEST, and every floating-point value must be in the net's dtype
(no bf16, f16, or f64 in an fp32 net). What XLA compiled is checked too: no
type narrower than fp32, no operand_precision but highest. A function that
fails either check is not run (the cell is an error that says why).

Precision modes (docs/spec.md §4.7, §9). JAX has no autocast, so the reduced
modes are a policy written here, in the manner of jmp: fp64 is the whole
pytree and input in float64 (jax_enable_x64, switched on inside the worker
for the first fp64 net). bf16 keeps float32 parameters (what the gradient is
taken of), casts them and the input to bfloat16 inside the traced function,
computes in bfloat16 and casts the logits back to float32 for the loss, so
the gradients come back float32; the check wants every dot and convolution
on bfloat16 operands, and no float type but float32 and bfloat16. tf32 (GPU
only) gives the dots and convolutions no precision of their own and traces
and compiles them under jax.default_matmul_precision("tensorfloat32"); the
check wants every one at the default and the setting read back.

Determinism: one compiled executable per (function, batch), run twice. No XLA
determinism flag is set: --xla_gpu_exclude_nondeterministic_ops makes GPU
compilation fail on select-and-scatter, which is the max-pool gradient; the
pooling windows do not overlap, so each of its outputs has one writer.
"""

import contextlib
import os
import re

import numpy as np

import dlcompat_worker as dw

jax = None
jnp = None
lax = None
HIGHEST = None

# Canonical layout, declared to XLA rather than converted.
CONV_DIMS = ("NCHW", "OIHW", "NCHW")
CONV_PAD = ((1, 1), (1, 1))
POOL = (1, 1, 2, 2)
# x [N, in] · W [out, in] contracted over "in": x·Wᵀ without a transpose.
LINEAR_DIMS = (((1,), (1,)), ((), ()))
CLASSES = 10
# The ops whose precision is checked, and what the check wants of them.
PRECISION_OPS = ("dot_general", "conv_general_dilated")
# The precision given to every dot and convolution: HIGHEST, or None (the
# default, which jax_default_matmul_precision decides) while a tf32 net is
# traced. Set by Net._fn around tracing only.
MATMUL = [None]
# Per mode: the dtype the parameters are kept in, the dtype the model
# computes in, and the float types a traced function may hold.
MODES = {
    "fp64": ("float64", "float64", ("float64",)),
    "fp32": ("float32", "float32", ("float32",)),
    "tf32": ("float32", "float32", ("float32",)),
    "bf16": ("float32", "bfloat16", ("float32", "bfloat16")),
}


def linear(x, w, b):
    return lax.dot_general(x, w, LINEAR_DIMS, precision=MATMUL[0]) + b


def conv_relu(x, w, b):
    y = lax.conv_general_dilated(x, w, window_strides=(1, 1), padding=CONV_PAD,
                                 dimension_numbers=CONV_DIMS, precision=MATMUL[0])
    return jax.nn.relu(y + b.reshape(1, -1, 1, 1))


def max_pool(x):
    # A concrete -inf init in x's dtype makes this reduce_window_max, which
    # jax differentiates (select_and_scatter_add).
    return lax.reduce_window(x, np.array(-np.inf, dtype=x.dtype), lax.max, POOL, POOL, "VALID")


def cnn(p, x, acts):
    c1 = conv_relu(x, p["conv1.weight"], p["conv1.bias"])
    p1 = max_pool(c1)
    c2 = conv_relu(p1, p["conv2.weight"], p["conv2.bias"])
    p2 = max_pool(c2)
    flat = p2.reshape(p2.shape[0], -1)  # NCHW: C, H, W order, as fc1.weight expects
    f1 = jax.nn.relu(linear(flat, p["fc1.weight"], p["fc1.bias"]))
    f2 = linear(f1, p["fc2.weight"], p["fc2.bias"])
    if acts is not None:
        acts.update(conv1=c1, pool1=p1, conv2=c2, pool2=p2, fc1=f1, fc2=f2)
    return f2


def lstm_layer(seq, wi, bi, wh, bh):
    """One layer over a time-major sequence [T, N, in]; returns h at every step, [T, N, H]."""
    n = seq.shape[1]
    zeros = jnp.zeros((n, wh.shape[1]), dtype=seq.dtype)

    def step(state, xt):
        h, c = state
        gates = linear(xt, wi, bi) + linear(h, wh, bh)
        i, f, g, o = jnp.split(gates, 4, axis=1)  # canonical order i, f, g, o
        i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    _, hs = lax.scan(step, (zeros, zeros), seq)
    return hs


def lstm(p, x, acts):
    seq = jnp.swapaxes(x, 0, 1)  # [N, T, I] -> [T, N, I]
    for l in range(2):
        pre = "layers.%d." % l
        seq = lstm_layer(seq, p[pre + "i2h.weight"], p[pre + "i2h.bias"], p[pre + "h2h.weight"], p[pre + "h2h.bias"])
        if acts is not None:
            acts["layers.%d" % l] = jnp.swapaxes(seq, 0, 1)  # [N, T, H]
    logits = linear(seq[-1], p["fc.weight"], p["fc.bias"])  # the top layer's h at the last step
    if acts is not None:
        acts["fc"] = logits
    return logits


MODELS = {"cnn": cnn, "lstm": lstm}


def mean_cross_entropy(z, labels):
    """docs/spec.md §1.5: mean_n (logsumexp(z_n) − z_n[label_n])."""
    onehot = jax.nn.one_hot(labels, CLASSES, dtype=z.dtype)
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.sum(z * onehot, axis=1))


def _is_highest(prec):
    if prec is None:
        return False
    if isinstance(prec, (tuple, list)):
        return len(prec) == 2 and all(q == HIGHEST for q in prec)
    return prec == HIGHEST


def _subjaxprs(params):
    """The jaxprs inside an equation's parameters (scan's body, pjit's, custom_jvp's)."""
    for v in params.values():
        for s in v if isinstance(v, (tuple, list)) else (v,):
            j = getattr(s, "jaxpr", s)  # a ClosedJaxpr holds its Jaxpr
            if hasattr(j, "eqns") and hasattr(j, "invars"):
                yield j


def check_precision(closed, mode, what):
    """Walks a traced function's jaxpr, sub-jaxprs included. Returns how many
    dots and convolutions it checked; raises CheckError if one lacks the
    mode's precision (HIGHEST; the default for tf32), takes operands not of
    the mode's compute dtype, or a floating-point value is of a type the
    mode does not allow (MODES)."""
    _, compute, allowed = MODES[mode]
    allowed = [np.dtype(jnp.dtype(a)) for a in allowed]
    want = np.dtype(jnp.dtype(compute))
    bad = []
    counts = dict.fromkeys(PRECISION_OPS, 0)

    def check_var(v, where):
        dt = getattr(getattr(v, "aval", None), "dtype", None)
        if dt is not None and jnp.issubdtype(dt, jnp.floating) and np.dtype(dt) not in allowed:
            bad.append("%s: a %s value where only %s may be" % (where, np.dtype(dt).name, "/".join(a.name for a in allowed)))

    def walk(j):
        for v in list(j.invars) + list(j.constvars):
            check_var(v, "an input")
        for e in j.eqns:
            name = e.primitive.name
            for v in list(e.invars) + list(e.outvars):
                check_var(v, name)
            if name in counts:
                counts[name] += 1
                prec = e.params.get("precision")
                if mode == "tf32":
                    if prec is not None and not all(q is None or q == lax.Precision.DEFAULT for q in (prec if isinstance(prec, (tuple, list)) else (prec,))):
                        bad.append("%s with precision %s, not the default" % (name, prec))
                elif not _is_highest(prec):
                    bad.append("%s with precision %s, not HIGHEST" % (name, prec))
                for v in e.invars:
                    dt = getattr(getattr(v, "aval", None), "dtype", None)
                    if dt is not None and jnp.issubdtype(dt, jnp.floating) and np.dtype(dt) != want:
                        bad.append("%s on a %s operand, not %s" % (name, np.dtype(dt).name, want.name))
                pet = e.params.get("preferred_element_type")
                if pet is not None and np.dtype(pet) != want:
                    bad.append("%s accumulating in %s" % (name, np.dtype(pet).name))
            for sub in _subjaxprs(e.params):
                walk(sub)

    walk(closed.jaxpr)
    if not counts["dot_general"]:
        bad.append("no dot_general at all: the check saw nothing it could judge")
    if bad:
        raise dw.CheckError("%s is not %s as asked: %s" % (what, mode, "; ".join(sorted(set(bad)))))
    return counts


# HLO element types narrower than fp32, and the precision XLA records on a
# dot or convolution it kept as one (on a GPU most become library calls,
# which carry theirs elsewhere).
REDUCED_TYPE = re.compile(r"\b(bf16|f16|f8e[0-9a-z]*|f4e[0-9a-z]*)\[")
OPERAND_PRECISION = re.compile(r"operand_precision=\{([^}]*)\}")


def check_compiled(hlo, mode, what):
    """The second look, at what XLA compiled: in fp32 and fp64 no value
    narrower than fp32, and every operand_precision it kept is highest (in
    tf32 the default; bf16 keeps HIGHEST on bfloat16 operands). Raises
    CheckError if not."""
    bad = [] if mode == "bf16" else sorted(set(m.group(1) for m in REDUCED_TYPE.finditer(hlo)))
    ok = {"default,default", "highest,highest"} if mode == "tf32" else {"highest,highest"}
    prec = sorted(set(m.group(1) for m in OPERAND_PRECISION.finditer(hlo)) - ok)
    if bad or prec:
        raise dw.CheckError("%s compiled to reduced precision: types %s, operand_precision %s" % (what, bad or "none", prec or "all highest"))


class Net(object):
    """One model at one batch size on one device: the parameter pytree on the
    device, and the functions compiled for that batch on first use."""

    def __init__(self, backend, model, device, params, dtype):
        if model not in MODELS:
            raise dw.CheckError("unknown model %r" % model)
        self.model = MODELS[model]
        self.first = "conv1" if model == "cnn" else "layers.0"
        self.dev = backend.jax_device(device)
        self.mode = dw.mode_of(dtype)
        dw.require_mode(self.mode, device, backend.precisions(device))
        store, compute, _ = MODES[self.mode]
        self.dtype = np.dtype(store)
        self.compute = jnp.dtype(compute)
        self.p = jax.device_put({k: np.ascontiguousarray(v, dtype=self.dtype) for k, v in params.items()}, self.dev)
        self._compiled = {}
        self.seen = {}

    # --- pure functions of (params, inputs) ---

    def _model(self, p, x, acts):
        """The model under the net's policy: parameters and input cast to
        the compute dtype, the logits (and activations) back to the
        parameters' dtype. The dtypes seen are recorded while tracing."""
        if self.compute != self.dtype:
            p = {k: v.astype(self.compute) for k, v in p.items()}
            x = x.astype(self.compute)
        seen = {} if acts is None else acts
        logits = self.model(p, x, seen)
        self.seen["output_dtype"] = str(logits.dtype)
        self.seen["activation_dtype"] = str(seen[self.first].dtype)
        if acts is not None:
            for k in acts:
                acts[k] = acts[k].astype(self.dtype)
        return logits.astype(self.dtype)

    def _logits(self, p, x):
        return self._model(p, x, None)

    def _acts(self, p, x):
        acts = {}
        logits = self._model(p, x, acts)
        return logits, acts

    def _loss(self, p, x, labels):
        return mean_cross_entropy(self._model(p, x, None), labels)

    def precision(self):
        """The mode in effect, from what was read back: the dtypes traced,
        the precision of the dots and convolutions checked, the matmul
        precision setting they were compiled under."""
        s = dict(self.seen)
        out, act = s.get("output_dtype"), s.get("activation_dtype")
        dm = s.get("default_matmul_precision")
        if out == act == "float64":
            mode = "fp64"
        elif out == act == "bfloat16":
            mode = "bf16"
        elif out == act == "float32":
            mode = "tf32" if s.get("dot_precision") == "default" and dm == "tensorfloat32" else "fp32"
        else:
            mode = "unknown"
        return mode, s

    def _fn(self, name, *args):
        """The function name, traced, checked and compiled for args' shapes once."""
        key = (name,) + tuple(a.shape for a in args)
        c = self._compiled.get(key)
        if c is None:
            f = {"logits": self._logits, "acts": self._acts,
                 "grad": jax.value_and_grad(self._loss)}[name]
            what = "%s (%s)" % (name, self.model.__name__)
            tf32 = self.mode == "tf32"
            MATMUL[0] = None if tf32 else HIGHEST
            try:
                with (jax.default_matmul_precision("tensorfloat32") if tf32 else contextlib.nullcontext()):
                    traced = jax.jit(f).trace(self.p, *args)
                    counts = check_precision(traced.jaxpr, self.mode, what)
                    c = traced.lower().compile()
                    self.seen["default_matmul_precision"] = str(jax.config.jax_default_matmul_precision)
            finally:
                MATMUL[0] = HIGHEST
            check_compiled(c.as_text(), self.mode, what)
            self.seen["dot_precision"] = "default" if tf32 else "highest"
            self.seen["checked"] = "%d dot_general, %d conv_general_dilated" % (counts["dot_general"], counts["conv_general_dilated"])
            self.seen["policy"] = "params %s, compute %s, loss %s (dlcompat's; jax has no autocast)" % (self.dtype.name, self.compute.name, self.dtype.name)
            self._compiled[key] = c
        return c

    # --- the worker interface, canonical layout in and out ---

    def _x(self, x):
        return jax.device_put(np.ascontiguousarray(x, dtype=self.dtype), self.dev)

    def _labels(self, labels):
        return jax.device_put(np.ascontiguousarray(labels, dtype=np.int32), self.dev)  # 0…9

    def forward(self, x, want_activations):
        xd = self._x(x)
        if not want_activations:
            return np.asarray(self._fn("logits", xd)(self.p, xd)), {}
        logits, acts = self._fn("acts", xd)(self.p, xd)
        return np.asarray(logits), {k: np.asarray(v) for k, v in acts.items()}

    def backward(self, x, labels):
        xd, ld = self._x(x), self._labels(labels)
        loss, grads = self._fn("grad", xd, ld)(self.p, xd, ld)
        return float(loss), {k: np.asarray(v) for k, v in grads.items()}

    def timed_forward(self, x):
        xd = self._x(x)
        f = self._fn("logits", xd)
        return lambda: f(self.p, xd).block_until_ready()

    def timed_train(self, x, labels):
        xd, ld = self._x(x), self._labels(labels)
        f = self._fn("grad", xd, ld)
        return lambda: jax.block_until_ready(f(self.p, xd, ld))  # the loss and every gradient


def _cuda_plugin():
    """jax's CUDA plugin and its version, or "" when this jaxlib has none
    (read from the installed distributions: nothing is imported)."""
    from importlib import metadata

    for dist in ("jax-cuda13-plugin", "jax-cuda12-plugin"):
        try:
            return "%s %s" % (dist, metadata.version(dist))
        except Exception:  # PackageNotFoundError, or no metadata at all
            continue
    return ""


class Backend(object):
    def __init__(self):
        self.warnings = []
        self._gpu_error = ""

    def load(self):
        global jax, jnp, lax, HIGHEST
        # jax takes 75% of a GPU's memory at its first use unless told not
        # to; the plugins share the GPUs. The user's setting wins.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        import jax as _jax
        import jax.numpy as _jnp
        from jax import lax as _lax

        jax, jnp, lax = _jax, _jnp, _lax
        HIGHEST = lax.Precision.HIGHEST
        MATMUL[0] = HIGHEST

    def _gpus(self):
        """jax's GPUs by CUDA ordinal: in PCI bus order, NVML's, because the
        plugin sets CUDA_DEVICE_ORDER=PCI_BUS_ID."""
        try:
            gpus = jax.devices("gpu")
        except Exception as e:  # no GPU backend: a CPU jaxlib, or no usable GPU
            self._gpu_error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            return []
        key = lambda d: d.local_hardware_id if d.local_hardware_id is not None else d.id
        return sorted(gpus, key=key)

    def describe(self):
        import jaxlib

        cuda = _cuda_plugin()
        build = {
            "jaxlib": getattr(jaxlib, "__version__", "?"),
            "jax_file": os.path.dirname(jax.__file__),
            "default_backend": jax.default_backend(),
            "cuda_plugin": cuda or "none (CPU jaxlib)",
            "matmul_precision": "HIGHEST on every dot_general and conv_general_dilated, checked in each traced jaxpr",
            "jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision),
            "xla_flags": os.environ.get("XLA_FLAGS", "") or "none",
            "compile": "jit(...).trace(...).lower().compile(), per function and batch",
        }
        devices = [{"id": "cpu", "kind": "cpu", "name": "CPU (jax, XLA:CPU)", "precisions": self.precisions("cpu")}]
        warnings = []
        for i, d in enumerate(self._gpus()):
            cc = str(getattr(d, "compute_capability", "") or "")
            devices.append({"id": "gpu:%d" % i, "kind": "gpu",
                            "name": "%s:%d %s%s" % ("cuda" if cuda else "gpu", i, d.device_kind, " (sm_%s)" % cc.replace(".", "") if cc else ""),
                            "precisions": self.precisions("gpu:%d" % i)})
        if cuda and len(devices) == 1:
            warnings.append("jax has %s but no GPU is usable here: %s" % (cuda, self._gpu_error or "jax lists none"))
        return {"framework": "jax", "version": jax.__version__, "build": build, "devices": devices, "warnings": warnings,
                "capabilities": {"precisions": ["fp64", "fp32", "tf32", "bf16"]}}

    def precisions(self, device):
        """The modes run on device: fp64, fp32 and bf16 on the CPU; on a GPU
        tf32 and bf16 from compute capability 8.0. No fp16: without loss
        scaling (which JAX leaves to libraries) its gradients underflow."""
        if device == "cpu":
            return ["fp64", "fp32", "bf16"]
        try:
            d = self.jax_device(device)
            cc = tuple(int(v) for v in str(getattr(d, "compute_capability", "0.0")).split("."))
        except Exception:
            cc = (0, 0)
        return ["fp64", "fp32"] + (["tf32", "bf16"] if cc >= (8, 0) else [])

    def jax_device(self, device):
        if device == "cpu":
            return jax.devices("cpu")[0]
        if device.startswith("gpu:"):
            gpus = self._gpus()
            i = int(device[4:])
            if i >= len(gpus):
                raise dw.CheckError("%s requested but jax sees %d GPUs" % (device, len(gpus)))
            return gpus[i]
        raise dw.CheckError("unknown device %r" % device)

    def build(self, model, batch, device, params, dtype):
        if dtype == "float64" and not jax.config.jax_enable_x64:
            # fp64 nets and the float64 oracle cross-check (docs/spec.md
            # §3.3); the other nets keep their dtypes, which check_precision
            # enforces.
            jax.config.update("jax_enable_x64", True)
        return Net(self, model, device, params, dtype)

    def memory(self, device):
        if device.startswith("gpu:"):
            stats = self.jax_device(device).memory_stats() or {}
            if "peak_bytes_in_use" in stats:
                return int(stats["peak_bytes_in_use"]), "xla_peak_bytes_in_use"
        return None  # the CPU: the call's peak RSS


class Characteriser(object):
    """The characterise check on one device (docs/spec.md §10): the stream
    inputs made on the device by a jitted function, the copy and the triad
    as jitted functions (XLA fuses b + s·c into one kernel; each call
    writes a fresh output buffer, which XLA allocates), GEMMs as a jitted
    jnp.dot in each mode: fp64 (jax_enable_x64, as the fp64 nets), fp32 at
    Precision.HIGHEST, tf32 at Precision.DEFAULT on a GPU (TF32 from
    Ampere on), bf16 and fp16 as arrays of that dtype. jax exposes no
    pinned host buffer to time a host<->device copy with, so h2d and d2h
    are PyTorch's to measure."""

    def __init__(self, backend, device):
        self.dev = backend.jax_device(device)
        self.kind = "gpu" if device.startswith("gpu:") else "cpu"
        self.streams = ("copy", "triad")
        self.gemm_modes = ["fp64", "fp32"] + (["tf32"] if self.kind == "gpu" else []) + ["bf16", "fp16"]
        why = "jax has no pinned host buffer to time it with" if self.kind == "gpu" else "the CPU has no host<->device link"
        self.skipped = {"h2d": why, "d2h": why}
        if self.kind == "cpu":
            self.skipped["gemm_tf32"] = "TF32 is a GPU format"
        if not jax.config.jax_enable_x64:
            jax.config.update("jax_enable_x64", True)  # fp64 GEMM; every other array's dtype is explicit

    def _pattern(self, n, offset):
        with jax.default_device(self.dev):
            return jax.jit(lambda: ((lax.iota(jnp.int32, n) + offset) % 65521).astype(jnp.float32) * jnp.float32(0.25))()

    def stream(self, name, n):
        if name == "copy":
            src = self._pattern(n, 0)
            copy = jax.jit(lambda x: jnp.copy(x))
            last = [None]

            def run():
                last[0] = copy(src)
                last[0].block_until_ready()

            def sample(idx):
                dst = last[0]
                return {"src": np.asarray(src)[idx].astype(np.float64), "dst": np.asarray(dst)[idx].astype(np.float64),
                        "mismatches": [int(jnp.sum(dst != src))]}

            return run, sample
        b, c = self._pattern(n, 1), self._pattern(n, 2)
        s = dw.TRIAD_SCALAR
        triad = jax.jit(lambda b, c: b + jnp.float32(s) * c)
        last = [None]

        def run():
            last[0] = triad(b, c)
            last[0].block_until_ready()

        def sample(idx):
            return {"a": np.asarray(last[0])[idx], "b": np.asarray(b)[idx], "c": np.asarray(c)[idx], "scalar": [s]}

        return run, sample

    def gemm(self, mode, n):
        dt = {"fp64": jnp.float64, "fp32": jnp.float32, "tf32": jnp.float32, "bf16": jnp.bfloat16, "fp16": jnp.float16}[mode]
        prec = lax.Precision.DEFAULT if mode == "tf32" else HIGHEST
        rng = np.random.default_rng(0)
        A = jax.device_put((rng.random((n, n), dtype=np.float32) * 2 - 1), self.dev).astype(dt)
        B = jax.device_put((rng.random((n, n), dtype=np.float32) * 2 - 1), self.dev).astype(dt)
        dot = jax.jit(lambda a, b: jnp.dot(a, b, precision=prec))
        last = [None]

        def run():
            last[0] = dot(A, B)
            last[0].block_until_ready()

        def sample(rows, cols):
            a = np.asarray(A[rows, :].astype(jnp.float64 if mode == "fp64" else jnp.float32), dtype=np.float64)
            b = np.asarray(B[:, cols].astype(jnp.float64 if mode == "fp64" else jnp.float32), dtype=np.float64)
            c = np.asarray(last[0][rows, cols].astype(jnp.float64 if mode == "fp64" else jnp.float32), dtype=np.float64)
            return a, b, c

        return run, sample


# The characterise check's entry (docs/spec.md §10), kept beside its class.
Backend.characteriser = lambda self, device: Characteriser(self, device)


def main(proto_out):
    dw.serve(Backend(), proto_out)
