"""The scores store: what the score and fuse steps write and evaluation and reporting read.

One Zarr group per (dataset, method): ``scores/<video>`` float64 (T,) per test video,
``maps/<video>`` float16 (T, h, w) where the method has per-pixel maps, and the method's
resolved config, timings and per-frame statistics in the attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from vadflow import __version__
from vadflow.atomic import atomic_path


@dataclass
class VideoScores:
    """A method's output for one test video."""

    scores: np.ndarray  # (T,) float, higher = more anomalous
    maps: np.ndarray | None = None  # (T, h, w) float per-pixel anomaly, where the method has them
    stats: dict[str, float] = field(default_factory=dict)  # per-frame means a paper reports (e.g. code sparsity)
    # the same video scored by earlier training snapshots ("iteration_1000": (T,) scores), kept only
    # to measure what choosing a snapshot on test labels would add; never used for a result
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    # methods with a category head (Wan et al.): the predicted class of each scored segment, as an
    # index into the scores store's ``category_names``
    categories: np.ndarray | None = None


def frame_weighted_stats(results: dict[str, VideoScores]) -> dict[str, float]:
    """Each statistic's mean over all test frames (videos weighted by their length)."""
    totals: dict[str, list[float]] = {}
    for r in results.values():
        for k, v in r.stats.items():
            acc = totals.setdefault(k, [0.0, 0.0])
            acc[0] += float(v) * len(r.scores)
            acc[1] += len(r.scores)
    return {k: s / n for k, (s, n) in totals.items() if n}


def write_scores(out: str | Path, results: dict[str, VideoScores], run: dict[str, Any], **extra: Any) -> None:
    """A scores store: per test video its scores (and maps where there are); ``run`` is the
    method's resolved entry as a plain dict (``MethodRun.to_dict()``)."""
    with atomic_path(out) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        scores_g, maps_g = root.create_group("scores"), root.create_group("maps")
        for name, result in results.items():
            scores_g.create_array(name, data=np.asarray(result.scores, np.float64))
            if result.maps is not None:
                m = np.asarray(result.maps, np.float16)
                maps_g.create_array(name, data=m, chunks=(min(64, len(m)),) + m.shape[1:])
            if result.categories is not None:
                root.require_group("categories").create_array(name, data=np.asarray(result.categories, np.int16))
            for key, values in result.snapshots.items():
                group = root.require_group(f"snapshots/{key}")
                group.create_array(name, data=np.asarray(values, np.float64))
        snapshot_keys = sorted({k for r in results.values() for k in r.snapshots}, key=_snapshot_order)
        root.attrs.update(
            {
                "method": run["method"],
                "name": run["name"],
                "label": run["label"],
                "supervision": run["supervision"],
                "config": run,
                "videos": list(results),
                **({"snapshots": snapshot_keys} if snapshot_keys else {}),
                "vadflow_version": __version__,
                **extra,
            }
        )


def read_categories(path: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """(class names, {video: predicted class index per segment}) of a scores store; empty when the
    method has no category head."""
    root = zarr.open_group(str(path), mode="r")
    if "categories" not in root:
        return [], {}
    group = root["categories"]
    return list(root.attrs.get("category_names") or []), {v: np.asarray(group[v][:]) for v in root.attrs["videos"]
                                                          if v in group}


def _snapshot_order(key: str) -> tuple[int, str]:
    tail = key.rsplit("_", 1)[-1]
    return (int(tail), key) if tail.isdigit() else (-1, key)


def read_snapshot_scores(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """{snapshot: {video: scores}} of a scores store written with training snapshots ({} without)."""
    root = zarr.open_group(str(path), mode="r")
    videos = root.attrs["videos"]
    return {key: {v: np.asarray(root[f"snapshots/{key}/{v}"][:]) for v in videos}
            for key in root.attrs.get("snapshots", [])}


def read_scores(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(attributes, {video: scores}, {video: maps}) of a scores store."""
    root = zarr.open_group(str(path), mode="r")
    attrs = dict(root.attrs)
    videos = attrs["videos"]
    scores = {v: np.asarray(root["scores"][v][:]) for v in videos}
    maps = {v: np.asarray(root["maps"][v][:], np.float32) for v in videos if v in root["maps"]}
    return attrs, scores, maps
