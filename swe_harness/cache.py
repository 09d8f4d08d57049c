"""The per-run reward cache: an identical evaluation runs once.

GRPO groups often produce identical patches. What decides an evaluation is the image (by id, not
by tag), the eval script, the test patch and the files reset before it, the candidate, the
workdir and the timeout; the key is a hash of exactly those. Results are files in one
run-scoped directory, so xdist workers share them; a lock per key makes a second identical
evaluation wait for the first instead of running in parallel. Errors are never cached: an
infrastructure failure deserves a retry, not a replay.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

from .evaluate import EvalResult


class ResultCache:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @staticmethod
    def key(image_id: str, eval_script: str, test_patch: str, reset_files: list[str],
            candidate: str, workdir: str, timeout_s: float) -> str:
        parts = [image_id, eval_script, test_patch, reset_files, candidate, workdir, timeout_s]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    @contextmanager
    def entry(self, key: str) -> Iterator[tuple[EvalResult | None, Callable[[EvalResult], None]]]:
        """Hold the key's lock; yield (the cached result or None, a function that stores one)."""
        from filelock import FileLock

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{key}.json"
        with FileLock(str(path) + ".lock"):
            cached = EvalResult(**json.loads(path.read_text())) if path.exists() else None

            def store(result: EvalResult) -> None:
                if result.status != "error":
                    tmp = path.with_suffix(".tmp")
                    tmp.write_text(json.dumps(asdict(result)))
                    tmp.replace(path)

            yield cached, store

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
