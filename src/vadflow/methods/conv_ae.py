"""Conv-AE: the fully convolutional auto-encoder of Hasan et al., CVPR 2016,
"Learning temporal regularity in video sequences".

Input: cuboids of ``clip_length`` (10) grayscale frames stacked as channels, pixels
in [0, 1] minus the training mean frame. Encoder conv(512, 11x11, stride 4) -> pool
-> conv(256, 5x5) -> pool -> conv(128, 3x3); the decoder mirrors it with
max-unpooling and transposed convolutions back to ``clip_length`` frames; tanh
activations. Loss: Euclidean reconstruction error. Training clips are sampled with
temporal strides 1, 2 and 3 (the paper's temporal data augmentation); AdaGrad,
learning rate 0.01, as in the paper.

Scoring: every window of ``clip_length`` consecutive frames (stride 1) is
reconstructed; a frame's per-pixel error map is the mean of its squared errors over
the windows that contain it, and its reconstruction error e(t) the sum of that map.
The anomaly score is e(t); the paper's regularity score s(t) = 1 - (e(t) - min e)/max e
is a decreasing function of it and gives the same ROC under per-video min-max
normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods import register
from vadflow.methods.base import InputSpec, Method, VideoInput, VideoScores
from vadflow.methods.inputs import load_video
from vadflow.methods.training import EpochLogger, progress


@dataclass
class ConvAEParams:
    channels: tuple = (512, 256, 128)
    kernels: tuple = (11, 5, 3)
    first_stride: int = 4
    first_padding: int = 5
    activation: str = "tanh"
    epochs: int = 20
    batch_size: int = 1024
    optimizer: str = "adagrad"
    lr: float = 0.01
    weight_decay: float = 0.0005
    temporal_strides: tuple = (1, 2, 3)
    clip_step: int = 1
    score_batch_size: int = 32

    def __post_init__(self) -> None:
        if len(self.channels) != 3 or len(self.kernels) != 3:
            raise ConfigError("conv_ae: channels and kernels need three entries each", "e.g. channels: [512, 256, 128]")
        if self.optimizer not in ("adagrad", "adam", "sgd"):
            raise ConfigError(f"conv_ae: optimizer {self.optimizer!r} is not known", "use adagrad, adam or sgd")
        if self.activation not in ("tanh", "relu"):
            raise ConfigError(f"conv_ae: activation {self.activation!r} is not known", "use tanh or relu")


class ConvAENet(nn.Module):
    def __init__(self, in_frames: int, p: ConvAEParams):
        super().__init__()
        c1, c2, c3 = p.channels
        k1, k2, k3 = p.kernels
        act = nn.Tanh if p.activation == "tanh" else nn.ReLU
        self.conv1 = nn.Sequential(nn.Conv2d(in_frames, c1, k1, stride=p.first_stride, padding=p.first_padding), act())
        self.conv2 = nn.Sequential(nn.Conv2d(c1, c2, k2, padding=k2 // 2), act())
        self.conv3 = nn.Sequential(nn.Conv2d(c2, c3, k3, padding=k3 // 2), act())
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.deconv3 = nn.Sequential(nn.ConvTranspose2d(c3, c2, k3, padding=k3 // 2), act())
        self.deconv2 = nn.Sequential(nn.ConvTranspose2d(c2, c1, k2, padding=k2 // 2), act())
        self.deconv1 = nn.ConvTranspose2d(c1, in_frames, k1, stride=p.first_stride, padding=p.first_padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = self.conv1(x)
        p1, i1 = self.pool(h1)
        h2 = self.conv2(p1)
        p2, i2 = self.pool(h2)
        h3 = self.conv3(p2)
        d3 = self.deconv3(h3)
        u2 = self.unpool(d3, i2, output_size=h2.shape[-2:])
        d2 = self.deconv2(u2)
        u1 = self.unpool(d2, i1, output_size=h1.shape[-2:])
        return self.deconv1(u1, output_size=x.shape[-2:])


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


@register
class ConvAE(Method):
    name = "conv_ae"
    label = "Conv-AE [Hasan et al. 2016]"
    supervision = "U"
    uses_gpu = True
    Params = ConvAEParams
    default_input = InputSpec(height=None, width=None, color="gray", clip_length=10)
    default_resources = {"mem_mb": 8000, "runtime": 120, "threads": 2, "gpu": 1}

    def __init__(self, params: ConvAEParams, input_spec: InputSpec, device: str = "cpu", seed: int = 0):
        super().__init__(params, input_spec, device, seed)
        if input_spec.color != "gray":
            raise ConfigError("conv_ae works on grayscale cuboids", "set input.color: gray")
        self.net = ConvAENet(input_spec.clip_length, params).to(device)
        self.mean_frame: torch.Tensor | None = None  # (1, h, w) in [0, 1]

    def _optimizer(self):
        p = self.params
        if p.optimizer == "adagrad":
            return torch.optim.Adagrad(self.net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        if p.optimizer == "adam":
            return torch.optim.Adam(self.net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        return torch.optim.SGD(self.net.parameters(), lr=p.lr, momentum=0.9, weight_decay=p.weight_decay)

    def _prepare(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, L, h, w) -> float cuboids in [0, 1] minus the mean frame."""
        return frames_u8.to(self.device, non_blocking=True).float().div_(255.0) - self.mean_frame

    def fit(self, train_videos: Sequence[VideoInput], logger: EpochLogger) -> None:
        p, L = self.params, self.input.clip_length
        videos = [torch.from_numpy(load_video(v.frames, self.input)[:, 0]) for v in train_videos]  # (T, h, w) uint8
        h, w = videos[0].shape[-2:]
        self.mean_frame = (sum(v.double().sum(0) for v in videos) / sum(len(v) for v in videos) / 255.0).float()
        self.mean_frame = self.mean_frame[None].to(self.device)
        index = [
            (vi, win)
            for vi, v in enumerate(videos)
            for stride in p.temporal_strides
            for win in sliding_windows(len(v), L, stride, p.clip_step)
        ]
        if not index:
            raise ConfigError(
                f"conv_ae: no training video has {L} frames", "lower input.clip_length or use longer training videos"
            )
        gen = torch.Generator().manual_seed(self.seed)
        opt = self._optimizer()
        self.net.train()
        for epoch in range(1, p.epochs + 1):
            order = torch.randperm(len(index), generator=gen).tolist()
            total, count = 0.0, 0
            bar = progress(range(0, len(order), p.batch_size), desc=f"conv_ae epoch {epoch}/{p.epochs}")
            for b in bar:
                batch = [index[i] for i in order[b : b + p.batch_size]]
                x = self._prepare(torch.stack([videos[vi][torch.from_numpy(win)] for vi, win in batch]))
                loss = 0.5 * (self.net(x) - x).pow(2).sum(dim=(1, 2, 3)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(batch)
                count += len(batch)
                bar.set_postfix(loss=f"{total / count:.3f}")
            logger.log(epoch, total / count, clips=count)

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "mean_frame": self.mean_frame.cpu()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.mean_frame = state["mean_frame"].to(self.device)

    @torch.inference_mode()
    def score_video(self, test_video: VideoInput) -> VideoScores:
        self.net.eval()
        video = torch.from_numpy(load_video(test_video.frames, self.input)[:, 0])
        return windowed_reconstruction_scores(
            video, self.input.clip_length, lambda x: self.net(x), self._prepare, self.params.score_batch_size
        )
