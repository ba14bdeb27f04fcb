"""Frames as a method wants them: resized, gray or RGB, as uint8 (T, C, h, w), read chunk by chunk."""

from __future__ import annotations

import numpy as np

from vadflow.data.store import FrameStore
from vadflow.methods.base import InputSpec

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def convert_color(frames: np.ndarray, color: str) -> np.ndarray:
    """(T, H, W, C) uint8 -> (T, H, W, 1 or 3) float32 in the method's colour."""
    x = frames.astype(np.float32)
    if color == "gray" and x.shape[-1] == 3:
        return (x @ _LUMA)[..., None]
    if color == "rgb" and x.shape[-1] == 1:
        return np.repeat(x, 3, axis=-1)
    return x


def target_size(store: FrameStore, spec: InputSpec) -> tuple[int, int]:
    _, h, w, _ = store.shape
    return (spec.height or h, spec.width or w)


def load_video(store: FrameStore, spec: InputSpec, chunk: int = 256) -> np.ndarray:
    """The whole video as uint8 (T, C, h, w); resized with area interpolation where the size differs."""
    import torch
    import torch.nn.functional as F

    h, w = target_size(store, spec)
    out = []
    for start in range(0, store.n_frames, chunk):
        x = convert_color(store.read(start, start + chunk), spec.color)
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        if t.shape[-2:] != (h, w):
            t = F.interpolate(t, size=(h, w), mode="area" if h <= t.shape[-2] else "bilinear")
        out.append(t.round().clamp(0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)
