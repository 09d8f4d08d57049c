#!/bin/bash
set -e
cd /workspace
python -m pytest tests/test_precedence.py -xvs
