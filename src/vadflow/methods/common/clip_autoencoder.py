"""Methods that reconstruct clips of frames (Conv-AE, ConvLSTM-AE): training clips streamed
from the frame stores by the engine, and reconstruction errors turned into per-frame scores
and pixel maps by the windowed scorer.

A subclass builds its network (``build_model``) and says how a clip is prepared
(``prepare``), what the loss is (``loss``) and which optimiser trains it.

With ``input.features: [<flow spec>]`` the clips are optical-flow images of that feature store
(``load_flow_video``: the magnitude for gray, x / y / magnitude for RGB) instead of frames: the
optical-flow auto-encoder of Sun et al. Table IX (after Ravanbakhsh et al.).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods.api import VideoInput
from vadflow.methods.common.frames import load_flow_video, load_video
from vadflow.methods.common.scoring import windowed_errors
from vadflow.methods.engine import Stage, StepContext, TorchMethod
from vadflow.methods.engine.data import ArrayClipCache, ClipDataset, FrameChunkCache, clip_index
from vadflow.scores import VideoScores
from vadflow.windows import pad_to, sliding_windows


class ClipAutoencoder(TorchMethod):
    """Params must have epochs, batch_size, lr, clip_step and score_batch_size (and weight_decay unless
    ``configure_optimizers`` is overridden)."""

    #: the colours the network takes (Conv-AE and ConvLSTM-AE stack gray frames as channels)
    colors: tuple[str, ...] = ("gray",)

    def __init__(self, run, device: str = "cpu"):
        super().__init__(run, device)
        if self.input.color not in self.colors:
            raise ConfigError(f"{self.name} works on {' or '.join(self.colors)} clips",
                              f"set input.color: {self.colors[0]} for {run.name}")

    # what subclasses say ---------------------------------------------------------
    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def loss(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The training loss of prepared clips ``x`` reconstructed by ``net``."""
        raise NotImplementedError

    def prepare(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, L, C, h, w) -> float clips in [0, 1] on the model's device, (B, L, h, w) for gray."""
        x = frames_u8.to(self._device()).float().div_(255.0)
        return x[:, :, 0] if x.shape[2] == 1 else x

    def fit_statistics(self, cache: FrameChunkCache) -> None:
        """Statistics of the training frames the method needs (none by default)."""

    def train_windows(self, n_frames: int) -> np.ndarray:
        """Frame indices (n, L) of a video's training clips (consecutive frames, every clip_step)."""
        return sliding_windows(n_frames, self.input.clip_length, step=self.params.clip_step)

    # the engine's hooks ------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _flow_key(self) -> str | None:
        features = self.input.features
        if len(features) > 1:
            raise ConfigError(f"{self.name} reads frames or one optical-flow spec, got input.features {list(features)}",
                              "name at most one feature spec of kind flow")
        return features[0] if features else None

    def video_array(self, video: VideoInput) -> np.ndarray:
        """The whole video as the network sees it: uint8 (T, C, h, w) frames, or flow images."""
        key = self._flow_key()
        return load_flow_video(video.feature(key), self.input) if key else load_video(video.frames, self.input)

    def setup(self, videos: Sequence[VideoInput]) -> None:
        if self._flow_key():
            self.cache = ArrayClipCache([self.video_array(v) for v in videos])
        else:
            self.cache = FrameChunkCache([v.frames.path for v in videos], self.input, self.run.trainer.cache_mb)
        self.clips = clip_index(self.cache.lengths, self.train_windows)
        if not self.clips:
            raise ConfigError(
                f"{self.name}: no training video has the {self.input.clip_length} frames of one clip",
                "lower input.clip_length or use longer training videos",
            )
        self.model = self.build_model()
        self.fit_statistics(self.cache)

    def stages(self) -> list[Stage]:
        return [Stage("fit", epochs=self.params.epochs, batch_size=self.params.batch_size)]

    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> ClipDataset:
        return ClipDataset(self.cache, self.clips)

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.params.lr, weight_decay=self.params.weight_decay)

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        return {"loss": self.loss(ctx.model, self.prepare(batch))}

    # scoring -----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"net": self.model.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model = self.build_model().to(self.device)
        self.model.load_state_dict(state["net"])

    @torch.inference_mode()
    def score_video(self, test_video: VideoInput) -> VideoScores:
        """Every window of ``clip_length`` frames (stride 1) is reconstructed; a frame's error
        map is the mean of its squared errors over the windows that contain it, its score the
        sum of that map. A video shorter than one clip repeats its last frame."""
        self.model.eval()
        L = self.input.clip_length
        video = torch.from_numpy(pad_to(self.video_array(test_video), L))  # (T, C, h, w)

        def errors(win: torch.Tensor) -> torch.Tensor:
            x = self.prepare(video[win])
            err = (self.model(x) - x).pow(2)
            return err if err.dim() == 4 else err.mean(2)  # (B, L, h, w); RGB: mean over channels

        maps = windowed_errors(test_video.n_frames, L, errors, self.params.score_batch_size)
        return VideoScores(scores=maps.sum(dim=(1, 2)).numpy(), maps=maps.float().numpy())


class MeanFrameClips:
    """Hasan et al.'s input convention, shared by the clip auto-encoders that follow it (Conv-AE,
    the adversarial 3D auto-encoder of Sun et al.): pixels in [0, 1] minus the training set's mean
    frame, training clips at temporal strides ``params.temporal_strides`` (the data augmentation of
    Hasan et al. sec. 3.1). Put before ``ClipAutoencoder`` in the bases."""

    mean_frame: torch.Tensor | None = None  # (1, h, w) in [0, 1]

    def prepare(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, L, 1, h, w) -> float clips (B, L, h, w) in [0, 1] minus the mean frame."""
        x = super().prepare(frames_u8)
        return x - self.mean_frame.to(x.device)

    def fit_statistics(self, cache: FrameChunkCache) -> None:
        """The training mean frame (Hasan et al.; Sun et al. sec. IV-C's "global mean image")."""
        total, count = 0.0, 0
        for v, n in enumerate(cache.lengths):
            x = cache.frames(v, np.arange(n))[:, 0].astype(np.float64)
            total, count = total + x.sum(0), count + n
        self.mean_frame = torch.from_numpy(total / count / 255.0).float()[None]

    def train_windows(self, n_frames: int) -> np.ndarray:
        """Clips at temporal strides ``temporal_strides`` (1, 2, 3 in Hasan et al.), one every ``clip_step``."""
        p, L = self.params, self.input.clip_length
        return np.concatenate([sliding_windows(n_frames, L, s, p.clip_step) for s in p.temporal_strides])

    def state(self) -> dict[str, Any]:
        return {**super().state(), "mean_frame": self.mean_frame.cpu()}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.mean_frame = state["mean_frame"]

