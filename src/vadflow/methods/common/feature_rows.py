"""Pretrained features as methods read them: per frame, the patch vectors of a spatial pyramid
(Luo et al. sec. 3.6: every patch is its own sample, and a frame's score is its worst patch)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from vadflow.errors import ConfigError
from vadflow.methods.api import Method, VideoInput


def patch_rows(video: VideoInput, keys: Sequence[str]) -> np.ndarray:
    """(T, P, C) float32: per frame, P patch vectors (1 without a pyramid) of the specs, concatenated
    along C (early fusion)."""
    parts = []
    for key in keys:
        x = video.feature(key).per_frame()
        if x.ndim == 2:
            x = x[:, None, :]
        elif x.ndim != 3:
            raise ConfigError(
                f"feature {key!r} has rows of shape {x.shape[1:]}: these methods need vectors or pyramid cells",
                "use a spec with pooling: spp or global",
            )
        parts.append(x)
    if len({p.shape[1] for p in parts}) > 1:
        raise ConfigError(f"features {list(keys)} have different numbers of patches", "fuse specs with the same pooling")
    return np.concatenate(parts, axis=-1)


def cell_sequences(rows: np.ndarray, l2_normalise: bool) -> np.ndarray:
    """(T, P, C) -> (P, T, C): one sequence per pyramid cell, optionally l2-normalised per vector."""
    seq = np.ascontiguousarray(np.transpose(rows, (1, 0, 2)), dtype=np.float32)
    if l2_normalise:
        seq /= np.maximum(np.linalg.norm(seq, axis=-1, keepdims=True), 1e-8)
    return seq


class FeatureInput:
    """Mixin of methods on feature stores: they need ``input.features``."""

    def _check_features(self: Method) -> None:
        if not self.input.features:
            raise ConfigError(f"{self.name} works on features", f"set input.features: [<spec>] for {self.name}")

    def rows(self: Method, video: VideoInput) -> np.ndarray:
        return patch_rows(video, self.input.features)
