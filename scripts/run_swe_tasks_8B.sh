#!/bin/bash
# GRPO for Qwen3-8B on one 8xH100 node with NeMo-RL v0.7.0 (run inside NeMo-RL's environment,
# with this package installed into it: pip install -e '.[train]').
#   TASKS=DIR_OR_FILE [VALID_IDS=valid.txt] [OUT=data/swe_tasks] [CLUSTER=nodes] bash scripts/run_swe_tasks_8B.sh [hydra overrides]
# Starting points: colocated vLLM with tensor parallel 2, 8 prompts x 8 samples per prompt,
# lr 1e-6, 32k tokens per episode, 4k new tokens per turn, 20 turns.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
TASKS=${TASKS:-tasks}
OUT=${OUT:-data/swe_tasks}
CLUSTER=${CLUSTER:-1x8_h100}   # nodes for several (with cluster.num_nodes=N)

# 1. the dataset (whole repos in one split; only validated ids when VALID_IDS is given)
"$PY" -m swe_harness.prepare --tasks "$TASKS" --output-dir "$OUT" --split-by repo \
  ${VALID_IDS:+--valid-ids "$VALID_IDS"}
# 2. the task images on this node, before any GPU is busy (the agent images are derived on first use)
"$PY" -m swe_harness images "$TASKS"
# 3. train
exec "$PY" -m swe_harness.train model=qwen3_8b cluster="$CLUSTER" \
  data.train="$OUT/train.parquet" data.validation="$OUT/validation.parquet" \
  policy.generation.colocated.enabled=true policy.generation.vllm_cfg.tensor_parallel_size=2 \
  grpo.num_prompts_per_step=8 grpo.num_generations_per_prompt=8 \
  policy.optimizer.kwargs.lr=1e-6 policy.max_total_sequence_length=32768 \
  policy.generation.max_new_tokens=4096 agent.step_limit=20 "$@"
