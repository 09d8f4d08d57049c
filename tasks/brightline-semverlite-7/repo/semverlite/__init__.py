"""Tiny Semantic Versioning 2.0.0 parser."""

from .version import InvalidVersion, Version, max_version

__all__ = ["InvalidVersion", "Version", "max_version"]
__version__ = "0.3.0"
