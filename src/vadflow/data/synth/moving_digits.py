"""Moving digits: the controlled toy set of the sRNN-AE paper (Luo et al., TPAMI, sec. 4.2, Table 1).

The paper's protocol, which the defaults follow:

- Two random digits are put in the centre of a black 225x225 image; every sequence has 20 frames.
- Variant ``appearance``: in each of the next 19 frames the digits randomly move horizontally or
  vertically. In each test sequence 5 consecutive frames are occluded by a randomly inserted 3x3
  white box (the anomaly).
- Variant ``motion``: in the first 10 frames the two digits move together in a straight direction;
  in each of the next 10 frames they move separately in two random directions (the anomaly).

What the paper leaves open, and what we do (also listed in docs/papers/srnn.md):

- Digits: MNIST cannot be downloaded here, so scikit-learn's bundled 8x8 digits, upscaled
  bilinearly (scipy ``zoom``, order 1) to MNIST's 28x28 (``digit_size``). Every third image is a
  test digit, the others train digits: train and test never share a digit image.
- "In the centre": the two digits side by side, touching, the 56x28 pair centred (rounded down:
  top-left corners (84, 98) and (112, 98) on 225x225).
- Step: ``step`` = 4 px per frame, along one axis. Moving-MNIST's generator (Srivastava et al.
  2015) moves its 28-px digits 3.6 px a frame (a tenth of the 36-px range on 64x64); we round to
  whole pixels so the digits stay on the pixel grid (exact, un-resampled ink).
- "Randomly move horizontally or vertically" (appearance, train and test alike): a random walk;
  every frame each digit independently takes one step in a uniformly drawn one of the 4 axis
  directions.
- Motion, "together in a straight direction": one of the 4 axis directions per sequence, drawn
  uniformly, at a constant ``step`` per frame, the same displacement for both digits.
- Motion, "separately in two random directions": from frame ``together_frames`` on, every frame
  each digit takes one step in its own uniformly drawn axis direction, the two directions always
  different (so the pair's relative offset changes every frame).
- Motion training sequences (not described in the paper): the pair moves together in one
  straight direction for all 20 frames. Test labels: frames ``together_frames``.. (10..19) are
  anomalous; the pixel masks are the digits' ink in those frames.
- The box: one 3x3 box of 255 at one uniformly drawn position anywhere in the canvas, fixed for
  its 5 frames, which start at a uniformly drawn frame (0..15); drawn over the digits. Its 9
  pixels are the ground-truth mask.
- The edge: digits start in the centre and move at most ``(frames_per_video - 1) * step`` px
  (76 px here, with 84 px of room), so they never reach the edge; the parameter check refuses a
  canvas where they could, so there is no clamping or bouncing.
- Digits that overlap are combined with max (white on black, like Moving-MNIST).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from .common import SyntheticVideo, check_min, check_seed, derived_rng, params_from_dict, require

VARIANTS = ("appearance", "motion")
# the 4 axis directions as (dx, dy): right, left, down, up
DIRECTIONS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.int64)
SOURCE_SIZE = 8  # scikit-learn's digits are 8x8


@dataclass
class MovingDigitsParams:
    """How many sequences to render, their geometry, and the anomaly timing of each variant."""

    variant: str = "appearance"
    height: int = 225
    width: int = 225
    digit_size: int = 28
    step: int = 4
    n_train: int = 40
    n_test: int = 20
    frames_per_video: int = 20
    box_size: int = 3
    box_frames: int = 5
    together_frames: int = 10

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> MovingDigitsParams:
        return params_from_dict(cls, d)

    def starts(self) -> np.ndarray:
        """(2, 2) top-left (x, y) of the two digits in frame 0: side by side, the pair centred."""
        s = self.digit_size
        x, y = (self.width - 2 * s) // 2, (self.height - s) // 2
        return np.array([(x, y), (x + s, y)], dtype=np.int64)

    def room(self) -> int:
        """How far (px) the pair can move from the centre in any axis direction and stay inside."""
        s = self.digit_size
        (x, y), _ = self.starts()
        return int(min(x, self.width - (x + 2 * s), y, self.height - (y + s)))

    def __post_init__(self) -> None:
        require(self.variant in VARIANTS, f"unknown variant {self.variant!r}", f"use one of {', '.join(VARIANTS)}")
        check_min("digit_size", self.digit_size, 2)
        check_min("step", self.step, 1)
        check_min("frames_per_video", self.frames_per_video, 2)
        check_min("height", self.height, self.digit_size)
        check_min("width", self.width, 2 * self.digit_size)
        travel = (self.frames_per_video - 1) * self.step
        require(
            travel <= self.room(),
            f"two {self.digit_size}-px digits starting in the centre of a {self.height}x{self.width} canvas can "
            f"move {travel} px ({self.frames_per_video - 1} steps of {self.step} px) but have only {self.room()} px "
            "of room: they could leave the canvas",
            "use a larger height/width, a smaller step or digit_size, or fewer frames_per_video",
        )
        check_min("n_train", self.n_train, 0)
        check_min("n_test", self.n_test, 0)
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
def digit_pool(split: str, size: int) -> np.ndarray:
    """The digit images of one split, (n, size, size) float 0..255 (whole levels), upscaled bilinearly from 8x8.

    Every third image (by index) is a test digit and the others train digits: a fixed, seed-free split,
    so train and test never share an image whatever the seed.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.float32) * (255.0 / 16.0)
    chosen = images[2::3] if split == "test" else np.concatenate([images[0::3], images[1::3]])
    if size != SOURCE_SIZE:
        f = size / SOURCE_SIZE
        chosen = zoom(chosen, (1, f, f), order=1, grid_mode=True, mode="grid-constant")
    # whole grey levels, so "ink" (>= 1) is exactly where a digit shows in the uint8 frames
    return np.rint(np.clip(chosen, 0.0, 255.0))


def walk(start: np.ndarray, directions: np.ndarray, step: int) -> np.ndarray:
    """(len(directions) + 1, 2) positions: ``start``, then one ``step``-px step per direction index."""
    moves = DIRECTIONS[directions] * step
    return np.concatenate([start[None], start + np.cumsum(moves, axis=0)])


def random_walk_tracks(rng: np.random.Generator, params: MovingDigitsParams) -> list[np.ndarray]:
    """Appearance variant: from the centre, each digit takes a step in a random axis direction every frame."""
    n = params.frames_per_video
    return [walk(start, rng.integers(len(DIRECTIONS), size=n - 1), params.step) for start in params.starts()]


def straight_tracks(direction: int, params: MovingDigitsParams, n: int) -> list[np.ndarray]:
    """The pair moving rigidly from the centre, ``step`` px a frame in one axis direction, for n frames."""
    return [walk(start, np.full(n - 1, direction), params.step) for start in params.starts()]


def motion_tracks(rng: np.random.Generator, params: MovingDigitsParams, split: str) -> list[np.ndarray]:
    """Motion variant: the pair moves straight; in test sequences, from ``together_frames`` on, apart.

    Apart, every frame each digit steps in its own random axis direction, the two always different.
    """
    n = params.frames_per_video
    direction = int(rng.integers(len(DIRECTIONS)))
    if split == "train":
        return straight_tracks(direction, params, n)
    k = params.together_frames
    together = straight_tracks(direction, params, k)
    first = rng.integers(len(DIRECTIONS), size=n - k)
    second = (first + 1 + rng.integers(len(DIRECTIONS) - 1, size=n - k)) % len(DIRECTIONS)
    return [np.concatenate([t[:-1], walk(t[-1], d, params.step)]) for t, d in zip(together, (first, second))]


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
    pool = digit_pool(split, params.digit_size)
    digits = [pool[i] for i in rng.choice(len(pool), size=2, replace=False)]
    name = f"{split}_{index:03d}"

    if params.variant == "appearance":
        gray, _ = draw_digits(params, digits, random_walk_tracks(rng, params))
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

    gray, ink = draw_digits(params, digits, motion_tracks(rng, params, split))
    if split == "train":
        return SyntheticVideo(name, split, _to_rgb(gray), None, None, [])
    k = params.together_frames
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
