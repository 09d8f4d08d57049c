"""The per-run reward cache: an identical evaluation runs once.

GRPO groups often produce identical patches. The key is the hash of the evaluation's spec
(spec.py): exactly what enters the container (image id, files, environment, limits, network,
timeout) and the harness version. Results are files in one
run-scoped directory, so xdist workers share them; a lock per key makes a second identical
evaluation wait for the first instead of running in parallel. Errors and timeouts are never
cached: an infrastructure failure or a slow machine deserves a retry, not a replay.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

from .result import EvalResult


UNCACHED = ("error", "timeout")


class ResultCache:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @contextmanager
    def entry(self, key: str) -> Iterator[tuple[EvalResult | None, Callable[[EvalResult], None]]]:
        """Hold the key's lock; yield (the cached result or None, a function that stores one)."""
        from filelock import FileLock

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{key}.json"
        with FileLock(str(path) + ".lock"):
            cached = EvalResult.from_dict(json.loads(path.read_text())) if path.exists() else None

            def store(result: EvalResult) -> None:
                if result.status not in UNCACHED:
                    tmp = path.with_suffix(".tmp")
                    tmp.write_text(json.dumps(asdict(result)))
                    tmp.replace(path)

            yield cached, store

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
