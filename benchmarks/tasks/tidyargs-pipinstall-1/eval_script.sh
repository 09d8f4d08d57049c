#!/bin/bash
set -e
cd /workspace
pip install -e ".[tests]" || pip install -e . || true
python -m pytest tests/test_parse.py -v
