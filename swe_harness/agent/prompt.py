"""The messages an episode sends: templates rendered with jinja2, observations truncated
head+tail with a note of what was cut (pure)."""

from __future__ import annotations

import functools

from .config import AgentConfig


@functools.lru_cache(maxsize=64)
def _template(source: str):
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    return env.from_string(source)


def render(source: str, **fields) -> str:
    return _template(source).render(**fields)


def truncate(text: str, max_chars: int, tail: str = "", dropped_bytes: int = 0) -> tuple[str, int]:
    """Keep the head and the tail of the output within ``max_chars``, with a note in between
    saying how much was cut. The output is ``text + tail``, or, when the shell already dropped
    ``dropped_bytes`` between them, ``text`` [dropped] ``tail``. Returns the text and how many
    characters were cut here."""
    if not dropped_bytes:
        text, tail = text + tail, ""
        if len(text) <= max_chars:
            return text, 0
        tail = text[len(text) // 2:]
        text = text[:len(text) // 2]
    keep_head = max_chars // 2
    head_part = text[:keep_head]
    tail_part = tail[max(0, len(tail) - (max_chars - len(head_part))):]
    cut = len(text) - len(head_part) + len(tail) - len(tail_part)
    what = f"{cut} characters" + (f" and {dropped_bytes} bytes" if dropped_bytes else "")
    note = f"\n\n[... {what} cut from the middle of the output ...]\n\n"
    return head_part + note + tail_part, cut


def decode(data: bytes) -> str:
    """Bytes that are not UTF-8 become U+FFFD; NUL bytes are dropped (they break some tokenizers
    and JSON consumers)."""
    return data.decode("utf-8", "replace").replace("\x00", "")


def opening_messages(config: AgentConfig, **fields) -> list[dict]:
    fields = {"step_limit": config.step_limit, "command_timeout_s": config.command_timeout_s,
              "submit_marker": config.submit_marker, **fields}
    return [{"role": "system", "content": render(config.system_template, **fields)},
            {"role": "user", "content": render(config.instance_template, **fields)}]


def format_error(config: AgentConfig, error: str) -> str:
    return render(config.format_error_template, error=error, submit_marker=config.submit_marker)


def observation(config: AgentConfig, output: str, exit_code: int | None, *, tail: str = "",
                dropped_bytes: int = 0, timed_out: bool = False,
                restarted: bool = False) -> tuple[str, bool]:
    """The observation text, and whether any output was cut (by the shell or here)."""
    text, cut = truncate(output, config.observation_max_chars, tail, dropped_bytes)
    if text and not text.endswith("\n"):
        text += "\n"
    truncated = bool(cut or dropped_bytes)
    rendered = render(config.observation_template, output=text, exit_code=exit_code,
                      timed_out=timed_out, restarted=restarted, truncated=truncated,
                      command_timeout_s=config.command_timeout_s)
    return rendered, truncated
