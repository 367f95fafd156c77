"""Caffe worker: the reference models as Caffe nets (prototxt), weights set
through net.params, gradients through a SoftmaxWithLoss on the reference
labels and net.backward(). Runs on BVLC Caffe 1.0 (Debian bullseye's
python3-caffe, Python 3.9): no 3.10+ syntax here.

Conversions (docs/spec.md §4.5 layout traps, ENVIRONMENT's verified Caffe facts):
  Convolution and InnerProduct blobs have PyTorch's shapes, and
  InnerProduct flattens C, H, W: no conversion for the CNN.
  LSTM is time-major: input [T, N, I] (from [N, T, I]) with a cont [T, N]
  blob whose first step is 0, so no state is carried over from an earlier
  forward(). Its blobs are W_xc [4H, I], b_c [4H] (one bias: b_i + b_h),
  W_hc [4H, H], gates in the order i, f, o, g (the canonical order, docs/spec.md §1.2, is i, f, g, o):
  CAFFE_GATES below. Activations [T, N, H] go back to [N, T, H]; a b_c
  gradient is the gradient of both biases.
Param diffs accumulate across backward() calls in Caffe: they are zeroed
before each one.
"""

import os
import tempfile

import numpy as np

import dlcompat_worker as dw

caffe = None

H = 128
CANONICAL_GATES = ("i", "f", "g", "o")
CAFFE_GATES = ("i", "f", "o", "g")
GATE_PERM = [CANONICAL_GATES.index(g) for g in CAFFE_GATES]  # [0, 1, 3, 2]


def gates_to_caffe(a):
    """Reorders the 4H gate blocks of axis 0 from the canonical order to Caffe's."""
    blocks = np.split(a, 4, axis=0)
    return np.concatenate([blocks[i] for i in GATE_PERM], axis=0)


def gates_from_caffe(a):
    blocks = np.split(a, 4, axis=0)
    out = [None] * 4
    for k, i in enumerate(GATE_PERM):
        out[i] = blocks[k]
    return np.concatenate(out, axis=0)


def _input(name, *dims):
    shape = " ".join("dim: %d" % d for d in dims)
    return 'layer { name: "%s" type: "Input" top: "%s" input_param { shape { %s } } }\n' % (name, name, shape)


def cnn_prototxt(n):
    return (
        'name: "SimpleCNN"\n'
        + _input("data", n, 3, 28, 28)
        + _input("label", n)
        + """
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 32 kernel_size: 3 pad: 1 stride: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  convolution_param { num_output: 64 kernel_size: 3 pad: 1 stride: 1 } }
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "fc1" type: "InnerProduct" bottom: "pool2" top: "fc1"
  inner_product_param { num_output: 128 } }
layer { name: "relu3" type: "ReLU" bottom: "fc1" top: "fc1" }
layer { name: "fc2" type: "InnerProduct" bottom: "fc1" top: "fc2"
  inner_product_param { num_output: 10 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc2" bottom: "label" top: "loss" }
"""
    )


def lstm_prototxt(n, steps, inp):
    return (
        'name: "StackedLSTM"\n'
        + _input("data", steps, n, inp)
        + _input("cont", steps, n)
        + _input("label", n)
        + """
layer { name: "lstm0" type: "LSTM" bottom: "data" bottom: "cont" top: "lstm0"
  recurrent_param { num_output: %(h)d } }
layer { name: "lstm1" type: "LSTM" bottom: "lstm0" bottom: "cont" top: "lstm1"
  recurrent_param { num_output: %(h)d } }
layer { name: "slice" type: "Slice" bottom: "lstm1" top: "head" top: "last"
  slice_param { axis: 0 slice_point: %(last)d } }
layer { name: "silence" type: "Silence" bottom: "head" }
layer { name: "flat" type: "Reshape" bottom: "last" top: "last_flat"
  reshape_param { shape { dim: %(n)d dim: %(h)d } } }
layer { name: "fc" type: "InnerProduct" bottom: "last_flat" top: "fc"
  inner_product_param { num_output: 10 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }
"""
        % {"h": H, "n": n, "last": steps - 1}
    )


def make_net(text):
    fd, path = tempfile.mkstemp(suffix=".prototxt")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return caffe.Net(path, caffe.TEST)
    finally:
        os.unlink(path)


class Net(object):
    def __init__(self, model, batch, params, x_shape):
        self.model = model
        if model == "cnn":
            self.net = make_net(cnn_prototxt(batch))
            P = self.net.params
            for name in ("conv1", "conv2", "fc1", "fc2"):
                self._set(P[name][0], params[name + ".weight"])
                self._set(P[name][1], params[name + ".bias"])
            self.acts = [("conv1", "conv1"), ("pool1", "pool1"), ("conv2", "conv2"),
                         ("pool2", "pool2"), ("fc1", "fc1"), ("fc2", "fc2")]
            self.logits = "fc2"
        elif model == "lstm":
            steps, inp = x_shape[1], x_shape[2]
            self.net = make_net(lstm_prototxt(batch, steps, inp))
            P = self.net.params
            for l in range(2):
                pre = "layers.%d." % l
                blobs = P["lstm%d" % l]
                self._set(blobs[0], gates_to_caffe(params[pre + "i2h.weight"]))  # W_xc
                self._set(blobs[1], gates_to_caffe(params[pre + "i2h.bias"] + params[pre + "h2h.bias"]))  # b_c
                self._set(blobs[2], gates_to_caffe(params[pre + "h2h.weight"]))  # W_hc
            self._set(P["fc"][0], params["fc.weight"])
            self._set(P["fc"][1], params["fc.bias"])
            cont = np.ones((steps, batch), dtype=np.float32)
            cont[0, :] = 0  # start every sequence from zero state
            self.net.blobs["cont"].data[...] = cont
            self.acts = [("layers.0", "lstm0"), ("layers.1", "lstm1"), ("fc", "fc")]
            self.logits = "fc"
        else:
            raise dw.CheckError("unknown model %r" % model)

    @staticmethod
    def _set(blob, value):
        if tuple(blob.data.shape) != tuple(value.shape):
            raise dw.CheckError("caffe blob shape %s, weights %s" % (blob.data.shape, value.shape))
        blob.data[...] = value

    def _feed(self, x, labels):
        if self.model == "lstm":
            x = x.transpose(1, 0, 2)  # [N, T, I] -> time-major [T, N, I]
        self.net.blobs["data"].data[...] = x
        if labels is not None:
            self.net.blobs["label"].data[...] = labels.astype(np.float32)

    def _act(self, blob):
        a = np.array(self.net.blobs[blob].data, dtype=np.float32)
        if self.model == "lstm" and a.ndim == 3:
            a = a.transpose(1, 0, 2)  # [T, N, H] -> [N, T, H]
        return a

    def forward(self, x, want_activations):
        self._feed(x, None)
        self.net.forward()
        acts = {name: self._act(blob) for name, blob in self.acts} if want_activations else {}
        return self._act(self.logits), acts

    def _zero_diffs(self):
        for blobs in self.net.params.values():
            for b in blobs:
                b.diff[...] = 0

    def backward(self, x, labels):
        self._feed(x, labels)
        self._zero_diffs()
        self.net.forward()
        loss = float(self.net.blobs["loss"].data)
        self.net.backward()
        P = self.net.params
        g = lambda layer, i: np.array(P[layer][i].diff, dtype=np.float32)
        if self.model == "cnn":
            grads = {}
            for name in ("conv1", "conv2", "fc1", "fc2"):
                grads[name + ".weight"] = g(name, 0)
                grads[name + ".bias"] = g(name, 1)
            return loss, grads
        grads = {"fc.weight": g("fc", 0), "fc.bias": g("fc", 1)}
        for l in range(2):
            pre, layer = "layers.%d." % l, "lstm%d" % l
            grads[pre + "i2h.weight"] = gates_from_caffe(g(layer, 0))
            grads[pre + "i2h.bias"] = gates_from_caffe(g(layer, 1))
            grads[pre + "h2h.bias"] = gates_from_caffe(g(layer, 1))
            grads[pre + "h2h.weight"] = gates_from_caffe(g(layer, 2))
        return loss, grads

    def timed_forward(self, x):
        self._feed(x, None)
        return self.net.forward

    def timed_train(self, x, labels):
        self._feed(x, labels)

        def run():
            self._zero_diffs()
            self.net.forward()
            self.net.backward()

        return run


class Backend(object):
    def __init__(self):
        self.warnings = []

    def load(self):
        global caffe
        os.environ["GLOG_minloglevel"] = "2"  # before the import: glog reads it once
        import caffe as _caffe

        caffe = _caffe
        caffe.set_mode_cpu()

    def describe(self):
        build = {"caffe_file": os.path.dirname(caffe.__file__), "mode": "cpu"}
        version = getattr(caffe, "__version__", "unknown")
        return {"framework": "caffe", "version": version, "build": build,
                "devices": [{"id": "cpu", "kind": "cpu", "name": "CPU (caffe)"}]}

    def build(self, model, batch, device, params, dtype):
        if device != "cpu":
            raise dw.CheckError("this Caffe build runs on the CPU only, not %s" % device)
        if dtype != "float32":
            raise dw.CheckError("pycaffe computes in float32 only")
        shape = (batch, 28, 28) if model == "lstm" else (batch, 3, 28, 28)
        return Net(model, batch, params, shape)


def main(proto_out):
    dw.serve(Backend(), proto_out)
