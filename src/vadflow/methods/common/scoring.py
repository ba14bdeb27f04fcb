"""The one windowed scorer: a model scores overlapping windows; a frame gets the mean over
the windows that contain it (clip auto-encoders on frames, recurrent models on feature rows)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from vadflow.windows import pad_to, sliding_windows


def windowed_errors(
    n_frames: int,
    length: int,
    window_errors: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int,
) -> torch.Tensor:
    """Per-frame mean of per-window errors.

    ``window_errors`` takes frame indices (B, length) of windows (stride 1) and returns their
    errors (B, length, ...) (per frame of each window, optionally per pixel). A video shorter
    than one window is scored as one window of its frames with the last one repeated (callers
    pad their data with ``pad_to``). Returns float64 (n_frames, ...) on the CPU.
    """
    n = max(n_frames, length)
    windows = torch.from_numpy(sliding_windows(n, length))
    err_sum = counts = None
    for b in range(0, len(windows), batch_size):
        win = windows[b : b + batch_size]
        err = window_errors(win).double().cpu()  # (B, L, ...)
        if err_sum is None:
            err_sum = torch.zeros((n,) + tuple(err.shape[2:]), dtype=torch.float64)
            counts = torch.zeros(n, dtype=torch.float64)
        err_sum.index_add_(0, win.reshape(-1), err.reshape(-1, *err.shape[2:]))
        counts.index_add_(0, win.reshape(-1), torch.ones(win.numel(), dtype=torch.float64))
    view = (-1,) + (1,) * (err_sum.dim() - 1)
    return (err_sum / counts.view(view))[:n_frames]


__all__ = ["windowed_errors", "pad_to"]
