"""Moving digits: the controlled toy set of the sRNN-AE paper (Luo et al., TPAMI, sec. 4.2).

Two scikit-learn digits (8x8, upscaled) move white on black. Variant ``appearance``: the digits move
independently everywhere, and each test video has a white box showing up for a few frames (an
appearance anomaly). Variant ``motion``: in training the two digits always move together; in each
test video they move together for a while and then split up (a motion anomaly with normal-looking
frames). Train and test use disjoint digit images, so a method cannot win by memorising digits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from .common import SyntheticVideo, check_min, check_seed, derived_rng, params_from_dict, require

VARIANTS = ("appearance", "motion")
MAX_SPEED = 3  # px/frame; speeds are drawn from 1..MAX_SPEED


@dataclass
class MovingDigitsParams:
    """How many sequences to render, their size, and the anomaly timing of each variant."""

    variant: str = "appearance"
    height: int = 64
    width: int = 64
    digit_scale: int = 2
    n_train: int = 40
    n_test: int = 20
    frames_per_video: int = 20
    box_size: int = 8
    box_frames: int = 5
    together_frames: int = 10

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> MovingDigitsParams:
        return params_from_dict(cls, d)

    @property
    def digit_size(self) -> int:
        return 8 * self.digit_scale

    def __post_init__(self) -> None:
        require(self.variant in VARIANTS, f"unknown variant {self.variant!r}", f"use one of {', '.join(VARIANTS)}")
        check_min("digit_scale", self.digit_scale, 1)
        # digits must fit with room to move, or there would be no motion to learn
        check_min("height", self.height, self.digit_size + 2)
        check_min("width", self.width, self.digit_size + 2)
        check_min("n_train", self.n_train, 0)
        check_min("n_test", self.n_test, 0)
        check_min("frames_per_video", self.frames_per_video, 2)
        check_min("box_size", self.box_size, 1)
        require(
            self.box_size <= min(self.height, self.width),
            f"box_size {self.box_size} does not fit in a {self.height}x{self.width} frame",
            "use a smaller box_size",
        )
        # each test video needs both anomalous and normal frames
        check_min("box_frames", self.box_frames, 1)
        require(
            self.box_frames < self.frames_per_video,
            f"box_frames ({self.box_frames}) must be smaller than frames_per_video ({self.frames_per_video})",
            "leave some frames without the box",
        )
        check_min("together_frames", self.together_frames, 1)
        require(
            self.together_frames < self.frames_per_video,
            f"together_frames ({self.together_frames}) must be smaller than frames_per_video ({self.frames_per_video})",
            "leave some frames where the digits move apart",
        )


@lru_cache(maxsize=4)
def digit_pool(split: str, scale: int) -> np.ndarray:
    """The digit images of one split as float 0..255, upscaled bilinearly.

    Every third image (by index) is a test digit and the others train digits: a fixed, seed-free split,
    so train and test never share an image whatever the seed.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.float32) * (255.0 / 16.0)
    chosen = images[2::3] if split == "test" else np.concatenate([images[0::3], images[1::3]])
    if scale > 1:
        chosen = zoom(chosen, (1, scale, scale), order=1, grid_mode=True, mode="grid-constant")
    return np.clip(chosen, 0.0, 255.0)


def bounce(start: float, velocity: float, steps: np.ndarray, span: int) -> np.ndarray:
    """Positions of a point moving at constant velocity in [0, span], reflected at both ends."""
    if span <= 0:
        return np.zeros(len(steps), dtype=np.int64)
    period = 2 * span
    unfolded = np.mod(start + velocity * steps, period)
    return np.rint(span - np.abs(unfolded - span)).astype(np.int64)


def heading(start: float, velocity: float, step: int, span: int) -> int:
    """The velocity in effect when leaving the position reached after `step` steps (bounces flip its sign)."""
    if span <= 0:
        return 0
    unfolded = np.mod(start + velocity * step, 2 * span)
    if unfolded == 0:
        return int(abs(velocity))
    if unfolded == span:
        return -int(abs(velocity))
    return int(velocity) if unfolded < span else -int(velocity)


def random_velocity(rng: np.random.Generator) -> tuple[int, int]:
    """(axis, signed speed): axis 0 moves along x, 1 along y."""
    return int(rng.integers(2)), int(rng.integers(1, MAX_SPEED + 1)) * int(rng.choice((-1, 1)))


def independent_track(rng: np.random.Generator, params: MovingDigitsParams, n: int) -> np.ndarray:
    """(n, 2) top-left (x, y) of a digit moving on its own, bouncing off the frame edges."""
    spans = (params.width - params.digit_size, params.height - params.digit_size)
    pos = [int(rng.integers(0, spans[0] + 1)), int(rng.integers(0, spans[1] + 1))]
    return _continue_track(pos, random_velocity(rng), spans, n)


def _continue_track(pos: list[int], velocity: tuple[int, int], spans: tuple[int, int], n: int) -> np.ndarray:
    axis, speed = velocity
    track = np.tile(np.asarray(pos, dtype=np.int64), (n, 1))
    track[:, axis] = bounce(pos[axis], speed, np.arange(n), spans[axis])
    return track


def together_tracks(rng: np.random.Generator, params: MovingDigitsParams, n: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Two digits moving as one rigid pair, bouncing when the pair touches an edge.

    Returns both tracks and the pair's velocity in effect at the last frame.
    """
    spans = (params.width - params.digit_size, params.height - params.digit_size)
    axis, speed = random_velocity(rng)
    for _ in range(100):  # the pair needs room to move along its axis
        p1 = [int(rng.integers(0, s + 1)) for s in spans]
        p2 = [int(rng.integers(0, s + 1)) for s in spans]
        if spans[axis] - abs(p1[axis] - p2[axis]) >= min(spans[axis], 2 * MAX_SPEED):
            break
    else:
        p2[axis] = p1[axis]
    low = min(p1[axis], p2[axis])
    pair_span = spans[axis] - abs(p1[axis] - p2[axis])
    steps = np.arange(n)
    pair_pos = bounce(low, speed, steps, pair_span)
    t1 = np.tile(np.asarray(p1, dtype=np.int64), (n, 1))
    t2 = np.tile(np.asarray(p2, dtype=np.int64), (n, 1))
    t1[:, axis] = pair_pos + (p1[axis] - low)
    t2[:, axis] = pair_pos + (p2[axis] - low)
    return t1, t2, (axis, heading(low, speed, n - 1, pair_span))


def draw_digits(params: MovingDigitsParams, digits: list[np.ndarray], tracks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Gray frames (T, H, W) combining the digits with max, and where any digit has ink (T, H, W)."""
    n, s = params.frames_per_video, params.digit_size
    gray = np.zeros((n, params.height, params.width), dtype=np.float32)
    ink = np.zeros((n, params.height, params.width), dtype=bool)
    for digit, track in zip(digits, tracks):
        for t, (x, y) in enumerate(track):
            window = (t, slice(y, y + s), slice(x, x + s))
            np.maximum(gray[window], digit, out=gray[window])
            ink[window] |= digit >= 1.0
    return gray, ink


def _to_rgb(gray: np.ndarray) -> np.ndarray:
    g = np.rint(np.clip(gray, 0, 255)).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def render_video(params: MovingDigitsParams, seed: int, split: str, index: int) -> SyntheticVideo:
    """One sequence, drawn from its own RNG stream."""
    rng = derived_rng(seed, "moving_digits", f"{params.variant}/{split}", index)
    n = params.frames_per_video
    pool = digit_pool(split, params.digit_scale)
    digits = [pool[i] for i in rng.choice(len(pool), size=2, replace=False)]
    name = f"{split}_{index:03d}"

    if params.variant == "appearance":
        tracks = [independent_track(rng, params, n) for _ in digits]
        gray, _ = draw_digits(params, digits, tracks)
        if split == "train":
            return SyntheticVideo(name, split, _to_rgb(gray), None, None, [])
        b = params.box_size
        start = int(rng.integers(0, n - params.box_frames + 1))
        x = int(rng.integers(0, params.width - b + 1))
        y = int(rng.integers(0, params.height - b + 1))
        masks = np.zeros((n, params.height, params.width), dtype=bool)
        masks[start : start + params.box_frames, y : y + b, x : x + b] = True
        gray[masks] = 255.0
        event = {"kind": "occluding_box", "start": start, "end": start + params.box_frames}
        return SyntheticVideo(name, split, _to_rgb(gray), masks.any(axis=(1, 2)).astype(np.uint8), masks, [event])

    if split == "train":
        t1, t2, _ = together_tracks(rng, params, n)
        gray, _ = draw_digits(params, digits, [t1, t2])
        return SyntheticVideo(name, split, _to_rgb(gray), None, None, [])

    k = params.together_frames
    t1, t2, shared = together_tracks(rng, params, k)
    spans = (params.width - params.digit_size, params.height - params.digit_size)
    apart = []
    for together in (t1, t2):
        # differ from the pair's velocity and from the other digit's, or the pair would look intact
        velocity = random_velocity(rng)
        while velocity == shared or velocity in apart:
            velocity = random_velocity(rng)
        apart.append(velocity)
    after = [
        _continue_track(list(together[-1]), v, spans, n - k + 1)[1:] for together, v in zip((t1, t2), apart)
    ]
    tracks = [np.concatenate([t1, after[0]]), np.concatenate([t2, after[1]])]
    gray, ink = draw_digits(params, digits, tracks)
    masks = ink
    masks[:k] = False
    event = {"kind": "divergent_motion", "start": k, "end": n}
    return SyntheticVideo(name, split, _to_rgb(gray), masks.any(axis=(1, 2)).astype(np.uint8), masks, [event])


def moving_digits_videos(params: MovingDigitsParams, seed: int) -> Iterator[SyntheticVideo]:
    """Render the train sequences, then the test sequences, one at a time."""
    check_seed(seed)
    for split, count in (("train", params.n_train), ("test", params.n_test)):
        for index in range(count):
            yield render_video(params, seed, split, index)
