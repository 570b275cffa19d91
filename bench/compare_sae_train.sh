#!/usr/bin/env bash
# SAE training throughput: `prisma bench sae-train` (our trainer and a plain LibTorch loop,
# alternating in one process) and bench/sae_train_pytorch.py (the same plain loop in
# Python PyTorch) over the same activations, ROUNDS rounds alternately; prints medians.
#
#   bench/compare_sae_train.sh
#   ROUNDS=3 STEPS=300 EXPANSION=2 K=16 PRISMA=build/app/prisma bench/compare_sae_train.sh
#
# Same kernels and settings as bench/compare_train.sh: Debian's python3-torch 1.13.1 uses
# the libtorch and libblas.so.3 of the C++ build; both get the OPENBLAS_CORETYPE `prisma`
# picks, the same OMP_WAIT_POLICY and the same thread count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PRISMA=${PRISMA:-build/app/prisma}
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-300}
THREADS=${THREADS:-$(nproc)}
EXPANSION=${EXPANSION:-2}
K=${K:-16}
coretype=$("$PRISMA" info | sed -n 's/^ *OPENBLAS_CORETYPE=//p' | head -n1)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [ -n "$coretype" ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then export OPENBLAS_CORETYPE=$coretype; fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OMP_WAIT_POLICY=$OMP_WAIT_POLICY threads=$THREADS rounds=$ROUNDS steps=$STEPS"
acts=$(mktemp --suffix=.npy)
trap 'rm -f "$acts" /tmp/prisma-sae-bench.$$.*' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for ((r = 1; r <= ROUNDS; r++)); do
  out=$("$PRISMA" bench sae-train --reps 1 --steps "$STEPS" --threads "$THREADS" --expansion "$EXPANSION" --k "$K" \
        --save-activations "$acts")
  [ "$r" -eq 1 ] && echo "$out" | head -n1
  tr=$(echo "$out" | awk '/^prisma trainer \(model/ {print $(NF-1)}')
  pl=$(echo "$out" | awk '/^plain LibTorch loop/ {print $(NF-1)}')
  rows=$(echo "$out" | head -n1 | grep -oE '[0-9]+ rows per update' | awk '{print $1}')
  py=$("$PYTHON" bench/sae_train_pytorch.py "$acts" --reps 1 --steps "$STEPS" --rows "$rows" --threads "$THREADS" \
       --expansion "$EXPANSION" --k "$K")
  echo "round $r: prisma trainer $tr  plain LibTorch $pl  plain PyTorch (Python) $py activations/s"
  echo "$tr" >> /tmp/prisma-sae-bench.$$.tr; echo "$pl" >> /tmp/prisma-sae-bench.$$.pl; echo "$py" >> /tmp/prisma-sae-bench.$$.py
done
t=$(median < /tmp/prisma-sae-bench.$$.tr); l=$(median < /tmp/prisma-sae-bench.$$.pl); p=$(median < /tmp/prisma-sae-bench.$$.py)
awk -v t="$t" -v l="$l" -v p="$p" 'BEGIN {
  printf "medians: prisma trainer %.0f, plain LibTorch %.0f, plain PyTorch %.0f activations/s (trainer %.2fx PyTorch, LibTorch loop %.2fx PyTorch)\n",
         t, l, p, t / p, l / p }'
