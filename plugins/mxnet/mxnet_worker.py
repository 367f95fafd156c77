"""MXNet worker: the reference models in MXNet 1.9's imperative NDArray API
(mx.nd.Convolution, Pooling, FullyConnected and the fused RNN operator in
LSTM mode), gradients through mx.autograd. Python 3.9 compatible.

Conversions (docs/spec.md §4.9):
  cnn   Convolution weights are [out, in, kh, kw] on NCHW data and
        FullyConnected weights [out, in] with flatten=True flattening
        C, H, W: PyTorch's layout, nothing is converted.
  lstm  one fused RNN call (mode="lstm", num_layers=1) per layer, so that
        layer 0's h at every step is an activation. The operator is
        time-major: input [N, T, I] -> [T, N, I], output back to [N, T, H].
        Its parameters are ONE flat vector per layer, packed as
            W_i2h [4H, in] | W_h2h [4H, H] | b_i2h [4H] | b_h2h [4H]
        (weights of every layer first, then biases; with one layer per
        call that is the order above), gates in MXNet's order i, f, c, o,
        where c is the candidate: the same blocks as the canonical i, f, g,
        o, so MXNET_GATES maps to the identity permutation, applied
        explicitly both ways. Both biases are kept. Gradients of the flat
        vector are unpacked the same way.
Gradients are recorded with autograd.record()'s default train_mode=True
(TRAIN_MODE): neither model has a layer whose result depends on the mode
(no dropout, no batch norm), and under train_mode=False MXNet 1.9.1's oneDNN
max-pooling backward reads a workspace its inference-mode forward never
wrote: measured on this model, pool gradients off by up to 7.6 and
different on every run (docs/spec.md §4.9).
MXNet computes asynchronously: every result is read back (asnumpy) and a
timed call waits for its outputs (wait_to_read).
"""

import os

import numpy as np

import dlcompat_worker as dw

mx = None

H = 128
CANONICAL_GATES = ("i", "f", "g", "o")
# MXNet's documented LSTM order is i, f, c, o; its c is the candidate the
# canonical order calls g.
MXNET_GATES = ("i", "f", "g", "o")
GATE_PERM = [CANONICAL_GATES.index(g) for g in MXNET_GATES]  # [0, 1, 2, 3]

# The mode autograd records in (see the module's docstring).
TRAIN_MODE = True


def gates_to_mxnet(a):
    """Reorders the 4H gate blocks of axis 0 from the canonical order to MXNet's."""
    blocks = np.split(a, 4, axis=0)
    return np.concatenate([blocks[i] for i in GATE_PERM], axis=0)


def gates_from_mxnet(a):
    blocks = np.split(a, 4, axis=0)
    out = [None] * 4
    for k, i in enumerate(GATE_PERM):
        out[i] = blocks[k]
    return np.concatenate(out, axis=0)


LSTM_PIECES = ("i2h.weight", "h2h.weight", "i2h.bias", "h2h.bias")  # packing order


def pack_lstm_layer(params, layer):
    """One layer's canonical parameters as the fused RNN op's flat vector."""
    pre = "layers.%d." % layer
    return np.concatenate([gates_to_mxnet(params[pre + p]).ravel() for p in LSTM_PIECES])


def unpack_lstm_layer(flat, layer, shapes):
    """The fused op's flat gradient back to canonical names and shapes."""
    pre = "layers.%d." % layer
    out, off = {}, 0
    for p in LSTM_PIECES:
        shape = shapes[pre + p]
        n = int(np.prod(shape))
        out[pre + p] = gates_from_mxnet(flat[off : off + n].reshape(shape))
        off += n
    if off != flat.size:
        raise dw.CheckError("fused LSTM layer %d has %d parameters, expected %d" % (layer, flat.size, off))
    return out


class Net(object):
    def __init__(self, model, batch, params, dtype):
        if model not in ("cnn", "lstm"):
            raise dw.CheckError("unknown model %r" % model)
        self.model = model
        dw.require_mode(dw.mode_of(dtype), "cpu", PRECISIONS)
        self.dtype = np.float64 if dtype == "float64" else np.float32
        self.ctx = mx.cpu()
        self.seen = {}
        self.shapes = {k: v.shape for k, v in params.items()}
        if model == "cnn":
            host = dict(params)
        else:
            host = {"fc.weight": params["fc.weight"], "fc.bias": params["fc.bias"]}
            for l in range(2):
                host["lstm%d" % l] = pack_lstm_layer(params, l)
        self.p = {}
        for k, v in host.items():
            a = mx.nd.array(np.ascontiguousarray(v), ctx=self.ctx, dtype=self.dtype)
            a.attach_grad()  # grad_req "write": each backward overwrites
            self.p[k] = a

    # --- the models, in MXNet's layout ---

    def _cnn(self, x, acts):
        p, nd = self.p, mx.nd
        c1 = nd.relu(nd.Convolution(x, p["conv1.weight"], p["conv1.bias"], kernel=(3, 3), pad=(1, 1), num_filter=32))
        self.seen["activation_dtype"] = np.dtype(c1.dtype).name
        p1 = nd.Pooling(c1, kernel=(2, 2), stride=(2, 2), pool_type="max")
        c2 = nd.relu(nd.Convolution(p1, p["conv2.weight"], p["conv2.bias"], kernel=(3, 3), pad=(1, 1), num_filter=64))
        p2 = nd.Pooling(c2, kernel=(2, 2), stride=(2, 2), pool_type="max")
        f1 = nd.relu(nd.FullyConnected(p2, p["fc1.weight"], p["fc1.bias"], num_hidden=128, flatten=True))
        f2 = nd.FullyConnected(f1, p["fc2.weight"], p["fc2.bias"], num_hidden=10)
        if acts is not None:
            acts.update(conv1=c1, pool1=p1, conv2=c2, pool2=p2, fc1=f1, fc2=f2)
        return f2

    def _lstm(self, x, acts):
        p, nd = self.p, mx.nd
        n = x.shape[0]
        h = nd.transpose(x, axes=(1, 0, 2))  # [N, T, I] -> [T, N, I]
        for l in range(2):
            zero = nd.zeros((1, n, H), ctx=self.ctx, dtype=self.dtype)
            h = nd.RNN(h, p["lstm%d" % l], zero, zero, state_size=H, num_layers=1, mode="lstm", state_outputs=False)
            if l == 0:
                self.seen["activation_dtype"] = np.dtype(h.dtype).name
            if acts is not None:
                acts["layers.%d" % l] = nd.transpose(h, axes=(1, 0, 2))  # [T, N, H] -> [N, T, H]
        logits = nd.FullyConnected(h[h.shape[0] - 1], p["fc.weight"], p["fc.bias"], num_hidden=10)
        if acts is not None:
            acts["fc"] = logits
        return logits

    def _logits(self, x, acts=None):
        z = self._cnn(x, acts) if self.model == "cnn" else self._lstm(x, acts)
        self.seen["output_dtype"] = np.dtype(z.dtype).name
        return z

    def precision(self):
        """The mode in effect: the dtypes MXNet computed the first layer and
        the logits in (fp64 is plain float64 NDArrays; there is no policy)."""
        s = dict(self.seen, policy="none (NDArrays in one dtype)")
        out, act = s.get("output_dtype"), s.get("activation_dtype")
        mode = {"float64": "fp64", "float32": "fp32"}.get(out, "unknown") if out == act else "unknown"
        return mode, s

    def _x(self, x):
        return mx.nd.array(np.ascontiguousarray(x), ctx=self.ctx, dtype=self.dtype)

    def _labels(self, labels):
        return mx.nd.array(labels, ctx=self.ctx, dtype=self.dtype)

    def _loss(self, x, y):
        z = self._logits(x)
        # mean cross-entropy: -mean(log_softmax(z)[label])
        return -mx.nd.mean(mx.nd.pick(mx.nd.log_softmax(z, axis=1), y, axis=1))

    def forward(self, x, want_activations):
        acts = {} if want_activations else None
        logits = self._logits(self._x(x), acts)
        out = {k: v.asnumpy() for k, v in (acts or {}).items()}
        return logits.asnumpy(), out

    def backward(self, x, labels):
        xb, yb = self._x(x), self._labels(labels)
        with mx.autograd.record(train_mode=TRAIN_MODE):
            loss = self._loss(xb, yb)
        loss.backward()
        g = {k: v.grad.asnumpy() for k, v in self.p.items()}
        if self.model == "cnn":
            return float(loss.asscalar()), g
        grads = {"fc.weight": g["fc.weight"], "fc.bias": g["fc.bias"]}
        for l in range(2):
            grads.update(unpack_lstm_layer(g["lstm%d" % l], l, self.shapes))
        return float(loss.asscalar()), grads

    def timed_forward(self, x):
        xb = self._x(x)
        return lambda: self._logits(xb).wait_to_read()

    def timed_train(self, x, labels):
        xb, yb = self._x(x), self._labels(labels)
        grads = list(self.p.values())

        def run():
            with mx.autograd.record(train_mode=TRAIN_MODE):
                loss = self._loss(xb, yb)
            loss.backward()
            for v in grads:
                v.grad.wait_to_read()

        return run


# The modes run here (docs/spec.md §4.9): fp64 by float64 NDArrays. No
# bf16: mxnet.contrib.amp.init(target_dtype="bfloat16") does run on this
# CPU build (Convolution and FullyConnected in bfloat16, the fused RNN op
# kept in float32), but it rewrites mx.nd for the whole process and cannot
# be undone, so every fp32 and fp64 cell the same worker runs after it would
# be cast too. No GPU build.
PRECISIONS = ["fp64", "fp32"]


class Backend(object):
    def load(self):
        global mx
        import mxnet as _mx

        mx = _mx

    def describe(self):
        feats = mx.runtime.Features()
        enabled = sorted(f for f in ("MKLDNN", "BLAS_OPEN", "BLAS_MKL", "OPENMP", "CUDA", "CUDNN") if feats.is_enabled(f))
        build = {"mxnet_file": os.path.dirname(mx.__file__), "features": ",".join(enabled), "numpy": np.__version__}
        return {"framework": "mxnet", "version": mx.__version__, "build": build,
                "devices": [{"id": "cpu", "kind": "cpu", "name": "CPU (mxnet)", "precisions": PRECISIONS}],
                "capabilities": {"precisions": PRECISIONS}}

    def build(self, model, batch, device, params, dtype):
        if device != "cpu":
            raise dw.CheckError("this MXNet build (PyPI's mxnet, CPU) runs on the CPU only, not %s" % device)
        return Net(model, batch, params, dtype)


def main(proto_out):
    dw.serve(Backend(), proto_out)
