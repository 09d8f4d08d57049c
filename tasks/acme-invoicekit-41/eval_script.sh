#!/bin/bash
set -e
cd /workspace
python -m pytest tests/test_money.py tests/test_render.py tests/test_invoice.py -xvs
