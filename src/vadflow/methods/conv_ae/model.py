"""Conv-AE's network (Hasan et al. 2016, Fig. 2): pure torch, no I/O."""

from __future__ import annotations

import torch
from torch import nn

from vadflow.methods.conv_ae import ConvAEParams


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
