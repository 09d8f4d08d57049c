from setuptools import Extension, setup

setup(
    name="fastcrc",
    version="0.2.0",
    description="CRC-32 and Adler-32 checksums in C",
    packages=["fastcrc"],
    ext_modules=[
        Extension("fastcrc._crc", sources=["src/crcmodule.c"], extra_compile_args=["-O2"]),
    ],
    python_requires=">=3.8",
)
