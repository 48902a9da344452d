#!/bin/sh
# Issue 11: training (losses, gradient norms, per-lag contributions, CSV and charts) and the lesson check
# give the same bytes whichever kernel OpenBLAS picks for the CPU (OPENBLAS_CORETYPE) and whichever
# instantiation of gradlab's own matrix kernel runs (GRADLAB_KERNEL=generic instead of AVX).
#
# usage: Tests/determinism/check.sh [path/to/gradlab]      (run by `make test-determinism`, part of `make test`)
set -eu
BIN=${1:-.build/release/gradlab}
CORETYPES=${DET_CORETYPES:-"Prescott Nehalem"}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

# One short training of every trainable cell, the copy task (cross-entropy, truncation), the copy-memory task,
# a small `baselines` run, a sweep, and an analysis run (which uses OpenBLAS and may differ in the last bits:
# the proof that the kernels differ).
outputs() {
    name=$1; shift
    out="$dir/$name"
    mkdir -p "$out"
    for cell in sigmoid tanh relu linear irnn lstm gru leaky; do
        env "$@" "$BIN" train --cell "$cell" --steps 12 --hidden 8 --iters 40 --batch 8 --eval-every 10 --eval-size 32 \
            --seed 3 --clip-norm 1 --snapshots 2 --csv "$out/train-$cell.csv" --contrib-csv "$out/contrib-$cell.csv" >/dev/null
    done
    env "$@" "$BIN" train --cell lstm --task copy --steps 15 --copy-length 3 --symbols 4 --hidden 8 --iters 40 --batch 8 \
        --eval-every 10 --eval-size 32 --truncate 5 --snapshots 2 --csv "$out/copy.csv" --contrib-csv "$out/copy-contrib.csv" \
        --loss-chart "$out/copy-loss.png" --contrib-chart "$out/copy-contrib.png" >/dev/null
    env "$@" "$BIN" train --cell gru --layers 3 --steps 12 --hidden 8 --iters 40 --batch 8 --eval-every 10 --eval-size 32 \
        --seed 3 --clip-norm 1 --snapshots 2 --csv "$out/stack.csv" --contrib-csv "$out/stack-contrib.csv" \
        --grad-chart "$out/stack-grad.png" >/dev/null
    env "$@" "$BIN" train --cell gru --task copy-memory --steps 4 --hidden 8 --iters 30 --batch 8 --eval-every 10 --eval-size 32 \
        --snapshots 1 --csv "$out/copy-memory.csv" --contrib-csv "$out/copy-memory-contrib.csv" >/dev/null
    env "$@" "$BIN" baselines --task adding --cells tanh,lstm --seeds 2 --steps 8 --hidden 8 --iters 30 --batch 8 --eval-every 10 \
        --eval-size 32 --gradient-iters 10 --csv "$out/baselines.csv" --json "$out/baselines.json" \
        --gradient-csv "$out/baselines-gradients.csv" --out "$out/baselines.png" >/dev/null
    env "$@" "$BIN" train-sweep --cells gru,irnn --lengths 6,12 --hidden 8 --iters 30 --eval-every 10 --eval-size 32 \
        --csv "$out/sweep.csv" --chart "$out/sweep.png" >/dev/null
    env "$@" "$BIN" language --hidden 6 --iters 20 --batch 8 --max-distance 15 --names 4 --eval-per-bucket 8 \
        --csv "$out/language.csv" --saliency-csv "$out/language-saliency.csv" --saliency-chart "$out/language-saliency.png" >/dev/null
    env "$@" "$BIN" curves --cells tanh,lstm --hidden 64 --steps 200 --csv "$dir/analysis-$name.csv" >/dev/null
}

fail=0
outputs default
variants="generic-kernel"
outputs generic-kernel GRADLAB_KERNEL=generic
for ct in $CORETYPES; do
    outputs "$ct" OPENBLAS_CORETYPE="$ct"
    variants="$variants $ct"
done
files=$(cd "$dir/default" && ls)
echo "determinism: $(echo "$files" | wc -l) training outputs per variant (every trainable cell, copy and copy-memory tasks, baselines, sweep, charts)"
for v in $variants; do
    for f in $files; do
        if ! cmp -s "$dir/default/$f" "$dir/$v/$f"; then
            echo "determinism: $f differs between the default run and $v" >&2
            fail=1
        fi
    done
    if cmp -s "$dir/analysis-default.csv" "$dir/analysis-$v.csv"; then
        echo "  $v: training outputs identical (analysis CSV identical too)"
    else
        echo "  $v: training outputs identical (analysis CSV differs in the last bits: a different BLAS kernel ran)"
    fi
done
[ "$fail" = 0 ] || exit 1

# The lessons (text byte for byte, figures by pixels) under the other kernels; `make test` checks the default.
for ct in $CORETYPES; do
    echo "determinism: notebook check with OPENBLAS_CORETYPE=$ct"
    OPENBLAS_CORETYPE="$ct" "$BIN" notebook check
done
