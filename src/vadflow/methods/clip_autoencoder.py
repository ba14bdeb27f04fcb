"""Methods that reconstruct clips of grayscale frames (Conv-AE, ConvLSTM-AE): how they sample
training clips, train, and turn reconstruction errors into per-frame scores and pixel maps.

A subclass builds its network (``_build_net``) and says how a clip is prepared, what the loss
is and which optimiser trains it; clip sampling and the training loop are shared.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods.base import InputSpec, Method, VideoInput, VideoScores
from vadflow.methods.inputs import load_video
from vadflow.methods.training import EpochLogger, progress


def sliding_windows(n_frames: int, length: int, stride: int = 1, step: int = 1) -> np.ndarray:
    """Frame indices (n_windows, length) of windows of ``length`` frames ``stride`` apart."""
    span = (length - 1) * stride + 1
    starts = np.arange(0, max(n_frames - span + 1, 0), step)
    return starts[:, None] + stride * np.arange(length)[None, :]


def windowed_reconstruction_scores(
    video: torch.Tensor,
    clip_length: int,
    reconstruct: Callable[[torch.Tensor], torch.Tensor],
    prepare: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int,
) -> VideoScores:
    """Scores of a clip auto-encoder: every window of ``clip_length`` frames (stride 1) is
    reconstructed; a frame's error map is the mean of its squared errors over the windows
    that contain it, and its score the sum of that map. ``video``: uint8 (T, h, w).
    A video shorter than one clip is padded by repeating its last frame."""
    T = len(video)
    if T < clip_length:
        video = torch.cat([video, video[-1:].expand(clip_length - T, -1, -1)])
    windows = sliding_windows(len(video), clip_length)
    err_sum = torch.zeros((len(video),) + tuple(video.shape[-2:]), dtype=torch.float64)
    counts = torch.zeros(len(video), dtype=torch.float64)
    for b in range(0, len(windows), batch_size):
        win = torch.from_numpy(windows[b : b + batch_size])
        x = prepare(video[win])
        err = (reconstruct(x) - x).pow(2).double().cpu()  # (B, L, h, w)
        err_sum.index_add_(0, win.reshape(-1), err.reshape(-1, *err.shape[-2:]))
        counts.index_add_(0, win.reshape(-1), torch.ones(win.numel(), dtype=torch.float64))
    maps = (err_sum / counts[:, None, None])[:T]
    return VideoScores(scores=maps.sum(dim=(1, 2)).numpy(), maps=maps.float().numpy())


class ClipAutoencoder(Method):
    """Params must have epochs, batch_size, lr, weight_decay, clip_step and score_batch_size."""

    supervision = "U"
    uses_gpu = True
    default_input = InputSpec(height=None, width=None, color="gray", clip_length=10)

    def __init__(self, params: Any, input_spec: InputSpec, device: str = "cpu", seed: int = 0):
        super().__init__(params, input_spec, device, seed)
        if input_spec.color != "gray":
            raise ConfigError(f"{self.name} works on grayscale clips", "set input.color: gray")
        self.net = self._build_net().to(device)

    # what subclasses say ---------------------------------------------------------
    def _build_net(self) -> nn.Module:
        raise NotImplementedError

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _prepare(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, L, h, w) -> float clips in [0, 1] on the device."""
        return frames_u8.to(self.device, non_blocking=True).float().div_(255.0)

    def _optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.net.parameters(), lr=self.params.lr, weight_decay=self.params.weight_decay)

    def _before_training(self, videos: list[torch.Tensor]) -> None:
        """Statistics of the training frames a method needs (none by default)."""

    def _train_windows(self, n_frames: int) -> list[np.ndarray]:
        """Frame indices of the training clips of a video (consecutive frames, every clip_step)."""
        return [sliding_windows(n_frames, self.input.clip_length, step=self.params.clip_step)]

    # shared ----------------------------------------------------------------------
    def fit(self, train_videos: Sequence[VideoInput], logger: EpochLogger) -> None:
        p = self.params
        videos = [torch.from_numpy(load_video(v.frames, self.input)[:, 0]) for v in train_videos]  # (T, h, w) uint8
        self._before_training(videos)
        index = [(vi, win) for vi, v in enumerate(videos) for wins in self._train_windows(len(v)) for win in wins]
        if not index:
            raise ConfigError(
                f"{self.name}: no training video has {self.input.clip_length} frames",
                "lower input.clip_length or use longer training videos",
            )
        gen = torch.Generator().manual_seed(self.seed)
        opt = self._optimizer()
        self.net.train()
        for epoch in range(1, p.epochs + 1):
            order = torch.randperm(len(index), generator=gen).tolist()
            total, count = 0.0, 0
            bar = progress(range(0, len(order), p.batch_size), desc=f"{self.name} epoch {epoch}/{p.epochs}")
            for b in bar:
                batch = [index[i] for i in order[b : b + p.batch_size]]
                x = self._prepare(torch.stack([videos[vi][torch.from_numpy(win)] for vi, win in batch]))
                loss = self._loss(x)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(batch)
                count += len(batch)
                bar.set_postfix(loss=f"{total / count:.4g}")
            logger.log(epoch, total / count, clips=count)

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])

    @torch.inference_mode()
    def score_video(self, test_video: VideoInput) -> VideoScores:
        self.net.eval()
        video = torch.from_numpy(load_video(test_video.frames, self.input)[:, 0])
        return windowed_reconstruction_scores(
            video, self.input.clip_length, self.net, self._prepare, self.params.score_batch_size
        )
