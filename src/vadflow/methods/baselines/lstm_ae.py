"""LSTM auto-encoder (Srivastava et al. 2015) over windows of consecutive feature vectors, the
recurrent baseline of Luo et al. Table 5, trained by the engine.

Each pyramid cell of a video is its own sequence. Features are standardised with the
training rows' per-dimension mean and std (std floored at 1e-6) so that the MSE weighs
dimensions comparably. Training: every window of ``seq_len`` consecutive rows of every
training sequence (a start every ``train_stride`` rows), shuffled each epoch; Adam, MSE,
gradient norm clipped at ``clip_grad``. Sequences shorter than ``seq_len`` repeat their last
row. Scoring: windows with stride 1; a row's score is its squared reconstruction error (mean
over D) averaged over the windows that contain it; a frame's score is its worst cell's.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from vadflow.methods.api import MethodRun, VideoInput
from vadflow.methods.common.feature_rows import FeatureInput
from vadflow.methods.common.scoring import windowed_errors
from vadflow.methods.engine import Stage, StepContext, TorchMethod
from vadflow.methods.engine.data import WindowDataset, sequence_windows
from vadflow.scores import VideoScores
from vadflow.windows import pad_to


class LSTMAENet(nn.Module):
    """Encoder LSTM -> (h, c) -> unconditioned decoder LSTM -> linear read-out.

    The decoder gets no inputs (a constant zero stream): everything it emits comes from the
    encoder's final state, Srivastava et al.'s "unconditioned" decoder, which cannot shortcut
    by copying its inputs. It emits the window in reverse order (last frame first), as in
    that paper. Feature mean/std are buffers, so they travel with ``state_dict``.
    """

    def __init__(self, input_dim: int, hidden: int, layers: int):
        super().__init__()
        self.encoder = nn.LSTM(input_dim, hidden, num_layers=layers, batch_first=True)
        self.decoder = nn.LSTM(1, hidden, num_layers=layers, batch_first=True)
        self.readout = nn.Linear(hidden, input_dim)
        self.register_buffer("feat_mean", torch.zeros(input_dim))
        self.register_buffer("feat_std", torch.ones(input_dim))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.feat_mean) / self.feat_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) standardised windows -> (B, L, D) reconstruction, original order."""
        _, state = self.encoder(x)
        zeros = x.new_zeros(x.shape[0], x.shape[1], 1)
        out, _ = self.decoder(zeros, state)
        return self.readout(out).flip(1)


class LSTMAEMethod(FeatureInput, TorchMethod):
    def __init__(self, run: MethodRun, device: str = "cpu"):
        super().__init__(run, device)
        self._check_features()
        self.grad_clip = self.params.clip_grad

    def _sequences(self, video: VideoInput) -> list[np.ndarray]:
        rows = self.rows(video)  # (T, P, D)
        return [rows[:, p] for p in range(rows.shape[1])]

    def setup(self, videos: Sequence[VideoInput]) -> None:
        p = self.params
        seqs = [s for v in videos for s in self._sequences(v) if len(s)]
        rows = np.concatenate(seqs).astype(np.float64)
        self.model = LSTMAENet(rows.shape[1], p.hidden, p.layers)
        self.model.feat_mean.copy_(torch.from_numpy(rows.mean(0)).float())
        self.model.feat_std.copy_(torch.from_numpy(np.maximum(rows.std(0), 1e-6)).float())
        padded = [pad_to(s, p.seq_len) for s in seqs]
        self.data = self.model.standardise(torch.from_numpy(np.concatenate(padded).astype(np.float32)))
        self.starts = sequence_windows([len(s) for s in padded], p.seq_len, p.train_stride)

    def stages(self) -> list[Stage]:
        return [Stage("fit", epochs=self.params.epochs, batch_size=self.params.batch_size)]

    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> WindowDataset:
        return WindowDataset(self.data, self.starts, self.params.seq_len)

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.params.lr)

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        return {"loss": (ctx.model(batch) - batch).pow(2).mean()}

    def state(self) -> dict[str, Any]:
        return {"net": self.model.state_dict(), "input_dim": int(self.model.feat_mean.numel())}

    def load_state(self, state: dict[str, Any]) -> None:
        p = self.params
        self.model = LSTMAENet(state["input_dim"], p.hidden, p.layers).to(self.device)
        self.model.load_state_dict(state["net"])

    @torch.inference_mode()
    def score_sequence(self, rows: np.ndarray) -> np.ndarray:
        """(T, D) feature rows -> (T,) float64 scores."""
        L = self.params.seq_len
        dev = self.model.feat_mean.device
        data = self.model.standardise(torch.from_numpy(pad_to(np.asarray(rows, np.float32), L)).to(dev))

        def errors(win: torch.Tensor) -> torch.Tensor:
            x = data[win.to(dev)]
            return (self.model(x) - x).pow(2).mean(-1)  # (B, L)

        return windowed_errors(len(rows), L, errors, self.params.score_batch_size).numpy()

    def score_video(self, video: VideoInput) -> VideoScores:
        self.model.eval()
        per_cell = np.stack([self.score_sequence(s) for s in self._sequences(video)], axis=1)
        return VideoScores(scores=per_cell.max(axis=1))
