"""Repo-level pytest setup: the swe_harness plugin is loaded through its pytest11 entry point
(``pip install -e .``); the bundled tasks' own repos are never collected as this project's tests."""

collect_ignore = ["tasks", "benchmarks", "scripts"]
