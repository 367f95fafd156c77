"""ONNX Runtime worker: both reference models built as ONNX graphs
(onnx.helper) with the reference weights as initializers, run by an
onnxruntime InferenceSession on the CPUExecutionProvider, or on the
CUDAExecutionProvider for gpu:N when onnxruntime has it.

ONNX Runtime is an inference runtime: this worker runs forward and perf
only (Backend.trains = False; the plugin declares no backward or
determinism, so the host plans those cells as skip).

The layouts, converted explicitly both ways (docs/spec.md §4.8):
  cnn   NCHW in, Conv weights [out, in, kh, kw] and Flatten (axis 1: C, H,
        W order) are ONNX's own, so the input and the conv weights go in
        as is; fc1 and fc2 are Gemm with transB=1 (y = x·Wᵀ + b), so W
        goes in as is too.
  lstm  the ONNX LSTM op, time-major (layout 0): the input [N, T, I] goes
        in as [T, N, I]; per layer W [1, 4H, in] = i2h.weight,
        R [1, 4H, H] = h2h.weight, B [1, 8H] = [i2h.bias, h2h.bias] (both
        biases kept), each with its gate blocks permuted from the
        canonical i, f, g, o to ONNX's i, o, f, c (canonical blocks 0, 3,
        1, 2); Y [T, 1, N, H] comes out as layers.l [N, T, H]; the head
        is a Gemm on the top layer's Y_h.
Python 3.9 compatible."""

import os

import numpy as np

import dlcompat_worker as dw

ort = None
onnx = None
helper = None
numpy_helper = None

# Opset and IR version of the graphs: old enough for every onnxruntime a
# framework image may bring (opset 17 is IR 8, onnxruntime >= 1.14).
OPSET = 17
IR_VERSION = 8

H = 128  # the LSTM's hidden size (docs/spec.md §1.2)

# ONNX's LSTM gate blocks i, o, f, c, as blocks of the canonical i, f, g,
# o (c is the candidate, canonical g): ONNX block k is canonical block
# TO_ONNX[k].
TO_ONNX = [0, 3, 1, 2]


def gates_to_onnx(a):
    """Reorders the 4H gate blocks along axis 0, canonical i, f, g, o ->
    ONNX i, o, f, c."""
    blocks = np.split(np.asarray(a), 4, axis=0)
    return np.concatenate([blocks[k] for k in TO_ONNX], axis=0)


def gates_from_onnx(a):
    """The inverse of gates_to_onnx (for a reader checking the
    permutation; forward never needs it)."""
    blocks = np.split(np.asarray(a), 4, axis=0)
    out = [None] * 4
    for k, c in enumerate(TO_ONNX):
        out[c] = blocks[k]
    return np.concatenate(out, axis=0)


def _f32(name, a):
    return numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), name)


def _need(params, names, model):
    missing = [n for n in names if n not in params]
    extra = sorted(set(params) - set(names))
    if missing or extra:
        raise dw.CheckError("weights do not fit %s: missing %s, unexpected %s" % (model, missing, extra))


CNN_PARAMS = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
CNN_ACTS = ["conv1", "pool1", "conv2", "pool2", "fc1"]  # and fc2, the logits


def cnn_graph(params, batch, with_acts):
    """SimpleCNN as an ONNX graph; inputs and weights canonical (NCHW is
    ONNX's layout, Gemm transB=1 takes W [out, in] as is)."""
    _need(params, CNN_PARAMS, "cnn")
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1.pre"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        n("Relu", ["conv1.pre"], ["conv1"]),
        n("MaxPool", ["conv1"], ["pool1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2.pre"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        n("Relu", ["conv2.pre"], ["conv2"]),
        n("MaxPool", ["conv2"], ["pool2"], kernel_shape=[2, 2], strides=[2, 2]),
        # Flatten at axis 1 of NCHW: C, H, W order, as PyTorch's view.
        n("Flatten", ["pool2"], ["flat"], axis=1),
        n("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1.pre"], transB=1),
        n("Relu", ["fc1.pre"], ["fc1"]),
        n("Gemm", ["fc1", "fc2.weight", "fc2.bias"], ["logits"], transB=1),
    ]
    init = [_f32(k, params[k]) for k in CNN_PARAMS]
    shapes = {"conv1": [batch, 32, 28, 28], "pool1": [batch, 32, 14, 14], "conv2": [batch, 64, 14, 14], "pool2": [batch, 64, 7, 7], "fc1": [batch, 128]}
    outputs = [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [batch, 10])]
    if with_acts:
        outputs += [helper.make_tensor_value_info(a, onnx.TensorProto.FLOAT, shapes[a]) for a in CNN_ACTS]
    inputs = [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [batch, 3, 28, 28])]
    return helper.make_graph(nodes, "dlcompat_cnn", inputs, outputs, init)


def lstm_params(l):
    p = "layers.%d." % l
    return [p + "i2h.weight", p + "i2h.bias", p + "h2h.weight", p + "h2h.bias"]


LSTM_PARAMS = lstm_params(0) + lstm_params(1) + ["fc.weight", "fc.bias"]


def lstm_weights(params, l):
    """Layer l's ONNX LSTM inputs W, R, B from the canonical i2h and h2h
    (docs/spec.md §4.8): gate blocks permuted to i, o, f, c, a leading
    num_directions axis of 1, both biases kept as B = [Wb, Rb]."""
    p = "layers.%d." % l
    w = gates_to_onnx(params[p + "i2h.weight"])[np.newaxis]  # [1, 4H, in]
    r = gates_to_onnx(params[p + "h2h.weight"])[np.newaxis]  # [1, 4H, H]
    b = np.concatenate([gates_to_onnx(params[p + "i2h.bias"]), gates_to_onnx(params[p + "h2h.bias"])])[np.newaxis]  # [1, 8H]
    return w, r, b


def lstm_graph(params, batch, with_acts, steps=28, features=28):
    """StackedLSTM as two ONNX LSTM ops (time-major) and a Gemm head. The
    graph's input is [T, N, I]; layer l's Y [T, 1, N, H] is the
    activation Y.l when asked for."""
    _need(params, LSTM_PARAMS, "lstm")
    n = helper.make_node
    init, nodes = [], []
    init.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    init.append(numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"))
    x = "input"
    for l in range(2):
        w, r, b = lstm_weights(params, l)
        init += [_f32("W.%d" % l, w), _f32("R.%d" % l, r), _f32("B.%d" % l, b)]
        # Defaults hold the tutorial's cell: f = Sigmoid, g = h = Tanh, no
        # peepholes, no clip, no input_forget, zero initial h and c,
        # every sequence T long.
        nodes.append(n("LSTM", [x, "W.%d" % l, "R.%d" % l, "B.%d" % l], ["Y.%d" % l, "Y_h.%d" % l], hidden_size=H, direction="forward", layout=0))
        nodes.append(n("Squeeze", ["Y.%d" % l, "axis1"], ["X.%d" % (l + 1)]))  # [T, N, H]
        x = "X.%d" % (l + 1)
    nodes.append(n("Squeeze", ["Y_h.1", "axis0"], ["h_last"]))  # [N, H], the top layer's last h
    nodes.append(n("Gemm", ["h_last", "fc.weight", "fc.bias"], ["logits"], transB=1))
    init += [_f32("fc.weight", params["fc.weight"]), _f32("fc.bias", params["fc.bias"])]
    outputs = [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [batch, 10])]
    if with_acts:
        outputs += [helper.make_tensor_value_info("Y.%d" % l, onnx.TensorProto.FLOAT, [steps, 1, batch, H]) for l in range(2)]
    inputs = [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [steps, batch, features])]
    return helper.make_graph(nodes, "dlcompat_lstm", inputs, outputs, init)


def to_model_input(model, x):
    """The canonical input in the graph's layout: NCHW as is (cnn);
    [N, T, I] -> time-major [T, N, I] (lstm)."""
    x = np.asarray(x, dtype=np.float32)
    if model == "lstm":
        x = x.transpose(1, 0, 2)
    return np.ascontiguousarray(x)


def activations_from_model(model, outs):
    """Graph outputs (name -> array) as canonical activations (§1.4)."""
    if model == "cnn":
        acts = {a: outs[a] for a in CNN_ACTS}
        acts["fc2"] = outs["logits"]
        return acts
    acts = {}
    for l in range(2):
        y = outs["Y.%d" % l]  # [T, 1, N, H]
        acts["layers.%d" % l] = np.ascontiguousarray(y[:, 0].transpose(1, 0, 2))  # [N, T, H]
    acts["fc"] = outs["logits"]
    return acts


class Net(object):
    def __init__(self, backend, model, batch, device, params):
        if model not in ("cnn", "lstm"):
            raise dw.CheckError("unknown model %r" % model)
        self.b = backend
        self.model = model
        self.batch = batch
        self.device = device
        self.params = params
        self.providers = backend.providers(device)
        self.sessions = {}

    def session(self, with_acts):
        """One session per graph: the plain one (logits only: what perf
        times) and, when forward asks, one that also outputs every
        activation."""
        s = self.sessions.get(with_acts)
        if s is None:
            build = cnn_graph if self.model == "cnn" else lstm_graph
            g = build(self.params, self.batch, with_acts)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="dlcompat")
            m.ir_version = IR_VERSION
            onnx.checker.check_model(m)
            so = ort.SessionOptions()
            so.log_severity_level = 3
            s = ort.InferenceSession(m.SerializeToString(), sess_options=so, providers=self.providers)
            got = s.get_providers()
            if got[0] != self.providers[0][0]:
                raise dw.CheckError("onnxruntime did not start %s for %s (it gave %s)" % (self.providers[0][0], self.device, got))
            self.sessions[with_acts] = s
        return s

    def forward(self, x, want_activations):
        s = self.session(bool(want_activations))
        names = [o.name for o in s.get_outputs()]
        res = s.run(names, {"input": to_model_input(self.model, x)})
        outs = dict(zip(names, res))
        acts = activations_from_model(self.model, outs) if want_activations else {}
        return outs["logits"], acts

    def timed_forward(self, x):
        """session.run with the input already on the device (an OrtValue
        bound through IOBinding) and the logits bound to it too; run
        returns once the execution provider is done."""
        s = self.session(False)
        kind, index = self.b.ort_device(self.device)
        xv = ort.OrtValue.ortvalue_from_numpy(to_model_input(self.model, x), kind, index)
        io = s.io_binding()
        io.bind_ortvalue_input("input", xv)
        io.bind_output("logits", kind, index)

        def run():
            s.run_with_iobinding(io)
            io.synchronize_outputs()

        return run


class Backend(object):
    trains = False  # inference only: no backward, no train_step (dlcompat_worker)

    def __init__(self):
        self.warnings = []
        self.gpus = []

    def load(self):
        global ort, onnx, helper, numpy_helper
        import onnxruntime as _ort
        import onnx as _onnx
        from onnx import helper as _helper
        from onnx import numpy_helper as _nh

        ort, onnx, helper, numpy_helper = _ort, _onnx, _helper, _nh
        ort.set_default_logger_severity(3)
        if "CUDAExecutionProvider" in ort.get_available_providers():
            self.gpus = cuda_devices(self.warnings)

    def describe(self):
        build = {
            "onnx": onnx.__version__,
            "opset": str(OPSET),
            "providers": ",".join(ort.get_available_providers()),
            "device": ort.get_device(),
            "graph_optimization": "ORT_ENABLE_ALL (default)",
            "lstm": "ONNX LSTM op, gates i,o,f,c",
        }
        if self.gpus:
            build["cuda_options"] = "use_tf32=0, cudnn_conv_algo_search=DEFAULT"
        devices = [{"id": "cpu", "kind": "cpu", "name": "CPU (onnxruntime CPUExecutionProvider, %d cores)" % (os.cpu_count() or 0)}]
        for i, (name, uuid) in enumerate(self.gpus):
            d = {"id": "gpu:%d" % i, "kind": "gpu", "name": "cuda:%d %s (CUDAExecutionProvider)" % (i, name)}
            if uuid:
                d["uuid"] = uuid
            devices.append(d)
        return {"framework": "onnxruntime", "version": ort.__version__, "build": build, "devices": devices, "warnings": list(self.warnings)}

    def ort_device(self, device):
        if device == "cpu":
            return "cpu", 0
        if device.startswith("gpu:"):
            i = int(device[4:])
            if i >= len(self.gpus):
                raise dw.CheckError("%s requested but onnxruntime's CUDAExecutionProvider sees %d GPUs" % (device, len(self.gpus)))
            return "cuda", i
        raise dw.CheckError("unknown device %r" % device)

    def providers(self, device):
        kind, i = self.ort_device(device)
        if kind == "cpu":
            return [("CPUExecutionProvider", {})]
        # Strict fp32: no TF32; a fixed (heuristic) cuDNN algorithm choice
        # rather than a timed search. CUDA_DEVICE_ORDER=PCI_BUS_ID (set by
        # the plugin) makes device_id N the GPU that NVML calls N.
        opts = {"device_id": str(i), "use_tf32": "0", "cudnn_conv_algo_search": "DEFAULT"}
        return [("CUDAExecutionProvider", opts), ("CPUExecutionProvider", {})]

    def build(self, model, batch, device, params, dtype):
        if dtype != "float32":
            raise dw.CheckError("onnxruntime runs the float32 graphs only (asked for %s): its CPU provider has no float64 Conv kernel (NOT_IMPLEMENTED in 1.32) and no bfloat16 Conv or Gemm" % dtype)
        return Net(self, model, batch, device, params)


def cuda_devices(warnings):
    """The CUDA GPUs, in PCI bus order (CUDA_DEVICE_ORDER), from the CUDA
    driver: onnxruntime has no portable way to list them. Each is (name,
    "GPU-<uuid>" or "")."""
    import ctypes

    try:
        cu = ctypes.CDLL("libcuda.so.1")
        if cu.cuInit(0) != 0:
            warnings.append("onnxruntime has the CUDAExecutionProvider but cuInit failed: no GPU is usable here")
            return []
        count = ctypes.c_int(0)
        cu.cuDeviceGetCount(ctypes.byref(count))
        out = []
        for i in range(count.value):
            dev = ctypes.c_int(0)
            cu.cuDeviceGet(ctypes.byref(dev), i)
            name = ctypes.create_string_buffer(256)
            cu.cuDeviceGetName(name, 256, dev)
            raw = ctypes.create_string_buffer(16)
            uuid = ""
            if cu.cuDeviceGetUuid(raw, dev) == 0:
                h = raw.raw.hex()
                uuid = "GPU-%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
            out.append((name.value.decode("utf-8", "replace"), uuid))
        return out
    except OSError as e:
        warnings.append("onnxruntime has the CUDAExecutionProvider but the CUDA driver does not load (%s): no GPU is usable here" % e)
        return []


def main(proto_out):
    dw.serve(Backend(), proto_out)
