#!/usr/bin/env bash
# The framework images the docker executor and its tests use
# (dlcompat/gorgonia, pytorch-cpu, caffe-cpu, tensorflow-cpu,
# onnxruntime-cpu, mxnet-cpu, theano-cpu, keras-torch), built from their recipes in
# scripts/images/ when missing or out of date; an image whose recipe has not
# changed is left alone, so a warm run takes seconds.
# Set DLCOMPAT_IMAGES to build only some ("gorgonia pytorch-cpu").
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC2086
exec scripts/build-images.sh ${DLCOMPAT_IMAGES:-}
