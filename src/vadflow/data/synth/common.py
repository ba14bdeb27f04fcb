"""Pieces shared by the synthetic datasets: the video record, seeding, parameter parsing and a tiny painter.

The painter draws anti-aliased primitives (capsules, ellipses, rings, rounded boxes) given as signed
distance functions, evaluated only inside the bounding box of the object they make up. Painting an
object also records which object every pixel shows, so the ground-truth masks come out of the very
pass that draws the frame and always agree with what is visible (occlusion included).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from vadflow.errors import ConfigError
from vadflow.params import P
from vadflow.params import params_from_dict as _params_from_dict

@dataclass
class SyntheticVideo:
    """One rendered video and, for test videos and anomalous training videos, its frame labels, pixel
    masks and anomalous events, and the anomaly category (the kind of anomaly it shows most)."""

    name: str
    split: str
    frames: np.ndarray
    labels: np.ndarray | None
    masks: np.ndarray | None
    events: list[dict]
    category: str | None = None


# --------------------------------------------------------------------------- seeding


def check_seed(seed: Any) -> int:
    """Seeds feed a SeedSequence, which needs a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}", "use e.g. seed: 0")
    return int(seed)


def derived_rng(seed: int, dataset: str, stream: str, index: int = 0) -> np.random.Generator:
    """An RNG that depends only on (seed, dataset, stream, index).

    Every video draws from its own stream, so a video stays identical when the number of other videos
    changes, and the two datasets never share random numbers.
    """
    key = (zlib.crc32(dataset.encode()), zlib.crc32(stream.encode()), int(index))
    return np.random.default_rng(np.random.SeedSequence(check_seed(seed), spawn_key=key))


# --------------------------------------------------------------------------- parameters

def params_from_dict(cls: type[P], d: Mapping[str, Any] | None) -> P:
    """The project's one parameter checker (unknown keys, types by field default); ranges: ``cls``."""
    return _params_from_dict(cls, d, where="params")


def require(ok: bool, message: str, hint: str) -> None:
    """Raise a ConfigError unless a parameter check holds."""
    if not ok:
        raise ConfigError(message, hint)


def check_min(name: str, value: float, low: float) -> None:
    """The common check: a numeric parameter has a lower bound."""
    require(value >= low, f"parameter {name!r} must be >= {low}, got {value!r}", f"set {name} to at least {low}")


# --------------------------------------------------------------------------- painting


def rgb(r: float, g: float, b: float) -> np.ndarray:
    return np.array([r, g, b], dtype=np.float32)


class Capsule:
    """A segment with a radius: limbs, torsos, bicycle tubes; with a == b it is a disc."""

    __slots__ = ("ax", "ay", "bx", "by", "r", "color")

    def __init__(self, a: tuple[float, float], b: tuple[float, float], r: float, color: np.ndarray):
        self.ax, self.ay = float(a[0]), float(a[1])
        self.bx, self.by = float(b[0]), float(b[1])
        self.r = max(float(r), 0.5)  # thinner than a pixel would flicker in and out
        self.color = color

    def bounds(self) -> tuple[float, float, float, float]:
        r = self.r + 1.0
        return min(self.ax, self.bx) - r, min(self.ay, self.by) - r, max(self.ax, self.bx) + r, max(self.ay, self.by) + r

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = self.bx - self.ax, self.by - self.ay
        px, py = x - self.ax, y - self.ay
        length2 = dx * dx + dy * dy
        if length2 < 1e-9:
            return np.sqrt(px * px + py * py) - self.r
        h = np.clip((px * dx + py * dy) * (1.0 / length2), 0.0, 1.0)
        qx, qy = px - h * dx, py - h * dy
        return np.sqrt(qx * qx + qy * qy) - self.r


def disc(c: tuple[float, float], r: float, color: np.ndarray) -> Capsule:
    return Capsule(c, c, r, color)


class Ellipse:
    """An axis-aligned ellipse (shadows, bushes); the distance is the usual first-order approximation."""

    __slots__ = ("cx", "cy", "rx", "ry", "color")

    def __init__(self, c: tuple[float, float], rx: float, ry: float, color: np.ndarray | None = None):
        self.cx, self.cy = float(c[0]), float(c[1])
        self.rx, self.ry = max(float(rx), 0.5), max(float(ry), 0.5)
        self.color = color

    def bounds(self) -> tuple[float, float, float, float]:
        return self.cx - self.rx - 1, self.cy - self.ry - 1, self.cx + self.rx + 1, self.cy + self.ry + 1

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u, v = (x - self.cx) * (1.0 / self.rx), (y - self.cy) * (1.0 / self.ry)
        return (np.sqrt(u * u + v * v) - 1.0) * min(self.rx, self.ry)


class Ring:
    """A circle outline: bicycle wheels."""

    __slots__ = ("cx", "cy", "radius", "half_width", "color")

    def __init__(self, c: tuple[float, float], radius: float, half_width: float, color: np.ndarray):
        self.cx, self.cy = float(c[0]), float(c[1])
        self.radius, self.half_width = float(radius), max(float(half_width), 0.5)
        self.color = color

    def bounds(self) -> tuple[float, float, float, float]:
        r = self.radius + self.half_width + 1
        return self.cx - r, self.cy - r, self.cx + r, self.cy + r

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = x - self.cx, y - self.cy
        return np.abs(np.sqrt(dx * dx + dy * dy) - self.radius) - self.half_width


class Box:
    """An axis-aligned box with rounded corners: vehicle bodies and windows."""

    __slots__ = ("cx", "cy", "hx", "hy", "corner", "color")

    def __init__(self, c: tuple[float, float], hx: float, hy: float, corner: float, color: np.ndarray):
        self.cx, self.cy = float(c[0]), float(c[1])
        self.hx, self.hy = max(float(hx), 0.5), max(float(hy), 0.5)
        self.corner = min(float(corner), self.hx, self.hy)
        self.color = color

    def bounds(self) -> tuple[float, float, float, float]:
        return self.cx - self.hx - 1, self.cy - self.hy - 1, self.cx + self.hx + 1, self.cy + self.hy + 1

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        qx = np.abs(x - self.cx) - (self.hx - self.corner)
        qy = np.abs(y - self.cy) - (self.hy - self.corner)
        ox, oy = np.maximum(qx, 0.0), np.maximum(qy, 0.0)
        return np.sqrt(ox * ox + oy * oy) + np.minimum(np.maximum(qx, qy), 0.0) - self.corner


def union_bounds(parts: Sequence[Any]) -> tuple[float, float, float, float]:
    x0s, y0s, x1s, y1s = zip(*(p.bounds() for p in parts))
    return min(x0s), min(y0s), max(x1s), max(y1s)


class Canvas:
    """A float RGB frame plus, per pixel, the id of the object it shows (-1: background)."""

    def __init__(self, background: np.ndarray):
        self.rgb = background.astype(np.float32, copy=True)
        self.height, self.width = background.shape[:2]
        self.owner = np.full((self.height, self.width), -1, dtype=np.int32)
        self._xs = np.arange(self.width, dtype=np.float32)
        self._ys = np.arange(self.height, dtype=np.float32)

    def _window(self, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int] | None:
        x0, y0 = max(int(math.floor(bounds[0])), 0), max(int(math.floor(bounds[1])), 0)
        x1, y1 = min(int(math.ceil(bounds[2])) + 1, self.width), min(int(math.ceil(bounds[3])) + 1, self.height)
        return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None

    def darken(self, shape: Any, strength: float, softness: float = 1.0) -> None:
        """Multiply the frame down under a soft-edged shape: contact shadows, which own no pixels."""
        win = self._window(shape.bounds())
        if win is None:
            return
        x0, y0, x1, y1 = win
        d = shape.distance(self._xs[None, x0:x1], self._ys[y0:y1, None])
        alpha = np.clip(0.5 - d * (1.0 / softness), 0.0, 1.0)
        self.rgb[y0:y1, x0:x1] *= (1.0 - strength * alpha)[..., None]

    def paint(self, parts: Sequence[Any], owner_id: int) -> None:
        """Draw an object's parts back to front, then composite it over the frame as one layer.

        All parts are evaluated at once over the object's window (capsules, the bulk of them, in one
        vectorised pass), and stacked with the "over" operator. The object owns the pixels where its
        combined coverage passes one half: its visible silhouette until something nearer covers it.
        """
        win = self._window(union_bounds(parts))
        if win is None:
            return
        x0, y0, x1, y1 = win
        xs, ys = self._xs[None, x0:x1], self._ys[y0:y1, None]
        dist = np.empty((len(parts), y1 - y0, x1 - x0), dtype=np.float32)
        capsules = [i for i, p in enumerate(parts) if type(p) is Capsule]
        if capsules:
            dist[capsules] = capsule_distances([parts[i] for i in capsules], xs, ys)
        for i, part in enumerate(parts):
            if type(part) is not Capsule:
                dist[i] = part.distance(xs, ys)
        alpha = np.subtract(np.float32(0.5), dist, out=dist)
        np.clip(alpha, 0.0, 1.0, out=alpha)
        # over-compositing: part k shows through everything painted after it
        through = np.cumprod((1.0 - alpha)[::-1], axis=0)[::-1]
        alpha[:-1] *= through[1:]
        colors = np.array([p.color for p in parts], dtype=np.float32)
        color = np.tensordot(alpha, colors, axes=(0, 0))
        cover = 1.0 - through[0]
        patch = self.rgb[y0:y1, x0:x1]
        patch *= through[0][..., None]
        patch += color
        self.owner[y0:y1, x0:x1][cover > 0.5] = owner_id


def capsule_distances(capsules: Sequence[Capsule], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Signed distances (K, h, w) from the pixel grid to K capsules, in one vectorised pass."""
    geo = np.array([(c.ax, c.ay, c.bx - c.ax, c.by - c.ay, c.r) for c in capsules], dtype=np.float32)
    ax, ay, dx, dy, r = (geo[:, i, None, None] for i in range(5))
    length2 = dx * dx + dy * dy
    inv = np.where(length2 > 1e-9, 1.0 / np.maximum(length2, 1e-9), 0.0).astype(np.float32)
    px, py = xs - ax, ys - ay
    h = px * dx + py * dy
    h *= inv
    np.clip(h, 0.0, 1.0, out=h)
    qx = px - h * dx
    qy = py - h * dy
    qx *= qx
    qy *= qy
    qx += qy
    np.sqrt(qx, out=qx)
    qx -= r
    return qx


GAUSS_LEVELS = 1 << 16


@lru_cache(maxsize=1)
def _gauss_table() -> np.ndarray:
    from scipy.special import ndtri

    return ndtri((np.arange(GAUSS_LEVELS) + 0.5) / GAUSS_LEVELS).astype(np.float32)


def gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 noise through an inverse-CDF table of 2**16 levels (tails at +-4.3).

    Sensor noise is drawn for every pixel of every frame; this is about 3x faster than
    Generator.standard_normal and indistinguishable at 8-bit output.
    """
    return _gauss_table()[rng.integers(0, GAUSS_LEVELS, size=shape, dtype=np.uint16)]


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float | tuple[float, float]) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to unit standard deviation: the base of every texture."""
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return field / max(float(field.std()), 1e-6)
