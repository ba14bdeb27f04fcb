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
from typing import Any

import numpy as np
import torch
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods import register
from vadflow.methods.clip_autoencoder import ClipAutoencoder, sliding_windows


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


@register
class ConvAE(ClipAutoencoder):
    name = "conv_ae"
    label = "Conv-AE [Hasan et al. 2016]"
    Params = ConvAEParams
    default_resources = {"mem_mb": 8000, "runtime": 120, "threads": 2, "gpu": 1}

    def _build_net(self) -> nn.Module:
        self.mean_frame: torch.Tensor | None = None  # (1, h, w) in [0, 1]
        return ConvAENet(self.input.clip_length, self.params)

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

    def _before_training(self, videos: list[torch.Tensor]) -> None:
        """The training mean frame, subtracted from every cuboid (Hasan et al.)."""
        mean = sum(v.double().sum(0) for v in videos) / sum(len(v) for v in videos) / 255.0
        self.mean_frame = mean.float()[None].to(self.device)

    def _train_windows(self, n_frames: int) -> list[np.ndarray]:
        """Clips at temporal strides 1, 2, 3: the paper's temporal data augmentation."""
        p = self.params
        return [sliding_windows(n_frames, self.input.clip_length, stride, p.clip_step) for stride in p.temporal_strides]

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        """Euclidean loss, 1/2 ||x - f(x)||^2 per cuboid."""
        return 0.5 * (self.net(x) - x).pow(2).sum(dim=(1, 2, 3)).mean()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "mean_frame": self.mean_frame.cpu()}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.mean_frame = state["mean_frame"].to(self.device)
