"""A tiny configuration of every registered method and the small stores they train on: shared by the
method contract (tests/test_method_contract.py) and the GPU-path tests (tests/test_gpu_path.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import clip_feature_video, feature_videos, make_block_stores
from vadflow.data.decode import DecodeSpec, decode_video

FRAMES = {"channels": [4, 4, 4], "kernels": [5, 3, 3], "batch_size": 8, "epochs": 1}

#: a tiny configuration of every registered method: (input, params). A new method adds its own.
TINY = {
    "conv_ae": ({"clip_length": 4}, {**FRAMES, "first_stride": 2, "first_padding": 2}),
    "convlstm_ae": ({"clip_length": 4}, {**FRAMES, "strides": [2, 2, 2], "lstm_channels": [4]}),
    "nearest_subspace": ({"features": ["f"]}, {"n_atoms": 4}),
    "ocsvm": ({"features": ["f"]}, {}),
    "lstm_ae": ({"features": ["f"]}, {"hidden": 4, "seq_len": 4, "epochs": 1}),
    "tsc": ({"features": ["f"]}, {"n_atoms": 6, "K": 3, "dictionary_iterations": 2, "seq_len": 4}),
    "srnn_ae": ({"features": ["f"]}, {"n_atoms": 6, "iterations": 4, "seq_len": 4, "log_every": 2}),
    "anomalynet": ({"features": ["f"]}, {"n_atoms": 6, "K": 2, "epochs": 1, "batch_size": 4}),
    "adv3d_cae": ({"clip_length": 8, "height": 32, "width": 32},
                  {"channels": [2, 2, 2, 2, 2], "disc_channels": [2, 2, 2], "epochs": 1, "batch_size": 4,
                   "clip_step": 4}),
    "dissociation_ae": ({"clip_length": 5, "height": 16, "width": 16, "color": "rgb"},
                        {"channels": [4, 4, 8], "clusters": 2, "pretrain_epochs": 1, "alternate_epochs": 1,
                         "batch_size": 4, "clip_step": 4, "kmeans_clips": 4}),
    "frame_difference": ({}, {}),
    "mean_frame_distance": ({"height": 32}, {"chunk": 5}),
    "lad_multitask": ({"features": ["rgb", "flow"]}, {"clips": 2, "hidden": 4, "fc": [8, 8], "iterations": 4,
                                                      "batch_size": 4, "log_every": 2}),
    "deepmil": ({"features": ["rgb", "flow"]}, {"segments": 4, "hidden": [8, 4], "iterations": 4, "batch_size": 4,
                                                "log_every": 2}),
}



def kind_of(name: str) -> str:
    """Which stores a method's tiny case trains on: frames, feature rows or clip features."""
    inp = TINY[name][0]
    return "clips" if inp.get("features") == ["rgb", "flow"] else "features" if inp.get("features") else "frames"


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


