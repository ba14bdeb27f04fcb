"""What every training run shares: device choice, seeding, per-epoch CSV log, progress bar, checkpoints."""

from __future__ import annotations

import csv
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from vadflow.atomic import atomic_path
from vadflow.errors import CheckpointError, ConfigError


def pick_device(preference: str = "auto") -> str:
    """'cuda' when asked for or when auto and a GPU is present, else 'cpu'."""
    import torch

    if preference == "cpu":
        return "cpu"
    if preference == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device: cuda was requested but no CUDA device is available", "use device: auto or cpu")
        return "cuda"
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def set_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(int(threads))


class EpochLogger:
    """Appends one CSV row per epoch (epoch, loss, seconds, extra columns) and flushes it at once."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self._file = None
        self._writer: csv.DictWriter | None = None
        self._t0 = time.perf_counter()
        self.rows: list[dict[str, Any]] = []

    def log(self, epoch: int, loss: float, **extra: float) -> None:
        row = {"epoch": epoch, "loss": float(loss), "seconds": round(time.perf_counter() - self._t0, 3), **extra}
        self.rows.append(row)
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", newline="")
            self._writer = csv.DictWriter(self._file, fieldnames=list(row))
            self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()


def progress(iterable: Iterable, desc: str, total: int | None = None):
    """A tqdm bar on stderr (which the workflow sends to the rule's log)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, mininterval=2.0, dynamic_ncols=True)


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist", "run the training step first (snakemake does)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {exc}", "delete it and retrain") from exc
