"""CRC-32 and Adler-32 checksums implemented in C."""

import os

from ._crc import adler32, crc32

__all__ = ["adler32", "crc32", "crc32_file"]
__version__ = "0.2.0"


def crc32_file(path, chunk_size=1 << 16):
    """CRC-32 of a file's contents, read ``chunk_size`` bytes at a time."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    value = 0
    with open(os.fspath(path), "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                return value
            value = crc32(chunk, value)
