"""Frames as a method wants them: resized, gray or RGB, as uint8 (T, C, h, w)."""

from __future__ import annotations

import numpy as np

from vadflow.data.store import FrameStore
from vadflow.methods.api import InputSpec

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def convert_color(frames: np.ndarray, color: str) -> np.ndarray:
    """(T, H, W, C) uint8 -> (T, H, W, 1 or 3) float32 in the method's colour. A gray store
    becomes RGB by repeating its channel (the three channels are then equal)."""
    x = frames.astype(np.float32)
    if color == "gray" and x.shape[-1] == 3:
        return (x @ _LUMA)[..., None]
    if color == "rgb" and x.shape[-1] == 1:
        return np.repeat(x, 3, axis=-1)
    return x


def target_size(store: FrameStore, spec: InputSpec) -> tuple[int, int]:
    """The size a method sees a store's frames at (``scaled_size``)."""
    return scaled_size(*store.shape[1:3], spec)


def scaled_size(h: int, w: int, spec: InputSpec) -> tuple[int, int]:
    """(h, w) a method sees: ``input.height`` and ``input.width`` when both are set; one of
    them alone scales the frame to it with the aspect ratio kept (as ffmpeg's ``scale=-2:h``
    does, so one entry suits a 120x180 walkway and 64x64 digits alike); neither: the store's."""
    if spec.height and spec.width:
        return (spec.height, spec.width)
    if spec.height:
        return (spec.height, max(1, round(w * spec.height / h)))
    if spec.width:
        return (max(1, round(h * spec.width / w)), spec.width)
    return (h, w)


def prepare_frames(frames: np.ndarray, spec: InputSpec, size: tuple[int, int]) -> np.ndarray:
    """uint8 (T, H, W, C) from a store -> uint8 (T, C, h, w) in the method's colour and size
    (area interpolation when shrinking, bilinear when growing). Frame by frame, so any
    grouping of frames into calls gives the same result."""
    import torch
    import torch.nn.functional as F

    channels = 1 if spec.color == "gray" else 3
    if frames.shape[-1] == channels and tuple(frames.shape[1:3]) == tuple(size):
        return np.ascontiguousarray(frames.transpose(0, 3, 1, 2))  # already as wanted: no float round trip
    t = torch.from_numpy(convert_color(frames, spec.color)).permute(0, 3, 1, 2)
    if tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t, size=size, mode="area" if size[0] <= t.shape[-2] else "bilinear")
    return t.round().clamp(0, 255).to(torch.uint8).numpy()


def load_video(store: FrameStore, spec: InputSpec, chunk: int = 256) -> np.ndarray:
    """The whole video as uint8 (T, C, h, w), read chunk by chunk."""
    size = target_size(store, spec)
    return np.concatenate(
        [prepare_frames(store.read(s, s + chunk), spec, size) for s in range(0, store.n_frames, chunk)]
    )


def load_flow_video(store, spec: InputSpec, chunk: int = 256) -> np.ndarray:
    """A video's optical flow (a ``flow`` feature store) as flow images, uint8 (T, C, h, w) in the
    method's size: gray = the magnitude channel, rgb = x, y and magnitude (``flow_image``)."""
    from vadflow.errors import ConfigError
    from vadflow.features.flow import flow_image

    if "flow" not in store.attrs:
        raise ConfigError(f"{store.path} is not an optical-flow store", "name a feature spec of kind flow")
    n = len(store.frame_index)
    h, w = store.features.shape[1:3]
    size = scaled_size(h, w, spec)
    as_rgb = InputSpec(height=spec.height, width=spec.width, color="rgb", clip_length=spec.clip_length)
    parts = []
    for s in range(0, n, chunk):
        images = prepare_frames(flow_image(store.read(s, s + chunk)), as_rgb, size)  # (t, 3, h, w)
        parts.append(images[:, 2:] if spec.color == "gray" else images)
    return np.concatenate(parts)

