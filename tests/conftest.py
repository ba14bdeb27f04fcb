"""Shared fixtures: small videos and datasets made on the fly (nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from vadflow.data.encode import write_mp4

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("VADFLOW_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def moving_square(n: int = 30, h: int = 48, w: int = 64, size: int = 10, seed: int = 0) -> np.ndarray:
    """(n, h, w, 3) uint8: a bright square moving right over a noisy gray background."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, h, w, 3), 60, np.uint8) + rng.integers(0, 8, (n, h, w, 3), dtype=np.uint8)
    for t in range(n):
        x = (2 * t) % (w - size)
        frames[t, h // 2 - size // 2 : h // 2 + size // 2, x : x + size] = 220
    return frames


@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    write_mp4(moving_square(), path, fps=10)
    return path


def make_generic_dataset(root: Path, n_train: int = 2, n_test: int = 2, frames: int = 24) -> Path:
    """A dataset in the generic layout: MP4 videos, per-frame labels, masks for the first test video."""
    for sub in ("train", "test", "labels", "masks"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_train):
        write_mp4(moving_square(frames, seed=i), root / "train" / f"t{i}.mp4", fps=10)
    for i in range(n_test):
        video = moving_square(frames, seed=100 + i)
        video[frames // 2 :, 5:15, 5:15] = 255  # an "anomalous" blob in the second half
        write_mp4(video, root / "test" / f"v{i}.mp4", fps=10)
        labels = np.zeros(frames, np.uint8)
        labels[frames // 2 :] = 1
        np.save(root / "labels" / f"v{i}.npy", labels)
        if i == 0:
            masks = np.zeros((frames, 48, 64), bool)
            masks[frames // 2 :, 5:15, 5:15] = True
            np.savez_compressed(root / "masks" / f"v{i}.npz", masks=masks)
    return root


@pytest.fixture
def generic_dataset(tmp_path: Path) -> Path:
    return make_generic_dataset(tmp_path / "ds")


def leftovers(folder: Path) -> list[str]:
    """Temporary outputs left behind in ``folder`` (there must be none after a failure)."""
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


def make_block_stores(d: Path, color: str = "gray") -> tuple[list[Path], Path, Path]:
    """Frame stores for clip methods: two normal training videos, a test video in which a large white
    block appears half-way (frames 12.. labelled anomalous), and a 3-frame video shorter than a clip."""
    from vadflow.data.decode import DecodeSpec, decode_video

    spec = DecodeSpec(color=color)
    train = []
    for i in range(2):
        write_mp4(moving_square(24, seed=i), d / f"train{i}.mp4", fps=10)
        decode_video(d / f"train{i}.mp4", d / f"train{i}.zarr", spec)
        train.append(d / f"train{i}.zarr")
    test = moving_square(24, seed=9)
    test[12:, 4:20, 4:20] = 255
    write_mp4(test, d / "test.mp4", fps=10)
    decode_video(d / "test.mp4", d / "test.zarr", spec, labels=np.r_[np.zeros(12), np.ones(12)])
    write_mp4(moving_square(3, seed=5), d / "short.mp4", fps=10)
    decode_video(d / "short.mp4", d / "short.zarr", spec)
    return train, d / "test.zarr", d / "short.zarr"


def train_log_losses(path) -> list[float]:
    """The ``loss`` column of a training log (train_log.csv)."""
    import csv

    with open(path, newline="") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def feature_videos(d: Path, rows_by_video: dict[str, np.ndarray], key: str = "f") -> tuple[list[Path], dict]:
    """Frame stores (tiny blank frames) and feature stores holding the given rows, (T, D) or
    (T, P, D), per video: the inputs of a method on features, without a backbone."""
    from vadflow.data.store import FrameStoreWriter
    from vadflow.features.store import FeatureStoreWriter

    d.mkdir(parents=True, exist_ok=True)
    frames, feats = [], []
    for name, rows in rows_by_video.items():
        rows = np.asarray(rows, np.float32)
        fw = FrameStoreWriter(d / f"{name}.zarr", 8, 8, 1)
        fw.append(np.zeros((len(rows), 8, 8, 1), np.uint8))
        fw.close()
        fw.set_attrs({"n_frames": len(rows), "fps": 10.0})
        w = FeatureStoreWriter(d / f"{name}.{key}.zarr", rows.shape[1:], "float32", 16)
        w.append(rows, name)
        w.finish(np.arange(len(rows)), None, {})
        frames.append(d / f"{name}.zarr")
        feats.append(d / f"{name}.{key}.zarr")
    return frames, {key: feats}


def method_run(method: str, params: dict | None = None, features=("f",), **entry):
    """A resolved entry of a registered method, as config would give it."""
    from vadflow.config import resolve_method

    cfg = {"methods": {method: {"method": method, "input": {"features": list(features)}, "params": params or {},
                                **entry}}}
    return resolve_method(cfg, method)


CLIP_D = 32  # clip features of two streams of 16 values: read as (2, 4, 4) maps with grid 4


def clip_feature_video(d, name, n_frames, anomalous_frames=(), category=None, split="train", rng=None, m=4):
    """A frame store with labels and attributes, and two clip feature stores (rgb, flow) of clips of m
    frames (as I3D's), whose clips holding anomalous frames are shifted far from the normal ones:
    the inputs of the LAD network and DeepMIL, without a backbone."""
    from vadflow.data.store import FrameStoreWriter
    from vadflow.features.store import FeatureStoreWriter
    from vadflow.windows import covering_windows, window_of_frame

    rng = rng if rng is not None else np.random.default_rng(0)
    labels = np.zeros(n_frames, np.uint8)
    labels[list(anomalous_frames)] = 1
    fw = FrameStoreWriter(d / f"{name}.zarr", 8, 8, 1)
    fw.append(np.zeros((n_frames, 8, 8, 1), np.uint8))
    fw.close()
    fw.set_labels(labels)
    attrs = {"n_frames": n_frames, "fps": 10.0, "video": name, "split": split, "video_label": int(labels.any())}
    if category:
        attrs["category"] = category
    fw.set_attrs(attrs)
    windows = covering_windows(n_frames, m, m)
    stores = {}
    for key in ("rgb", "flow"):
        rows = rng.normal(0, 0.3, size=(len(windows), CLIP_D // 2))
        for i, (s, e) in enumerate(windows):
            if labels[s:e].any():
                rows[i] += 2.0 if key == "rgb" else -2.0
        w = FeatureStoreWriter(d / f"{name}.{key}.zarr", (CLIP_D // 2,), "float32", 16)
        w.append(rows.astype(np.float32), name)
        w.finish(window_of_frame(windows, n_frames), windows, {"spec": {"kind": "i3d", "window": m}})
        stores[key] = d / f"{name}.{key}.zarr"
    return d / f"{name}.zarr", stores
