"""Zarr v3 frame stores: one store per video, the unit every later stage reads.

Layout of a store (a Zarr group):
  frames  uint8 (T, H, W, C), chunked along time
  labels  uint8 (T,)        frame labels, 1 = anomalous (test videos, where known)
  masks   bool  (T, H, W)   pixel masks at the store's resolution (where known)
attributes: fps, source, source_sha256, decode (the parameters), n_frames, vadflow_version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from vadflow.errors import DataError

#: Fast, light compression: decoding must keep pace with ffmpeg, and every method reads the frames.
FRAME_COMPRESSOR = BloscCodec(cname="lz4", clevel=1, shuffle="noshuffle")


class FrameStoreWriter:
    """Writes frames in order, in bounded memory, without knowing the frame count in advance.

    The array grows geometrically (one metadata write per doubling, not per chunk)
    and is trimmed to the real length by ``close``.
    """

    def __init__(
        self, path: str | Path, height: int, width: int, channels: int, chunk_frames: int = 16, expected: int = 0
    ):
        self.group = zarr.open_group(str(path), mode="w", zarr_format=3)
        self.chunk_frames = chunk_frames
        capacity = max(expected, chunk_frames)
        self.frames = self.group.create_array(
            "frames",
            shape=(capacity, height, width, channels),
            chunks=(chunk_frames, height, width, channels),
            dtype="uint8",
            compressors=FRAME_COMPRESSOR,
            dimension_names=("t", "y", "x", "c"),
        )
        self.n_frames = 0

    def append(self, frames: np.ndarray) -> None:
        end = self.n_frames + len(frames)
        capacity = self.frames.shape[0]
        if end > capacity:
            self.frames.resize((max(end, 2 * capacity),) + self.frames.shape[1:])
        self.frames[self.n_frames : end] = np.ascontiguousarray(frames, dtype=np.uint8)
        self.n_frames = end

    def close(self) -> None:
        """Trim the array to the frames written."""
        if self.frames.shape[0] != self.n_frames:
            self.frames.resize((self.n_frames,) + self.frames.shape[1:])

    def set_labels(self, labels: np.ndarray) -> None:
        self.group.create_array("labels", data=np.asarray(labels, dtype=np.uint8), dimension_names=("t",))

    def set_masks(self, masks: np.ndarray) -> None:
        t, h, w = masks.shape
        self.group.create_array(
            "masks",
            data=np.asarray(masks, dtype=bool),
            chunks=(self.chunk_frames, h, w),
            compressors=FRAME_COMPRESSOR,
            dimension_names=("t", "y", "x"),
        )

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        self.group.attrs.update(attrs)


@dataclass
class FrameStore:
    """Read access to one video's frame store."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.exists():
            raise DataError(f"frame store {self.path} does not exist", "run the decode step first")
        self.group = zarr.open_group(str(self.path), mode="r")
        self.frames = self.group["frames"]

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".zarr")

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self.group.attrs)

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(int(s) for s in self.frames.shape)  # type: ignore[return-value]

    @property
    def fps(self) -> float:
        return float(self.group.attrs.get("fps", 0.0))

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        return np.asarray(self.frames[start:stop])

    @property
    def labels(self) -> np.ndarray | None:
        return np.asarray(self.group["labels"][:]) if "labels" in self.group else None

    @property
    def masks(self) -> np.ndarray | None:
        return np.asarray(self.group["masks"][:]) if "masks" in self.group else None

    @property
    def has_masks(self) -> bool:
        return "masks" in self.group
