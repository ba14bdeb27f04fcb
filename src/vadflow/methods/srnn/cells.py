"""What TSC and sRNN-AE share: per-cell feature sequences, and the code statistics they report."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from vadflow.methods.api import MethodRun, VideoInput
from vadflow.methods.common.feature_rows import FeatureInput, cell_sequences


def code_stats(codes: torch.Tensor) -> dict[str, float]:
    """Sparsity of the codes (…, n_atoms), averaged over frames: the fraction of zero
    coefficients (Luo et al. Fig. 8 plots it against the number of layers K). Counted without a
    float64 copy of the codes (a long video's codes are large on a GPU)."""
    n = codes.numel()
    return {"code_sparsity": int((codes == 0).sum()) / n if n else 0.0,
            "code_l1": float(codes.abs().sum(-1).double().mean())}


class CellSequences(FeatureInput):
    """A method on per-cell feature sequences (P, T, C) of each video."""

    def __init__(self, run: MethodRun, device: str = "cpu"):
        super().__init__(run, device)
        self._check_features()

    def sequences(self, video: VideoInput) -> np.ndarray:
        return cell_sequences(self.rows(video), self.params.l2_normalise)

    def training_sequences(self, videos: Sequence[VideoInput]) -> list[np.ndarray]:
        return [s for v in videos for s in self.sequences(v)]

    def device_sequences(self, video: VideoInput, device: str | torch.device) -> torch.Tensor:
        return torch.from_numpy(self.sequences(video)).to(device)
