"""Conv-AE (Hasan et al. 2016) trained by the engine: see the package docstring."""

from __future__ import annotations

import torch
from torch import nn

from vadflow.methods.common.clip_autoencoder import ClipAutoencoder, MeanFrameClips
from vadflow.methods.conv_ae.model import ConvAENet
from vadflow.methods.engine import Stage


class ConvAE(MeanFrameClips, ClipAutoencoder):
    def build_model(self) -> nn.Module:
        return ConvAENet(self.input.clip_length, self.params)

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        p, params = self.params, self.model.parameters()
        if p.optimizer == "adagrad":
            return torch.optim.Adagrad(params, lr=p.lr, weight_decay=p.weight_decay)
        if p.optimizer == "adam":
            return torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay)
        return torch.optim.SGD(params, lr=p.lr, momentum=0.9, weight_decay=p.weight_decay)

    def loss(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Euclidean loss, 1/2 ||x - f(x)||^2 per cuboid."""
        return 0.5 * (net(x) - x).pow(2).sum(dim=(1, 2, 3)).mean()
