"""Models that write the agent's replies: ``Model.query(messages) -> Reply``.

``ScriptedModel`` replays a list of replies (or a recorded trajectory's); ``OpenAIChatModel``
calls any OpenAI-compatible chat-completions endpoint (vLLM's ``serve``, hosted APIs). A prompt
over the model's context raises :class:`ContextLimitExceeded`, which the driver turns into the
``context_limit`` ending; any other failure after the retries raises :class:`ModelError`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Reply:
    text: str
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens, ...


class ModelError(Exception):
    """The model could not answer (endpoint down after retries, script exhausted)."""


class ContextLimitExceeded(ModelError):
    """The conversation no longer fits the model's context: the episode ends as context_limit."""


class Model(Protocol):
    def query(self, messages: list[dict]) -> Reply: ...


class ScriptedModel:
    """Replies from a list, in order; past its end, ModelError."""

    def __init__(self, replies: Iterable[str]):
        self.replies = list(replies)
        self.calls = 0

    @classmethod
    def from_trajectory(cls, record: dict) -> ScriptedModel:
        """Replay the assistant messages of a trajectory line (rollout's trajectories.jsonl)."""
        return cls(m["content"] for m in record.get("messages", []) if m.get("role") == "assistant")

    def query(self, messages: list[dict]) -> Reply:
        if self.calls >= len(self.replies):
            raise ModelError(f"the script has only {len(self.replies)} replies")
        self.calls += 1
        return Reply(self.replies[self.calls - 1])


_CONTEXT_ERROR = re.compile(
    r"context[ _-]?length|maximum context|context window|too many tokens|prompt is too long|"
    r"max_model_len|exceeds the model", re.I)


class OpenAIChatModel:
    """An OpenAI-compatible chat-completions endpoint through the ``openai`` package.

    ``base_url``/``api_key`` default to ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` (a local server
    needs no key: "EMPTY"). The client retries 429, 5xx, connection errors and timeouts with
    exponential backoff (``max_retries``). Token usage adds up in ``usage``.
    """

    def __init__(self, name: str, base_url: str | None = None, api_key: str | None = None, *,
                 temperature: float | None = None, top_p: float | None = None,
                 max_tokens: int | None = None, stop: Sequence[str] | None = None,
                 timeout_s: float = 600, max_retries: int = 5, extra_body: dict | None = None):
        from openai import OpenAI

        if not name:
            raise ValueError("OpenAIChatModel needs a model name (model.name=...)")
        self.name = name
        self.client = OpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
            timeout=timeout_s, max_retries=max_retries)
        self.params = {k: v for k, v in {"temperature": temperature, "top_p": top_p,
                                         "max_tokens": max_tokens,
                                         "stop": list(stop) if stop else None}.items()
                       if v is not None}
        self.extra_body = extra_body or None
        self.usage: dict[str, int] = {}
        self._lock = threading.Lock()

    def query(self, messages: list[dict]) -> Reply:
        import openai

        started = time.monotonic()
        try:
            response = self.client.chat.completions.create(
                model=self.name, messages=messages, extra_body=self.extra_body, **self.params)
        except openai.BadRequestError as exc:
            if getattr(exc, "code", None) == "context_length_exceeded" or _CONTEXT_ERROR.search(
                    str(exc)):
                raise ContextLimitExceeded(str(exc)) from exc
            raise ModelError(f"the endpoint refused the request: {exc}") from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"{type(exc).__name__}: {exc}") from exc
        if not response.choices:
            raise ModelError("the endpoint answered with no choices")
        choice = response.choices[0]
        usage = {}
        if response.usage is not None:
            usage = {k: int(v) for k, v in response.usage.model_dump().items()
                     if isinstance(v, int)}
        usage["latency_ms"] = int((time.monotonic() - started) * 1000)
        with self._lock:
            for key, value in usage.items():
                self.usage[key] = self.usage.get(key, 0) + value
        if choice.finish_reason == "length" and not (choice.message.content or "").strip():
            raise ContextLimitExceeded("the model had no room left to answer (finish_reason "
                                       "'length' with an empty reply)")
        return Reply(choice.message.content or "", usage)
