"""Chat-template glue for observations that NeMo-RL appends as raw tokens.

NeMo-RL v0.7.0 tokenizes an environment observation with ``tokenizer(content,
add_special_tokens=False)`` and appends it after the generated tokens, with no chat template
(``run_multi_turn_rollout``). So the environment writes the template's turn boundaries itself:
close the assistant turn, open the user turn, the observation, close it, open the next assistant
turn. The glue is derived from the tokenizer's own chat template, never hard-coded: render a
conversation that ends with an assistant marker, once on its own and once with one more user turn
and the generation prompt, and read what the template puts between and after the markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_REPLY = "\x00SWE_REPLY\x00"
_OBS = "\x00SWE_OBSERVATION\x00"


class GlueError(ValueError):
    """The chat template cannot be read as turns (e.g. it drops or reorders the probe turns)."""


@dataclass(frozen=True)
class ChatTokenizer:
    """What the environment needs from a tokenizer: render a chat, count tokens, the EOS text.

    Built from a transformers tokenizer (NeMo-RL's ``get_tokenizer``) or, without transformers,
    from a local directory holding ``tokenizer.json`` and ``tokenizer_config.json``.
    """

    render: Callable[..., str]  # (messages, add_generation_prompt) -> text
    count: Callable[[str], int]
    eos_token: str | None

    @classmethod
    def from_hf(cls, tokenizer, chat_template_kwargs: dict | None = None) -> "ChatTokenizer":
        kwargs = dict(chat_template_kwargs or {})

        def render(messages, add_generation_prompt=False):
            return tokenizer.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=add_generation_prompt,
                                                 **kwargs)

        def count(text):
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

        return cls(render, count, tokenizer.eos_token)

    @classmethod
    def from_template(cls, template: str, tokenizer=None, *, eos_token: str | None = None,
                      bos_token: str | None = None,
                      chat_template_kwargs: dict | None = None) -> "ChatTokenizer":
        """A jinja chat template rendered the way transformers renders it, with a
        ``tokenizers.Tokenizer`` (or None: counts become character counts) for counting."""
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message):
            raise jinja2.TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                            extensions=["jinja2.ext.loopcontrols"])
        env.globals["raise_exception"] = raise_exception
        env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent,
                                                                       ensure_ascii=False)
        compiled = env.from_string(template)
        extra = dict(chat_template_kwargs or {})

        def render(messages, add_generation_prompt=False):
            return compiled.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                   eos_token=eos_token, bos_token=bos_token, **extra)

        def count(text):
            if tokenizer is None:
                return len(text)
            return len(tokenizer.encode(text, add_special_tokens=False).ids)

        return cls(render, count, eos_token)

    @classmethod
    def from_dir(cls, path: str | Path, chat_template: str | None = None,
                 chat_template_kwargs: dict | None = None) -> "ChatTokenizer":
        """``tokenizer.json`` + ``tokenizer_config.json`` (its ``chat_template``, or a
        ``chat_template.jinja`` beside it) with the ``tokenizers`` library only."""
        from tokenizers import Tokenizer

        path = Path(path)
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        template = chat_template or config.get("chat_template")
        if template is None and (path / "chat_template.jinja").is_file():
            template = (path / "chat_template.jinja").read_text(encoding="utf-8")
        if not template:
            raise GlueError(f"{path}: no chat template (tokenizer_config.json chat_template)")

        def token(name):
            value = config.get(name)
            return value.get("content") if isinstance(value, dict) else value

        return cls.from_template(template, Tokenizer.from_file(str(path / "tokenizer.json")),
                                 eos_token=token("eos_token"), bos_token=token("bos_token"),
                                 chat_template_kwargs=chat_template_kwargs)


def load_chat_tokenizer(config: dict) -> ChatTokenizer:
    """From NeMo-RL's ``policy.tokenizer`` section: ``name`` (hub id or local dir),
    ``chat_template`` and ``chat_template_kwargs``. A local dir loads without transformers."""
    name = config["name"]
    template = config.get("chat_template")
    if template and template.lower() != "default" and template.endswith(".jinja"):
        template = Path(template).read_text(encoding="utf-8")
    elif template and template.lower() == "default":
        template = None
    kwargs = config.get("chat_template_kwargs") or {}
    local = Path(name)
    try:
        from transformers import AutoTokenizer
    except ImportError:
        AutoTokenizer = None
    if AutoTokenizer is None:
        if not (local / "tokenizer.json").is_file():
            raise GlueError(f"tokenizer {name!r}: not a local tokenizer dir and transformers is "
                            "not installed")
        return ChatTokenizer.from_dir(local, template, kwargs)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=True)
    if template:
        tokenizer.chat_template = template
    return ChatTokenizer.from_hf(tokenizer, kwargs)


@dataclass(frozen=True)
class Glue:
    """Text around an observation so that raw-token appending reproduces the chat template.

    ``before`` closes the assistant turn and opens the observation's turn; when the template
    closes assistant turns with the EOS token, the EOS that ended generation is already in the
    token ids, so ``before`` starts after it. ``after`` closes the observation's turn and opens the
    next assistant turn (generation prompt included, e.g. Qwen3's empty think block when thinking
    is off).
    """

    before: str
    after: str
    assistant_close: str  # what the template writes after an assistant reply (e.g. "<|im_end|>\n")
    role: str = "user"

    def wrap(self, observation: str) -> str:
        return self.before + observation + self.after


def derive_glue(tokenizer: ChatTokenizer, role: str = "user") -> Glue:
    system = {"role": "system", "content": "s"}
    user = {"role": "user", "content": "u"}
    reply = {"role": "assistant", "content": _REPLY}
    alone = tokenizer.render([system, user, reply], add_generation_prompt=False)
    more = tokenizer.render([system, user, reply, {"role": role, "content": _OBS}],
                            add_generation_prompt=True)
    for text, markers in ((alone, [_REPLY]), (more, [_REPLY, _OBS])):
        for marker in markers:
            if text.count(marker) != 1:
                raise GlueError("the chat template does not render each probe turn exactly once")
    close = alone[alone.index(_REPLY) + len(_REPLY):]
    between = more[more.index(_REPLY) + len(_REPLY):more.index(_OBS)]
    after = more[more.index(_OBS) + len(_OBS):]
    if not between.startswith(close.rstrip()):
        raise GlueError(f"assistant turns close with {close!r} alone but with {between!r} "
                        "before the next turn")
    eos = tokenizer.eos_token
    before = between[len(eos):] if eos and between.startswith(eos) else between
    return Glue(before=before, after=after, assistant_close=close, role=role)


def strip_thinking(reply: str, tags: tuple[str, str] | list[str] | None = ("<think>", "</think>")
                   ) -> str:
    """The part of a reply after its reasoning block (Qwen3 ``<think>…</think>``), which the
    episode parses; the whole reply stays in the token stream that is trained on."""
    if not tags:
        return reply
    _, close = tags
    if close in reply:
        return reply.rsplit(close, 1)[1].lstrip("\n")
    return reply
