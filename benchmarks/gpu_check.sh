#!/usr/bin/env bash
# The GPU check (issue 16): run it the day a machine with an NVIDIA GPU is lent, in one short call.
#   bash benchmarks/gpu_check.sh            # ~5 minutes; writes benchmarks/results/gpu_*.json
# 1. what the machine is; 2. the CUDA tests of every engine (tests/test_cuda.py) and the Triton kernels
# compiled for real (tests/test_kernels.py, tests/test_rng.py on CUDA); 3. the peer benchmark on CUDA with
# synchronised timing. Every figure it prints is measured; none is estimated.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=benchmarks/results
mkdir -p "$OUT"
status=0
echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || status=1
"$PY" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'device', torch.cuda.get_device_name(0), 'triton', triton.__version__)" || status=1
echo "== CUDA and Triton tests"
timeout 240 "$PY" -m pytest -q -x tests/test_cuda.py tests/test_kernels.py tests/test_rng.py -k "cuda or triton" \
  || status=1
echo "== peers on CUDA (synchronised timing, medians)"
timeout 240 "$PY" -m spikekit bench --device cuda --repeats 5 --json "$OUT/gpu_peers.json" || status=1
exit $status
