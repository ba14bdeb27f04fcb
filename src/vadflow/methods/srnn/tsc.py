"""TSC (Luo et al.): the dictionary by alternating SISTA codes and projected gradient steps,
codes by SISTA with K = 30 iterations. A numerical solver, not an optimiser loop, but it trains
through the engine all the same: one engine step is one dictionary iteration (``TSCFit.iterate``,
its objective logged as the step's loss), on the training device, with the engine's resume
checkpoints (a long fit on Avenue or ShanghaiTech survives a time limit) and its signals. The
training sequences stay on the CPU and are coded a chunk at a time on the device."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from vadflow.methods.api import FitContext, VideoInput
from vadflow.methods.engine import Stage, StepContext, TorchMethod
from vadflow.methods.srnn.cells import CellSequences, code_stats
from vadflow.methods.srnn.sparse_coding import (
    TSCFit,
    _group_by_length,
    lipschitz_gamma,
    sista_codes,
    tsc_reconstruction_error,
)
from vadflow.scores import VideoScores
from vadflow.windows import sliding_windows


def clips(sequences: Sequence[np.ndarray], length: int) -> list[np.ndarray]:
    """Non-overlapping clips of ``length`` frames (a sequence shorter than that is one shorter clip)."""
    out = []
    for s in sequences:
        windows = sliding_windows(len(s), length, step=length)
        out += [s[w] for w in windows] if len(windows) else [s]
    return out


class Dictionary(nn.Module):
    """The TSC dictionary A (D, n_atoms) as a buffer: what the engine moves and checkpoints."""

    def __init__(self, A: torch.Tensor):
        super().__init__()
        self.register_buffer("A", A.clone())


class _OneItem(torch.utils.data.Dataset):
    """Every dictionary iteration uses all training sequences: the engine's batch is a placeholder."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.zeros(())


class TSC(CellSequences, TorchMethod):
    manual_optimization = True
    budget = "dictionary_iterations"
    A: torch.Tensor
    gamma: float

    def setup(self, videos: Sequence[VideoInput]) -> None:
        p = self.params
        groups = _group_by_length(clips(self.training_sequences(videos), p.seq_len), None)
        self.fitter = TSCFit(groups, p.lam1, p.lam2, p.K)
        self.model = Dictionary(self.fitter.initial_dictionary(p.n_atoms, self.seed))

    def stages(self) -> list[Stage]:
        return [Stage("dictionary", iterations=self.params.dictionary_iterations, batch_size=1, log_every=1)]

    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> torch.utils.data.Dataset:
        return _OneItem()

    def configure_optimizers(self, stage: Stage) -> dict[str, torch.optim.Optimizer]:
        return {}

    @torch.no_grad()
    def training_step(self, batch: Any, ctx: StepContext) -> dict[str, float]:
        A, objective = self.fitter.iterate(self.model.A)
        self.model.A.copy_(A)
        return {"loss": objective}  # of the dictionary before this iteration

    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        super().fit(videos, ctx)
        A = self.model.A
        ctx.log.log(stage="final", epoch="", step=self.params.dictionary_iterations, loss=self.fitter.objective(A))
        self.A = A.to(self.device)
        self.gamma = lipschitz_gamma(A, self.params.lam2)  # the step constant, computed once (Algorithm 1's γ)

    def score_video(self, video: VideoInput) -> VideoScores:
        p = self.params
        x = self.device_sequences(video, self.device)
        with torch.inference_mode():
            codes = sista_codes(x, self.A, p.lam1, p.lam2, K=p.K, gamma=self.gamma)
            errors = tsc_reconstruction_error(x, self.A, codes)  # (P, T)
        return VideoScores(scores=errors.amax(dim=0).double().cpu().numpy(), stats=code_stats(codes))

    def state(self) -> dict[str, Any]:
        return {"A": self.A.cpu(), "gamma": self.gamma}

    def load_state(self, state: dict[str, Any]) -> None:
        self.A = state["A"].to(self.device)
        self.gamma = float(state["gamma"]) if "gamma" in state else lipschitz_gamma(state["A"], self.params.lam2)
