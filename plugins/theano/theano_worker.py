"""Theano worker: the reference models as symbolic Theano graphs
(T.nnet.conv2d, pool_2d, T.dot, and an LSTM cell under theano.scan),
gradients through T.grad, compiled to C once per model and dtype. Runs on
the real Theano 1.0.5 (Debian bullseye's python3-theano, Python 3.9): no
3.10+ syntax here.

Conversions (docs/spec.md §4.10):
  conv     Theano's conv2d is a true convolution by default: filter_flip=True
           flips the kernel. The canonical op (PyTorch's) is a
           cross-correlation, so every conv2d is called with
           filter_flip=False (FILTER_FLIP) and the kernel [out, in, kh, kw]
           and NCHW input are used as they are.
  linear   y = T.dot(x, W.T) + b with W [out, in] as is; flatten(2) of NCHW
           pool2 is C, H, W order.
  lstm     our own cell: gates = x.W_i^T + b_i + h.W_h^T + b_h, sliced in the
           canonical order i, f, g, o, two biases; theano.scan runs over the
           time-major view [T, N, I] of the input, and its [T, N, H] outputs
           go back to [N, T, H].
Parameters are shared variables set from the canonical tensors, so the
graphs are symbolic in the batch and each function compiles once per plugin
process, on first use.
"""

import os

import numpy as np

import dlcompat_worker as dw

theano = None
T = None
pool_2d = None

H = 128
FILTER_FLIP = False  # cross-correlation, as the canonical conv (see above)
CNN_PARAMS = ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")
LSTM_PARAMS = tuple("layers.%d.%s" % (l, p) for l in range(2) for p in ("i2h.weight", "i2h.bias", "h2h.weight", "h2h.bias")) + ("fc.weight", "fc.bias")


def _cnn(x, p):
    def conv(a, name):
        w, b = p[name + ".weight"], p[name + ".bias"]
        y = T.nnet.conv2d(a, w, border_mode=(1, 1), subsample=(1, 1), filter_flip=FILTER_FLIP)
        return T.nnet.relu(y + b.dimshuffle("x", 0, "x", "x"))

    def pool(a):
        return pool_2d(a, ws=(2, 2), stride=(2, 2), ignore_border=True, mode="max")

    c1 = conv(x, "conv1")
    p1 = pool(c1)
    c2 = conv(p1, "conv2")
    p2 = pool(c2)
    f1 = T.nnet.relu(T.dot(p2.flatten(2), p["fc1.weight"].T) + p["fc1.bias"])  # C, H, W order
    f2 = T.dot(f1, p["fc2.weight"].T) + p["fc2.bias"]
    return f2, [("conv1", c1), ("pool1", p1), ("conv2", c2), ("pool2", p2), ("fc1", f1), ("fc2", f2)]


def _lstm_layer(xs, p, l):
    """One layer over time-major xs [T, N, in]; returns h at every step [T, N, H]."""
    pre = "layers.%d." % l
    wi, bi, wh, bh = p[pre + "i2h.weight"], p[pre + "i2h.bias"], p[pre + "h2h.weight"], p[pre + "h2h.bias"]
    xw = T.dot(xs, wi.T) + bi  # x.W_i^T + b_i for every step at once: [T, N, 4H]
    zero = T.zeros((xs.shape[1], H), dtype=xs.dtype)

    def step(xw_t, h, c):
        g = xw_t + T.dot(h, wh.T) + bh
        i = T.nnet.sigmoid(g[:, 0 * H : 1 * H])
        f = T.nnet.sigmoid(g[:, 1 * H : 2 * H])
        gg = T.tanh(g[:, 2 * H : 3 * H])
        o = T.nnet.sigmoid(g[:, 3 * H : 4 * H])
        c2 = f * c + i * gg
        return o * T.tanh(c2), c2

    (hs, _), _ = theano.scan(step, sequences=xw, outputs_info=[zero, zero])
    return hs


def _lstm(x, p):
    h = x.dimshuffle(1, 0, 2)  # [N, T, I] -> [T, N, I]
    acts = []
    for l in range(2):
        h = _lstm_layer(h, p, l)
        acts.append(("layers.%d" % l, h.dimshuffle(1, 0, 2)))  # [T, N, H] -> [N, T, H]
    logits = T.dot(h[-1], p["fc.weight"].T) + p["fc.bias"]
    acts.append(("fc", logits))
    return logits, acts


def _mean_cross_entropy(z, y):
    m = z.max(axis=1, keepdims=True)
    logp = z - (m + T.log(T.exp(z - m).sum(axis=1, keepdims=True)))
    return -logp[T.arange(z.shape[0]), y].mean()


class Compiled(object):
    """A model's graph, built once; parameters are shared. Its three
    functions (logits, every activation, loss and gradients) are compiled
    on first use, so each cell pays only for what it runs: on a 2-core
    machine the lstm's gradient function alone takes about 2.5 minutes of
    C compilation (docs/spec.md §4.10)."""

    def __init__(self, model, dtype, shapes):
        self.names = CNN_PARAMS if model == "cnn" else LSTM_PARAMS
        for n in self.names:
            if n not in shapes:
                raise dw.CheckError("weights have no %s" % n)
        self.shared = {n: theano.shared(np.zeros(shapes[n], dtype=dtype), name=n) for n in self.names}
        self.x = (T.tensor4 if model == "cnn" else T.tensor3)("x", dtype=dtype)
        self.y = T.lvector("y")
        self.logits_var, acts = (_cnn if model == "cnn" else _lstm)(self.x, self.shared)
        self.act_names = [k for k, _ in acts]
        self.act_vars = [v for _, v in acts]
        self.fns = {}

    def fn(self, kind):
        if kind not in self.fns:
            if kind == "logits":
                self.fns[kind] = theano.function([self.x], self.logits_var)
            elif kind == "acts":
                self.fns[kind] = theano.function([self.x], self.act_vars)
            else:
                loss = _mean_cross_entropy(self.logits_var, self.y)
                grads = T.grad(loss, [self.shared[n] for n in self.names])
                self.fns[kind] = theano.function([self.x, self.y], [loss] + grads)
        return self.fns[kind]


class Net(object):
    def __init__(self, c, params, dtype):
        self.c, self.dtype = c, dtype
        for n, s in c.shared.items():
            s.set_value(np.ascontiguousarray(params[n], dtype=dtype))
        self.seen = {}

    def _out(self, v):
        v = np.array(v)
        self.seen["output_dtype"] = v.dtype.name
        return v

    def precision(self):
        """The mode in effect: the dtype Theano compiled the graph in (its
        first layer's and its logits' symbolic types) and that of what the
        function returned. fp64 is the graph in float64, by explicit dtypes
        rather than floatX; there is no policy."""
        s = dict(self.seen, graph_activation_dtype=self.c.act_vars[0].dtype, activation_dtype=self.c.act_vars[0].dtype,
                 graph_logits_dtype=self.c.logits_var.dtype, floatX=str(theano.config.floatX))
        out = s.get("output_dtype")
        same = out == s["activation_dtype"] == s["graph_logits_dtype"]
        mode = {"float64": "fp64", "float32": "fp32"}.get(out, "unknown") if same else "unknown"
        return mode, s

    def _x(self, x):
        return np.ascontiguousarray(x, dtype=self.dtype)

    def forward(self, x, want_activations):
        xb = self._x(x)
        if not want_activations:
            return self._out(self.c.fn("logits")(xb)), {}
        vals = self.c.fn("acts")(xb)
        acts = {k: self._out(v) for k, v in zip(self.c.act_names, vals)}
        return acts[self.c.act_names[-1]], acts

    def backward(self, x, labels):
        out = self.c.fn("grads")(self._x(x), np.asarray(labels, dtype=np.int64))
        return float(out[0]), {n: self._out(g) for n, g in zip(self.c.names, out[1:])}

    # The timed closures note the dtype of what they return, as forward and
    # backward do, so a perf cell reads back its mode too (precision()).
    def timed_forward(self, x):
        xb, f, seen = self._x(x), self.c.fn("logits"), self.seen

        def run():
            seen["output_dtype"] = f(xb).dtype.name

        return run

    def timed_train(self, x, labels):
        xb, yb, f, seen = self._x(x), np.asarray(labels, dtype=np.int64), self.c.fn("grads"), self.seen

        def run():
            seen["output_dtype"] = f(xb, yb)[1].dtype.name

        return run


# The modes run here (docs/spec.md §4.10): fp64 as a float64 graph. No bf16
# or fp16: Theano 1.0.5 has no bfloat16 type at all, and float16 only on
# its (removed) GPU back end.
PRECISIONS = ["fp64", "fp32"]


class Backend(object):
    def __init__(self):
        self.compiled = {}
        self.warnings = []

    def load(self):
        global theano, T, pool_2d
        import theano as _theano
        import theano.tensor as _T
        from theano.tensor.signal.pool import pool_2d as _pool_2d

        theano, T, pool_2d = _theano, _T, _pool_2d
        if not theano.config.cxx:
            self.warnings.append("theano has no C++ compiler (config.cxx is empty): ops run in Python, slowly")

    def describe(self):
        cfg = theano.config
        build = {
            "theano_file": os.path.dirname(theano.__file__),
            "cxx": str(cfg.cxx) or "none",
            "blas_ldflags": str(cfg.blas.ldflags) or "none",
            "floatX": str(cfg.floatX),
            "mode": str(cfg.mode),
            "numpy": np.__version__,
        }
        return {"framework": "theano", "version": theano.__version__, "build": build,
                "devices": [{"id": "cpu", "kind": "cpu", "name": "CPU (theano)", "precisions": PRECISIONS}], "warnings": list(self.warnings),
                "capabilities": {"precisions": PRECISIONS}}

    def build(self, model, batch, device, params, dtype):
        if device != "cpu":
            raise dw.CheckError("this Theano runs on the CPU only, not %s" % device)
        if model not in ("cnn", "lstm"):
            raise dw.CheckError("unknown model %r" % model)
        dw.require_mode(dw.mode_of(dtype), device, PRECISIONS)
        key = (model, dtype)
        if key not in self.compiled:
            self.compiled[key] = Compiled(model, dtype, {k: v.shape for k, v in params.items()})
        return Net(self.compiled[key], params, dtype)


def main(proto_out):
    dw.serve(Backend(), proto_out)
