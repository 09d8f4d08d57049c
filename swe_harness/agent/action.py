"""A reply -> the one bash command it asks for, or why it asks for none (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# an opening fence ```bash (or ```sh) on its own line, the body, a closing fence on its own line
_BLOCK = re.compile(r"^[ \t]*```(?:bash|sh)[ \t]*\r?\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Action:
    command: str | None  # the command to run, or None with ``error`` set
    error: str | None = None


def parse_action(reply: str) -> Action:
    """Exactly one fenced bash block -> its command; zero or several -> a format error."""
    blocks = _BLOCK.findall(reply or "")
    if not blocks:
        return Action(None, "no ```bash block found in your reply")
    if len(blocks) > 1:
        return Action(None, f"found {len(blocks)} ```bash blocks in your reply; exactly one is "
                            "allowed")
    command = blocks[0].replace("\x00", "").rstrip("\r\n")
    if not command.strip():
        return Action(None, "the ```bash block is empty")
    return Action(command)


def is_submission(output: str, marker: str) -> bool:
    """The command's output starts with the submit marker (leading whitespace aside)."""
    return output.lstrip().startswith(marker)
