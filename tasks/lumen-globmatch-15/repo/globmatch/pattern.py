"""Translate glob patterns to regular expressions and match paths."""

import functools
import re
from typing import Iterable, List, Pattern


def translate(pattern: str) -> str:
    """Translate a glob ``pattern`` into an anchored regular expression string.

    ``*`` and ``?`` never match a ``/``; ``**`` matches across directories.
    """
    i, n = 0, len(pattern)
    out = []
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    # "**/" - any number of leading directories
                    i += 1
                    out.append(".*/")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                # no closing bracket: a literal "["
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j].replace("\\", "\\\\")
                if body[0] in "!^":
                    body = "^/" + body[1:]
                out.append(f"[{body}]")
                i = j + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "(?s:" + "".join(out) + r")\Z"


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Pattern:
    return re.compile(translate(pattern))


def _normalise(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def match(pattern: str, path: str) -> bool:
    """True if the whole of ``path`` matches the glob ``pattern``."""
    return compile_pattern(_normalise(pattern)).match(_normalise(path)) is not None


class PathSpec:
    """An ordered list of include patterns; a leading ``!`` excludes.

    The last pattern that matches a path decides, as in ``.gitignore``.
    """

    def __init__(self, patterns: Iterable[str]):
        self.rules = []
        for p in patterns:
            p = p.strip()
            if not p or p.startswith("#"):
                continue
            negate = p.startswith("!")
            if negate:
                p = p[1:]
            self.rules.append((not negate, p))

    def matches(self, path: str) -> bool:
        result = False
        for include, pattern in self.rules:
            if match(pattern, path):
                result = include
        return result

    def match_files(self, paths: Iterable[str]) -> List[str]:
        return [p for p in paths if self.matches(p)]
