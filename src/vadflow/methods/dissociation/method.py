"""Training and scoring of the spatio-temporal dissociation auto-encoder (Chang et al., sec. 3.6-3.7, 4.2).

Clips are L = 5 consecutive frames in [0, 1] (no mean subtraction), RGB: a gray store's channel is
repeated three times (``input.color: rgb`` on Ped2: the three channels are equal, as the authors'
loader gives them for gray videos); ``input.color: gray`` runs the same networks on one channel.

Training (sec. 4.2), two engine stages with Adam:

1. ``pretrain``: both auto-encoders on l_a + l_m (eqs. 3, 6) at lr 1e-4;
2. at its end the centres are initialised by K-means (scikit-learn, k-means++) on the normalised
   concatenated representations of ``kmeans_clips`` random training clips (all their locations, at
   most ``kmeans_samples``); then ``alternate``: each step first trains the auto-encoders on eq. 12
   with the centres frozen (not in their optimiser), then the centres on eq. 11 with the
   auto-encoders frozen (the representations detached; those of this step's batch, computed before
   the auto-encoders' update). The auto-encoders' lr drops from 1e-4 to 1e-5 after epoch
   ``lr_decay_epoch`` of this stage (never on Ped2's 100 epochs: the notes' ambiguity 7); the
   centres' lr is 1e-5. Without the deep K-means (``clusters: 0``) the second stage goes on training
   the auto-encoders on l_a + l_m, so that an ablation changes the cluster term only, not the epochs.

Losses: l_a the mean squared error of the FIF (eq. 3, "mean square error"); l_m the mean squared
error of the RGB difference plus the gradient loss of Liu et al. (eq. 6, weight 1: the mean absolute
difference of the absolute x and y image gradients); L_cluster the mean over locations of eq. 10
(the paper sums; a mean keeps lambda_r independent of the frame size).

Score (sec. 3.7): the prediction of the last frame x̂_L = x̂_FIF + x̂_diff, its squared error per pixel
(mean over colour channels), times the cluster distance map D(r, C) upsampled to the frame size
(nearest), averaged over the pixels: e = mean_p D_u(p) ||x_L(p) - x̂_L(p)||², and s = 1 / e (eq. 13,
high = normal). The clip's score belongs to its last frame; the first L - 1 frames of a video take the
first clip's. The frame score we store is -s, so that the evaluation's per-video min-max (eq. 14) gives
exactly 1 - S(t). Table 2's single streams: appearance only scores the FIF reconstruction error (the
clip's first frame; the last L - 1 frames take the last clip's), motion only the predicted difference's
error; without K-means D_u = 1. Pixel maps: D_u(p) ||x_L(p) - x̂_L(p)||².
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods.api import VideoInput
from vadflow.methods.common.clip_autoencoder import ClipAutoencoder
from vadflow.methods.dissociation.model import DissociationNet, cluster_distance
from vadflow.methods.engine import Stage, StepContext
from vadflow.scores import VideoScores
from vadflow.windows import pad_to


def gradient_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 6's second term (Liu et al.'s gradient loss): sum over x and y of the mean absolute
    difference between the absolute image gradients of the target and of the prediction."""
    loss = pred.new_zeros(())
    for dim in (-1, -2):
        g_t = target.diff(dim=dim).abs()
        g_p = pred.diff(dim=dim).abs()
        loss = loss + (g_t - g_p).abs().mean()
    return loss


class DissociationAE(ClipAutoencoder):
    budget = "alternate_epochs"  # the last stage's length: a run is extended by more alternation epochs
    colors = ("rgb", "gray")
    manual_optimization = True

    # set-up ----------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        p = self.params
        channels = 3 if self.input.color == "rgb" else 1
        return DissociationNet(channels, self.input.clip_length, p.channels, p.streams, p.variance_attention, p.clusters)

    def modules(self) -> dict[str, nn.Module]:
        """The auto-encoders and the centres wrapped apart (``ClusterCentres``)."""
        out = {"streams": self.model.streams}
        if self.model.clusters is not None:
            out["clusters"] = self.model.clusters
        return out

    def setup(self, videos: Sequence[VideoInput]) -> None:
        if self.input.clip_length < 2:
            raise ConfigError(f"{self.name}: a clip needs at least 2 frames (the paper: T = 5), "
                              f"got input.clip_length {self.input.clip_length}", "set input.clip_length: 5")
        super().setup(videos)
        h, w = self.cache.size
        if h % 8 or w % 8:
            raise ConfigError(
                f"{self.name}: frames of {h}x{w} ({videos[0].frames.path}) do not halve three times",
                "set input.height and input.width to multiples of 8 (the paper: 256 x 256)",
            )

    def stages(self) -> list[Stage]:
        p = self.params
        second = "alternate" if p.clusters else "continue"
        return [Stage("pretrain", epochs=p.pretrain_epochs, batch_size=p.batch_size),
                Stage(second, epochs=p.alternate_epochs, batch_size=p.batch_size)]

    def configure_optimizers(self, stage: Stage) -> dict[str, torch.optim.Optimizer]:
        opts = {"autoencoder": torch.optim.Adam(self.model.autoencoder_parameters(), lr=self.params.lr)}
        if stage.name == "alternate":
            opts["centres"] = torch.optim.Adam([self.model.centres], lr=self.params.centre_lr)
        return opts

    def clips_as_float(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, L, C, h, w) -> float (B, L, C, h, w) in [0, 1] on the model's device."""
        return frames_u8.to(self._device()).float().div_(255.0)

    def on_stage_start(self, stage: Stage, videos: Sequence[VideoInput]) -> None:
        if stage.name == "alternate":
            self.init_centres()

    @torch.no_grad()
    def init_centres(self) -> None:
        """Sec. 3.5: K-means on the concatenated representations of random training clips, the
        auto-encoders frozen (eval mode: the spatial encoder's BN uses its running statistics, as at
        test time). Deterministic in the seed, so a resume at the stage boundary redoes it exactly."""
        from sklearn.cluster import KMeans

        p, net = self.params, self.model
        rng = np.random.default_rng(self.seed)
        picked = np.sort(rng.choice(len(self.clips), size=min(p.kmeans_clips, len(self.clips)), replace=False))
        was_training = net.training
        net.eval()
        rows = []
        for b in range(0, len(picked), p.score_batch_size):
            batch = torch.stack([torch.from_numpy(self.cache.frames(*self.clips[i])) for i in picked[b : b + p.score_batch_size]])
            r = net(self.clips_as_float(batch))["r"]
            rows.append(r.permute(0, 2, 3, 1).reshape(-1, r.shape[1]).double().cpu().numpy())
        net.train(was_training)
        x = np.concatenate(rows)
        if len(x) > p.kmeans_samples:
            x = x[np.sort(rng.choice(len(x), size=p.kmeans_samples, replace=False))]
        if len(x) < p.clusters:
            raise ConfigError(f"{self.name}: {len(x)} representation vectors cannot make {p.clusters} clusters",
                              "lower params.clusters or raise params.kmeans_clips")
        km = KMeans(n_clusters=p.clusters, init="k-means++", n_init=3, random_state=self.seed).fit(x)
        net.centres.copy_(torch.from_numpy(km.cluster_centers_).to(net.centres))

    # training ------------------------------------------------------------------------------
    def reconstruction_losses(self, clip: torch.Tensor, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """l_a (eq. 3) and l_m (eq. 6) of the streams the model has."""
        losses = {}
        if "fif" in out:
            losses["appearance"] = F.mse_loss(out["fif"], clip[:, 0])
        if "diff" in out:
            target = clip[:, -1] - clip[:, 0]  # the RGB difference x_L - x_1 (sec. 3.3)
            losses["motion"] = F.mse_loss(out["diff"], target) + self.params.gradient_weight * gradient_loss(out["diff"], target)
        return losses

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        p, net = self.params, self.model
        clip = self.clips_as_float(batch)
        out = ctx.modules["streams"](clip)
        losses = self.reconstruction_losses(clip, out)
        loss = sum(losses.values())
        ae_opt = ctx.optimizers["autoencoder"]
        decayed = ctx.stage.name != "pretrain" and ctx.epoch > p.lr_decay_epoch
        for group in ae_opt.param_groups:
            group["lr"] = p.lr_decayed if decayed else p.lr
        logged = {k: v.detach() for k, v in losses.items()}
        centre_opt = ctx.optimizers.get("centres")
        if centre_opt is not None:  # eq. 12 with the centres frozen (detached; not in ae_opt either)
            cluster = cluster_distance(out["r"], net.centres.detach(), p.alpha).mean()
            loss = loss + p.cluster_weight * cluster
            logged["cluster"] = cluster.detach()
        ae_opt.zero_grad()
        ctx.backward(loss)
        ae_opt.step()
        if centre_opt is not None:  # eq. 11 with the auto-encoders frozen: r detached
            centre_opt.zero_grad()
            ctx.backward(ctx.modules["clusters"](out["r"].detach(), p.alpha).mean())
            centre_opt.step()
        return {"loss": loss.detach(), **logged}

    # scoring -----------------------------------------------------------------------------------
    def clip_maps(self, clip: torch.Tensor) -> torch.Tensor:
        """Per-pixel anomaly of each clip (B, h, w): D_u(p) times the squared error (sec. 3.7)."""
        p = self.params
        out = self.model(clip)
        if "fif" in out and "diff" in out:
            err = (clip[:, -1] - (out["fif"] + out["diff"])).pow(2)  # the predicted last frame
        elif "fif" in out:
            err = (clip[:, 0] - out["fif"]).pow(2)
        else:
            err = (clip[:, -1] - clip[:, 0] - out["diff"]).pow(2)
        err = err.mean(1)
        if self.model.centres is not None:
            d = cluster_distance(out["r"], self.model.centres, p.alpha)
            err = err * F.interpolate(d[:, None], size=err.shape[-2:], mode="nearest")[:, 0]
        return err

    @torch.inference_mode()
    def score_video(self, test_video: VideoInput) -> VideoScores:
        self.model.eval()
        p, L = self.params, self.input.clip_length
        video = torch.from_numpy(pad_to(self.video_array(test_video), L))  # (T, C, h, w) uint8
        starts = torch.arange(len(video) - L + 1)
        maps = []
        for b in range(0, len(starts), p.score_batch_size):
            index = starts[b : b + p.score_batch_size, None] + torch.arange(L)
            maps.append(self.clip_maps(self.clips_as_float(video[index])).float().cpu())
        clip_maps = torch.cat(maps)
        # a clip scores its last frame; appearance only, the first frame it reconstructs
        offset = 0 if self.model.motion is None else L - 1
        frame = (torch.arange(len(video)) - offset).clamp(0, len(clip_maps) - 1)
        frame_maps = clip_maps[frame][: test_video.n_frames]
        e = frame_maps.mean(dim=(1, 2), dtype=torch.float64).clamp_min(1e-12)
        return VideoScores(scores=(-1.0 / e).numpy(), maps=frame_maps.numpy())
