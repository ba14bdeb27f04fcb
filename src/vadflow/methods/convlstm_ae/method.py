"""ConvLSTM-AE (Luo et al. 2017) trained by the engine: see the package docstring."""

from __future__ import annotations

import torch
from torch import nn

from vadflow.methods.common.clip_autoencoder import ClipAutoencoder
from vadflow.methods.convlstm_ae.model import ConvLSTMAENet


class ConvLSTMAE(ClipAutoencoder):
    def build_model(self) -> nn.Module:
        return ConvLSTMAENet(self.params)

    def loss(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Mean squared reconstruction error over the clip."""
        return (net(x) - x).pow(2).mean()
