"""Soft thresholds, the proximal operators of the l1 norm: every sparse coder in the project
(SISTA / sRNN-AE of Luo et al.; ISTA, LISTA and SC2Net of Zhou et al.) uses these."""

from __future__ import annotations

import torch


def soft_nonneg(v: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """The one-sided soft threshold max(v − b, 0) of Luo et al.'s SISTA: non-negative codes."""
    return torch.relu(v - b)


def soft_threshold(v: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """The two-sided soft threshold sign(v) max(|v| − b, 0) (ISTA's shrinkage)."""
    return torch.sign(v) * torch.relu(v.abs() - b)
