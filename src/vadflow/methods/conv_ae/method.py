"""Conv-AE (Hasan et al. 2016) trained by the engine: see the package docstring."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from vadflow.methods.common.clip_autoencoder import ClipAutoencoder
from vadflow.methods.conv_ae.model import ConvAENet
from vadflow.methods.engine import Stage
from vadflow.methods.engine.data import FrameChunkCache
from vadflow.windows import sliding_windows


class ConvAE(ClipAutoencoder):
    mean_frame: torch.Tensor | None = None  # (1, h, w) in [0, 1]

    def build_model(self) -> nn.Module:
        return ConvAENet(self.input.clip_length, self.params)

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        p, params = self.params, self.model.parameters()
        if p.optimizer == "adagrad":
            return torch.optim.Adagrad(params, lr=p.lr, weight_decay=p.weight_decay)
        if p.optimizer == "adam":
            return torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay)
        return torch.optim.SGD(params, lr=p.lr, momentum=0.9, weight_decay=p.weight_decay)

    def prepare(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, L, 1, h, w) -> float cuboids (B, L, h, w) in [0, 1] minus the mean frame."""
        x = super().prepare(frames_u8)
        return x - self.mean_frame.to(x.device)

    def fit_statistics(self, cache: FrameChunkCache) -> None:
        """The training mean frame, subtracted from every cuboid (Hasan et al.)."""
        total, count = 0.0, 0
        for v, n in enumerate(cache.lengths):
            x = cache.frames(v, np.arange(n))[:, 0].astype(np.float64)
            total, count = total + x.sum(0), count + n
        self.mean_frame = torch.from_numpy(total / count / 255.0).float()[None]

    def train_windows(self, n_frames: int) -> np.ndarray:
        """Clips at temporal strides 1, 2, 3: the paper's temporal data augmentation."""
        p, L = self.params, self.input.clip_length
        return np.concatenate([sliding_windows(n_frames, L, s, p.clip_step) for s in p.temporal_strides])

    def loss(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Euclidean loss, 1/2 ||x - f(x)||^2 per cuboid."""
        return 0.5 * (net(x) - x).pow(2).sum(dim=(1, 2, 3)).mean()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "mean_frame": self.mean_frame.cpu()}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.mean_frame = state["mean_frame"]
