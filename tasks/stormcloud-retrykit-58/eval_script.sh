#!/bin/bash
set -e
cd /workspace
python -m pytest tests/test_backoff.py tests/test_retry.py -xvs
