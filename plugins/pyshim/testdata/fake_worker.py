"""A worker for pyshim's own tests: no framework, numpy only, and it
misbehaves on request (FAKE_MODE), so the bridge's handling of a worker
that prints garbage, dies, raises or does not import is tested against a
real interpreter. It stands in for no framework under test.

FAKE_MODE:
  ok        logits are zeros, gradients are ones; it also prints to stdout
            (print and os.write(1)) on every call, which must not matter
  garbage   writes non-frame bytes to the protocol stream during build
  exit      says something on stderr, then exits with status 3 during build
  raise     raises ValueError during build
  broken    the framework import fails with an ImportError (installed but
            broken)
  missing   the framework import fails with ModuleNotFoundError
  startexit exits before its hello
  inference an inference runtime (Backend.trains = False): no train_step
  memory    an lstm forward touches 256 MiB (a cnn forward nothing): the
            peak memory of a call must be its own
  slow      every forward sleeps SLOW_S seconds (default 0.003): perf must
            time the call
  events    as slow, and the net offers an event timer ("cuda_event")
            that reports EVENT_S seconds (default 0.001) per call: perf
            must take the event's figure, not the host's
"""

import os
import sys

import numpy as np

import dlcompat_worker as dw

MODE = os.environ.get("FAKE_MODE", "ok")
SLOW_S = float(os.environ.get("SLOW_S", "0.003"))
EVENT_S = float(os.environ.get("EVENT_S", "0.001"))
PROTO = None


class Net(object):
    def __init__(self, model):
        self.model = model

    def forward(self, x, want):
        if MODE == "memory" and self.model == "lstm":
            big = np.ones(256 << 20, dtype=np.uint8)  # every page written: resident
            del big
        if MODE in ("slow", "events"):
            import time

            time.sleep(SLOW_S)
        print("fake: print() goes to stderr, not the protocol")
        os.write(1, b"fake: so does a raw write to fd 1\n")
        acts = {"fc": np.zeros((x.shape[0], 10))} if want else {}
        return np.zeros((x.shape[0], 10)), acts

    def backward(self, x, labels):
        return 2.5, {"w": np.ones((2, 3))}

    if MODE == "events":

        def event_timer(self):
            def timed(fn):
                fn()
                return EVENT_S

            return "cuda_event", timed


class Backend(object):
    warnings = ["fake: a warning on every run"]
    trains = MODE != "inference"

    def load(self):
        if MODE == "broken":
            raise ImportError("libfake.so.1: cannot open shared object file: No such file or directory")
        if MODE == "missing":
            import dlcompat_no_such_framework  # noqa: F401

    def describe(self):
        # Every field a framework may fill, so the schema tests see the
        # library carry each one (a real CPU has no uuid; pytorch's GPUs do).
        return {"framework": "fake", "version": "0.1+" + MODE, "build": {"mode": MODE},
                "devices": [{"id": "cpu", "kind": "cpu", "name": "fake CPU", "uuid": "FAKE-0", "precisions": ["fp32"]}],
                "warnings": ["fake: a describe warning"]}

    def build(self, model, batch, device, params, dtype):
        if MODE == "garbage":
            sys.stderr.write("fake: about to write garbage\n")
            sys.stderr.flush()
            PROTO.write(b"Segmentation fault? no: garbage on the protocol stream\n")
            PROTO.flush()
            import time

            time.sleep(30)
        if MODE == "exit":
            sys.stderr.write("fake: the framework aborts here\n")
            sys.stderr.flush()
            os._exit(3)
        if MODE == "raise":
            raise ValueError("fake framework error in %s" % model)
        return Net(model)


def main(proto_out):
    global PROTO
    PROTO = proto_out
    if MODE == "startexit":
        sys.stderr.write("fake: dying before hello\n")
        sys.stderr.flush()
        os._exit(5)
    dw.serve(Backend(), proto_out)
