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

#: Fast, light compression: frames are written once per decode and read by every method.
FRAME_COMPRESSOR = BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle")


class FrameStoreWriter:
    """Appends frames chunk by chunk, so decoding a long video uses bounded memory."""

    def __init__(self, path: str | Path, height: int, width: int, channels: int, chunk_frames: int = 16):
        self.group = zarr.open_group(str(path), mode="w", zarr_format=3)
        self.chunk_frames = chunk_frames
        self.frames = self.group.create_array(
            "frames",
            shape=(0, height, width, channels),
            chunks=(chunk_frames, height, width, channels),
            dtype="uint8",
            compressors=FRAME_COMPRESSOR,
            dimension_names=("t", "y", "x", "c"),
        )

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    def append(self, frames: np.ndarray) -> None:
        self.frames.append(np.ascontiguousarray(frames, dtype=np.uint8), axis=0)

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
