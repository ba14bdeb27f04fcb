"""Feature transforms shared by several methods.

- spatial pyramid max pooling of a backbone feature map (AnomalyNet sec. 5.4, sRNN-AE sec. 3.6);
- dynamic images by approximate rank pooling (Bilen et al., CVPR 2016), AnomalyNet's motion input,
  with the windows they are computed over and the frame -> window map used for per-frame scores;
- sRNN-AE's temporal max pooling of per-frame features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vadflow.errors import ConfigError, DataError


# --------------------------------------------------------------------------------------
# spatial pyramid pooling


def spatial_pyramid_max_pool(fmap: torch.Tensor, levels: Sequence[int] = (1, 2, 4)) -> torch.Tensor:
    """(B, C, h, w) -> (B, sum(L*L), C): max over an L x L grid of cells for each level L.

    Cells are ordered level by level, each level row-major (so 21 cells for (1, 2, 4)).
    Adaptive max pooling makes the grid work for any h, w (7x7, 6x6, ...): cell i of n
    spans [floor(i*h/n), ceil((i+1)*h/n)), so cells overlap by one row where h % n != 0.
    """
    if fmap.ndim != 4:
        raise DataError(f"spatial_pyramid_max_pool expects a (B, C, h, w) map, got shape {tuple(fmap.shape)}")
    if not levels or any(int(level) < 1 for level in levels):
        raise ConfigError(f"pyramid levels must be positive integers, got {list(levels)}", "use e.g. [1, 2, 4]")
    cells = [F.adaptive_max_pool2d(fmap, int(level)).flatten(2) for level in levels]  # (B, C, L*L) each
    return torch.cat(cells, dim=2).transpose(1, 2).contiguous()


# --------------------------------------------------------------------------------------
# dynamic images (approximate rank pooling)


def _signed_sqrt(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.sqrt(np.abs(x))


def rank_pooling_coefficients(T: int, sqrt: bool = False) -> np.ndarray:
    """Weights (T,) float64 of approximate rank pooling over T frames.

    The dynamic image is x = sum_t beta_t * psi(v_t), beta_t = 2t - T - 1 (t = 1..T), where
    v_t = (1/t) sum_{s<=t} I_s is the time-varying mean.

    - ``sqrt=False`` (psi = identity): x is linear in the frames, x = sum_s alpha_s I_s with
      alpha_s = sum_{t>=s} beta_t / t = 2(T - s + 1) - (T + 1)(H_T - H_{s-1})
      (H_n the n-th harmonic number, H_0 = 0); this alpha is returned.
    - ``sqrt=True`` (psi = element-wise signed square root of the time-varying mean, the
      non-linear variant): x cannot be written with frame weights, so beta is returned; it
      multiplies psi(v_t), and :func:`dynamic_image` evaluates that exact definition.

    Both sets sum to zero, so a static video has a zero dynamic image.
    """
    T = int(T)
    if T < 1:
        raise DataError(f"rank pooling needs at least one frame, got T={T}")
    t = np.arange(1, T + 1, dtype=np.float64)
    beta = 2.0 * t - T - 1.0
    if sqrt:
        return beta
    # alpha_s = sum_{t=s}^{T} beta_t / t, a reversed cumulative sum
    return np.cumsum((beta / t)[::-1])[::-1].copy()


def dynamic_image(frames: np.ndarray, sqrt: bool = False) -> np.ndarray:
    """(T, H, W, C) frames (uint8 or float) -> (H, W, C) uint8 dynamic image.

    x = sum_t beta_t psi(v_t) as in :func:`rank_pooling_coefficients` (with ``sqrt=False``
    computed as sum_s alpha_s I_s), accumulated frame by frame in float64 so memory stays
    O(H*W*C). Each channel is then min-max rescaled to [0, 255]; a channel whose range is
    negligible (relative to the input's scale; e.g. a static video) becomes all zeros
    rather than amplified rounding noise.
    """
    frames = np.asarray(frames)
    if frames.ndim == 3:  # (T, H, W) gray
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[0] < 1:
        raise DataError(f"dynamic_image expects (T, H, W, C) frames, got shape {frames.shape}")
    T = frames.shape[0]
    weights = rank_pooling_coefficients(T, sqrt=sqrt)
    out = np.zeros(frames.shape[1:], dtype=np.float64)
    scale = 0.0  # sum |w| * max |term|: bounds the magnitude of every summand
    if sqrt:
        running_sum = np.zeros(frames.shape[1:], dtype=np.float64)
        for t in range(T):
            running_sum += frames[t]
            term = _signed_sqrt(running_sum / (t + 1))
            out += weights[t] * term
            scale += abs(weights[t]) * float(np.abs(term).max(initial=0.0))
    else:
        for t in range(T):
            term = frames[t].astype(np.float64)
            out += weights[t] * term
            scale += abs(weights[t]) * float(np.abs(term).max(initial=0.0))
    return _rescale_per_channel(out, tolerance=1e-9 * scale + 1e-12)


def _rescale_per_channel(image: np.ndarray, tolerance: float) -> np.ndarray:
    """Min-max rescale each channel of (H, W, C) to uint8 [0, 255]; flat channels -> 0."""
    result = np.zeros(image.shape, dtype=np.uint8)
    for c in range(image.shape[-1]):
        channel = image[..., c]
        low, high = float(channel.min()), float(channel.max())
        if high - low <= tolerance:
            continue
        result[..., c] = np.clip(np.rint((channel - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)
    return result


# --------------------------------------------------------------------------------------
# temporal max pooling (sRNN-AE)


def temporal_max_pool(features, window: int = 4, interval: int = 1):
    """Element-wise max over frames t, t - interval, ..., t - (window - 1) * interval.

    Works on numpy arrays and torch tensors of shape (T, ...), returning the same type and
    shape. Near the start of the video only the frames that exist (index >= 0) are pooled,
    so output[0] = features[0].
    """
    window, interval = int(window), int(interval)
    if window < 1 or interval < 1:
        raise ConfigError(f"temporal max pooling needs window >= 1 and interval >= 1, got {window}, {interval}")
    is_tensor = isinstance(features, torch.Tensor)
    out = features.clone() if is_tensor else np.array(features, copy=True)
    maximum = torch.maximum if is_tensor else np.maximum
    T = out.shape[0]
    for k in range(1, window):
        shift = k * interval
        if shift >= T:
            break
        out[shift:] = maximum(out[shift:], features[: T - shift])
    return out
