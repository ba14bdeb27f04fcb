"""The small pieces every evaluation measure shares, on the lowest floor of ``vadflow.evaluation``: the
per-video min-max normalisation, an anomaly map resized to its mask, the pixel-coverage count."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def minmax_normalise(scores: np.ndarray) -> np.ndarray:
    """Rescale one video's scores to [0, 1].

    Methods' raw scores drift between videos (e.g. reconstruction error depends
    on scene content); per-video rescaling is what most papers do before
    pooling frames. A constant video carries no ranking information and maps to
    all zeros rather than dividing by zero.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return values.copy()
    low, high = values.min(), values.max()
    if high == low:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def resize_map(frame_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinearly resize one anomaly map to the mask resolution."""
    if frame_map.shape == shape:
        return frame_map
    factors = (shape[0] / frame_map.shape[0], shape[1] / frame_map.shape[1])
    resized = ndimage.zoom(frame_map, factors, order=1)
    if resized.shape != shape:  # zoom rounds the output size; guard against off-by-one
        raise AssertionError(f"bilinear resize produced {resized.shape}, expected {shape}")
    return resized


def required_detections(n_gt_pixels: int, coverage: float) -> int:
    """Smallest k with k / n >= coverage, evaluated exactly as that ratio.

    ``ceil(coverage * n)`` alone is wrong in floating point: 0.4 * 15 is
    6.000000000000001, yet 6 of 15 pixels is exactly 40 %.
    """
    k = max(1, math.ceil(coverage * n_gt_pixels))
    while k > 1 and (k - 1) / n_gt_pixels >= coverage:
        k -= 1
    while k < n_gt_pixels and k / n_gt_pixels < coverage:
        k += 1
    return k
