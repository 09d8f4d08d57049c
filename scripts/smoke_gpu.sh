#!/bin/bash
# A 2-step GRPO run on one GPU: a tiny random-weight model of the Qwen3 architecture and a
# byte-level tokenizer, both made here (nothing downloaded), on the bundled tasks.
# Run inside NeMo-RL v0.7.0's environment with this package installed (pip install -e '.[train]').
# Its rewards are 0.0 (a random model never submits a fix): it checks that the pieces run together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export SWE_TINY_MODEL=${SWE_TINY_MODEL:-/tmp/swe-tiny-qwen3}
DATA=${DATA:-/tmp/swe-smoke-data}

"$PY" -m swe_harness.train.tiny model "$SWE_TINY_MODEL"
"$PY" -m swe_harness.prepare --tasks tasks --output-dir "$DATA" --validation-fraction 0.34
"$PY" -m swe_harness images tasks
"$PY" -m swe_harness.train model=tiny cluster=1x1_gpu train.dry_run=true \
  data.train="$DATA/train.parquet" data.validation="$DATA/validation.parquet"
exec "$PY" -m swe_harness.train model=tiny cluster=1x1_gpu \
  data.train="$DATA/train.parquet" data.validation="$DATA/validation.parquet" \
  grpo.max_num_steps=2 grpo.val_period=0 logger.log_dir=/tmp/swe-smoke-logs "$@"
