"""The networks and losses of Wan et al. (LAD) and Sultani et al. (DeepMIL).

``LadNet`` (Wan et al. sec. 4.2-4.3, Fig. 4): each clip's feature vector (2048 = RGB 1024 + flow
1024) is read as a (128, 4, 4) map; a two-layer ConvLSTM (128 channels, 3x3, stride 1) runs over
the K clips of a segment; its last hidden state, 4x4x128, is flattened to 2048 and goes through a
shared FC 1024 (ReLU), then two heads, FC 512 (ReLU) each: C category logits (softmax, eq. 6) and
m·K score logits (a sigmoid gives the per-frame anomaly scores of eq. 7). The paper's "2048 →
1024 → 512 → outputs" does not say whether 1024 is shared; the authors' code shares it.

``MILScorer`` and ``mil_ranking_loss`` (Sultani et al. sec. 3.3-4.1): FC 512 (ReLU) - dropout 0.6 -
FC 32 - dropout 0.6 - FC 1 (sigmoid) per segment; the hinge between the top segment of an
anomalous bag and that of a normal bag, plus temporal smoothness and sparsity of the anomalous
bag's scores (eq. 7).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods.nn.convlstm import ConvLSTMCell


class LadNet(nn.Module):
    def __init__(self, in_dim: int, n_classes: int, n_outputs: int, *, hidden: int = 128, layers: int = 2,
                 kernel: int = 3, grid: int = 4, fc: Sequence[int] = (1024, 512)):
        super().__init__()
        if in_dim % (grid * grid):
            raise ConfigError(
                f"lad_multitask: clip features of {in_dim} values cannot be read as a {grid}x{grid} map",
                f"use features whose width is a multiple of {grid * grid} (I3D: 1024 per stream), or change params.grid",
            )
        if len(fc) != 2:
            raise ConfigError(f"lad_multitask: fc must give two widths (shared, per head), got {list(fc)}", "e.g. fc: [1024, 512]")
        self.grid, self.hidden, self.in_channels = grid, hidden, in_dim // (grid * grid)
        self.cells = nn.ModuleList(
            ConvLSTMCell(self.in_channels if i == 0 else hidden, hidden, kernel) for i in range(layers)
        )
        self.shared = nn.Sequential(nn.Linear(hidden * grid * grid, fc[0]), nn.ReLU())
        self.category_head = nn.Sequential(nn.Linear(fc[0], fc[1]), nn.ReLU(), nn.Linear(fc[1], n_classes))
        self.score_head = nn.Sequential(nn.Linear(fc[0], fc[1]), nn.ReLU(), nn.Linear(fc[1], n_outputs))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K, D) clip rows -> (B, hidden·grid²): the last ConvLSTM's hidden state after the K clips."""
        B, K, _ = x.shape
        g = self.grid
        maps = x.reshape(B, K, self.in_channels, g, g)
        zeros = maps.new_zeros(B, self.hidden, g, g)
        states = [(zeros, zeros) for _ in self.cells]
        for t in range(K):
            inp = maps[:, t]
            for i, cell in enumerate(self.cells):
                states[i] = cell(inp, states[i])
                inp = states[i][0]
        return states[-1][0].flatten(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, K, D) -> category logits (B, C) and score logits (B, m·K)."""
        z = self.shared(self.encode(x))
        return self.category_head(z), self.score_head(z)


def multitask_loss(category_logits: torch.Tensor, score_logits: torch.Tensor, categories: torch.Tensor,
                   frame_labels: torch.Tensor, lambda_cls: float, lambda_score: float) -> dict[str, torch.Tensor]:
    """Eq. 8: λ1 · cross-entropy of the segment's video category (eq. 6) + λ2 · smooth-L1 between the
    sigmoid scores and the 0/1 frame labels (eq. 7, mean over the m·K frames and the batch). The
    weight penalty of eqs. 6-7 is the optimiser's weight decay."""
    cls = F.cross_entropy(category_logits, categories)
    score = F.smooth_l1_loss(torch.sigmoid(score_logits), frame_labels.to(score_logits.dtype))
    return {"loss": lambda_cls * cls + lambda_score * score, "classification": cls.detach(), "score": score.detach()}


class MILScorer(nn.Module):
    def __init__(self, in_dim: int, hidden: Sequence[int] = (512, 32), dropout: float = 0.6):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for i, h in enumerate(hidden):
            layers += [nn.Linear(width, h)] + ([nn.ReLU()] if i == 0 else []) + [nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) segment features -> (...) anomaly scores in (0, 1)."""
        return torch.sigmoid(self.net(x)).squeeze(-1)


def mil_ranking_loss(anomalous: torch.Tensor, normal: torch.Tensor, lambda_smooth: float,
                     lambda_sparse: float) -> dict[str, torch.Tensor]:
    """Sultani et al. eq. 7 on (B, S) segment scores of B anomalous and B normal bags, averaged over
    the B pairs: max(0, 1 − max_i s_a,i + max_i s_n,i) + λ1 Σ_i (s_a,i − s_a,i+1)² + λ2 Σ_i s_a,i."""
    hinge = F.relu(1.0 - anomalous.max(dim=1).values + normal.max(dim=1).values)
    smooth = (anomalous[:, 1:] - anomalous[:, :-1]).pow(2).sum(dim=1)
    sparse = anomalous.sum(dim=1)
    loss = hinge + lambda_smooth * smooth + lambda_sparse * sparse
    return {"loss": loss.mean(), "hinge": hinge.mean().detach(), "smoothness": smooth.mean().detach(),
            "sparsity": sparse.mean().detach()}
