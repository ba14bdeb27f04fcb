"""The networks of Chang et al. (sec. 3.2-3.5, Figs. 2, 4, 5): the spatial auto-encoder, the U-Net
motion auto-encoder with variance attention, and the deep K-means cluster distance.

Widths ``channels`` = (c1, c2, c3) are the three blocks' outputs (Figs. 2/4 print 64×64×128 and
32×32×256 for a 256×256 input: (64, 128, 256)); a stem conv of c1/2 channels comes first (not in the
text; the authors' code has one). Choices the text leaves open, in docs/papers/dissociation.md:

* **ResNet block** (encoder): conv 3×3 (stride 2) → LeakyReLU → conv 3×3, plus a 1×1 stride-2
  projection shortcut (He et al.'s), → LeakyReLU; no BN inside ("we remove the two batchnorm layers
  within each block"); the spatial encoder has a BN after each block, the motion encoder none.
* **Up block** (decoders): the block's stride is replaced by a ×2 pixel shuffle (Shi et al.) in the
  main path and the shortcut: shuffle → conv 3×3 → LeakyReLU → conv 3×3, shortcut shuffle → conv 1×1.
* **LeakyReLU** slope 0.01 (PyTorch's default); the decoders' last conv is linear.
* **Variance attention** (eqs. 7-9, OCR-garbled): f = W_a * z (a 1×1 conv, C → C), v(h, w) the
  variance of f over its channels, att = softmax of v over all locations (the "exp(v) / ||exp(v)||_1"
  of eq. 9), applied as z ⊙ (H·W·att): a spatial re-weighting whose mean is 1, so static regions
  are damped and fast-moving ones amplified (how att multiplies z is not in the text).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

SLOPE = 0.01


class ResBlock(nn.Module):
    """A downsampling ResNet basic block without BN (sec. 3.2)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.leaky_relu(self.conv1(x), SLOPE))
        return F.leaky_relu(y + self.shortcut(x), SLOPE)


class UpBlock(nn.Module):
    """The decoder's block: the ResNet block with its stride replaced by a ×2 pixel shuffle
    (sec. 3.2: "to reduce checkerboard artifacts"). ``c_in`` must be a multiple of 4."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.shuffle = nn.PixelShuffle(2)
        self.conv1 = nn.Conv2d(c_in // 4, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in // 4, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shuffle(x)
        y = self.conv2(F.leaky_relu(self.conv1(x), SLOPE))
        return F.leaky_relu(y + self.shortcut(x), SLOPE)


class VarianceAttention(nn.Module):
    """Eqs. 7-9: weights from the per-location variance of an embedding of the features over their
    channels, normalised over the locations; where features change most along the stacked frames
    (fast motion), the variance and so the weight is highest."""

    def __init__(self, channels: int):
        super().__init__()
        self.embed = nn.Conv2d(channels, channels, 1, bias=False)  # W_a of eq. 7

    def weights(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) attention with mean 1 over the locations: H·W·att of eq. 9."""
        f = self.embed(z)
        v = f.var(dim=1, unbiased=False)  # eq. 8: the variance over the feature dimension
        b, h, w = v.shape
        att = torch.softmax(v.reshape(b, -1), dim=1)  # eq. 9: exp(v) / sum over locations
        return (att * (h * w)).reshape(b, 1, h, w)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.weights(z)


class SpatialAE(nn.Module):
    """Reconstructs the first individual frame (Fig. 2, eqs. 1-2)."""

    def __init__(self, in_channels: int, channels: Sequence[int]):
        super().__init__()
        c1, c2, c3 = channels
        stem = max(4, c1 // 2)
        self.stem = nn.Conv2d(in_channels, stem, 3, 1, 1)
        self.blocks = nn.ModuleList([ResBlock(stem, c1), ResBlock(c1, c2), ResBlock(c2, c3)])
        self.norms = nn.ModuleList([nn.BatchNorm2d(c) for c in (c1, c2, c3)])  # "the batchnorm layer after the block"
        self.decoder = nn.Sequential(UpBlock(c3, c2), UpBlock(c2, c1), UpBlock(c1, c1))
        self.out = nn.Conv2d(c1, in_channels, 3, 1, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = F.leaky_relu(self.stem(x), SLOPE)
        for block, norm in zip(self.blocks, self.norms):
            z = norm(block(z))
        return z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.decoder(z))


class MotionAE(nn.Module):
    """U-Net from the first L-1 frames (stacked as channels) to the RGB difference x_L - x_1
    (Fig. 4, eqs. 4-5), with variance attention after each encoder block (sec. 3.4)."""

    def __init__(self, in_channels: int, out_channels: int, channels: Sequence[int], attention: bool):
        super().__init__()
        c1, c2, c3 = channels
        stem = max(4, c1 // 2)
        self.stem = nn.Conv2d(in_channels, stem, 3, 1, 1)
        self.blocks = nn.ModuleList([ResBlock(stem, c1), ResBlock(c1, c2), ResBlock(c2, c3)])
        self.attention = nn.ModuleList([VarianceAttention(c) for c in (c1, c2, c3)]) if attention else None
        self.up3 = UpBlock(c3, c2)  # -> H/4
        self.up2 = UpBlock(2 * c2, c1)  # [up3, skip of block 2] -> H/2
        self.up1 = UpBlock(2 * c1, c1)  # [up2, skip of block 1] -> H
        self.out = nn.Conv2d(c1, out_channels, 3, 1, 1)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The three blocks' outputs (after attention); the last is z_m."""
        z = F.leaky_relu(self.stem(x), SLOPE)
        skips = []
        for i, block in enumerate(self.blocks):
            z = block(z)
            if self.attention is not None:
                z = self.attention[i](z)
            skips.append(z)
        return skips

    def decode(self, skips: list[torch.Tensor]) -> torch.Tensor:
        s1, s2, z = skips
        y = self.up3(z)
        y = self.up2(torch.cat([y, s2], 1))
        y = self.up1(torch.cat([y, s1], 1))
        return self.out(y)


def normalise_representation(z_a: torch.Tensor | None, z_m: torch.Tensor | None) -> torch.Tensor:
    """r of sec. 3.5: the two bottlenecks concatenated along channels at each location, scaled to
    unit L2 norm per location ("normalize ... within [0, 1]": we read it as a bounded, scale-free
    vector; a min-max over a batch would make a clip's r depend on its batch). (B, D, h, w)."""
    z = torch.cat([t for t in (z_a, z_m) if t is not None], 1)
    return F.normalize(z, dim=1)


def cluster_distance(r: torch.Tensor, centres: torch.Tensor, alpha: float) -> torch.Tensor:
    """Eq. 10 at every location: sum_k q_k ||r - c_k||², q = softmax_k(-alpha ||r - c_k||), the soft
    assignment. r (B, D, h, w), centres (K, D) -> (B, h, w)."""
    b, d, h, w = r.shape
    flat = r.permute(0, 2, 3, 1).reshape(-1, d)
    sq = (flat[:, None, :] - centres[None]).pow(2).sum(-1)  # (N, K), exact (cdist's matmul form is not)
    dist = sq.clamp_min(1e-12).sqrt()
    q = torch.softmax(-alpha * dist, dim=1)
    return (q * sq).sum(1).reshape(b, h, w)


class DissociationStreams(nn.Module):
    """The two auto-encoders: the spatial one on the first frame, the motion U-Net to the difference."""

    def __init__(self, frame_channels: int, clip_length: int, channels: Sequence[int], streams: Sequence[str],
                 attention: bool):
        super().__init__()
        self.spatial = SpatialAE(frame_channels, channels) if "appearance" in streams else None
        self.motion = (MotionAE(frame_channels * (clip_length - 1), frame_channels, channels, attention)
                       if "motion" in streams else None)

    def forward(self, clip: torch.Tensor) -> dict[str, torch.Tensor]:
        """clip (B, L, C, h, w) in [0, 1] -> the FIF reconstruction, the predicted difference and r."""
        out: dict[str, torch.Tensor] = {}
        z_a = z_m = None
        if self.spatial is not None:
            z_a = self.spatial.encode(clip[:, 0])
            out["fif"] = self.spatial.decode(z_a)
        if self.motion is not None:
            skips = self.motion.encode(clip[:, :-1].flatten(1, 2))  # x_clips: the first L-1 frames as channels
            z_m = skips[-1]
            out["diff"] = self.motion.decode(skips)
        out["r"] = normalise_representation(z_a, z_m)
        return out


class ClusterCentres(nn.Module):
    """The K learnt centres (K-means-initialised); ``forward(r)`` is eq. 10's distance map. A module
    of its own, so that under DDP the centres are wrapped apart from the auto-encoders: unused while
    pre-training, and trained by a backward pass of their own (eq. 11)."""

    def __init__(self, clusters: int, dim: int):
        super().__init__()
        self.centres = nn.Parameter(torch.zeros(clusters, dim))

    def forward(self, r: torch.Tensor, alpha: float) -> torch.Tensor:
        return cluster_distance(r, self.centres, alpha)


class DissociationNet(nn.Module):
    """The two streams (``streams``) and the K cluster centres (``clusters``, None without K-means)."""

    def __init__(self, frame_channels: int, clip_length: int, channels: Sequence[int], streams: Sequence[str],
                 attention: bool, clusters: int):
        super().__init__()
        self.streams = DissociationStreams(frame_channels, clip_length, channels, streams, attention)
        self.clusters = ClusterCentres(clusters, channels[-1] * len(streams)) if clusters else None

    @property
    def spatial(self) -> SpatialAE | None:
        return self.streams.spatial

    @property
    def motion(self) -> MotionAE | None:
        return self.streams.motion

    @property
    def centres(self) -> nn.Parameter | None:
        return self.clusters.centres if self.clusters is not None else None

    def autoencoder_parameters(self) -> list[nn.Parameter]:
        return list(self.streams.parameters())

    def forward(self, clip: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.streams(clip)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Also reads models saved before the streams and the centres were split (keys ``centres``,
        ``spatial.*``, ``motion.*``)."""
        if state_dict and not any(k.startswith(("streams.", "clusters.")) for k in state_dict):
            state_dict = {("clusters.centres" if k == "centres" else f"streams.{k}"): v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)
