"""``SweTaskDataset``: a parquet file from ``prepare`` as a NeMo-RL response dataset.

Named by its dotted path in ``data.train.dataset_name`` (NeMo-RL v0.7.0 resolves dotted paths in
``load_response_dataset``); every row gets ``task_name: swe_harness``, which routes it to the
``swe_harness`` environment and processor. Imports NeMo-RL: only NeMo-RL loads this module.
"""

from __future__ import annotations

from nemo_rl.data.datasets.raw_dataset import RawDataset

from ..prepare import read_rows
from .processor import TASK_NAME


class SweTaskDataset(RawDataset):
    def __init__(self, data_path: str, **kwargs):
        from datasets import Dataset

        self.task_name = TASK_NAME
        rows = [{**row, "task_name": TASK_NAME} for row in read_rows(data_path)]
        if not rows:
            raise ValueError(f"{data_path}: no rows (write it with python -m swe_harness.prepare)")
        self.dataset = Dataset.from_list(rows)
        self.val_dataset = None
