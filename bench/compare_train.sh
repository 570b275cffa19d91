#!/usr/bin/env bash
# Training throughput, C++ trainer vs plain PyTorch, on this machine with the same kernels.
# Runs `prisma bench train` and bench/train_loop_pytorch.py (DataLoader loop, and the
# index-a-tensor loop) alternately, ROUNDS times per preset, and prints medians. The
# machine is noisy (shared cores): only alternating runs in one session compare fairly.
#
#   bench/compare_train.sh                       # induction and mnist, 5 rounds
#   ROUNDS=3 STEPS=100 PRISMA=build/app/prisma bench/compare_train.sh induction
#   BATCH=8 bench/compare_train.sh induction     # where per-op overhead dominates
#
# Same kernels: Debian's python3-torch 1.13.1 uses the same libtorch and libblas.so.3 as
# the C++ build; both get the OPENBLAS_CORETYPE that `prisma` itself would pick, the same
# OMP_WAIT_POLICY and the same thread count (all cores this process may use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PRISMA=${PRISMA:-build/app/prisma}
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-200}
WARMUP=${WARMUP:-20}
BATCH=${BATCH:-64}
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(induction mnist)

# What prisma re-executes itself with (it never overrides a value already set).
coretype=$("$PRISMA" info | sed -n 's/^ *OPENBLAS_CORETYPE=//p' | head -n1)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [ -n "$coretype" ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then export OPENBLAS_CORETYPE=$coretype; fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OMP_WAIT_POLICY=$OMP_WAIT_POLICY threads=$(nproc)" \
     "rounds=$ROUNDS steps=$STEPS warmup=$WARMUP batch=$BATCH"
"$PYTHON" -c 'import torch; print("python torch", torch.__version__)'

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for preset in "${presets[@]}"; do
  : > /tmp/prisma-bench-cpp.$$; : > /tmp/prisma-bench-pydl.$$; : > /tmp/prisma-bench-pyix.$$
  for ((r = 1; r <= ROUNDS; r++)); do
    cpp=$("$PRISMA" bench train --preset "$preset" --reps 1 --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH" |
          grep -oE '[0-9.]+ images/s' | awk '{print $1}')
    pydl=$("$PYTHON" bench/train_loop_pytorch.py --preset "$preset" --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH" --loader dataloader)
    pyix=$("$PYTHON" bench/train_loop_pytorch.py --preset "$preset" --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH" --loader index)
    echo "$preset round $r: C++ $cpp  python/DataLoader $pydl  python/index $pyix images/s"
    echo "$cpp" >> /tmp/prisma-bench-cpp.$$; echo "$pydl" >> /tmp/prisma-bench-pydl.$$; echo "$pyix" >> /tmp/prisma-bench-pyix.$$
  done
  c=$(median < /tmp/prisma-bench-cpp.$$); d=$(median < /tmp/prisma-bench-pydl.$$); i=$(median < /tmp/prisma-bench-pyix.$$)
  awk -v p="$preset" -v c="$c" -v d="$d" -v i="$i" 'BEGIN {
    printf "%s medians: C++ %.0f, python/DataLoader %.0f (C++ %.2fx), python/index %.0f (C++ %.2fx) images/s\n",
           p, c, d, c / d, i, c / i }'
done
rm -f /tmp/prisma-bench-cpp.$$ /tmp/prisma-bench-pydl.$$ /tmp/prisma-bench-pyix.$$
