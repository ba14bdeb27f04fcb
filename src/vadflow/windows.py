"""One vocabulary of temporal windows, for features and methods alike.

* ``sliding_windows``: every window of ``length`` frames ``stride`` apart, a start every
  ``step`` frames (clip auto-encoders, recurrent models on feature rows).
* ``covering_windows``: a regular grid of [start, end) windows plus one flush with the end,
  so every frame is covered (dynamic images, I3D clips).
* ``window_of_frame``: for each frame, the window whose centre is nearest.
* ``pad_to``: a sequence shorter than one window, padded by repeating its last row.
"""

from __future__ import annotations

import numpy as np

from vadflow.errors import ConfigError, DataError


def sliding_windows(n_frames: int, length: int, stride: int = 1, step: int = 1) -> np.ndarray:
    """Frame indices (n_windows, length) of windows of ``length`` frames ``stride`` apart,
    one starting every ``step`` frames; none when the video is shorter than one window."""
    span = (length - 1) * stride + 1
    starts = np.arange(0, max(n_frames - span + 1, 0), step)
    return starts[:, None] + stride * np.arange(length)[None, :]


def covering_windows(n_frames: int, window: int, stride: int) -> np.ndarray:
    """(n_windows, 2) int64 [start, end) windows of ``window`` frames every ``stride`` frames.

    If the regular grid leaves frames at the end, one more window [n_frames - window,
    n_frames) is added so the tail is covered; a video shorter than one window gets the
    single window [0, n_frames). With stride <= window every frame lies in some window;
    with stride > window frames between windows are skipped (but still mapped to the
    nearest window by :func:`window_of_frame`).
    """
    n_frames, window, stride = int(n_frames), int(window), int(stride)
    if window < 1 or stride < 1:
        raise ConfigError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    if n_frames < 1:
        raise DataError(f"cannot make windows over a video with {n_frames} frames")
    if n_frames <= window:
        return np.array([[0, n_frames]], dtype=np.int64)
    starts = list(range(0, n_frames - window + 1, stride))
    if starts[-1] + window < n_frames:
        starts.append(n_frames - window)
    starts_arr = np.asarray(starts, dtype=np.int64)
    return np.stack([starts_arr, starts_arr + window], axis=1)


def window_of_frame(windows: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames,) int64: for each frame, the index of the window whose centre is nearest.

    This is how window-level features (dynamic images, I3D clips) give per-frame scores.
    Ties go to the earlier window. For equal-length windows the nearest centre always
    belongs to a window containing the frame whenever one does.
    """
    windows = np.asarray(windows, dtype=np.int64)
    if windows.ndim != 2 or windows.shape[1] != 2 or len(windows) == 0:
        raise DataError(f"windows must be a non-empty (n, 2) array of [start, end), got shape {windows.shape}")
    centres = (windows[:, 0] + windows[:, 1] - 1) / 2.0
    order = np.argsort(centres, kind="stable")
    sorted_centres = centres[order]
    frames = np.arange(int(n_frames), dtype=np.float64)
    right = np.clip(np.searchsorted(sorted_centres, frames, side="left"), 0, len(order) - 1)
    left = np.clip(right - 1, 0, len(order) - 1)
    pick_left = np.abs(frames - sorted_centres[left]) <= np.abs(sorted_centres[right] - frames)
    return order[np.where(pick_left, left, right)].astype(np.int64)


def pad_to(rows: np.ndarray, length: int) -> np.ndarray:
    """``rows`` (T, ...) with its last row repeated until it has at least ``length`` rows."""
    if len(rows) >= length:
        return rows
    if len(rows) == 0:
        raise DataError("cannot pad an empty sequence", "check that the video has frames")
    return np.concatenate([rows, np.repeat(rows[-1:], length - len(rows), axis=0)])
