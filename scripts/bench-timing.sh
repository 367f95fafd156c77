#!/usr/bin/env bash
# Prints how close dlcompat's perf timer is to PyTorch's own benchmark
# timer (torch.utils.benchmark) on the reference CNN, on the CPU, in
# dlcompat/pytorch-cpu:bookworm (make setup builds it): the medians of both
# per series and their ratio. ROUNDS (default 3) and PRECISION (default
# 0.01) as in scripts/bench-timing.py. About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-dlcompat/pytorch-cpu:bookworm}"
docker run --rm --network none -v "$PWD:/src:ro" -w /src \
	-e ROUNDS="${ROUNDS:-3}" -e PRECISION="${PRECISION:-0.01}" -e PYTHONDONTWRITEBYTECODE=1 \
	"$IMAGE" python3 scripts/bench-timing.py
