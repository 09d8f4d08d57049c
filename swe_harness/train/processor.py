"""``swe_data_processor``: one row written by ``prepare`` -> NeMo-RL's ``DatumSpec``.

The row's ``prompt`` (the agent's opening messages) is chat-templated with the generation prompt
and tokenized as one message; ``extra_env_info`` stays small (the instance id and the prompt's
token count, which the env uses for its context budget). A prompt that does not fit gets
``loss_multiplier`` 0, is cut to a few tokens (as NeMo-RL's own processors do) and is marked so
the env starts no container for it.
"""

from __future__ import annotations

from typing import Any

TASK_NAME = "swe_harness"


def swe_data_processor(datum_dict: dict[str, Any], task_data_spec, tokenizer,
                       max_seq_length: int, idx: int) -> dict:
    messages = [{"role": m["role"], "content": m["content"]} for m in datum_dict["prompt"]]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    token_ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"][0]
    length = len(token_ids)
    extra_env_info = {"instance_id": datum_dict["instance_id"], "prompt_tokens": length,
                      "turn": 0}
    loss_multiplier = 1.0
    if length >= max_seq_length:
        token_ids = token_ids[:min(4, max_seq_length)]
        loss_multiplier = 0.0
        extra_env_info["prompt_too_long"] = True
    return {
        "message_log": [{"role": "user", "content": text, "token_ids": token_ids}],
        "length": len(token_ids),
        "extra_env_info": extra_env_info,
        "loss_multiplier": loss_multiplier,
        "idx": idx,
        "task_name": datum_dict.get("task_name") or getattr(task_data_spec, "task_name", None)
        or TASK_NAME,
    }
