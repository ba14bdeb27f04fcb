"""The networks of Sun et al. (sec. III, IV-C, IV-E): the 3D convolutional auto-encoder with
index-recording max pooling and location-restoring max unpooling, its ablations (Table V), and the
3D convolutional discriminator.

Encoder (10-layer model; the "6-layer" model of Table VII drops Conv4, Conv5, Pool3, Pool4 and their
decoder twins):

    Conv1 (1×2×2) → Pool1 (1×2×2) → Conv2 → Pool2 (2×2×2) → Conv3 → Pool3 → Conv4 → Pool4 → Conv5

every conv 3×3×3, stride 1, size-preserving, then BN + Tanh (sec. IV-C). Conv1's 1×2×2 kernel is as
printed (C3D has 1×2×2 only for pool1; the notes flag it): an even kernel cannot keep the size with
symmetric padding, so it is zero-padded by one voxel at the bottom and right. The decoder mirrors it:
De-Conv1 … De-Conv5 are 3D transposed convolutions cropped back to their input's size (Hasan et al.'s
crop, which for a 3×3×3 kernel is padding 1), each but the last followed by BN + Tanh, with a max
unpooling after De-Conv1..4 that puts every value back where the matching pooling found its maximum.
Fig. 2's channel widths are not in the text: ``channels`` is a parameter (C3D's 64, 128, 256, 256, 512
in the paper config).

Ablations: ``conv="2d"`` stacks the clip's frames as channels and uses 2D layers throughout (w/o 3D
convolution); ``temporal_pooling=False`` makes every pooling window 1×2×2 (w/o 3D pooling);
``record_locations=False`` unpools every value to the upper-left corner of its window (w/o recording
locations).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vadflow.errors import ConfigError


def fixed_unpool(x: torch.Tensor, kernel: tuple[int, ...]) -> torch.Tensor:
    """Unpooling without recorded locations: each value goes to the first (upper-left, earliest)
    position of its window, zeros elsewhere (Table V, "w/o recording locations")."""
    spatial = x.shape[2:]
    out = x.new_zeros(*x.shape[:2], *[s * k for s, k in zip(spatial, kernel)])
    index = (slice(None), slice(None)) + tuple(slice(None, None, k) for k in kernel)
    out[index] = x
    return out


class _Pool(nn.Module):
    """Max pooling that keeps the argmax locations for its unpooling twin."""

    def __init__(self, kernel: tuple[int, ...]):
        super().__init__()
        self.kernel = kernel
        self.pool = (nn.MaxPool3d if len(kernel) == 3 else nn.MaxPool2d)(kernel, kernel, return_indices=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pool(x)


class _Unpool(nn.Module):
    def __init__(self, kernel: tuple[int, ...], record_locations: bool):
        super().__init__()
        self.kernel = kernel
        self.record_locations = record_locations
        self.unpool = (nn.MaxUnpool3d if len(kernel) == 3 else nn.MaxUnpool2d)(kernel, kernel)

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: torch.Size) -> torch.Tensor:
        if self.record_locations:
            return self.unpool(x, indices, output_size=size)
        return fixed_unpool(x, self.kernel)


def _conv(dims: int, c_in: int, c_out: int, first: bool) -> nn.Module:
    Conv = nn.Conv3d if dims == 3 else nn.Conv2d
    if first:  # the printed 1×2×2 kernel (2×2 in 2D), kept size by padding bottom/right
        kernel = (1, 2, 2) if dims == 3 else (2, 2)
        return nn.Sequential(nn.ZeroPad3d((0, 1, 0, 1, 0, 0)) if dims == 3 else nn.ZeroPad2d((0, 1, 0, 1)),
                             Conv(c_in, c_out, kernel))
    return Conv(c_in, c_out, 3, padding=1)


def _deconv(dims: int, c_in: int, c_out: int, last: bool) -> nn.Module:
    """A transposed convolution cropped to its input's size (Hasan et al.)."""
    ConvT = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
    if last:  # mirrors Conv1: a 1×2×2 kernel grows H and W by one; crop the added bottom/right
        kernel = (1, 2, 2) if dims == 3 else (2, 2)
        return _Cropped(ConvT(c_in, c_out, kernel))
    return ConvT(c_in, c_out, 3, padding=1)


class _Cropped(nn.Module):
    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)[..., :-1, :-1]


class ConvAE3D(nn.Module):
    """(B, T, H, W) mean-subtracted clips -> their reconstructions, same shape (linear output)."""

    def __init__(
        self,
        clip_length: int,
        channels: Sequence[int] = (64, 128, 256, 256, 512),
        layers: int = 10,
        conv: str = "3d",
        temporal_pooling: bool = True,
        record_locations: bool = True,
    ):
        super().__init__()
        if layers not in (6, 10):
            raise ConfigError(f"adv3d_cae: layers must be 10 or 6 (Table VII), got {layers}", "use layers: 10")
        if conv not in ("3d", "2d"):
            raise ConfigError(f"adv3d_cae: conv {conv!r} is not known", "use 3d, or 2d for the Table V ablation")
        n_conv = layers // 2
        if len(channels) < n_conv:
            raise ConfigError(f"adv3d_cae: {layers} layers need {n_conv} channel widths, got {list(channels)}",
                              "e.g. channels: [64, 128, 256, 256, 512]")
        self.clip_length, self.dims, self.n_conv = clip_length, (3 if conv == "3d" else 2), n_conv
        widths = list(channels[:n_conv])
        c_in = 1 if self.dims == 3 else clip_length  # 2D: the frames are the channels
        kernels = []
        for i in range(n_conv - 1):  # a pooling after every conv but the last
            temporal = 2 if (self.dims == 3 and temporal_pooling and i > 0) else 1
            kernels.append((temporal, 2, 2) if self.dims == 3 else (2, 2))
        self.kernels = kernels
        BN = nn.BatchNorm3d if self.dims == 3 else nn.BatchNorm2d
        self.enc = nn.ModuleList(
            nn.Sequential(_conv(self.dims, ([c_in] + widths)[i], widths[i], i == 0), BN(widths[i]), nn.Tanh())
            for i in range(n_conv)
        )
        self.pools = nn.ModuleList(_Pool(k) for k in kernels)
        self.unpools = nn.ModuleList(_Unpool(k, record_locations) for k in kernels)
        dec = []
        for i in reversed(range(n_conv)):  # De-Conv1 mirrors the last conv ... De-Conv(n) mirrors Conv1
            c_out = widths[i - 1] if i > 0 else c_in
            if i == 0:
                dec.append(_deconv(self.dims, widths[0], c_out, last=True))
            else:
                dec.append(nn.Sequential(_deconv(self.dims, widths[i], c_out, last=False), BN(c_out), nn.Tanh()))
        self.dec = nn.ModuleList(dec)

    @property
    def min_size(self) -> int:
        """H and W must be multiples of this (each pooling halves them)."""
        return 2 ** len(self.kernels)

    @property
    def temporal_factor(self) -> int:
        """T must be a multiple of this (the 2×2×2 poolings halve it)."""
        out = 1
        for k in self.kernels:
            out *= k[0] if self.dims == 3 else 1
        return out

    def check_input(self, height: int, width: int, where: str) -> None:
        m, t = self.min_size, self.temporal_factor
        if height % m or width % m or height < m or width < m:
            raise ConfigError(
                f"{where}: frames of {height}x{width} do not fit the auto-encoder: its {len(self.kernels)} poolings"
                f" need a height and width that are multiples of {m}",
                f"set input.height / input.width to multiples of {m} (the paper: 224 x 224)",
            )
        if self.clip_length % t:
            raise ConfigError(f"{where}: clips of {self.clip_length} frames do not fit its temporal poolings (÷{t})",
                              f"set input.clip_length to a multiple of {t} (the paper: 16)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x[:, None] if self.dims == 3 else x  # (B, 1, T, H, W) or (B, T, H, W)
        skips = []
        for i, layer in enumerate(self.enc):
            h = layer(h)
            if i < len(self.pools):
                size = h.shape[2:]
                h, idx = self.pools[i](h)
                skips.append((idx, size))
        for j, layer in enumerate(self.dec):
            h = layer(h)
            i = len(self.pools) - 1 - j  # the pooling this stage mirrors
            if i >= 0:
                idx, size = skips[i]
                h = self.unpools[i](h, idx, size)
        return h[:, 0] if self.dims == 3 else h


class Discriminator3D(nn.Module):
    """Three 3D conv + 3D max-pooling stages, then two fully connected layers, no BN (sec. IV-C);
    kernel sizes, widths and activations are not given: 3×3×3 convs, LeakyReLU(0.2), 2×2×2 pooling
    (1×2×2 while the clip is shorter than 2 frames), an adaptive average pool to 1×4×4 so the FC input
    does not grow with the frame size, FC 256 → 1. Returns logits (the probability is their sigmoid)."""

    def __init__(self, channels: Sequence[int] = (32, 64, 128), hidden: int = 256):
        super().__init__()
        layers, c_in = [], 1
        for c in channels:
            layers += [nn.Conv3d(c_in, c, 3, padding=1), nn.LeakyReLU(0.2)]
            c_in = c
        self.convs = nn.ModuleList(nn.Sequential(*layers[i : i + 2]) for i in range(0, len(layers), 2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * 16, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x[:, None]
        for conv in self.convs:
            h = conv(h)
            h = F.max_pool3d(h, (2 if h.shape[2] >= 2 else 1, 2, 2))
        return self.head(F.adaptive_avg_pool3d(h, (1, 4, 4)))[:, 0]
