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


def _has_nonzero(a: np.ndarray) -> bool:
    """Whether ``a`` holds a non-zero value. A small middle slice first: a full scan costs a sixth
    of the lz4 time, and video chunks are almost never all zero."""
    flat = a.reshape(-1)
    mid = len(flat) // 2
    return bool(flat[mid : mid + 4096].any()) or bool(flat.any())


class GrowingArray:
    """A Zarr array written in order along its first axis, in bounded memory, without knowing its
    final length: it grows geometrically (one metadata write per doubling) and ``close`` trims it."""

    def __init__(
        self,
        group: zarr.Group,
        name: str,
        row_shape: tuple[int, ...],
        dtype: str,
        chunk_rows: int,
        *,
        expected: int = 0,
        compressors: Any = FRAME_COMPRESSOR,
        dimension_names: tuple[str, ...] | None = None,
    ):
        self.array = group.create_array(
            name,
            shape=(max(expected, chunk_rows),) + tuple(row_shape),
            chunks=(chunk_rows,) + tuple(row_shape),
            dtype=dtype,
            compressors=compressors,
            dimension_names=dimension_names,
        )
        self.n_rows = 0
        self.chunk_rows = chunk_rows
        self._direct = _DirectChunkWriter.for_array(self.array)
        self._whole = None if self._direct else self._whole_chunk_view()  # zarr's path, for other arrays

    def _whole_chunk_view(self) -> zarr.Array | None:
        """The array with zarr's "is this chunk all fill value?" test off, for chunks known not to be.

        That test (np.array_equal with NaN handling) costs more CPU than lz4 itself; ``append`` skips
        it only for chunks holding a non-zero value, so empty chunks are still left unwritten."""
        with_config = getattr(self.array, "with_config", None)  # recent zarr 3 only (zarr-python #3668)
        if with_config is None or not bool(np.asarray(self.array.fill_value) == 0):
            return None
        return with_config({"write_empty_chunks": True})

    def append(self, rows: np.ndarray) -> None:
        """Write ``rows`` after the last row, one chunk per zarr write.

        A write of exactly one chunk is encoded from ``rows`` directly; a larger write would make
        zarr build each chunk in a fill-valued buffer and copy into it. Stored bytes are the same."""
        rows = np.ascontiguousarray(rows, dtype=self.array.dtype)
        start, end = self.n_rows, self.n_rows + len(rows)
        capacity = self.array.shape[0]
        if end > capacity:
            self.array.resize((max(end, 2 * capacity),) + self.array.shape[1:])
            if self._whole is not None:
                self._whole = self._whole_chunk_view()  # a view keeps the shape it was made with
        while start < end:
            stop = min(end, (start // self.chunk_rows + 1) * self.chunk_rows)
            piece = rows[start - self.n_rows : stop - self.n_rows]
            whole = stop - start == self.chunk_rows and _has_nonzero(piece)
            if whole and self._direct is not None:
                self._direct.write(start // self.chunk_rows, piece)
            else:
                (self._whole if whole and self._whole is not None else self.array)[start:stop] = piece
            start = stop
        self.n_rows = end

    def close(self) -> None:
        if self.array.shape[0] != self.n_rows:
            self.array.resize((self.n_rows,) + self.array.shape[1:])


class _DirectChunkWriter:
    """Writes whole chunks of a uint8 array in a local store as zarr would (the same bytes, the
    same file), without zarr's per-write async machinery: in the decode step that machinery cost
    more CPU than lz4 itself (0.4 s per 1,500 RGB frames of 240x360, against 0.28 s for lz4), CPU
    that ffmpeg's decoder needs on a small machine. Only for the one codec chain frames use
    (bytes + Blosc); anything else goes through zarr. tests/test_decode.py checks the bytes are equal."""

    _SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}

    def __init__(self, directory: Path, array: zarr.Array, blosc: Any):
        self.directory = directory
        self.array = array
        self.blosc = blosc
        self.zeros = (0,) * (array.ndim - 1)

    @classmethod
    def for_array(cls, array: zarr.Array) -> "_DirectChunkWriter | None":
        import numcodecs
        from zarr.codecs import BytesCodec
        from zarr.storage import LocalStore

        codecs = getattr(array.metadata, "codecs", ())
        if (
            not isinstance(array.store, LocalStore)
            or array.dtype != np.uint8
            or len(codecs) != 2
            or not isinstance(codecs[0], BytesCodec)
            or not isinstance(codecs[1], BloscCodec)
            or array.shape[1:] != array.chunks[1:]
        ):
            return None
        b = codecs[1]
        blosc = numcodecs.Blosc(
            cname=b.cname.value, clevel=b.clevel, shuffle=cls._SHUFFLE[b.shuffle.value], blocksize=b.blocksize
        )
        return cls(Path(array.store.root) / array.path, array, blosc)

    def write(self, chunk_index: int, rows: np.ndarray) -> None:
        path = self.directory / self.array.metadata.encode_chunk_key((chunk_index, *self.zeros))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.blosc.encode(rows))


class FrameStoreWriter:
    """Writes a video's frames in order (see GrowingArray), then its labels, masks and attributes."""

    def __init__(
        self, path: str | Path, height: int, width: int, channels: int, chunk_frames: int = 16, expected: int = 0
    ):
        self.group = zarr.open_group(str(path), mode="w", zarr_format=3)
        self.chunk_frames = chunk_frames
        self._frames = GrowingArray(
            self.group, "frames", (height, width, channels), "uint8", chunk_frames,
            expected=expected, dimension_names=("t", "y", "x", "c"),
        )

    @property
    def n_frames(self) -> int:
        return self._frames.n_rows

    def append(self, frames: np.ndarray) -> None:
        self._frames.append(frames)

    def close(self) -> None:
        self._frames.close()

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
class ZarrStore:
    """Read access to one video's store (frames, features): the group, its name and attributes."""

    path: Path
    kind = "store"
    made_by = "the workflow"

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.exists():
            raise DataError(f"{self.kind} {self.path} does not exist", f"run {self.made_by} first")
        self.group = zarr.open_group(str(self.path), mode="r")

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".zarr")

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self.group.attrs)


@dataclass
class FrameStore(ZarrStore):
    """Read access to one video's frame store."""

    kind = "frame store"
    made_by = "the decode step"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.frames = self.group["frames"]

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
