#!/bin/bash
# One command for tern's small BitNet b1.58 model: data -> tokenizer -> training -> HF export ->
# independent reference numbers. Safe to run in the background:
#
#   nohup tools/train/run_all.sh > build/train.log 2>&1 &
#
# Usage: tools/train/run_all.sh [WORK_DIR]          (default WORK_DIR: build/train)
# Environment (all optional):
#   MINUTES=55       training time budget (the cosine schedule ends exactly there)
#   VOCAB=4096       tokenizer vocabulary size
#   TRAIN_ARGS=...   extra train.py flags (size: --hidden --layers --heads --kv-heads --ffn --ctx --batch;
#                    --steps N for a step-based, bit-reproducible schedule instead of the time budget)
#   REF_ARGS=...     extra reference.py flags (e.g. --chunks 50 for a quick check)
#   FIXTURE=path     where reference.py writes its JSON (default tests/fixtures/train/reference.json)
#   RESUME=1         continue the training in WORK_DIR/run from its checkpoint
#   TERN=path        tern binary for the final checks (default build/tern; skipped without `convert`)
# Needs Debian packages: python3-torch python3-numpy python3-sentencepiece bible-kjv bible-kjv-text
# fortunes, and libopenblas0-serial (torch's BLAS is otherwise the reference BLAS, ~20x slower).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-$ROOT/build/train}
MINUTES=${MINUTES:-55}
VOCAB=${VOCAB:-4096}
FIXTURE=${FIXTURE:-$ROOT/tests/fixtures/train/reference.json}
PY=/usr/bin/python3
T=$ROOT/tools/train

# torch 1.13 from Debian calls the libblas.so.3 alternative, by default the slow reference BLAS.
# Point only this process at OpenBLAS (serial: one core, deterministic) without changing the
# system-wide alternative.
OB=/usr/lib/x86_64-linux-gnu/openblas-serial
if [ -e "$OB/libblas.so.3" ]; then
  export LD_LIBRARY_PATH=$OB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
else
  echo "run_all: WARNING: $OB missing (apt-get install libopenblas0-serial): training will be ~20x slower" >&2
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

mkdir -p "$WORK"
echo "run_all: $(date -u +%FT%TZ) work dir $WORK, budget $MINUTES min"
$PY "$T/prepare_data.py" --out "$WORK/data"
$PY "$T/train_tokenizer.py" --data "$WORK/data" --out "$WORK/tokenizer" --vocab "$VOCAB"
resume=()
if [ "${RESUME:-0}" = 1 ]; then resume=(--resume); fi
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of flags
$PY "$T/train.py" --data "$WORK/data" --tokenizer "$WORK/tokenizer/tokenizer.model" --out "$WORK/run" \
  --minutes "$MINUTES" --eval-every 200 "${resume[@]}" ${TRAIN_ARGS:-}
# shellcheck disable=SC2086
$PY "$T/reference.py" --model "$WORK/run/hf" --text "$WORK/data/heldout.txt" --out "$FIXTURE" ${REF_ARGS:-}
echo "run_all: $(date -u +%FT%TZ) trained: checkpoint $WORK/run/hf, results $WORK/run/result.json, reference $FIXTURE"
# tern itself, when it is built with `convert`: I2_S GGUF, then perplexity and greedy text against
# the reference (a mismatch is reported, not fatal: the trained model is kept either way).
TERN=${TERN:-$ROOT/build/tern}
if [ -x "$TERN" ] && "$TERN" --help 2>&1 | grep -q convert; then
  "$TERN" convert "$WORK/run/hf" -o "$WORK/model-i2_s.gguf" --outtype i2_s --name tern-kjv-small
  $PY "$T/compare_tern.py" --tern "$TERN" --gguf "$WORK/model-i2_s.gguf" --text "$WORK/data/heldout.txt" \
    --ref "$FIXTURE" || echo "run_all: tern differs from the reference (see above)"
else
  echo "run_all: $TERN has no convert: skipped the tern checks"
fi
echo "run_all: $(date -u +%FT%TZ) done"
