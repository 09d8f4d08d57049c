# Makes the repo root importable for `pytest` run from it (the package is not installed).
