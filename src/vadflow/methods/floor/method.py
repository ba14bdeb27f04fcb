"""The two parameter-free floors (see ``vadflow.methods.floor``)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from vadflow.methods.api import FitContext, Method, VideoInput
from vadflow.methods.common.frames import prepare_frames, target_size
from vadflow.scores import VideoScores


def _chunks(video: VideoInput, method: Method):
    """The video's frames as the method sees them, float32 (t, C, h, w) in [0, 1], chunk by chunk."""
    store = video.frames
    size = target_size(store, method.input)
    step = method.params.chunk
    for s in range(0, store.n_frames, step):
        yield prepare_frames(store.read(s, s + step), method.input, size).astype(np.float32) / 255.0


def _scores(maps: np.ndarray, keep: bool = True) -> VideoScores:
    """Frame score = the sum of its map (the clip auto-encoders' pooling); maps kept as float32 (``keep``)."""
    return VideoScores(scores=maps.sum(axis=(1, 2), dtype=np.float64), maps=maps.astype(np.float32) if keep else None)


class FrameDifference(Method):
    """Squared difference to the previous frame (mean over colour channels), per pixel."""

    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        pass  # nothing to learn

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass

    def score_video(self, video: VideoInput) -> VideoScores:
        steps, previous, first = [], None, None  # steps: the maps of frames 1..T-1
        for x in _chunks(video, self):
            first = x[:1] if first is None else first
            joined = x if previous is None else np.concatenate([previous, x])
            steps.append(((joined[1:] - joined[:-1]) ** 2).mean(axis=1))
            previous = x[-1:]
        steps = np.concatenate(steps)
        if not len(steps):  # a one-frame video: nothing moved
            return _scores(np.zeros((1, *first.shape[-2:]), np.float32), self.params.maps)
        return _scores(np.concatenate([steps[:1], steps]), self.params.maps)  # frame 0: the first pair's difference


class MeanFrameDistance(Method):
    """Squared difference to the mean normal training frame (mean over colour channels), per pixel."""

    mean: np.ndarray  # (C, h, w) float32 in [0, 1]

    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        total, count = None, 0
        for v in videos:
            for x in _chunks(v, self):
                s = x.sum(axis=0, dtype=np.float64)
                total = s if total is None else total + s
                count += len(x)
        self.mean = (total / count).astype(np.float32)
        ctx.log.log(stage="mean", epoch="", step=0, loss=0.0, samples=count)

    def state(self) -> dict[str, Any]:
        import torch

        return {"mean": torch.from_numpy(self.mean)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.mean = state["mean"].numpy()

    def score_video(self, video: VideoInput) -> VideoScores:
        size = self.mean.shape[-2:]
        maps = []
        for x in _chunks(video, self):
            if x.shape[-2:] != size:
                from vadflow.errors import DataError

                raise DataError(f"video {video.name} ({video.frames.path}) has frames of {x.shape[-2:]} where the "
                                f"training frames were {size}", "decode every video of a dataset at one size")
            maps.append(((x - self.mean[None]) ** 2).mean(axis=1))
        return _scores(np.concatenate(maps), self.params.maps)
