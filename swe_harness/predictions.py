"""Model predictions in the SWE-bench format: JSONL of ``{"instance_id", "model_patch"}``."""

from __future__ import annotations

import json
from pathlib import Path


class PredictionError(Exception):
    """A prediction line that cannot be used; names the file and line."""


def load_predictions(path: str | Path) -> tuple[dict[str, str], list[PredictionError]]:
    """``instance_id -> model_patch``; bad lines come back as errors and lose nothing else.

    A ``null`` model_patch counts as the empty patch. A repeated instance_id is an error (which
    of two answers would be graded is not ours to guess); the first one is kept.
    """
    path = Path(path)
    predictions: dict[str, str] = {}
    errors: list[PredictionError] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [PredictionError(f"{path}: cannot read predictions: {exc}")]
    if path.suffix == ".json" and lines and lines[0].lstrip().startswith("["):
        try:
            records = list(enumerate(json.loads("\n".join(lines)), 1))
        except json.JSONDecodeError as exc:
            return {}, [PredictionError(f"{path}: invalid JSON: {exc.msg}")]
    else:
        records = []
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                errors.append(PredictionError(f"{path}:{lineno}: invalid JSON: {exc.msg}"))
    for lineno, record in records:
        where = f"{path}:{lineno}"
        if not isinstance(record, dict):
            errors.append(PredictionError(f"{where}: a prediction must be a JSON object"))
            continue
        iid, patch = record.get("instance_id"), record.get("model_patch", "")
        if not isinstance(iid, str) or not iid:
            errors.append(PredictionError(f"{where}: field 'instance_id' missing or not a string"))
        elif patch is not None and not isinstance(patch, str):
            errors.append(PredictionError(f"{where} [{iid}]: field 'model_patch' must be a string"))
        elif iid in predictions:
            errors.append(PredictionError(f"{where} [{iid}]: duplicate instance_id"))
        else:
            predictions[iid] = patch or ""
    return predictions, errors
