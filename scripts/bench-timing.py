"""How close dlcompat's perf timer is to the framework's own benchmark timer
(issue 12, docs/spec.md §7.1), on the CPU, in the pytorch-cpu image.

For each series (latency b1, throughput b32, train step b32) of the
reference CNN it times one PyTorch net two ways, alternating, ROUNDS times:
  dlcompat  the worker's own perf loop (dlcompat_worker.run_check, check
            perf, adaptive to PRECISION): the figure dlcompat reports
  torch     torch.utils.benchmark.Timer.blocked_autorange(min_run_time=2)
            on the same callable, at torch's thread count
and prints the medians and their ratio. Run by scripts/bench-timing.sh.
"""

import os
import sys

sys.path[:0] = ["plugins/pyshim/worker", "plugins/pytorch"]

import dlcompat_worker as dw  # noqa: E402
import pytorch_worker  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
PRECISION = float(os.environ.get("PRECISION", "0.01"))


def main():
    backend = pytorch_worker.Backend()
    backend.load()
    import torch
    import torch.utils.benchmark as benchmark

    ref = "testdata/reference/"
    blobs = [open(ref + "cnn.weights.safetensors", "rb").read(), open(ref + "cnn.input.safetensors", "rb").read()]
    params = dw.st_decode(blobs[0])
    inputs = dw.st_decode(blobs[1])
    x, labels = inputs["input"].astype("float32"), inputs["labels"].astype("int64")
    perf = {"warmup": 5, "iterations": 20, "latency_batch": 1, "throughput_batches": [32], "train_batch": 32,
            "max_iterations": 5000, "max_seconds": 10, "target_precision": PRECISION}
    req = {"model": "cnn", "check": "perf", "device": "cpu", "precision": "fp32", "perf": perf}
    print("# torch %s, %d thread(s), %d cores; dlcompat adaptive to ±%.0f%%, torch blocked_autorange(min_run_time=2); %d alternating rounds"
          % (torch.__version__, torch.get_num_threads(), os.cpu_count(), 100 * PRECISION, ROUNDS))
    ours, theirs = {}, {}
    for _ in range(ROUNDS):
        resp, _ = dw.run_check(backend, req, blobs)
        for t in resp["timings"]:
            key = "%s b%d" % (t["name"], t["batch"])
            s = sorted(t["samples"])
            ours.setdefault(key, []).append(s[len(s) // 2])
            net = backend.build("cnn", t["batch"], "cpu", params, "float32")
            xb, lb = dw.tile(x, labels, t["batch"])
            fn = net.timed_train(xb, lb) if t["name"] == "train_step" else net.timed_forward(xb)
            m = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads()).blocked_autorange(min_run_time=2)
            theirs.setdefault(key, []).append(m.median)
    print("%-16s %14s %14s %9s" % ("series", "dlcompat ms", "torch ms", "ratio"))
    for key in ours:
        a, b = sorted(ours[key])[ROUNDS // 2], sorted(theirs[key])[ROUNDS // 2]
        print("%-16s %14.3f %14.3f %9.3f" % (key, a * 1e3, b * 1e3, a / b))


if __name__ == "__main__":
    main()
