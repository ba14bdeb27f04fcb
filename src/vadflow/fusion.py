"""Late fusion of two methods' scores (Luo et al.: spatial and temporal streams): per video,
s = s_spatial + beta * s_temporal on min-max normalised scores (beta = 0.5 in the paper).

A fusion entry in config names its two streams; nothing is trained, the scores of the two
are combined into a scores store like any method's, so evaluation and tables are unchanged.
``vadflow.config`` resolves a fusion entry into a ``MethodRun`` whose params are
``LateFusionParams``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vadflow.errors import ConfigError


@dataclass
class LateFusionParams:
    spatial: str = ""
    temporal: str = ""
    beta: float = 0.5


def fuse_scores(spatial: str | Path, temporal: str | Path, out: str | Path, run: dict[str, Any]) -> None:
    """Write the fused scores store; ``run`` is the fusion entry's ``MethodRun.to_dict()``."""
    from vadflow.evaluation.metrics import minmax_normalise
    from vadflow.scores import VideoScores, read_scores, write_scores

    _, s_scores, _ = read_scores(spatial)
    _, t_scores, _ = read_scores(temporal)
    beta = float(run["params"]["beta"])
    if set(s_scores) != set(t_scores):
        raise ConfigError(f"{spatial} and {temporal} scored different videos", "score both on the same test split")
    results = {
        v: VideoScores(scores=minmax_normalise(s_scores[v]) + beta * minmax_normalise(t_scores[v])) for v in s_scores
    }
    write_scores(out, results, run, fused_from=[str(spatial), str(temporal)])
