#!/usr/bin/env bash
# Run on a machine with an NVIDIA GPU and CuPy: the GPU tests, verify of every CuPy implementation in float32,
# float16 and float64, and the CUDA-event benchmark against the device copy. Results go to ${OUT:-build/gpu}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/gpu}
mkdir -p "$OUT"
python3 -m pip install -q -e ".[test]"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -m pytest -m gpu -q tests/test_gpu.py 2>&1 | tee "$OUT/gpu_tests.txt"
for f in softmax log_softmax logsumexp; do
  python3 -m stability verify --function "$f" --impl "cupy.${f}_fused" --dtype float32 --dtype float16 \
    --dtype float64 --json "$OUT/verify_$f.json" | tee -a "$OUT/verify.txt" || true
  python3 -m stability verify --function "$f" --impl "cupy.${f}_fused_fastmath" --dtype float32 \
    --json "$OUT/verify_${f}_fastmath.json" | tee -a "$OUT/verify.txt" || true
done
if python3 -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  for f in softmax log_softmax logsumexp; do  # the peer users would pick instead
    python3 -m stability verify --function "$f" --impl "torch.${f}_cuda" --dtype float32 --dtype float16 \
      --json "$OUT/verify_torch_$f.json" | tee -a "$OUT/verify.txt" || true
  done
fi
python3 -m stability bench --device cuda --function softmax --function log_softmax --function logsumexp \
  --out "$OUT/bench_gpu.csv" | tee "$OUT/bench_gpu.txt"
