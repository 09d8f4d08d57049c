#!/bin/bash
set -e
cd /workspace
python setup.py build_ext --inplace --force
python -m pytest tests/test_crc.py -xvs
