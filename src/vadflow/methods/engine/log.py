"""Training progress as a CSV (``train_log.csv``) and the checkpoint files of training.

The log has one row per epoch (or per ``log_every`` steps in iteration mode): the stage,
epoch, optimiser step, the mean of each loss term the method returns, and the seconds since
training started. Its rows travel inside the resume checkpoint, so a resumed run writes the
same log as one that was never interrupted (apart from the seconds).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from vadflow.atomic import atomic_path
from vadflow.errors import CheckpointError

FIRST = ("stage", "epoch", "step")


class TrainLog:
    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.rows: list[dict[str, Any]] = []
        self._t0 = time.perf_counter()
        self._offset = 0.0  # seconds spent before a resume

    def log(self, **row: Any) -> None:
        """Append a row (``seconds`` is added) and rewrite the file: rows may bring new loss terms."""
        self.rows.append({**row, "seconds": round(self._offset + time.perf_counter() - self._t0, 3)})
        self.write()

    def restore(self, rows: list[dict[str, Any]]) -> None:
        """Continue from a checkpoint's rows."""
        self.rows = [dict(r) for r in rows]
        self._offset = float(self.rows[-1]["seconds"]) if self.rows else 0.0
        self._t0 = time.perf_counter()
        self.write()

    def columns(self) -> list[str]:
        seen = dict.fromkeys(c for c in FIRST if any(c in r for r in self.rows))
        for r in self.rows:
            seen.update(dict.fromkeys(k for k in r if k != "seconds"))
        return [*seen, "seconds"]

    def write(self) -> None:
        if self.path is None:
            return
        with atomic_path(self.path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.columns(), restval="")
                writer.writeheader()
                writer.writerows(self.rows)

    def close(self) -> None:
        self.write()


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by ``save_checkpoint``: tensors and plain values only, loaded with
    ``weights_only=True`` (a checkpoint a user points us at cannot run code when unpickled)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist", "run the training step first (snakemake does)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {exc}", "delete it and retrain") from exc
