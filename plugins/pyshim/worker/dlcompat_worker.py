"""dlcompat worker library: the Python side of every Python-backed plugin.

The Go plugin (plugins/pyshim) starts the framework's interpreter with a
tiny bootstrap, sends it this module and the framework's worker module as
its first message, and from then on talks to it in frames on stdin/stdout:

    b"DLCW" | uint32 LE header length | header (JSON, UTF-8) | blobs

where header["blobs"] lists the byte length of each blob that follows, in
order. Tensors travel as safetensors bytes, read and written here with numpy
alone (framework images do not all ship the safetensors package).

The worker answers the first frame with a "hello" (interpreter, framework
version, devices, or why the framework does not import), then one "result"
per "run" request, and exits at end of input. The payloads are messages of
core/pluginapi/proto/framework.proto in proto JSON, keyed by its field
names: the hello's "describe" is a DescribeResponse (the part the framework
knows), the result's "response" a RunResponse (outputs travel as its blob).
The Go side decodes both strictly, so a key the schema lacks is an error
(plugins/pyshim's TestWorkerKeysAreInTheSchema walks every key emitted
here); the envelope around them is declared in plugins/pyshim/worker.go.

Its stdout belongs to the protocol: the bootstrap keeps the original file
descriptor 1 for frames and points fd 1 at stderr, so whatever a framework
prints lands in the cell's stderr tail instead of corrupting the stream.

A framework worker defines a Backend with:
    load()                     import the framework (may raise)
    describe()                 dict, a DescribeResponse: framework, version,
                               build, devices (id, kind, name, uuid), warnings
    build(model, batch, device, params, dtype)
                               a net for one model at one batch size in
                               dtype: "float32" (strict fp32), "float64"
                               (fp64), or a reduced mode "tf32", "bf16",
                               "fp16" that describe() declared, with
        forward(x, want_activations) -> (logits, {activation name: array})
        backward(x, labels)          -> (loss, {parameter name: gradient})
        timed_forward(x) / timed_train(x, labels)  (optional) a callable that
                               runs one iteration and returns once the device
                               is done: what perf times
        event_timer()          (optional) (timer name, timed) or None:
                               timed(fn) runs fn once and returns its
                               seconds by the device's own events
                               ("cuda_event", "hip_event"); without it
                               perf reads the host's monotonic clock
        precision()            (optional) (mode in effect, {evidence}): read
                               back from the framework's own switches after
                               the last forward; required for reduced modes.
                               Without it fp32 and fp64 are inferred from the
                               dtype of the logits the net returned.
    describe() may declare "capabilities": {"precisions": [...]} and, per
    device, "precisions": the modes it runs there (default fp32 only).
    memory(device)             (optional) (peak bytes, kind) from the
                               framework's allocator for the call just run
                               (reset it in build), or None where it has
                               none on device (then the call's peak RSS)
    trains                     (optional, default True) False for an
                               inference runtime: its nets have no
                               backward, so perf has no train_step series
                               and backward and determinism are refused
                               (its plugin leaves them out of its
                               capabilities, so the host never asks)

A framework that offers the characterise check (docs/spec.md §10; its
plugin lists it in its capabilities) also defines
    characteriser(device)      an object with
        kind                   "cpu" or "gpu"
        gemm_modes             the precision modes of its GEMMs on device
        streams                the stream series it runs ("copy", "triad",
                               and on a GPU "h2d", "d2h")
        stream(name, n)        (run, sample) for n float32 elements: run()
                               does one operation and returns once the
                               device is done; sample(idx) returns numpy
                               float64 arrays at the int64 indices idx:
                               {"src", "dst"} for a copy (and optionally
                               "mismatches", a count over the whole array),
                               {"a", "b", "c"} and "scalar" for the triad
        gemm(mode, n)          (run, sample) for C = A·B, n×n, in mode;
                               sample(rows, cols) returns (A[rows, :],
                               B[:, cols], C[rows, cols]) as float64
        skipped                (optional) {series: reason} not measured
        close()                (optional) frees what it holds
    The stream inputs follow pattern() below; this library sizes, times
    and samples every series (characterise()).

Arrays cross this boundary as numpy arrays in PyTorch layout (NCHW, weights
[out, in, kh, kw], LSTM gates i, f, g, o): each framework worker converts
explicitly on the way in and out. It runs on Python 3.9 through 3.13.
"""

import json
import platform
import struct
import sys
import math
import time
import traceback

import numpy as np

MAGIC = b"DLCW"
PROTOCOL = 2  # plugins/pyshim/worker.go: workerProtocol

# safetensors dtype names <-> numpy (little-endian).
_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
_NAMES = {np.dtype(v).str: k for k, v in _DTYPES.items()}


def st_decode(data):
    """Parses safetensors bytes into {name: numpy array} (copies, writable)."""
    if len(data) < 8:
        raise ValueError("safetensors: %d bytes, too short for a header" % len(data))
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("safetensors: header of %d bytes overruns %d bytes" % (n, len(data)))
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError("safetensors: %s has unsupported dtype %s" % (name, info["dtype"]))
        start, end = info["data_offsets"]
        arr = np.frombuffer(body[start:end], dtype=np.dtype(dt))
        out[name] = arr.reshape(info["shape"]).copy()
    return out


def st_encode(tensors):
    """Encodes {name: numpy array} as safetensors bytes (sorted names)."""
    names = sorted(tensors)
    header = {}
    chunks = []
    offset = 0
    for name in names:
        a = np.ascontiguousarray(tensors[name])
        key = a.dtype.newbyteorder("<").str if a.dtype.byteorder == ">" else a.dtype.str
        if a.dtype.kind == "b":
            key = "|b1"
        dtype = _NAMES.get(key)
        if dtype is None:
            raise ValueError("cannot encode %s: dtype %s" % (name, a.dtype))
        b = a.astype(np.dtype(_DTYPES[dtype]), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def read_frame(f):
    """Reads one frame; returns (header, [blobs]) or None at end of input."""
    head = _read_exact(f, 8, eof_ok=True)
    if head is None:
        return None
    if head[:4] != MAGIC:
        raise ValueError("bad frame magic %r" % head[:4])
    (n,) = struct.unpack("<I", head[4:])
    header = json.loads(_read_exact(f, n).decode("utf-8"))
    blobs = [_read_exact(f, int(k)) for k in header.get("blobs", [])]
    return header, blobs


def write_frame(f, header, blobs=()):
    header = dict(header)
    header["blobs"] = [len(b) for b in blobs]
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    f.write(MAGIC + struct.pack("<I", len(h)) + h)
    for b in blobs:
        f.write(b)
    f.flush()


def _read_exact(f, n, eof_ok=False):
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            if eof_ok and not buf:
                return None
            raise EOFError("input ended %d bytes into a %d-byte read" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def log(msg):
    sys.stderr.write("dlcompat-worker: %s\n" % msg)
    sys.stderr.flush()


def tile(x, labels, n):
    """Repeats the samples of x (and labels) to batch n: perf needs batch
    sizes the reference input does not have, and only speed matters."""
    idx = np.arange(n) % x.shape[0]
    xl = None if labels is None else labels[idx % labels.shape[0]]
    return np.ascontiguousarray(x[idx]), xl


class CallMemory(object):
    """The worker's peak resident set during one call (docs/spec.md §7.5):
    on the CPU the nearest honest figure to peak device memory. On Linux
    the kernel's high-water mark is reset when the call starts (5 written
    to /proc/self/clear_refs) and VmHWM read when it ends, so an earlier,
    larger call does not show in this one; where the reset is refused,
    the process's peak since it started (getrusage). The Go twin is
    core/gokit's callMemory."""

    def __init__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.reset = True
        except OSError:
            self.reset = False

    def peak(self):
        """(bytes, kind)"""
        if self.reset:
            try:
                with open("/proc/self/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            return int(line.split()[1]) * 1024, "call_peak_rss"
            except (OSError, ValueError, IndexError):
                pass
        try:
            import resource

            r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return (int(r) if sys.platform == "darwin" else int(r) * 1024), "process_max_rss"
        except Exception:  # not on every platform
            return 0, ""


def _memory(backend, device, call):
    """(peak bytes, kind) of one call: the framework's own allocator where
    backend.memory(device) reports one, else the call's peak RSS."""
    mem = getattr(backend, "memory", None)
    got = mem(device) if mem else None
    return got if got is not None else call.peak()


class CheckError(Exception):
    """A request the worker cannot run (bad input, unknown model)."""


def _put_forward(out, prefix, logits, acts, ftype):
    out[prefix + "logits"] = np.asarray(logits, dtype=ftype)
    for k, v in (acts or {}).items():
        out[prefix + "act." + k] = np.asarray(v, dtype=ftype)


def _put_backward(out, prefix, loss, grads, ftype):
    out[prefix + "loss"] = np.asarray([loss], dtype=ftype).reshape(1)
    for k, v in grads.items():
        out[prefix + "grad." + k] = np.asarray(v, dtype=ftype)


def median_precision(samples):
    """The relative precision of the median (docs/spec.md §7.1): half-width
    of the distribution-free 95 % interval [x(j), x(k)] from order
    statistics, j = floor(n/2 - 0.98 sqrt n), k = ceil(n/2 + 0.98 sqrt n) + 1
    (1-based), over the median; inf when n is too small (j < 1 or k > n)
    or the median is not positive. The Go twin is pluginapi.MedianPrecision."""
    n = len(samples)
    h = 1.96 * math.sqrt(n) / 2
    j, k = math.floor(n / 2 - h), math.ceil(n / 2 + h) + 1
    if j < 1 or k > n:
        return math.inf
    s = sorted(samples)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    if not med > 0:
        return math.inf
    return (s[k - 1] - s[j - 1]) / 2 / med


# The perf loop's default clock, and the characterise series' only one
# (pluginapi.TimerHost): time.perf_counter around a synchronised call.
HOST_TIMER = "host_monotonic"


def timing_done(opt, samples, spent):
    """(done, capped, precision reached; 0 when unknown): the stopping rule
    of docs/spec.md §7.1, twin of pluginapi.PerfOptions.TimingDone."""
    if len(samples) < int(opt["iterations"]):
        return False, False, 0.0
    pr = median_precision(samples)
    reported = 0.0 if math.isinf(pr) else pr
    target = float(opt.get("target_precision", 0))
    if target <= 0 or pr <= target:
        return True, False, reported
    if len(samples) >= int(opt["max_iterations"]) or spent >= float(opt["max_seconds"]):
        return True, True, reported
    return False, False, reported


def _perf(backend, req, params, x, labels, dtype):
    opt = req["perf"]  # the host sends every option (pluginapi.PerfOptions)
    warmup = int(opt["warmup"])
    iters = int(opt["iterations"])
    plan = [("latency", int(opt["latency_batch"]), False)]
    for b in sorted(int(v) for v in opt["throughput_batches"]):
        plan.append(("throughput", b, False))
    if getattr(backend, "trains", True):
        plan.append(("train_step", int(opt["train_batch"]), True))
    timings = []
    last = None  # the last net, when it can say its precision
    for name, batch, train in plan:
        net = backend.build(req["model"], batch, req["device"], params, dtype)
        xb, lb = tile(x, labels, batch)
        if train:
            fn = net.timed_train(xb, lb) if hasattr(net, "timed_train") else (lambda: net.backward(xb, lb))
        else:
            fn = net.timed_forward(xb) if hasattr(net, "timed_forward") else (lambda: net.forward(xb, False))
        for _ in range(warmup):
            fn()
        timer, timed = HOST_TIMER, None
        if hasattr(net, "event_timer"):
            timer, timed = net.event_timer() or (timer, None)
        # Timed iterations until timing_done (docs/spec.md §7.1). The caps
        # count host time, whichever clock the samples come from.
        samples, spent = [], 0.0
        first = time.time_ns()  # the timed window on the wall clock, for the host's telemetry
        while True:
            t0 = time.perf_counter()
            on_device = timed(fn) if timed else fn()
            host = time.perf_counter() - t0
            samples.append(on_device if timed else host)
            spent += host
            done, capped, precision = timing_done(opt, samples, spent)
            if done:
                break
        timings.append({"name": name, "unit": "s", "batch": batch, "samples": samples,
                        "window_start_unix_nano": first, "window_end_unix_nano": time.time_ns(),
                        "precision": precision, "capped": capped, "timer": timer})
        last = net if hasattr(net, "precision") else None
        del net, fn
    return timings, last


# The characterise check (docs/spec.md §10): sizes, trials and samples,
# the same for every framework.
STREAM_ELEMENTS = {"cpu": 1 << 25, "gpu": 1 << 28}  # float32: 128 MiB, 1 GiB per array
LINK_ELEMENTS = 1 << 26  # h2d, d2h: 256 MiB of float32 over the link
STREAM_SAMPLES = 4096  # elements compared per stream series
GEMM_SAMPLES = 32  # entries of C recomputed in float64 per GEMM
TRIAD_SCALAR = 3.0
MIN_TRIALS, MAX_TRIALS = 5, 20
TRIAL_BUDGET_S = 1.5  # past MIN_TRIALS, a series stops after this much timed time


def pattern(n, offset):
    """The stream inputs: ((i + offset) mod 65521) / 4, small multiples of
    1/4, so that b + 3c is exact in float32 and a wrong element shows."""
    return (((np.arange(n, dtype=np.int64) + offset) % 65521) * 0.25).astype(np.float32)


def gemm_size(kind):
    """n of the GEMMs: large enough to saturate the device (docs/spec.md §10.1)."""
    if kind == "gpu":
        return 8192
    try:
        import os

        cores = len(os.sched_getaffinity(0))
    except Exception:
        import os

        cores = os.cpu_count() or 1
    return 1024 if cores <= 16 else (2048 if cores <= 64 else 4096)


def gemm_indices(n):
    """The sampled entries of C: row (97s + 13) mod n, column (61s + 7) mod n."""
    s = np.arange(GEMM_SAMPLES, dtype=np.int64)
    return (97 * s + 13) % n, (61 * s + 7) % n


def _trials(run, kind):
    for _ in range(2 if kind == "gpu" else 1):
        run()  # warm-up: allocation, kernel selection, compilation
    samples, spent = [], 0.0
    while len(samples) < MAX_TRIALS and (len(samples) < MIN_TRIALS or spent < TRIAL_BUDGET_S):
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
        samples.append(dt)
        spent += dt
    return samples


def characterise(backend, req):
    """Runs the characterise check on req's device; returns (a RunResponse
    without outputs, outputs dict)."""
    make = getattr(backend, "characteriser", None)
    if make is None:
        raise CheckError("this framework does not implement check characterise")
    start = time.perf_counter()
    call = CallMemory()
    ch = make(req["device"])
    kind = ch.kind
    timings, out, warnings = [], {}, []
    try:
        for name in ch.streams:
            n = LINK_ELEMENTS if name in ("h2d", "d2h") else STREAM_ELEMENTS[kind]
            run, sample = ch.stream(name, n)
            samples = _trials(run, kind)
            idx = np.unique(np.linspace(0, n - 1, STREAM_SAMPLES).astype(np.int64))
            for k, v in sample(idx).items():
                out[name + "." + k] = np.asarray(v, dtype=np.int64 if k == "mismatches" else np.float64).reshape(-1)
            timings.append({"name": name, "unit": "s", "batch": n, "samples": samples, "timer": HOST_TIMER})
            del run, sample
        n = gemm_size(kind)
        rows, cols = gemm_indices(n)
        for mode in ch.gemm_modes:
            run, sample = ch.gemm(mode, n)
            samples = _trials(run, kind)
            a, b, c = sample(rows, cols)
            series = "gemm_" + mode
            out[series + ".a"] = np.asarray(a, dtype=np.float64).reshape(GEMM_SAMPLES, n)
            out[series + ".b"] = np.asarray(b, dtype=np.float64).reshape(n, GEMM_SAMPLES)
            out[series + ".c"] = np.asarray(c, dtype=np.float64).reshape(GEMM_SAMPLES)
            timings.append({"name": series, "unit": "s", "batch": n, "samples": samples, "timer": HOST_TIMER})
            del run, sample
        for series, why in sorted(getattr(ch, "skipped", {}).items()):
            warnings.append("%s not measured: %s" % (series, why))
    finally:
        close = getattr(ch, "close", None)
        if close is not None:
            close()
    resp = {"status": "ok", "timings": timings, "compute_seconds": time.perf_counter() - start}
    peak, mkind = _memory(backend, req["device"], call)
    resp["peak_memory_bytes"] = int(peak)
    resp["memory_kind"] = mkind
    warnings = list(getattr(backend, "warnings", None) or []) + warnings
    if warnings:
        resp["warnings"] = warnings
    return resp, out


class NumpyCharacteriser(object):
    """numpy on the CPU (the numpy plugin's, and any Python plugin's to
    reuse): its BLAS for the GEMMs, np.copyto for the copy, and for the
    triad np.multiply then np.add (numpy has no fused kernel: two passes,
    while STREAM's count is one)."""

    kind = "cpu"
    streams = ("copy", "triad")
    gemm_modes = ("fp64", "fp32")
    skipped = {"gemm_bf16": "numpy has no bfloat16", "gemm_fp16": "numpy's float16 matmul is a loop outside BLAS, not a GEMM"}

    def __init__(self, device):
        if device != "cpu":
            raise CheckError("numpy runs on the CPU only, not %s" % device)

    def stream(self, name, n):
        if name == "copy":
            src, dst = pattern(n, 0), np.empty(n, np.float32)

            def run():
                np.copyto(dst, src)

            def sample(idx):
                return {"src": src[idx], "dst": dst[idx], "mismatches": [int(np.count_nonzero(dst != src))]}

            return run, sample
        a, b, c = np.empty(n, np.float32), pattern(n, 1), pattern(n, 2)
        s = np.float32(TRIAD_SCALAR)

        def run():
            np.multiply(c, s, out=a)
            np.add(a, b, out=a)

        def sample(idx):
            return {"a": a[idx], "b": b[idx], "c": c[idx], "scalar": [TRIAD_SCALAR]}

        return run, sample

    def gemm(self, mode, n):
        dt = np.float64 if mode == "fp64" else np.float32
        rng = np.random.default_rng(0)
        A = (rng.random((n, n), dtype=np.float64) * 2 - 1).astype(dt)
        B = (rng.random((n, n), dtype=np.float64) * 2 - 1).astype(dt)
        C = np.empty((n, n), dt)

        def run():
            np.matmul(A, B, out=C)

        def sample(rows, cols):
            return A[rows, :], B[:, cols], C[rows, cols]

        return run, sample


def run_check(backend, req, blobs):
    """Runs one check; returns (a RunResponse without outputs, outputs dict)."""
    if req.get("check") == "characterise":
        return characterise(backend, req)  # a device check: no weights, no inputs
    if len(blobs) != 2:
        raise CheckError("want 2 blobs (weights, inputs), got %d" % len(blobs))
    params = st_decode(blobs[0])
    inputs = st_decode(blobs[1])
    if "input" not in inputs:
        raise CheckError("inputs have no 'input' tensor")
    # "dtype" is the Go side's float64 cross-check of the oracle
    # (RunDType); "precision" is the cell's mode (docs/spec.md §9).
    mode = "fp64" if req.get("dtype") == "float64" else (req.get("precision") or "fp32")
    dtype = _MODE_DTYPES.get(mode, mode)
    ftype = np.float64 if dtype == "float64" else np.float32
    params = {k: v.astype(ftype) for k, v in params.items()}
    x = inputs["input"].astype(ftype)
    labels = inputs.get("labels")
    if labels is not None:
        labels = labels.astype(np.int64)
    model, check, device = req["model"], req["check"], req["device"]
    if check in ("backward", "determinism") and not getattr(backend, "trains", True):
        raise CheckError("this framework runs inference only: it does not implement check %s" % check)
    out = {}
    resp = {"status": "ok"}
    net, returned = None, None
    # Compute time: from the decoded request to the framework's last result;
    # decoding and encoding tensors count as the harness's.
    start = time.perf_counter()
    call = CallMemory()
    if check == "forward":
        net = backend.build(model, x.shape[0], device, params, dtype)
        logits, acts = net.forward(x, bool(req.get("want_activations")))
        returned = np.asarray(logits).dtype
        _put_forward(out, "", logits, acts if req.get("want_activations") else None, ftype)
    elif check == "backward":
        if labels is None:
            raise CheckError("backward needs labels")
        net = backend.build(model, x.shape[0], device, params, dtype)
        loss, grads = net.backward(x, labels)
        returned = np.asarray(next(iter(grads.values()))).dtype if grads else None
        _put_backward(out, "", loss, grads, ftype)
    elif check == "determinism":
        if labels is None:
            raise CheckError("determinism needs labels")
        net = backend.build(model, x.shape[0], device, params, dtype)
        for prefix in ("", "repeat."):
            logits, _ = net.forward(x, False)
            returned = np.asarray(logits).dtype
            loss, grads = net.backward(x, labels)
            _put_forward(out, prefix, logits, None, ftype)
            _put_backward(out, prefix, loss, grads, ftype)
    elif check == "perf":
        resp["timings"], net = _perf(backend, req, params, x, labels, dtype)
    else:
        raise CheckError("unknown check %r" % check)
    resp["compute_seconds"] = time.perf_counter() - start
    if net is not None:
        in_effect, evidence = _precision(net, returned)
        if in_effect:
            resp["precision_in_effect"] = in_effect
        resp["precision_evidence"] = evidence
    peak, kind = _memory(backend, device, call)
    resp["peak_memory_bytes"] = int(peak)
    resp["memory_kind"] = kind
    warnings = getattr(backend, "warnings", None)
    if warnings:
        resp["warnings"] = list(warnings)
    return resp, out


# The dtype a backend's build() receives for each mode.
_MODE_DTYPES = {"fp32": "float32", "fp64": "float64"}


def mode_of(dtype):
    """The mode (docs/spec.md §9) of the dtype a backend's build() received."""
    return {v: k for k, v in _MODE_DTYPES.items()}.get(dtype, dtype)


def require_mode(mode, device, runs):
    """Refuses a mode the backend does not run on device (the host plans
    only declared pairs, so this is the worker's own guard)."""
    if mode not in runs:
        raise CheckError("precision %s is not run on %s (it runs: %s)" % (mode, device, ", ".join(runs)))


def _precision(net, returned):
    """The mode a net ran in, and the evidence: the net's own report
    (read back from the framework's switches), or for a net that has none
    the dtype of what it returned (which tells fp32 from fp64 only)."""
    report = getattr(net, "precision", None)
    if report is not None:
        mode, evidence = report()
        return mode, {str(k): str(v) for k, v in evidence.items()}
    if returned is None:
        return None, {}
    name = str(returned)
    return {"float32": "fp32", "float64": "fp64"}.get(name), {"output_dtype": name}


def _error_message(e):
    """The framework's message: the exception and where it was raised."""
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    lines = "".join(tb).rstrip().splitlines()
    last = lines[-1] if lines else repr(e)
    where = [l.strip() for l in lines if l.strip().startswith("File ")][-3:]
    return last + ("\n  at " + "\n  at ".join(where) if where else "")


def serve(backend, proto_out):
    """The worker's main loop. proto_out is the original stdout, kept for
    frames by the bootstrap (which has already pointed fd 1 at stderr)."""
    proto_in = sys.stdin.buffer
    hello = {
        "type": "hello",
        "protocol": PROTOCOL,
        "python": platform.python_version(),
        "executable": sys.executable,
        "numpy": np.__version__,
    }
    try:
        backend.load()
        hello["describe"] = backend.describe()
        hello["ok"] = True
    except BaseException as e:  # an import can raise anything, SystemExit included
        traceback.print_exc()
        hello["ok"] = False
        hello["error"] = "".join(traceback.format_exception_only(type(e), e)).strip()
        hello["missing"] = isinstance(e, ModuleNotFoundError)
    write_frame(proto_out, hello)
    if not hello["ok"]:
        return
    while True:
        msg = read_frame(proto_in)
        if msg is None:
            return
        req, blobs = msg
        kind = req.get("type")
        if kind != "run":
            write_frame(proto_out, {"type": "result", "response": {"status": "error", "message": "unknown request %r" % kind}})
            continue
        try:
            resp, out = run_check(backend, req, blobs)
            data = [st_encode(out)]
        except Exception as e:
            traceback.print_exc()
            resp, data = {"status": "error", "message": _error_message(e)}, []
        write_frame(proto_out, {"type": "result", "response": resp}, data)
