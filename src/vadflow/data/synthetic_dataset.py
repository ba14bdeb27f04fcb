"""Write a synthetic dataset (rendered by ``vadflow.data.synth``) as real MP4 videos in the generic layout."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vadflow.atomic import atomic_path
from vadflow.data.encode import write_mp4
from vadflow.errors import ConfigError


def _generators() -> dict[str, tuple[type, Any]]:
    from vadflow.data.synth import MovingDigitsParams, WalkwayParams, moving_digits_videos, walkway_videos

    return {
        "walkway": (WalkwayParams, walkway_videos),
        "moving_digits": (MovingDigitsParams, moving_digits_videos),
    }


def generator_params(generator: str, params: dict[str, Any], where: str = "params"):
    """The generator's parameter object, with errors that name the config key."""
    gens = _generators()
    if generator not in gens:
        raise ConfigError(f"unknown generator {generator!r}", f"use one of {sorted(gens)}")
    try:
        return gens[generator][0].from_dict(params or {})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}", exc.hint) from None


def build_synthetic_dataset(
    generator: str,
    params: dict[str, Any],
    out_dir: str | Path,
    *,
    seed: int = 0,
    fps: float = 10.0,
    color: str = "rgb",
    lossless: bool = False,
) -> dict[str, Any]:
    """Render and encode every video; the folder appears only when complete.

    ``lossless``: H.264's lossless mode (any frame size, exact pixels; see ``write_mp4``). It is
    recorded in dataset.json only when set, so the other datasets' files stay as they were.
    """
    p = generator_params(generator, params)
    render = _generators()[generator][1]
    summary: dict[str, Any] = {
        "generator": generator,
        "params": _jsonable(asdict(p)),
        "seed": seed,
        "fps": fps,
        "color": color,
        "videos": {},
    }
    if lossless:
        summary["lossless"] = True
    with atomic_path(out_dir) as tmp:
        for sub in ("train", "test", "labels", "masks"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        categories = {}
        for video in render(p, seed):
            write_mp4(video.frames, tmp / video.split / f"{video.name}.mp4", fps, color=color, lossless=lossless)
            if video.labels is not None:  # test videos and anomalous training videos
                np.save(tmp / "labels" / f"{video.name}.npy", video.labels.astype(np.uint8))
            if video.split == "test" and video.masks is not None:
                np.savez_compressed(tmp / "masks" / f"{video.name}.npz", masks=video.masks.astype(bool))
            if video.category is not None:
                categories[video.name] = video.category
            summary["videos"][video.name] = {
                "split": video.split,
                "n_frames": int(video.frames.shape[0]),
                "events": _jsonable(video.events),
                **({"category": video.category} if video.category is not None else {}),
            }
        if categories:
            (tmp / "categories.csv").write_text(
                "video,category\n" + "".join(f"{v},{c}\n" for v, c in categories.items()))
        (tmp / "dataset.json").write_text(json.dumps(summary, indent=1))
    return summary


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x
