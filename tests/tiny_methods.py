"""A tiny configuration of every registered method and the small stores they train on: shared by the
method contract (tests/test_method_contract.py) and the GPU-path tests (tests/test_gpu_path.py). The
configurations live in ``vadflow.methods.tiny`` (the GPU check's CPU dry run uses them too): a new
method adds its own there."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import clip_feature_video, feature_videos, make_block_stores
from vadflow.data.decode import DecodeSpec, decode_video
from vadflow.methods.tiny import FRAMES, TINY, kind_of

__all__ = ["FRAMES", "TINY", "kind_of", "make_contract_data"]


def make_contract_data(d: Path) -> dict:
    """Gray frame stores (two normal training videos, one anomalous *training* video with a video
    label, one test video) and feature stores of the same shape for the methods on features."""
    train, test, _ = make_block_stores(d)
    decode_video(d / "test.mp4", d / "anomalous.zarr", DecodeSpec(color="gray"),
                 labels=np.r_[np.zeros(12), np.ones(12)], extra_attrs={"video_label": 1, "category": "Block"})
    rng = np.random.default_rng(0)
    rows = {n: rng.normal(size=(24, 3, 5)).astype(np.float32) for n in ("train0", "train1", "anomalous", "test")}
    rows["test"][12:] += 3.0
    fframes, feats = feature_videos(d / "feat", rows)
    (d / "feat" / "anomalous.zarr").rename(d / "feat" / "anom_blank.zarr")
    decode_video(d / "test.mp4", d / "feat" / "anomalous.zarr", DecodeSpec(color="gray"),
                 extra_attrs={"video_label": 1})
    clip_dir = d / "clips"
    clip_dir.mkdir()
    clips = [clip_feature_video(clip_dir, f"train{i}", 24, rng=rng) for i in range(2)]
    clips += [clip_feature_video(clip_dir, "anomalous", 24, range(12, 24), category="Block", rng=rng),
              clip_feature_video(clip_dir, "test", 24, range(12, 24), split="test", rng=rng)]

    def streams(videos):
        return {k: [v[1][k] for v in videos] for k in ("rgb", "flow")}

    return {
        "frames": ([*train, d / "anomalous.zarr"], [test], None, None),
        "features": (fframes[:3], fframes[3:], {"f": feats["f"][:3]}, {"f": feats["f"][3:]}),
        "clips": ([v[0] for v in clips[:3]], [clips[3][0]], streams(clips[:3]), streams(clips[3:])),
    }


