#!/bin/bash
set -e
cd /workspace
python -m unittest -v tests.test_pattern
