"""The sRNN-AE (Luo et al.): K = 3 unfolded SISTA layers whose weights are computed from
θ = {A, λ1, λ2, γ, α0, Z}, trained by the engine with RMSProp (TensorFlow's decay 0.9, which
the authors trained with) on eq. 9, Σ_t ||X_t − Z H_t||²_F + β||θ||², for ``iterations`` steps.

A batch is ``batch_size`` (4) random 10-frame clips of the training videos, each with all its
pyramid cells (sec. 3.6: the 21 patches of a frame share one network; the authors' release
batches 4 clips x 21 patches the same way), so X_t holds 4 x 21 feature vectors and the
Frobenius norm sums their errors. A starts as training feature vectors drawn at random
(seeded), as in the authors' release."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from vadflow.methods.api import VideoInput
from vadflow.methods.engine import Stage, StepContext, TorchMethod
from vadflow.methods.engine.data import WindowDataset, sequence_windows
from vadflow.methods.srnn.cells import CellSequences, code_stats
from vadflow.methods.srnn.sparse_coding import SRNNAE, frame_errors, srnn_loss
from vadflow.scores import VideoScores

#: RMSProp decay of TensorFlow, which the authors trained with
RMS_ALPHA = 0.9


class SRNNAEMethod(CellSequences, TorchMethod):
    budget = "iterations"
    #: {iteration: model state} every ``snapshot_every`` iterations (test-selection measurement only)
    snapshots: dict[int, dict[str, torch.Tensor]]

    def _build(self, input_dim: int, n_atoms: int, A: torch.Tensor | None = None) -> SRNNAE:
        p = self.params
        return SRNNAE(input_dim, n_atoms, p.K, p.lam1, p.lam2, similarity=p.similarity, seed=self.seed, A=A)

    def setup(self, videos: Sequence[VideoInput]) -> None:
        p = self.params
        per_video = [np.ascontiguousarray(self.sequences(v).transpose(1, 0, 2)) for v in videos]  # (T, P, D) each
        frames = np.concatenate(per_video)  # time-major, so a window of rows is a clip with all its cells
        pool = frames.reshape(-1, frames.shape[-1])
        n_atoms = min(p.n_atoms, len(pool))
        init = pool[np.random.default_rng(self.seed).choice(len(pool), n_atoms, replace=False)].T  # (D, n_atoms)
        self.model = self._build(pool.shape[-1], n_atoms, torch.from_numpy(np.ascontiguousarray(init)))
        self.data = torch.from_numpy(frames)
        self.snapshots = {}
        self.starts = sequence_windows([len(v) for v in per_video], p.seq_len)
        if len(self.starts) == 0:
            raise ValueError(f"srnn_ae: no training sequence has {p.seq_len} frames (params.seq_len)")

    def stages(self) -> list[Stage]:
        p = self.params
        return [Stage("fit", iterations=p.iterations, batch_size=p.batch_size, log_every=p.log_every)]

    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> WindowDataset:
        return WindowDataset(self.data, self.starts, self.params.seq_len)

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        trainable = [q for q in self.model.parameters() if q.requires_grad]
        return torch.optim.RMSprop(trainable, lr=self.params.lr, alpha=RMS_ALPHA)

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        every = self.params.snapshot_every
        if every and ctx.step and ctx.step % every == 0 and ctx.step not in self.snapshots:
            self.snapshots[ctx.step] = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        clips = batch.transpose(1, 2).reshape(-1, batch.shape[1], batch.shape[-1])  # (B, T, P, D) -> (B·P, T, D)
        return {"loss": srnn_loss(ctx.model, clips, self.params.beta, batch_scale=ctx.world_size)}

    def extra_state(self) -> dict[str, Any]:
        return {"snapshots": self.snapshots}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.snapshots = dict(state.get("snapshots", {}))

    @staticmethod
    def _frame_scores(model: SRNNAE, x: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        model.eval()
        with torch.inference_mode():
            x_hat, codes = model(x)
            errors = frame_errors(x, x_hat)  # (P, T)
        return errors.amax(dim=0).double().cpu().numpy(), codes

    def score_video(self, video: VideoInput) -> VideoScores:
        x = self.device_sequences(video, self.device)
        scores, codes = self._frame_scores(self.model, x)
        snapshots = {}
        if self.snapshots:
            other = self._build(self.model.input_dim, self.model.n_atoms).to(self.device)
            for step, net in sorted(self.snapshots.items()):
                other.load_state_dict(net)
                snapshots[f"iteration_{step}"] = self._frame_scores(other, x)[0]
        return VideoScores(scores=scores, stats=code_stats(codes), snapshots=snapshots)

    def state(self) -> dict[str, Any]:
        state = {"net": self.model.state_dict(), "input_dim": self.model.input_dim, "n_atoms": self.model.n_atoms}
        if self.snapshots:
            state["snapshots"] = self.snapshots
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        self.model = self._build(state["input_dim"], state["n_atoms"])
        self.model.load_state_dict(state["net"])
        self.model.to(self.device)
        self.snapshots = dict(state.get("snapshots", {}))
