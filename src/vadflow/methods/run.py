"""Train a configured method on a dataset's training stores, and score its test stores.

These are the functions behind the workflow's ``train`` and ``score`` rules and the CLI.
Training keeps only the videos the method's supervision regime admits (the workflow asks for
exactly those already), shows the method only the labels that regime allows, and resumes
from ``<model>.resume.pt`` when an earlier run of the same configuration was killed. The
checkpoint holds the resolved method entry, so scoring needs nothing else.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from vadflow import __version__
from vadflow.errors import ConfigError
from vadflow.methods import get_method_class
from vadflow.data.supervision import admits
from vadflow.provenance import model_inputs
from vadflow.methods.api import FitContext, Method, MethodRun, Supervision, TrainerParams, VideoInput
from vadflow.methods.engine import launch, ranks
from vadflow.methods.engine.log import TrainLog, load_checkpoint, save_checkpoint
from vadflow.runtime import flush_denormals, pick_device, report_gpu_peak, seed_everything, set_threads
from vadflow.scores import VideoScores, frame_weighted_stats, write_scores

Stores = Sequence[str | Path]


def as_run(run: MethodRun | Mapping[str, Any]) -> MethodRun:
    return run if isinstance(run, MethodRun) else MethodRun.from_dict(run)


def build(run: MethodRun, device: str) -> Method:
    return get_method_class(run.method)(run, device=device)


def open_videos(
    frame_stores: Stores,
    feature_stores: Mapping[str, Stores] | None = None,
    supervision: Supervision | None = None,
) -> list[VideoInput]:
    """VideoInputs from frame stores and, per feature key, the feature stores in the same video
    order; ``supervision`` None for test videos (no labels shown to the method)."""
    feature_stores = feature_stores or {}
    for key, paths in feature_stores.items():
        if len(paths) != len(frame_stores):
            raise ConfigError(
                f"{len(paths)} stores of feature {key!r} for {len(frame_stores)} videos",
                "give one feature store per frame store, in the same order",
            )
    return [
        VideoInput.open(f, {k: paths[i] for k, paths in feature_stores.items()}, supervision)
        for i, f in enumerate(frame_stores)
    ]


def resume_path(model_out: str | Path) -> Path:
    """Where training keeps its resume checkpoint: beside the model (not a workflow output)."""
    return Path(model_out).with_suffix(".resume.pt")


def final_path(model_out: str | Path) -> Path:
    """Where training keeps the checkpoint of the finished run (optimiser and random state included),
    which a longer run of the same entry extends: beside the model (not a workflow output)."""
    return Path(model_out).with_suffix(".final.pt")


def fingerprint(run: MethodRun, videos: Sequence[VideoInput], without: str | None = None) -> str:
    """What a resume checkpoint must match: the method entry (not how often it checkpoints)
    and the training videos with their feature stores; ``without`` leaves a param out (the
    training length, for the checkpoint a longer run extends)."""
    d = run.to_dict()
    d["trainer"] = {k: v for k, v in d["trainer"].items() if k not in TrainerParams.CADENCE}
    if without is not None:
        d["params"] = {k: v for k, v in d["params"].items() if k != without}
    d["videos"] = [[str(v.frames.path), sorted(str(f.path) for f in v.features.values())] for v in videos]
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def train(
    run: MethodRun | Mapping[str, Any],
    train_stores: Stores,
    model_out: str | Path,
    log_csv: str | Path | None = None,
    *,
    features: Mapping[str, Stores] | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> dict[str, Any]:
    """Fit the method; write the checkpoint atomically and the training log (CSV).

    ``features`` maps each feature key of the method's input to the training videos'
    feature stores, in the order of ``train_stores``. With ``trainer.devices`` > 1 this process
    starts and watches that many rank processes (``engine.launch``; ``threads`` are shared among
    them); each rank runs this function, and rank 0 alone writes the model, the log and the
    resume checkpoint."""
    run = as_run(run)
    if run.trainer.devices > 1 and not ranks.in_rank():
        return launch.train_ranks(run, train_stores, model_out, log_csv, features=features, device=device,
                                  threads=threads)
    writer = ranks.rank() == 0
    flush_denormals()  # before torch starts its threads: the flag is per thread
    set_threads(threads)
    seed_everything(run.seed, deterministic=run.trainer.deterministic)
    dev = pick_device(device, claim=not ranks.in_rank())
    method = build(run, dev)
    videos = [v for v in open_videos(train_stores, features, run.supervision)
              if admits(run.supervision.value, v.frames.attrs.get("video_label"))]
    if not videos:
        raise ConfigError(
            f"{run.name}: none of the {len(train_stores)} training videos is admitted under supervision "
            f"{run.supervision.value}",
            "unsupervised methods train on normal videos only: give normal training videos",
        )
    if writer:
        print(f"training {run.name} ({run.method}, {run.supervision.value}) on {len(videos)} videos, device {dev}",
              file=sys.stderr)
    log = TrainLog(log_csv if writer else None)
    budget = getattr(method, "budget", None)  # the param a longer run raises (TorchMethod.budget)
    length = getattr(run.params, budget, None) if budget else None
    ctx = FitContext(log=log, device=dev, checkpoint=resume_path(model_out), fingerprint=fingerprint(run, videos),
                     final=final_path(model_out) if length is not None else None,
                     extend_fingerprint=fingerprint(run, videos, without=budget) if length is not None else "",
                     budget=int(length or 0))
    t0 = time.perf_counter()
    try:
        method.fit(videos, ctx)
    finally:
        log.close()
    info = {
        "config": run.to_dict(),
        "state": method.state(),
        "train_seconds": time.perf_counter() - t0,
        "train_videos": [str(v.frames.path) for v in videos],
        "inputs": model_inputs(videos[0].frames, videos[0].features),  # what `vadflow detect` needs
        "device": dev,
        "gpu_peak_mb": report_gpu_peak(dev),
        "vadflow_version": __version__,
    }
    if writer:
        save_checkpoint(info, model_out)
        if ctx.checkpoint is not None:
            ctx.checkpoint.unlink(missing_ok=True)  # the model is safe: nothing left to resume
    return info


def score(
    model_path: str | Path,
    test_stores: Stores,
    out: str | Path,
    *,
    features: Mapping[str, Stores] | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> None:
    """Score every test video; write a scores store (one array per video, maps where the method has them)."""
    flush_denormals()  # before torch starts its threads: the flag is per thread
    set_threads(threads)
    ckpt = load_checkpoint(model_path)
    run = MethodRun.from_dict(ckpt["config"])
    dev = pick_device(device)
    method = build(run, dev)
    method.load_state(ckpt["state"])
    t0 = time.perf_counter()
    results: dict[str, VideoScores] = {}
    n_frames = 0
    for video in open_videos(test_stores, features):
        result = method.score_video(video)
        if result.scores.shape != (video.n_frames,):
            raise RuntimeError(f"{run.method} returned {result.scores.shape} scores for {video.n_frames} frames")
        results[video.name] = result
        n_frames += video.n_frames
    seconds = time.perf_counter() - t0
    report_gpu_peak(dev)
    write_scores(
        out,
        results,
        run.to_dict(),
        method_stats=frame_weighted_stats(results),
        device=dev,
        score_seconds=seconds,
        frames_per_second=n_frames / seconds if seconds > 0 else None,
        train_seconds=ckpt.get("train_seconds"),
        train_videos=len(ckpt.get("train_videos") or []) or None,
        **({"category_names": list(method.class_names)} if getattr(method, "class_names", None) else {}),
    )
