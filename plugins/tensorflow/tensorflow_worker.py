"""TensorFlow worker: the reference models in plain TensorFlow ops
(tf.nn.conv2d, tf.nn.max_pool2d, matrix products, an explicit LSTM loop),
gradients through tf.GradientTape. Python 3.9 compatible.

Layouts are converted explicitly, both ways (docs/spec.md §4.3 layout traps):
  input        NCHW -> NHWC                    x.transpose(0, 2, 3, 1)
  conv kernel  [out, in, kh, kw] -> [kh, kw, in, out]  w.transpose(2, 3, 1, 0)
  flatten      pool2 NHWC is transposed back to NCHW before the reshape, so
               fc1 sees C, H, W order and fc1.weight is used as it is
  linear       y = x @ W.T + b: W is stored transposed, [in, out]
  LSTM         i2h/h2h weights transposed to [in, 4H]; the loop is ours, so
               the gates stay in the canonical order i, f, g, o; two biases
Activations go back to NCHW and gradients back to PyTorch layout.

Precision modes (docs/spec.md §4.3, §9): fp64 is every variable, input and
op in float64. bf16 and fp16 follow Keras's mixed policy
(tf.keras.mixed_precision.Policy("mixed_bfloat16") / "mixed_float16"), the
one TensorFlow has: plain TF ops have no autocast, so the worker does what
the policy tells a Keras layer to do: float32 variables (the policy's
variable_dtype), each cast to the policy's compute_dtype where it is used,
the input cast likewise, and the logits cast back to float32 before the
loss, so gradients arrive in float32. tf32 switches
tf.config.experimental.enable_tensor_float_32_execution on for the call
(off in every other mode) and reads it back.
"""

import os

import numpy as np

import dlcompat_worker as dw

tf = None

# Canonical (PyTorch) layout -> TensorFlow layout, and back.
CONV_TO_TF = (2, 3, 1, 0)  # [O, C, kh, kw] -> [kh, kw, C, O]
CONV_FROM_TF = (3, 2, 0, 1)  # [kh, kw, C, O] -> [O, C, kh, kw]
NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


def to_tf(name, a):
    """A canonical parameter in TensorFlow's layout."""
    if a.ndim == 4:
        return a.transpose(CONV_TO_TF)
    if a.ndim == 2:  # Linear and LSTM weights: [out, in] -> [in, out]
        return a.T
    return a


def from_tf(name, a):
    """A TensorFlow-layout gradient in canonical layout."""
    if a.ndim == 4:
        return a.transpose(CONV_FROM_TF)
    if a.ndim == 2:
        return a.T
    return a


# The Keras mixed policy behind each reduced mode.
POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


class Net(object):
    def __init__(self, backend, model, device, params, dtype):
        if model not in ("cnn", "lstm"):
            raise dw.CheckError("unknown model %r" % model)
        self.model = model
        self.dev = backend.tf_device(device)
        self.mode = dw.mode_of(dtype)
        dw.require_mode(self.mode, device, backend.precisions(device))
        self.dtype = tf.float64 if self.mode == "fp64" else tf.float32
        self.policy = tf.keras.mixed_precision.Policy(POLICIES.get(self.mode, self.dtype.name))
        # What the policy makes of the computation: variables stay in
        # self.dtype, the math runs in compute.
        self.compute = tf.as_dtype(self.policy.compute_dtype)
        self.seen = {}
        self.names = sorted(params)
        with tf.device(self.dev):
            self.vars = [tf.Variable(np.ascontiguousarray(to_tf(n, params[n])), dtype=self.dtype, name=n.replace(".", "_")) for n in self.names]
        self.p = dict(zip(self.names, self.vars))
        self._fwd = tf.function(self._forward_logits, reduce_retracing=True)
        self._acts = tf.function(self._forward_acts, reduce_retracing=True)
        self._grad = tf.function(self._loss_grads, reduce_retracing=True)

    # --- the models, in TensorFlow layout ---

    def _cast(self):
        """The variables as the policy's compute dtype sees them."""
        if self.compute == self.dtype:
            return self.p
        return {k: tf.cast(v, self.compute) for k, v in self.p.items()}

    def _cnn(self, x, acts):
        p = self._cast()
        c1 = tf.nn.relu(tf.nn.conv2d(x, p["conv1.weight"], strides=1, padding="SAME") + p["conv1.bias"])
        self.seen["activation_dtype"] = c1.dtype.name  # static: read while tracing
        p1 = tf.nn.max_pool2d(c1, ksize=2, strides=2, padding="VALID")
        c2 = tf.nn.relu(tf.nn.conv2d(p1, p["conv2.weight"], strides=1, padding="SAME") + p["conv2.bias"])
        p2 = tf.nn.max_pool2d(c2, ksize=2, strides=2, padding="VALID")
        flat = tf.reshape(tf.transpose(p2, NHWC_TO_NCHW), [-1, 64 * 7 * 7])  # C, H, W order
        f1 = tf.nn.relu(tf.matmul(flat, p["fc1.weight"]) + p["fc1.bias"])
        f2 = tf.matmul(f1, p["fc2.weight"]) + p["fc2.bias"]
        if acts is not None:
            acts.update(conv1=c1, pool1=p1, conv2=c2, pool2=p2, fc1=f1, fc2=f2)
        return f2

    def _lstm(self, x, acts):
        p = self._cast()
        n = tf.shape(x)[0]
        steps = x.shape[1]
        inp = x
        for l in range(2):
            pre = "layers.%d." % l
            wi, bi = p[pre + "i2h.weight"], p[pre + "i2h.bias"]
            wh, bh = p[pre + "h2h.weight"], p[pre + "h2h.bias"]
            hidden = wh.shape[0]
            h = tf.zeros([n, hidden], dtype=self.compute)
            c = tf.zeros([n, hidden], dtype=self.compute)
            hs = []
            for t in range(steps):
                gates = tf.matmul(inp[:, t, :], wi) + bi + tf.matmul(h, wh) + bh
                i, f, g, o = tf.split(gates, 4, axis=1)  # canonical order i, f, g, o
                c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                h = tf.sigmoid(o) * tf.tanh(c)
                hs.append(h)
            inp = tf.stack(hs, axis=1)  # [N, T, H]; dropout is off in every check
            if l == 0:
                self.seen["activation_dtype"] = inp.dtype.name
            if acts is not None:
                acts["layers.%d" % l] = inp
        logits = tf.matmul(inp[:, -1, :], p["fc.weight"]) + p["fc.bias"]
        if acts is not None:
            acts["fc"] = logits
        return logits

    def _run(self, x, acts=None):
        """The model under the policy: the input in its compute dtype, the
        logits back in the variables' dtype (the loss is float32 from them,
        as a Keras mixed model's float32 output layer gives it)."""
        x = tf.cast(x, self.compute)
        logits = self._cnn(x, acts) if self.model == "cnn" else self._lstm(x, acts)
        self.seen["output_dtype"] = logits.dtype.name
        if acts is not None:
            for k in acts:
                acts[k] = tf.cast(acts[k], self.dtype)
        return tf.cast(logits, self.dtype)

    def _switch(self):
        """TF32 on for a tf32 net only; read back by precision()."""
        tf.config.experimental.enable_tensor_float_32_execution(self.mode == "tf32")

    def precision(self):
        """The mode in effect, from what was read back: the dtypes the
        traced functions computed in, the policy, the TF32 switch."""
        s = dict(self.seen)
        s["policy"] = self.policy.name
        tf32 = tf.config.experimental.tensor_float_32_execution_enabled()
        s["tf32"] = "on" if tf32 else "off"
        out, act = s.get("output_dtype"), s.get("activation_dtype")
        if out == act == "float64":
            mode = "fp64"
        elif out == act == "bfloat16" and self.policy.name == "mixed_bfloat16":
            mode = "bf16"
        elif out == act == "float16" and self.policy.name == "mixed_float16":
            mode = "fp16"
        elif out == act == "float32":
            mode = "tf32" if tf32 and "GPU" in self.dev else "fp32"
        else:
            mode = "unknown"
        return mode, s

    def _forward_logits(self, x):
        with tf.device(self.dev):
            return self._run(x)

    def _forward_acts(self, x):
        with tf.device(self.dev):
            acts = {}
            logits = self._run(x, acts)
            return logits, acts

    def _loss_grads(self, x, labels):
        with tf.device(self.dev):
            with tf.GradientTape() as tape:
                logits = self._run(x)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            return loss, tape.gradient(loss, self.vars)

    # --- the worker interface, in canonical layout ---

    def _x(self, x):
        if self.model == "cnn":
            x = x.transpose(NCHW_TO_NHWC)
        return tf.constant(np.ascontiguousarray(x), dtype=self.dtype)

    def forward(self, x, want_activations):
        self._switch()
        xt = self._x(x)
        if not want_activations:
            return self._fwd(xt).numpy(), {}
        logits, acts = self._acts(xt)
        out = {}
        for k, v in acts.items():
            v = v.numpy()
            out[k] = v.transpose(NHWC_TO_NCHW) if v.ndim == 4 else v
        return logits.numpy(), out

    def backward(self, x, labels):
        self._switch()
        loss, grads = self._grad(self._x(x), tf.constant(labels, dtype=tf.int64))
        return float(loss.numpy()), {n: from_tf(n, g.numpy()) for n, g in zip(self.names, grads)}

    def timed_forward(self, x):
        self._switch()
        xt = self._x(x)
        return lambda: self._fwd(xt).numpy()  # reading back waits for the device

    def timed_train(self, x, labels):
        self._switch()
        xt, lt = self._x(x), tf.constant(labels, dtype=tf.int64)

        def run():
            _, grads = self._grad(xt, lt)
            for g in grads:
                g.numpy()

        return run


class Backend(object):
    def __init__(self):
        self.warnings = []

    def load(self):
        global tf
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as _tf

        tf = _tf
        # Strict fp32, and the same numbers twice (docs/spec.md §4.3).
        tf.config.experimental.enable_tensor_float_32_execution(False)
        tf.config.experimental.enable_op_determinism()

    def describe(self):
        info = {}
        try:
            info = dict(tf.sysconfig.get_build_info())
        except Exception:
            pass
        build = {
            "tf_file": os.path.dirname(tf.__file__),
            "cuda": str(info.get("cuda_version", "none (CPU build)")),
            "cudnn": str(info.get("cudnn_version", "none")),
            "tf32": "off",
            "op_determinism": "on",
            "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        }
        devices = [{"id": "cpu", "kind": "cpu", "name": "CPU (tensorflow)", "precisions": self.precisions("cpu")}]
        for i, g in enumerate(tf.config.list_physical_devices("GPU")):
            devices.append({"id": "gpu:%d" % i, "kind": "gpu", "name": "%s %s" % (g.name, g.device_type),
                            "precisions": self.precisions("gpu:%d" % i)})
        return {"framework": "tensorflow", "version": tf.__version__, "build": build, "devices": devices,
                "capabilities": {"precisions": ["fp64", "fp32", "tf32", "bf16", "fp16"]}}

    def precisions(self, device):
        """The modes run on device: fp64, fp32 and bf16 (oneDNN's bfloat16
        kernels) on the CPU; on a GPU fp16 everywhere, TF32 and bf16 from
        compute capability 8.0 (Ampere)."""
        if device == "cpu":
            return ["fp64", "fp32", "bf16"]
        gpus = tf.config.list_physical_devices("GPU")
        i = int(device[4:])
        cc = (0, 0)
        if i < len(gpus):
            try:
                cc = tuple(tf.config.experimental.get_device_details(gpus[i]).get("compute_capability") or (0, 0))
            except Exception:
                pass
        return ["fp64", "fp32"] + (["tf32", "bf16"] if cc >= (8, 0) else []) + ["fp16"]

    def tf_device(self, device):
        if device == "cpu":
            return "/CPU:0"
        if device.startswith("gpu:"):
            i = int(device[4:])
            if i >= len(tf.config.list_physical_devices("GPU")):
                raise dw.CheckError("%s requested but TensorFlow sees no such GPU" % device)
            return "/GPU:%d" % i
        raise dw.CheckError("unknown device %r" % device)

    def build(self, model, batch, device, params, dtype):
        if device.startswith("gpu:"):
            tf.config.experimental.reset_memory_stats(self.tf_device(device)[1:])
        return Net(self, model, device, params, dtype)

    def memory(self, device):
        """TensorFlow's allocator peak on a GPU since build reset it
        (tf.config.experimental.get_memory_info); None on the CPU, whose
        figure is the call's peak RSS."""
        if not device.startswith("gpu:"):
            return None
        return int(tf.config.experimental.get_memory_info(self.tf_device(device)[1:])["peak"]), "tf_peak_bytes"


def main(proto_out):
    dw.serve(Backend(), proto_out)
