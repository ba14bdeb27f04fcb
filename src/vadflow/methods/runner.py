"""Train a configured method on a dataset's training stores, and score its test stores.

These are the functions behind the workflow's ``train`` and ``score`` rules and the CLI.
The checkpoint holds the resolved method config, so scoring needs nothing else.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import zarr

from vadflow import __version__
from vadflow.atomic import atomic_path
from vadflow.config import plain_method
from vadflow.methods import get_method_class
from vadflow.methods.base import InputSpec, Method, VideoInput, VideoScores
from vadflow.methods.training import (
    EpochLogger,
    load_checkpoint,
    pick_device,
    save_checkpoint,
    seed_everything,
    set_threads,
)


def _build(resolved: dict[str, Any], device: str) -> Method:
    cls = get_method_class(resolved["method"])
    params = resolved["params"]
    if isinstance(params, dict):
        params = cls.params_from_dict(params)
    inp = resolved["input"]
    if isinstance(inp, dict):
        inp = InputSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in inp.items()})
    return cls(params, inp, device=device, seed=resolved.get("seed", 0))


def open_videos(
    frame_stores: Sequence[str | Path], feature_stores: dict[str, Sequence[str | Path]] | None = None
) -> list[VideoInput]:
    """VideoInputs from frame stores and, per feature key, the feature stores in the same video order."""
    feature_stores = feature_stores or {}
    for key, paths in feature_stores.items():
        if len(paths) != len(frame_stores):
            raise ValueError(f"{len(paths)} stores of feature {key!r} for {len(frame_stores)} videos")
    return [
        VideoInput.open(f, {k: paths[i] for k, paths in feature_stores.items()}) for i, f in enumerate(frame_stores)
    ]


def train(
    resolved: dict[str, Any],
    train_stores: Sequence[str | Path],
    model_out: str | Path,
    log_csv: str | Path | None = None,
    *,
    features: dict[str, Sequence[str | Path]] | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> dict[str, Any]:
    """Fit the method; write the checkpoint atomically and one CSV row of loss per epoch.

    ``features`` maps each feature key of the method's input to the training videos'
    feature stores, in the order of ``train_stores``."""
    set_threads(threads)
    seed_everything(resolved.get("seed", 0))
    dev = pick_device(device)
    method = _build(resolved, dev)
    videos = open_videos(train_stores, features)
    print(f"training {resolved['name']} ({resolved['method']}) on {len(videos)} videos, device {dev}", file=sys.stderr)
    logger = EpochLogger(log_csv)
    t0 = time.perf_counter()
    try:
        method.fit(videos, logger)
    finally:
        logger.close()
    info = {
        "config": plain_method(resolved),
        "state": method.state(),
        "train_seconds": time.perf_counter() - t0,
        "train_videos": [str(p) for p in train_stores],
        "device": dev,
        "vadflow_version": __version__,
    }
    save_checkpoint(info, model_out)
    return info


def score(
    model_path: str | Path,
    test_stores: Sequence[str | Path],
    out: str | Path,
    *,
    features: dict[str, Sequence[str | Path]] | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> None:
    """Score every test video; write a scores store (one array per video, maps where the method has them)."""
    set_threads(threads)
    ckpt = load_checkpoint(model_path)
    resolved = ckpt["config"]
    dev = pick_device(device)
    method = _build(resolved, dev)
    method.load_state(ckpt["state"])
    t0 = time.perf_counter()
    results: dict[str, VideoScores] = {}
    n_frames = 0
    for video in open_videos(test_stores, features):
        result = method.score_video(video)
        if result.scores.shape != (video.n_frames,):
            raise RuntimeError(f"{resolved['method']} returned {result.scores.shape} scores for {video.n_frames} frames")
        results[video.name] = result
        n_frames += video.n_frames
    seconds = time.perf_counter() - t0
    write_scores(
        out,
        results,
        resolved,
        method_stats=frame_weighted_stats(results),
        device=dev,
        score_seconds=seconds,
        frames_per_second=n_frames / seconds if seconds > 0 else None,
        train_seconds=ckpt.get("train_seconds"),
    )


def frame_weighted_stats(results: dict[str, VideoScores]) -> dict[str, float]:
    """Each statistic's mean over all test frames (videos weighted by their length)."""
    totals: dict[str, list[float]] = {}
    for r in results.values():
        for k, v in r.stats.items():
            acc = totals.setdefault(k, [0.0, 0.0])
            acc[0] += float(v) * len(r.scores)
            acc[1] += len(r.scores)
    return {k: s / n for k, (s, n) in totals.items() if n}


def write_scores(out: str | Path, results: dict[str, VideoScores], resolved: dict[str, Any], **extra: Any) -> None:
    """A scores store: per test video its scores (and maps where there are), the method in the attributes."""
    with atomic_path(out) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        scores_g, maps_g = root.create_group("scores"), root.create_group("maps")
        for name, result in results.items():
            scores_g.create_array(name, data=np.asarray(result.scores, np.float64))
            if result.maps is not None:
                m = np.asarray(result.maps, np.float16)
                maps_g.create_array(name, data=m, chunks=(min(64, len(m)),) + m.shape[1:])
        root.attrs.update(
            {
                "method": resolved["method"],
                "name": resolved["name"],
                "label": resolved["label"],
                "supervision": resolved["supervision"],
                "config": resolved,
                "videos": list(results),
                "vadflow_version": __version__,
                **extra,
            }
        )


def read_scores(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(attributes, {video: scores}, {video: maps}) of a scores store."""
    root = zarr.open_group(str(path), mode="r")
    attrs = dict(root.attrs)
    videos = attrs["videos"]
    scores = {v: np.asarray(root["scores"][v][:]) for v in videos}
    maps = {v: np.asarray(root["maps"][v][:], np.float32) for v in videos if v in root["maps"]}
    return attrs, scores, maps
