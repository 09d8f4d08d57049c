import random
import zlib

import pytest

import fastcrc

PAYLOADS = [
    b"",
    b"a",
    b"hello world",
    b"The quick brown fox jumps over the lazy dog",
    bytes(range(256)) * 4,
    random.Random(42).randbytes(100_000),
]


@pytest.mark.parametrize("data", PAYLOADS, ids=lambda d: f"{len(d)}B")
def test_crc32_matches_zlib(data):
    assert fastcrc.crc32(data) == zlib.crc32(data)


def test_crc32_known_value():
    assert fastcrc.crc32(b"123456789") == 0xCBF43926


@pytest.mark.parametrize("data", PAYLOADS, ids=lambda d: f"{len(d)}B")
def test_adler32_matches_zlib(data):
    assert fastcrc.adler32(data) == zlib.adler32(data)


def test_adler32_continuation():
    data = random.Random(7).randbytes(20_000)
    assert fastcrc.adler32(data[5000:], fastcrc.adler32(data[:5000])) == zlib.adler32(data)


def test_accepts_buffer_protocol():
    data = b"buffer protocol"
    assert fastcrc.crc32(bytearray(data)) == zlib.crc32(data)
    assert fastcrc.crc32(memoryview(data)) == zlib.crc32(data)


def test_rejects_str():
    with pytest.raises(TypeError):
        fastcrc.crc32("not bytes")


def test_crc32_file_small(tmp_path):
    path = tmp_path / "small.bin"
    path.write_bytes(b"hello world")
    assert fastcrc.crc32_file(path) == zlib.crc32(b"hello world")
