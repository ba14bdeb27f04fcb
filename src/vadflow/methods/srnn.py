"""TSC and sRNN-AE (Luo et al., TPAMI): temporally-coherent sparse coding and the stacked RNN
auto-encoder that unfolds its SISTA solver, as methods on pretrained features.

Each spatial-pyramid cell of a frame is a separate sequence over time (temporal coherence
only between the same cell of consecutive frames) and all cells share one dictionary; a
frame's anomaly score is the largest reconstruction error of its cells. Features are
l2-normalised per vector (the paper does so for raw intensities on moving digits).
The mathematics is in ``sparse_coding``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from vadflow.methods import register
from vadflow.methods.base import VideoInput, VideoScores
from vadflow.methods.feature_methods import FeatureMethod, patch_rows
from vadflow.methods.sparse_coding import (
    DEFAULT_LAM1,
    DEFAULT_LAM2,
    SRNNAE,
    fit_tsc,
    frame_errors,
    random_clip_batches,
    sista_codes,
    train_srnn,
    tsc_reconstruction_error,
)
from vadflow.methods.training import EpochLogger


def cell_sequences(rows: np.ndarray, l2_normalise: bool) -> np.ndarray:
    """(T, P, C) -> (P, T, C): one sequence per pyramid cell."""
    seq = np.ascontiguousarray(np.transpose(rows, (1, 0, 2)), dtype=np.float32)
    if l2_normalise:
        seq /= np.maximum(np.linalg.norm(seq, axis=-1, keepdims=True), 1e-8)
    return seq


def code_stats(codes: torch.Tensor) -> dict[str, float]:
    """Sparsity of the codes (…, n_atoms), averaged over frames: the fraction of zero
    coefficients (Luo et al. Fig. 8 plots it against the number of layers K)."""
    return {"code_sparsity": float((codes == 0).double().mean()), "code_l1": float(codes.abs().sum(-1).double().mean())}


def clips(sequences: Sequence[np.ndarray], length: int) -> list[np.ndarray]:
    """Non-overlapping clips of ``length`` frames (the tail of a short video is one shorter clip)."""
    out = []
    for s in sequences:
        starts = range(0, max(len(s) - length, 0) + 1, length)
        out += [s[i : i + length] for i in starts]
    return out


@dataclass
class TSCParams:
    n_atoms: int = 2048
    lam1: float = DEFAULT_LAM1
    lam2: float = DEFAULT_LAM2
    K: int = 30
    dictionary_iterations: int = 20
    seq_len: int = 10
    l2_normalise: bool = True


class CellSequenceMethod(FeatureMethod):
    """A method on per-cell feature sequences (P, T, C) of each video."""

    uses_gpu = True
    default_resources = {"mem_mb": 16000, "runtime": 360, "threads": 2, "gpu": 1}

    def sequences(self, video: VideoInput) -> np.ndarray:
        return cell_sequences(patch_rows(video, self.input.features), self.params.l2_normalise)

    def training_sequences(self, videos: Sequence[VideoInput]) -> list[np.ndarray]:
        return [s for v in videos for s in self.sequences(v)]

    def device_sequences(self, video: VideoInput) -> torch.Tensor:
        return torch.from_numpy(self.sequences(video)).to(self.device)


@register
class TSC(CellSequenceMethod):
    """Temporally-coherent sparse coding: dictionary by projected gradient, codes by SISTA (K = 30)."""

    name = "tsc"
    label = "TSC [Luo et al.]"
    Params = TSCParams

    def fit(self, videos: Sequence[VideoInput], logger: EpochLogger) -> None:
        p = self.params
        seqs = self.training_sequences(videos)
        A, history = fit_tsc(
            clips(seqs, p.seq_len), p.n_atoms, p.lam1, p.lam2, p.K, p.dictionary_iterations,
            seed=self.seed, return_history=True,
        )
        self.A = A.to(self.device)
        for i, objective in enumerate(history, start=1):
            logger.log(i, objective)

    def score_video(self, video: VideoInput) -> VideoScores:
        p = self.params
        x = self.device_sequences(video)
        with torch.inference_mode():
            codes = sista_codes(x, self.A, p.lam1, p.lam2, K=p.K)
            errors = tsc_reconstruction_error(x, self.A, codes)  # (P, T)
        return VideoScores(scores=errors.amax(dim=0).double().cpu().numpy(), stats=code_stats(codes))

    def state(self) -> dict[str, Any]:
        return {"A": self.A.cpu()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.A = state["A"].to(self.device)


@dataclass
class SRNNParams:
    n_atoms: int = 2048
    K: int = 3
    lam1: float = DEFAULT_LAM1
    lam2: float = DEFAULT_LAM2
    similarity: str = "gaussian"  # or "learned": S = phi(x_t)' phi(x_t-1), phi a ReLU MLP
    iterations: int = 20_000
    lr: float = 1e-5
    batch_size: int = 4
    seq_len: int = 10
    beta: float = 0.005
    l2_normalise: bool = True
    log_every: int = 100


@register
class SRNNAEMethod(CellSequenceMethod):
    """The stacked RNN auto-encoder (K = 3 unfolded SISTA layers), RMSProp on reconstruction + beta||theta||^2."""

    name = "srnn_ae"
    label = "sRNN-AE [Luo et al.]"
    Params = SRNNParams

    def fit(self, videos: Sequence[VideoInput], logger: EpochLogger) -> None:
        p = self.params
        seqs = self.training_sequences(videos)
        pool = np.concatenate(seqs)
        n_atoms = min(p.n_atoms, len(pool))
        init = pool[np.random.default_rng(self.seed).choice(len(pool), n_atoms, replace=False)].T  # (D, n_atoms)
        self.net = SRNNAE(pool.shape[-1], n_atoms, p.K, p.lam1, p.lam2, similarity=p.similarity, seed=self.seed,
                          A=torch.from_numpy(np.ascontiguousarray(init))).to(self.device)
        batches = (b.to(self.device) for b in random_clip_batches(seqs, p.batch_size, p.seq_len, seed=self.seed))
        window: list[float] = []

        def log(index: int, loss: float) -> None:  # index counts from 0
            window.append(loss)
            if (index + 1) % p.log_every == 0 or index + 1 == p.iterations:
                logger.log(index + 1, float(np.mean(window)))
                window.clear()

        train_srnn(self.net, batches, p.iterations, p.lr, beta=p.beta, callback=log)

    def score_video(self, video: VideoInput) -> VideoScores:
        x = self.device_sequences(video)
        self.net.eval()
        with torch.inference_mode():
            x_hat, codes = self.net(x)
            errors = frame_errors(x, x_hat)  # (P, T)
        return VideoScores(scores=errors.amax(dim=0).double().cpu().numpy(), stats=code_stats(codes))

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "input_dim": self.net.input_dim, "n_atoms": self.net.n_atoms}

    def load_state(self, state: dict[str, Any]) -> None:
        p = self.params
        self.net = SRNNAE(state["input_dim"], state["n_atoms"], p.K, p.lam1, p.lam2, similarity=p.similarity)
        self.net.load_state_dict(state["net"])
        self.net.to(self.device)


__all__ = ["TSC", "SRNNAEMethod", "cell_sequences", "clips"]
