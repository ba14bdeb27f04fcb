"""Training data as ``torch.utils.data.Dataset``s.

``ClipDataset`` streams clips of frames straight from the Zarr frame stores: it reads whole
time chunks (the stores are chunked along time, 16 frames by default), converts and resizes
them once, and keeps the most recently used ones in a bounded cache, so a training set
larger than memory streams while a small one is decoded once. Works in DataLoader worker
processes (each opens the stores itself). ``WindowDataset`` serves windows of rows of an
in-memory array (feature sequences).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from vadflow.data.store import FrameStore
from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec
from vadflow.methods.common.frames import prepare_frames, target_size
from vadflow.windows import sliding_windows


class FrameChunkCache:
    """Processed frames of a set of stores, read and prepared one time chunk at a time, with an
    LRU cache of at most ``cache_mb`` megabytes."""

    def __init__(self, stores: Sequence[str | Path], spec: InputSpec, cache_mb: int = 1024):
        self.paths = [str(p) for p in stores]
        self.spec = spec
        self.budget = int(cache_mb) * 2**20
        self._stores: list[FrameStore] | None = [FrameStore(p) for p in self.paths]
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._bytes = 0
        self.lengths = [s.n_frames for s in self._stores]
        self.size = target_size(self._stores[0], spec) if self._stores else (0, 0)

    def __getstate__(self) -> dict:  # for DataLoader workers: no open stores, an empty cache
        return {**self.__dict__, "_stores": None, "_cache": OrderedDict(), "_bytes": 0}

    def _store(self, video: int) -> FrameStore:
        if self._stores is None:
            self._stores = [FrameStore(p) for p in self.paths]
        return self._stores[video]

    def _chunk(self, video: int, index: int) -> np.ndarray:
        key = (video, index)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        store = self._store(video)
        rows = store.frames.chunks[0]
        frames = prepare_frames(store.read(index * rows, (index + 1) * rows), self.spec, self.size)
        self._cache[key] = frames
        self._bytes += frames.nbytes
        while self._bytes > self.budget and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._bytes -= old.nbytes
        return frames

    def frames(self, video: int, index: np.ndarray) -> np.ndarray:
        """uint8 (len(index), C, h, w): the given frames of one video."""
        rows = self._store(video).frames.chunks[0]
        index = np.asarray(index)
        out = None
        for c in np.unique(index // rows):
            chunk = self._chunk(video, int(c))
            sel = np.nonzero(index // rows == c)[0]
            if out is None:
                out = np.empty((len(index),) + chunk.shape[1:], np.uint8)
            out[sel] = chunk[index[sel] - c * rows]
        return out


class ArrayClipCache:
    """The ``FrameChunkCache`` interface over videos already in memory, uint8 (T, C, h, w) each (the
    flow images a clip auto-encoder reads instead of frames)."""

    def __init__(self, videos: Sequence[np.ndarray]):
        self.videos = list(videos)
        self.lengths = [len(v) for v in self.videos]
        self.size = tuple(self.videos[0].shape[-2:]) if self.videos else (0, 0)

    def frames(self, video: int, index: np.ndarray) -> np.ndarray:
        return self.videos[video][np.asarray(index)]


class ClipDataset(torch.utils.data.Dataset):
    """Clips of frames: item i is uint8 (L, C, h, w), the frames ``clips[i] = (video, frame
    indices)`` of the training stores, in the method's colour and size."""

    def __init__(self, cache: "FrameChunkCache | ArrayClipCache", clips: Sequence[tuple[int, np.ndarray]]):
        self.cache = cache
        self.clips = list(clips)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> torch.Tensor:
        video, index = self.clips[i]
        return torch.from_numpy(self.cache.frames(video, index))


def clip_index(lengths: Sequence[int], windows_of) -> list[tuple[int, np.ndarray]]:
    """(video, frame indices) of every training clip; ``windows_of(n_frames)`` gives a video's
    windows as an (n, L) index array."""
    return [(v, win) for v, n in enumerate(lengths) for win in windows_of(n)]


class WindowDataset(torch.utils.data.Dataset):
    """Windows of ``length`` consecutive rows of ``data`` (N, ...) starting at ``starts``."""

    def __init__(self, data: torch.Tensor, starts: np.ndarray, length: int):
        if len(starts) and int(np.max(starts)) + length > len(data):
            raise ConfigError(f"a window of {length} rows runs past the {len(data)} rows of the data")
        self.data, self.starts, self.length = data, torch.as_tensor(np.asarray(starts, np.int64)), int(length)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> torch.Tensor:
        s = int(self.starts[i])
        return self.data[s : s + self.length]


def sequence_windows(lengths: Sequence[int], length: int, step: int = 1) -> np.ndarray:
    """Start rows of every window of ``length`` rows lying inside one of consecutive sequences
    of the given lengths (concatenated in order), one every ``step`` rows."""
    offsets = np.cumsum([0, *lengths[:-1]])
    starts = [o + sliding_windows(n, length, step=step)[:, 0] for o, n in zip(offsets, lengths)]
    return np.concatenate([np.zeros(0, np.int64), *starts]).astype(np.int64)
