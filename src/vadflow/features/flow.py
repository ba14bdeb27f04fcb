"""Dense optical flow between consecutive frames (OpenCV), and its I3D encodings.

flow[t] is the flow from frame t-1 to frame t (x, y components in pixels), and flow[0]
is zero, so the flow array aligns frame by frame with the video. Frames are converted to
gray first. :func:`iter_optical_flow` streams over chunks of frames, carrying only the
last gray frame from one chunk to the next, so memory stays bounded by a chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vadflow.errors import ConfigError, DataError

FLOW_METHODS = ("farneback", "tvl1")


@dataclass(frozen=True)
class FlowParams:
    """Optical flow method and its parameters (OpenCV's Farneback defaults as used widely).

    ``tvl1`` (the flow I3D was trained on) needs OpenCV's contrib module ``cv2.optflow``.
    """

    method: str = "farneback"
    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2

    def __post_init__(self):
        if self.method not in FLOW_METHODS:
            raise ConfigError(f"unknown optical flow method {self.method!r}", f"use one of {list(FLOW_METHODS)}")
        if self.method == "tvl1" and not hasattr(cv2, "optflow"):
            raise ConfigError(
                "optical flow method 'tvl1' needs cv2.optflow, which this OpenCV lacks",
                "install OpenCV's contrib package (opencv-contrib-python-headless) instead of "
                "opencv-python-headless, or use flow_method: farneback",
            )
        if not 0.0 < self.pyr_scale < 1.0:
            raise ConfigError(f"flow pyr_scale must be in (0, 1), got {self.pyr_scale}")
        for name in ("levels", "winsize", "iterations", "poly_n"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"flow {name} must be >= 1, got {getattr(self, name)}")
        if self.poly_sigma <= 0:
            raise ConfigError(f"flow poly_sigma must be > 0, got {self.poly_sigma}")


def _to_gray(frame: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) RGB -> (H, W) uint8 gray."""
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim != 2:
        raise DataError(f"optical flow expects (H, W, 1|3) frames, got a frame of shape {frame.shape}")
    return np.ascontiguousarray(frame, dtype=np.uint8)


def _flow_function(params: FlowParams):
    """A function (prev_gray, next_gray) -> (H, W, 2) float32 flow for the chosen method."""
    if params.method == "tvl1":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda prev, nxt: tvl1.calc(prev, nxt, None).astype(np.float32, copy=False)

    def farneback(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        return cv2.calcOpticalFlowFarneback(
            prev, nxt, None, params.pyr_scale, int(params.levels), int(params.winsize),
            int(params.iterations), int(params.poly_n), params.poly_sigma, 0,
        ).astype(np.float32, copy=False)

    return farneback


def iter_optical_flow(chunks: Iterable[np.ndarray], params: FlowParams | None = None) -> Iterator[np.ndarray]:
    """For each chunk of (n, H, W, C) uint8 frames, yield its (n, H, W, 2) float32 flow.

    The first frame of the whole stream gets zero flow; the first frame of every later
    chunk gets the flow from the previous chunk's last frame, so concatenating the output
    equals :func:`optical_flow` on the concatenated frames.
    """
    params = params or FlowParams()
    compute = _flow_function(params)
    previous: np.ndarray | None = None
    for chunk in chunks:
        chunk = np.asarray(chunk)
        if chunk.ndim == 3:  # (n, H, W) gray
            chunk = chunk[..., None]
        if chunk.ndim != 4:
            raise DataError(f"optical flow expects (T, H, W, C) frames, got shape {chunk.shape}")
        flow = np.zeros((chunk.shape[0], chunk.shape[1], chunk.shape[2], 2), dtype=np.float32)
        for i in range(chunk.shape[0]):
            gray = _to_gray(chunk[i])
            if previous is not None:
                if previous.shape != gray.shape:
                    raise DataError(f"frame size changed within a video: {previous.shape} -> {gray.shape}")
                flow[i] = compute(previous, gray)
            previous = gray
        yield flow


def optical_flow(frames: np.ndarray, params: FlowParams | None = None) -> np.ndarray:
    """(T, H, W, C) uint8 frames -> (T, H, W, 2) float32 flow; flow[t] maps frame t-1 to t, flow[0] = 0."""
    return next(iter_optical_flow([frames], params))


def flow_to_uint8(flow: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Flow (..., 2) in pixels -> uint8 as in I3D's preprocessing: clip to [-bound, bound],
    map linearly to [0, 255] (0 px -> 127.5, rounded to 128)."""
    if bound <= 0:
        raise ConfigError(f"flow bound must be > 0, got {bound}")
    clipped = np.clip(np.asarray(flow, dtype=np.float32), -bound, bound)
    return np.rint((clipped + bound) * (255.0 / (2.0 * bound))).astype(np.uint8)


def flow_image(flow: np.ndarray) -> np.ndarray:
    """Flow rows (..., h, w, 2) in pixels -> uint8 images (..., h, w, 3): x and y displacement and the
    magnitude as channels (the flow images CNNs and auto-encoders take: Luo et al. Tables 7-8, Sun et
    al. Table IX after Ravanbakhsh et al.). Magnitude m maps as 2m - 20 through ``flow_to_uint8``, so
    0 px is black and 20 px or more white."""
    f = np.asarray(flow, dtype=np.float32)
    magnitude = np.linalg.norm(f, axis=-1, keepdims=True)
    return np.concatenate([flow_to_uint8(f), flow_to_uint8(magnitude * 2.0 - 20.0)], axis=-1)


def flow_for_i3d(flow: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Flow -> float32 in [-1, 1], the input range of I3D's flow stream.

    Float flow (pixels) is clipped to [-bound, bound] and divided by bound; uint8 flow is
    taken to be :func:`flow_to_uint8` output and mapped back with x / 255 * 2 - 1.
    """
    flow = np.asarray(flow)
    if flow.dtype == np.uint8:
        return flow.astype(np.float32) * (2.0 / 255.0) - 1.0
    if bound <= 0:
        raise ConfigError(f"flow bound must be > 0, got {bound}")
    return (np.clip(flow.astype(np.float32), -bound, bound) / bound).astype(np.float32)
