"""Late fusion of two methods' scores (Luo et al.: spatial and temporal streams): per video,
s = s_spatial + beta * s_temporal on min-max normalised scores (beta = 0.5 in the paper).

A fusion entry in config names its two streams; nothing is trained, the scores of the two
are combined into a scores store like any method's, so evaluation and tables are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vadflow.errors import ConfigError
from vadflow.evaluation.metrics import minmax_normalise
from vadflow.methods.base import VideoScores


@dataclass
class LateFusionParams:
    spatial: str = ""
    temporal: str = ""
    beta: float = 0.5


def resolve_fusion(cfg: dict[str, Any], name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The resolved entry of a fusion method (see vadflow.config.resolve_method)."""
    from vadflow.config import resolve_method
    from vadflow.params import params_from_dict

    params = params_from_dict(LateFusionParams, entry["fusion"], where=f"methods.{name}.fusion")
    streams = {}
    for role in ("spatial", "temporal"):
        stream = getattr(params, role)
        if stream not in cfg["methods"] or "fusion" in cfg["methods"][stream]:
            raise ConfigError(
                f"methods.{name}.fusion.{role} names {stream!r}, which is not a configured (unfused) method",
                "name two entries of methods: that are trained",
            )
        streams[role] = resolve_method(cfg, stream)
    from vadflow.methods.base import InputSpec

    return {
        "name": name,
        "method": "late_fusion",
        "label": entry.get("label", f"{streams['spatial']['label']} + {streams['temporal']['label']} (late fusion)"),
        "supervision": entry.get("supervision", streams["spatial"]["supervision"]),
        "seed": entry.get("seed", cfg.get("seed", 0)),
        "input": InputSpec(),
        "params": params,
        "resources": {"mem_mb": 2000, "runtime": 10, "threads": 1},
        "uses_gpu": False,
    }


def fuse_scores(spatial: str | Path, temporal: str | Path, out: str | Path, resolved: dict[str, Any]) -> None:
    from vadflow.methods.runner import read_scores, write_scores

    _, s_scores, _ = read_scores(spatial)
    _, t_scores, _ = read_scores(temporal)
    beta = resolved["params"]["beta"]
    if set(s_scores) != set(t_scores):
        raise ConfigError(f"{spatial} and {temporal} scored different videos", "score both on the same test split")
    results = {
        v: VideoScores(scores=minmax_normalise(s_scores[v]) + beta * minmax_normalise(t_scores[v])) for v in s_scores
    }
    write_scores(out, results, resolved, fused_from=[str(spatial), str(temporal)])
