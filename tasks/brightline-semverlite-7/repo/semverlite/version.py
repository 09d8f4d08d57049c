"""Parsing, formatting, bumping and ordering of semantic versions."""

import functools
import re
from typing import Iterable, Optional, Tuple

_NUM = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION_RE = re.compile(
    rf"""^
    (?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})
    (?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?
    (?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?
    $""",
    re.VERBOSE,
)


class InvalidVersion(ValueError):
    """Raised when a string is not a valid semantic version."""


@functools.total_ordering
class Version:
    """A semantic version: ``MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]``."""

    __slots__ = ("major", "minor", "patch", "prerelease", "build")

    def __init__(
        self,
        major: int,
        minor: int = 0,
        patch: int = 0,
        prerelease: Tuple[str, ...] = (),
        build: Tuple[str, ...] = (),
    ):
        for name, value in (("major", major), ("minor", minor), ("patch", patch)):
            if not isinstance(value, int) or value < 0:
                raise InvalidVersion(f"{name} must be a non-negative int, got {value!r}")
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = tuple(prerelease)
        self.build = tuple(build)

    @classmethod
    def parse(cls, text: str) -> "Version":
        m = _VERSION_RE.match(text.strip())
        if not m:
            raise InvalidVersion(f"not a semantic version: {text!r}")
        pre = tuple(m.group("pre").split(".")) if m.group("pre") else ()
        for ident in pre:
            if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
                raise InvalidVersion(f"numeric identifier with leading zero: {ident!r}")
        build = tuple(m.group("build").split(".")) if m.group("build") else ()
        return cls(int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre, build)

    # -- formatting -------------------------------------------------------
    def __str__(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            s += "-" + ".".join(self.prerelease)
        if self.build:
            s += "+" + ".".join(self.build)
        return s

    def __repr__(self) -> str:
        return f"Version.parse({str(self)!r})"

    # -- bumping ----------------------------------------------------------
    def bump_major(self) -> "Version":
        return Version(self.major + 1, 0, 0)

    def bump_minor(self) -> "Version":
        return Version(self.major, self.minor + 1, 0)

    def bump_patch(self) -> "Version":
        if self.prerelease:
            # 1.2.3-rc.1 -> 1.2.3
            return Version(self.major, self.minor, self.patch)
        return Version(self.major, self.minor, self.patch + 1)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    # -- ordering ---------------------------------------------------------
    def _key(self):
        # build metadata does not take part in precedence
        return (self.major, self.minor, self.patch, self.prerelease)

    def __eq__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())


def max_version(versions: Iterable, include_prerelease: bool = False) -> Optional[Version]:
    """Highest version in ``versions`` (strings or Version objects), or None."""
    best = None
    for v in versions:
        if not isinstance(v, Version):
            v = Version.parse(v)
        if v.is_prerelease and not include_prerelease:
            continue
        if best is None or v > best:
            best = v
    return best
