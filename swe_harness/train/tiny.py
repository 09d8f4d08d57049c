"""A tokenizer (and, with transformers + torch, a random-weight model) made locally.

For tests, the dry run and the GPU smoke run: nothing is downloaded. The tokenizer is byte-level
(every byte one token, so decoding gives back exactly the text), with Qwen-style special tokens and
a chat template in the Qwen3 style written here: ``<|im_start|>role\\n…<|im_end|>``, a
``<think>…</think>`` block on the latest assistant turn, an empty one in the generation prompt
when ``enable_thinking`` is false.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]

CHAT_TEMPLATE = """\
{%- set ns = namespace(last_user=-1) -%}
{%- for m in messages -%}{%- if m.role == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}{%- endfor -%}
{%- for m in messages -%}
{%- if m.role == 'assistant' -%}
{%- set content = m.content -%}
{%- set reasoning = '' -%}
{%- if '</think>' in content -%}
{%- set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') -%}
{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}
{%- endif -%}
{%- if loop.index0 > ns.last_user and (loop.last or reasoning) -%}
{{- '<|im_start|>assistant\\n<think>\\n' + reasoning + '\\n</think>\\n\\n' + content + '<|im_end|>\\n' -}}
{%- else -%}
{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' -}}
{%- endif -%}
{%- else -%}
{{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\\n' -}}
{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}
{%- endif -%}"""


def make_tokenizer(path: str | Path, chat_template: str = CHAT_TEMPLATE) -> Path:
    """Write ``tokenizer.json`` + ``tokenizer_config.json`` (loadable by the ``tokenizers``
    library and by ``transformers.AutoTokenizer``) into ``path``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(SPECIAL)
    tokenizer.save(str(path / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1 << 20,
        "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "bos_token": None,
        "chat_template": chat_template,
    }
    (path / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    return path


def make_model(path: str | Path, hidden_size: int = 64, layers: int = 2) -> Path:
    """A random-weight Qwen3-architecture model with the local tokenizer, for GPU smoke runs
    (needs transformers and torch)."""
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    path = make_tokenizer(path)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    config = Qwen3Config(vocab_size=len(tokenizer), hidden_size=hidden_size,
                         intermediate_size=hidden_size * 2, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                         max_position_embeddings=1 << 16, tie_word_embeddings=True,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    Qwen3ForCausalLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


if __name__ == "__main__":
    import sys

    target = sys.argv[2] if len(sys.argv) > 2 else sys.argv[1]
    made = make_model(target) if sys.argv[1] == "model" else make_tokenizer(target)
    print(made)
