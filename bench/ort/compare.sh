#!/bin/sh
# compare.sh - docrag vs ONNX Runtime on the same MiniLM-L6-shaped encoder
# and weights, alternating the two per configuration so both see the same
# machine load. Prints the raw lines of both runners.
#
#   sh bench/ort/compare.sh BUILD_DIR [WORK_DIR]
#
# Needs: BUILD_DIR/bench_encoder, python3-onnx + numpy (/usr/bin/python3),
# node, and `npm install --ignore-scripts` run once in bench/ort/.
set -eu
build=${1:?usage: compare.sh BUILD_DIR [WORK_DIR]}
work=${2:-/tmp/docrag-ort}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
if [ ! -f "$work/enc_int8.onnx" ]; then
    "$build/bench_encoder" --dump "$work" --precisions none --no-rerank >/dev/null
    /usr/bin/python3 "$here/make_onnx.py" "$work/encoder" "$work/enc_f32.onnx"
    /usr/bin/python3 "$here/make_onnx.py" "$work/encoder" "$work/enc_int8.onnx" --int8
fi
iters=${ITERS:-3}
for prec in f32 int8; do
    for thr in 1 2; do
        for seq in 128 256; do
            "$build/bench_encoder" --dump "$work" --precisions $prec --threads $thr --seqs $seq \
                --iters "$iters" --no-rerank | tail -n +3 | grep -v '^$\|peak RSS\|info:' | sed 's/^/docrag  /'
            node "$here/run_ort.js" "$work/enc_$prec.onnx" --threads $thr --seqs $seq \
                --iters "$iters" | tail -n +2 | sed 's/^/ort     /'
        done
    done
done
