"""Keras 3 worker: the reference models as Keras layers (Conv2D,
MaxPooling2D, Dense, LSTM stacked with return_sequences), weights set with
set_weights after explicit conversion. The backend comes from KERAS_BACKEND
(default tensorflow) and is part of the version string, "3.15.1+tensorflow".
Gradients: tf.GradientTape on the tensorflow backend, jax.value_and_grad on
jax, torch.autograd.grad on torch. Python 3.9 compatible.

Conversions (docs/spec.md §4.4 layout traps), each undone for activations and
gradients:
  input        NCHW -> NHWC (channels_last, Keras's default)
  Conv2D       kernel [out, in, kh, kw] -> [kh, kw, in, out]
  Flatten      flattens NHWC, i.e. H, W, C order; PyTorch flattens C, H, W.
               Instead of a Permute layer, fc1's kernel rows are permuted:
               W [128, C*H*W] -> [128, C, H, W] -> [128, H, W, C] -> [H*W*C, 128]
  Dense        kernel = W.T
  LSTM         kernel = i2h.weight.T [in, 4H], recurrent_kernel = h2h.weight.T,
               one bias = i2h.bias + h2h.bias. Keras's gate order is
               i, f, c, o: the same blocks as the canonical i, f, g, o (c is the
               cell candidate g), so KERAS_GATES below is the identity and
               the conversion is transposes only. A bias gradient is the
               gradient of both biases.

Precision modes (docs/spec.md §4.4, §9), the same on every backend: fp64 is
keras.config.set_floatx("float64") with the "float64" dtype policy; bf16 and
fp16 are Keras's own mixed precision, the global dtype policy
"mixed_bfloat16" / "mixed_float16" set before the layers are built (float32
variables, each layer computing in the reduced dtype), the logits cast to
float32 for the loss as Keras's guide does for a mixed model's output, so
gradients arrive in float32. tf32 (GPU, tensorflow backend) turns
tf.config.experimental.enable_tensor_float_32_execution on for the net.
"""

import os

import numpy as np

import dlcompat_worker as dw

keras = None
BACKEND = None

H = 128
# The canonical gate blocks (i, f, g, o) in the order Keras stores them (i, f, c, o).
CANONICAL_GATES = ("i", "f", "g", "o")
KERAS_GATES = ("i", "f", "g", "o")
GATE_PERM = [CANONICAL_GATES.index(g) for g in KERAS_GATES]

CONV_TO_KERAS = (2, 3, 1, 0)
CONV_FROM_KERAS = (3, 2, 0, 1)
NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)
POOL2 = (64, 7, 7)  # C, H, W of pool2's output
# The dtype policy behind each mode (fp32 and tf32 compute in float32).
POLICIES = {"fp64": "float64", "fp32": "float32", "tf32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def gates_to_keras(a):
    """Reorders the 4H gate blocks of the last axis from the canonical order to Keras's."""
    blocks = np.split(a, 4, axis=-1)
    return np.concatenate([blocks[i] for i in GATE_PERM], axis=-1)


def gates_from_keras(a):
    blocks = np.split(a, 4, axis=-1)
    out = [None] * 4
    for k, i in enumerate(GATE_PERM):
        out[i] = blocks[k]
    return np.concatenate(out, axis=-1)


def fc1_to_keras(w):
    """fc1.weight [128, C*H*W] (C, H, W order) -> kernel [H*W*C, 128]."""
    c, h, wd = POOL2
    return w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1).T


def fc1_from_keras(k):
    """kernel gradient [H*W*C, 128] -> fc1.weight layout [128, C*H*W]."""
    c, h, wd = POOL2
    return k.T.reshape(-1, h, wd, c).transpose(0, 3, 1, 2).reshape(k.shape[1], -1)


def build_cnn(layers):
    inp = keras.Input(shape=(28, 28, 3), name="input")
    c1 = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inp)
    p1 = layers.MaxPooling2D(2, strides=2, name="pool1")(c1)
    c2 = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(p1)
    p2 = layers.MaxPooling2D(2, strides=2, name="pool2")(c2)
    flat = layers.Flatten(name="flatten")(p2)  # H, W, C order: see fc1_to_keras
    f1 = layers.Dense(128, activation="relu", name="fc1")(flat)
    f2 = layers.Dense(10, name="fc2")(f1)
    acts = {"conv1": c1, "pool1": p1, "conv2": c2, "pool2": p2, "fc1": f1, "fc2": f2}
    return inp, f2, acts


def build_lstm(layers):
    inp = keras.Input(shape=(28, 28), name="input")
    l0 = layers.LSTM(H, return_sequences=True, name="lstm0")(inp)
    l1 = layers.LSTM(H, return_sequences=True, name="lstm1")(l0)
    last = layers.Lambda(lambda s: s[:, -1, :], name="last")(l1)
    fc = layers.Dense(10, name="fc")(last)
    return inp, fc, {"layers.0": l0, "layers.1": l1, "fc": fc}


class Net(object):
    def __init__(self, backend, model, device, params, dtype):
        self.b = backend
        self.model_name = model
        layers = keras.layers
        self.mode = dw.mode_of(dtype)
        dw.require_mode(self.mode, device, backend.precisions(device))
        keras.backend.set_floatx("float64" if self.mode == "fp64" else "float32")
        keras.config.set_dtype_policy(POLICIES[self.mode])
        self.np_dtype = np.float64 if self.mode == "fp64" else np.float32
        with backend.scope(device):
            if model == "cnn":
                inp, out, acts = build_cnn(layers)
            elif model == "lstm":
                inp, out, acts = build_lstm(layers)
            else:
                raise dw.CheckError("unknown model %r" % model)
            self.m = keras.Model(inp, out, name=model)
            self.acts_names = list(acts)
            # Read back from the built graph: the policy its first layer
            # got, and the dtype its output was computed in.
            layer, act = ("conv1", "conv1") if model == "cnn" else ("lstm0", "layers.0")
            self.seen = {"policy": self.m.get_layer(layer).dtype_policy.name,
                         "activation_dtype": str(acts[act].dtype), "floatx": keras.backend.floatx(),
                         # the built graph's; a forward replaces it with the returned array's
                         "output_dtype": str(out.dtype)}
            self.acts_m = keras.Model(inp, [acts[k] for k in self.acts_names], name=model + "_acts")
            self._set(params)
        # Canonical parameter name -> (variable, how its gradient converts).
        self.params = self._param_map()
        self.names = sorted(self.params)
        self.vars = [self.params[n][0] for n in self.names]
        backend.compile(self)

    def _set(self, p):
        L = self.m.get_layer
        if self.model_name == "cnn":
            for name in ("conv1", "conv2"):
                L(name).set_weights([p[name + ".weight"].transpose(CONV_TO_KERAS), p[name + ".bias"]])
            L("fc1").set_weights([fc1_to_keras(p["fc1.weight"]), p["fc1.bias"]])
            L("fc2").set_weights([p["fc2.weight"].T, p["fc2.bias"]])
        else:
            for l in range(2):
                pre = "layers.%d." % l
                L("lstm%d" % l).set_weights([
                    gates_to_keras(p[pre + "i2h.weight"].T),
                    gates_to_keras(p[pre + "h2h.weight"].T),
                    gates_to_keras(p[pre + "i2h.bias"] + p[pre + "h2h.bias"]),
                ])
            L("fc").set_weights([p["fc.weight"].T, p["fc.bias"]])

    def _param_map(self):
        L = self.m.get_layer
        T = lambda g: g.T
        if self.model_name == "cnn":
            conv = lambda g: g.transpose(CONV_FROM_KERAS)
            same = lambda g: g
            return {
                "conv1.weight": (L("conv1").kernel, conv), "conv1.bias": (L("conv1").bias, same),
                "conv2.weight": (L("conv2").kernel, conv), "conv2.bias": (L("conv2").bias, same),
                "fc1.weight": (L("fc1").kernel, fc1_from_keras), "fc1.bias": (L("fc1").bias, same),
                "fc2.weight": (L("fc2").kernel, T), "fc2.bias": (L("fc2").bias, same),
            }
        out = {}
        for l in range(2):
            cell = L("lstm%d" % l).cell
            pre = "layers.%d." % l
            out[pre + "i2h.weight"] = (cell.kernel, lambda g: gates_from_keras(g).T)
            out[pre + "h2h.weight"] = (cell.recurrent_kernel, lambda g: gates_from_keras(g).T)
            # One Keras bias stands for both: d(b_i + b_h)/db_i = d/db_h = 1.
            out[pre + "i2h.bias"] = (cell.bias, gates_from_keras)
            out[pre + "h2h.bias"] = (cell.bias, gates_from_keras)
        out["fc.weight"] = (L("fc").kernel, T)
        out["fc.bias"] = (L("fc").bias, lambda g: g)
        return out

    def _x(self, x):
        if self.model_name == "cnn":
            x = x.transpose(NCHW_TO_NHWC)
        return np.ascontiguousarray(x, dtype=self.np_dtype)

    def _np(self, v):
        """A result as numpy, in the variables' dtype; the dtype the
        framework returned is recorded (precision())."""
        f = getattr(self.b.ops, "dtype_of", None)
        self.seen["output_dtype"] = f(v) if f is not None else str(np.asarray(v).dtype)
        return self.b.to_numpy(v).astype(self.np_dtype)

    def precision(self):
        """The mode in effect, from what was read back."""
        s = dict(self.seen)
        s["tf32"] = self.b.tf32_state()
        out, act, pol = s.get("output_dtype"), s.get("activation_dtype"), s.get("policy")
        if out == act == "float64" and pol == "float64":
            mode = "fp64"
        elif out == act == "bfloat16" and pol == "mixed_bfloat16":
            mode = "bf16"
        elif out == act == "float16" and pol == "mixed_float16":
            mode = "fp16"
        elif out == act == "float32" and pol == "float32":
            mode = "tf32" if s["tf32"] == "on" and self.mode == "tf32" else "fp32"
        else:
            mode = "unknown"
        return mode, s

    def forward(self, x, want_activations):
        self.b.set_tf32(self.mode == "tf32")
        xk = self._x(x)
        if not want_activations:
            return self._np(self.b.forward(self, xk)), {}
        outs = self.b.forward_acts(self, xk)
        acts = {}
        for k, v in zip(self.acts_names, outs):
            v = self._np(v)
            acts[k] = v.transpose(NHWC_TO_NCHW) if v.ndim == 4 else v
        return acts[self.acts_names[-1]], acts

    def backward(self, x, labels):
        self.b.set_tf32(self.mode == "tf32")
        loss, grads = self.b.loss_grads(self, self._x(x), labels)
        out = {}
        for n, g in zip(self.names, grads):
            out[n] = self.params[n][1](self.b.to_numpy(g))
        return float(self.b.to_numpy(loss)), out

    def timed_forward(self, x):
        self.b.set_tf32(self.mode == "tf32")
        xk = self.b.prepare(self, self._x(x))
        return lambda: self.b.to_numpy(self.b.forward(self, xk))

    def timed_train(self, x, labels):
        self.b.set_tf32(self.mode == "tf32")
        xk = self.b.prepare(self, self._x(x))

        def run():
            _, grads = self.b.loss_grads(self, xk, labels)
            for g in grads:
                self.b.to_numpy(g)

        return run


class TensorFlowOps(object):
    """Forward and gradients on the tensorflow backend."""

    def __init__(self):
        import tensorflow as tf

        self.tf = tf
        tf.config.experimental.enable_tensor_float_32_execution(False)
        tf.config.experimental.enable_op_determinism()
        self.version = tf.__version__

    def device(self, device):
        if device == "cpu":
            return "/CPU:0"
        i = int(device[4:])
        if i >= len(self.tf.config.list_physical_devices("GPU")):
            raise dw.CheckError("%s requested but TensorFlow sees no such GPU" % device)
        return "/GPU:%d" % i

    def gpus(self):
        return len(self.tf.config.list_physical_devices("GPU"))

    def compute_capability(self, i):
        try:
            gpu = self.tf.config.list_physical_devices("GPU")[i]
            return tuple(self.tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0))
        except Exception:
            return (0, 0)

    def set_tf32(self, on):
        self.tf.config.experimental.enable_tensor_float_32_execution(on)

    def tf32_state(self):
        return "on" if self.tf.config.experimental.tensor_float_32_execution_enabled() else "off"

    def compile(self, net):
        tf = self.tf
        m, am, dev = net.m, net.acts_m, net.dev

        def fwd(x):
            with tf.device(dev):
                return m(x, training=False)

        def fwd_acts(x):
            with tf.device(dev):
                return am(x, training=False)

        def loss_grads(x, y):
            with tf.device(dev):
                with tf.GradientTape() as tape:
                    logits = tf.cast(m(x, training=False), tf.float64 if net.mode == "fp64" else tf.float32)
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
                return loss, tape.gradient(loss, net.vars)

        net.fns = (tf.function(fwd, reduce_retracing=True), tf.function(fwd_acts, reduce_retracing=True),
                   tf.function(loss_grads, reduce_retracing=True))

    def prepare(self, net, x):
        with self.tf.device(net.dev):
            return self.tf.constant(x)

    def forward(self, net, x):
        return net.fns[0](x)

    def forward_acts(self, net, x):
        return net.fns[1](x)

    def loss_grads(self, net, x, labels):
        return net.fns[2](x, self.tf.constant(labels, dtype=self.tf.int64))

    def to_numpy(self, v):
        return np.asarray(v)


class JaxOps(object):
    """Forward and gradients on the jax backend (stateless calls)."""

    def __init__(self):
        import jax

        self.jax = jax
        self.version = jax.__version__

    def device(self, device):
        if device == "cpu":
            return self.jax.devices("cpu")[0]
        i = int(device[4:])
        gpus = [d for d in self.jax.devices() if d.platform == "gpu"]
        if i >= len(gpus):
            raise dw.CheckError("%s requested but jax sees no such GPU" % device)
        return gpus[i]

    def gpus(self):
        return len([d for d in self.jax.devices() if d.platform == "gpu"])

    def compute_capability(self, i):
        gpus = [d for d in self.jax.devices() if d.platform == "gpu"]
        try:
            return tuple(int(v) for v in str(gpus[i].compute_capability).split("."))
        except Exception:
            return (0, 0)

    # Keras's jax backend leaves matmul precision to jax's default; no
    # tf32 mode is declared for it.
    def set_tf32(self, on):
        pass

    def tf32_state(self):
        return "n/a (jax backend)"

    def compile(self, net):
        jax = self.jax
        jnp = jax.numpy
        m, am = net.m, net.acts_m
        tv_all = m.trainable_variables
        index = {id(v): i for i, v in enumerate(tv_all)}
        order = [index[id(v)] for v in net.vars]

        def fwd(tv, ntv, x):
            return m.stateless_call(tv, ntv, x, training=False)[0]

        def fwd_acts(tv, ntv, x):
            return am.stateless_call(tv, ntv, x, training=False)[0]

        def loss_fn(tv, ntv, x, y):
            logits = m.stateless_call(tv, ntv, x, training=False)[0]
            logits = logits.astype(jnp.float64 if net.mode == "fp64" else jnp.float32)
            logp = jax.nn.log_softmax(logits, axis=-1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=-1))

        grad = jax.value_and_grad(loss_fn)

        def loss_grads(tv, ntv, x, y):
            loss, g = grad(tv, ntv, x, y)
            return loss, [g[i] for i in order]

        net.fns = (jax.jit(fwd), jax.jit(fwd_acts), jax.jit(loss_grads))
        net.state = ([v.value for v in tv_all], [v.value for v in m.non_trainable_variables])
        net.state_acts = ([v.value for v in am.trainable_variables], [v.value for v in am.non_trainable_variables])

    def prepare(self, net, x):
        return self.jax.device_put(x, net.dev)

    def forward(self, net, x):
        return net.fns[0](net.state[0], net.state[1], x)

    def forward_acts(self, net, x):
        return net.fns[1](net.state_acts[0], net.state_acts[1], x)

    def loss_grads(self, net, x, labels):
        return net.fns[2](net.state[0], net.state[1], x, self.jax.numpy.asarray(labels))

    def to_numpy(self, v):
        return np.asarray(v)


class TorchOps(object):
    """Forward and gradients on the torch backend: the Keras variables are
    torch Parameters, and their gradients come from torch.autograd.grad
    (nothing accumulates in .grad). TF32 off and deterministic algorithms,
    as in the pytorch worker."""

    def __init__(self):
        import torch

        self.torch = torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
        self.version = torch.__version__

    def device(self, device):
        if device == "cpu":
            return "cpu"
        i = int(device[4:])
        if i >= self.gpus():
            raise dw.CheckError("%s requested but torch sees no such GPU" % device)
        return "cuda:%d" % i

    def gpus(self):
        return self.torch.cuda.device_count() if self.torch.cuda.is_available() else 0

    def compile(self, net):
        torch = self.torch
        m, am = net.m, net.acts_m
        params = [v.value for v in net.vars]

        def fwd(x):
            with torch.no_grad():
                return m(x, training=False)

        def fwd_acts(x):
            with torch.no_grad():
                return am(x, training=False)

        def loss_grads(x, y):
            logits = m(x, training=False).to(torch.float64 if net.mode == "fp64" else torch.float32)
            loss = torch.nn.functional.cross_entropy(logits, y)
            return loss, torch.autograd.grad(loss, params)

        net.fns = (fwd, fwd_acts, loss_grads)

    def prepare(self, net, x):
        return self.torch.as_tensor(x, device=net.dev)

    def forward(self, net, x):
        return net.fns[0](self.prepare(net, x))

    def forward_acts(self, net, x):
        return net.fns[1](self.prepare(net, x))

    def loss_grads(self, net, x, labels):
        y = self.torch.as_tensor(np.asarray(labels, dtype=np.int64), device=net.dev)
        return net.fns[2](self.prepare(net, x), y)

    def dtype_of(self, v):
        if isinstance(v, self.torch.Tensor):
            return str(v.dtype).replace("torch.", "")
        return str(np.asarray(v).dtype)

    def to_numpy(self, v):
        if isinstance(v, self.torch.Tensor):
            v = v.detach()
            if v.dtype in (self.torch.bfloat16, self.torch.float16):
                v = v.float()  # numpy has no bfloat16; the values are the framework's
            return v.cpu().numpy()
        return np.asarray(v)


class Backend(object):
    def __init__(self):
        self.warnings = []

    def load(self):
        global keras, BACKEND
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras as _keras

        keras = _keras
        BACKEND = keras.backend.backend()
        if BACKEND == "tensorflow":
            self.ops = TensorFlowOps()
        elif BACKEND == "jax":
            self.ops = JaxOps()
        elif BACKEND == "torch":
            self.ops = TorchOps()
        else:
            raise RuntimeError("keras backend %r: this worker computes gradients on tensorflow, jax and torch only" % BACKEND)

    def describe(self):
        build = {
            "keras_backend": BACKEND,
            BACKEND: self.ops.version,
            "keras_file": os.path.dirname(keras.__file__),
            "gate_order": "keras i,f,c,o = spec i,f,g,o",
        }
        devices = [{"id": "cpu", "kind": "cpu", "name": "CPU (keras on %s)" % BACKEND, "precisions": self.precisions("cpu")}]
        for i in range(self.ops.gpus()):
            devices.append({"id": "gpu:%d" % i, "kind": "gpu", "name": "GPU %d (keras on %s)" % (i, BACKEND),
                            "precisions": self.precisions("gpu:%d" % i)})
        return {"framework": "keras", "version": "%s+%s" % (keras.__version__, BACKEND), "build": build, "devices": devices,
                "capabilities": {"precisions": ["fp64", "fp32", "tf32", "bf16", "fp16"]}}

    def precisions(self, device):
        """The modes run on device: fp64, fp32 and bf16 on the CPU; on a GPU
        fp16 everywhere, bf16 (and tf32, tensorflow backend only) from
        compute capability 8.0. A backend whose ops cannot say (no
        compute_capability) runs fp64 and fp32 only."""
        if device == "cpu":
            return ["fp64", "fp32", "bf16"]
        cap = getattr(self.ops, "compute_capability", None)
        if cap is None:
            return ["fp64", "fp32"]
        ampere = cap(int(device[4:])) >= (8, 0)
        tf32 = ampere and hasattr(self.ops, "tf")
        return ["fp64", "fp32"] + (["tf32"] if tf32 else []) + (["bf16"] if ampere else []) + ["fp16"]

    def set_tf32(self, on):
        f = getattr(self.ops, "set_tf32", None)
        if f is not None:
            f(on)

    def tf32_state(self):
        f = getattr(self.ops, "tf32_state", None)
        return f() if f is not None else "unknown"

    def scope(self, device):
        dev = self.ops.device(device)
        self._dev = dev
        if BACKEND == "tensorflow":
            return self.ops.tf.device(dev)
        if BACKEND == "torch":
            return keras.device(dev)
        return _NullScope()

    def build(self, model, batch, device, params, dtype):
        if device not in ("cpu",) and not device.startswith("gpu:"):
            raise dw.CheckError("unknown device %r" % device)
        keras.backend.clear_session()
        if dtype == "float64" and BACKEND == "jax" and not self.ops.jax.config.jax_enable_x64:
            # Without x64 jax makes every float64 array float32 (the
            # variables included): what ran would not be fp64. Read back
            # by precision() from the dtype the forward returned.
            self.ops.jax.config.update("jax_enable_x64", True)
        n = Net.__new__(Net)
        n.dev = self.ops.device(device)
        Net.__init__(n, self, model, device, params, dtype)
        return n

    # Delegates to the backend's ops.
    def compile(self, net):
        self.ops.compile(net)

    def prepare(self, net, x):
        return self.ops.prepare(net, x)

    def forward(self, net, x):
        return self.ops.forward(net, x)

    def forward_acts(self, net, x):
        return self.ops.forward_acts(net, x)

    def loss_grads(self, net, x, labels):
        return self.ops.loss_grads(net, x, labels)

    def to_numpy(self, v):
        return self.ops.to_numpy(v)


class _NullScope(object):
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def main(proto_out):
    dw.serve(Backend(), proto_out)
