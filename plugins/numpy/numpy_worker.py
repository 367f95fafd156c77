"""numpy worker: no model, only the characterise check on the CPU, by the
shared library's NumpyCharacteriser (docs/spec.md §10). Python 3.9
compatible."""

import os

import numpy as np

import dlcompat_worker as dw


def _blas():
    """numpy's BLAS, as its build configuration names it."""
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return "%s %s" % (blas.get("name", "?"), blas.get("version", "")).strip()
    except Exception:  # numpy < 1.26 prints its configuration only
        return "unknown (numpy %s)" % np.__version__


class Backend(object):
    def __init__(self):
        self.warnings = []

    def load(self):
        pass  # the library has imported numpy already

    def describe(self):
        build = {"blas": _blas(), "numpy_file": os.path.dirname(np.__file__)}
        return {"framework": "numpy", "version": np.__version__, "build": build,
                "devices": [{"id": "cpu", "kind": "cpu", "name": "CPU (numpy)"}]}

    def build(self, model, batch, device, params, dtype):
        raise dw.CheckError("numpy runs no model: it characterises the CPU (check characterise)")

    def characteriser(self, device):
        return dw.NumpyCharacteriser(device)


def main(proto_out):
    dw.serve(Backend(), proto_out)
