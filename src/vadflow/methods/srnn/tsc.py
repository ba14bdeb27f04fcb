"""TSC (Luo et al.): the dictionary by alternating SISTA codes and projected gradient steps,
codes by SISTA with K = 30 iterations. A numerical solver, not an optimiser loop: it does not
go through the training engine, and logs its objective per dictionary iteration."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from vadflow.methods.api import FitContext, Method, VideoInput
from vadflow.methods.srnn.cells import CellSequences, code_stats
from vadflow.methods.srnn.sparse_coding import fit_tsc, lipschitz_gamma, sista_codes, tsc_reconstruction_error
from vadflow.scores import VideoScores
from vadflow.windows import sliding_windows


def clips(sequences: Sequence[np.ndarray], length: int) -> list[np.ndarray]:
    """Non-overlapping clips of ``length`` frames (a sequence shorter than that is one shorter clip)."""
    out = []
    for s in sequences:
        windows = sliding_windows(len(s), length, step=length)
        out += [s[w] for w in windows] if len(windows) else [s]
    return out


class TSC(CellSequences, Method):
    A: torch.Tensor
    gamma: float

    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        p = self.params
        seqs = self.training_sequences(videos)
        A, history = fit_tsc(
            clips(seqs, p.seq_len), p.n_atoms, p.lam1, p.lam2, p.K, p.dictionary_iterations,
            seed=self.seed, return_history=True,
        )
        self.A = A.to(self.device)
        self.gamma = lipschitz_gamma(A, p.lam2)  # the step constant, computed once (Algorithm 1's γ)
        for i, objective in enumerate(history):
            ctx.log.log(stage="dictionary", epoch=i, step=i, loss=objective)

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
