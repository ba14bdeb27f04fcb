"""Training and scoring of the adversarial 3D convolutional auto-encoder (Sun et al., Algorithm 1).

Each step: the clean clip S (gray, [0, 1], minus the training mean frame) is corrupted (Gaussian
σ = 0.005 by default, Table VI's alternatives), the auto-encoder reconstructs the corrupted clip, then

  1. the discriminator takes a step on BCE(D(S), 1) + BCE(D(R(S+η)), 0): eq. 8/10 read as the
     standard GAN objective (the printed log D(R) has the sign the notes flag: the paper's own
     2 ln 2 plateau of Fig. 3b is this objective at D = ½);
  2. the auto-encoder takes a step on eq. 9, L_rec + λ L_adv, with L_rec the mean squared error
     over the clip's pixels (eq. 7's Euclidean loss, per pixel so that λ does not depend on the frame
     size) and L_adv the non-saturating BCE(D(R(S+η)), 1).

λ is not given: 0.001, so that the adversarial term stays below the reconstruction term through
training (with 0.01 the discriminator wins within two epochs and λ·L_adv grows to ten times L_rec:
docs/papers/adv3d.md); λ = 0 is "w/o GAN", no discriminator at all. RMSprop at 2e-4 for
both with PyTorch's other defaults (sec. IV-C). Scoring: every 16-frame window (stride 1) is
reconstructed without noise; a pixel's error is its squared error averaged over the windows that
contain it, a frame's e_t the sum over its pixels (eq. 13 up to the constant 1/(W·H)); eq. 14's
per-video normalisation is the evaluation's (``minmax_micro``).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vadflow.methods.adv3d.model import ConvAE3D, Discriminator3D
from vadflow.methods.api import VideoInput
from vadflow.methods.common.clip_autoencoder import ClipAutoencoder, MeanFrameClips
from vadflow.methods.engine import Stage, StepContext


def corrupt(x01: torch.Tensor, noise: str, sigma: float, fraction: float, peak: float,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Table VI's training noise on clips in [0, 1]: additive Gaussian (σ), salt-and-pepper (a
    ``fraction`` of the pixels set to 0 or 1 with equal odds: "SNR 95 %" for 0.05), Poisson (photon
    counts with ``peak`` photons for white), or none."""
    if noise == "none":
        return x01
    if noise == "gaussian":
        return x01 + sigma * torch.randn(x01.shape, generator=generator, device=x01.device)
    if noise == "salt_pepper":
        u = torch.rand(x01.shape, generator=generator, device=x01.device)
        out = x01.clone()
        out[u < fraction / 2] = 0.0
        out[(u >= fraction / 2) & (u < fraction)] = 1.0
        return out
    return torch.poisson(x01.clamp(min=0) * peak, generator=generator) / peak


class Adv3DNet(nn.Module):
    """The auto-encoder (its ``forward``) and, with λ > 0, the discriminator (``disc``)."""

    def __init__(self, ae: ConvAE3D, disc: Discriminator3D | None):
        super().__init__()
        self.ae = ae
        self.disc = disc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ae(x)


class Adv3DCAE(MeanFrameClips, ClipAutoencoder):
    manual_optimization = True

    def build_model(self) -> nn.Module:
        p = self.params
        ae = ConvAE3D(self.input.clip_length, p.channels, p.layers, p.conv, p.temporal_pooling, p.record_locations)
        disc = Discriminator3D(p.disc_channels) if p.adversarial_weight > 0 else None
        return Adv3DNet(ae, disc)

    def setup(self, videos: Sequence[VideoInput]) -> None:
        super().setup(videos)
        self.model.ae.check_input(*self.cache.size, f"{self.name} ({videos[0].frames.path})")

    def modules(self) -> dict[str, nn.Module]:
        """The auto-encoder and the discriminator wrapped apart: the discriminator is called outside
        the auto-encoder's forward and takes gradients in both backward passes of a step."""
        out = {"ae": self.model.ae}
        if self.model.disc is not None:
            out["disc"] = self.model.disc
        return out

    def configure_optimizers(self, stage: Stage) -> dict[str, torch.optim.Optimizer]:
        opts = {"autoencoder": torch.optim.RMSprop(self.model.ae.parameters(), lr=self.params.lr)}
        if self.model.disc is not None:
            opts["discriminator"] = torch.optim.RMSprop(self.model.disc.parameters(), lr=self.params.lr)
        return opts

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        p = self.params
        x01 = ClipAutoencoder.prepare(self, batch)  # (B, L, h, w) in [0, 1]
        mean = self.mean_frame.to(x01.device)
        clean = x01 - mean
        noisy = corrupt(x01, p.noise, p.noise_sigma, p.salt_pepper_fraction, p.poisson_peak) - mean
        recon = ctx.modules["ae"](noisy)
        disc = ctx.modules.get("disc")
        out = {}
        if disc is not None:  # Algorithm 1: the discriminator's step, then the auto-encoder's
            real, fake = disc(clean), disc(recon.detach())
            d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
                F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
            ctx.optimizers["discriminator"].zero_grad()
            ctx.backward(d_loss)
            ctx.optimizers["discriminator"].step()
            out["discriminator"] = d_loss.detach()
        rec = (recon - clean).pow(2).mean()
        loss = rec
        if disc is not None:
            fooled = disc(recon)
            adv = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
            loss = rec + p.adversarial_weight * adv
            out["adversarial"] = adv.detach()
        ctx.optimizers["autoencoder"].zero_grad()
        ctx.backward(loss)
        ctx.optimizers["autoencoder"].step()
        return {"loss": loss.detach(), "reconstruction": rec.detach(), **out}
