"""Path glob matching with ``**`` support."""

from .pattern import PathSpec, compile_pattern, match, translate

__all__ = ["PathSpec", "compile_pattern", "match", "translate"]
__version__ = "1.2.0"
