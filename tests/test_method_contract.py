"""The contract every registered method keeps: fit on tiny videos -> state -> a fresh instance
that loads it scores identically, one score per frame; training uses only the videos its
supervision regime admits, and a method never sees the labels of a test video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import clip_feature_video, feature_videos, make_block_stores, method_run
from vadflow.data.decode import DecodeSpec, decode_video
from vadflow.methods import get_method_class, method_infos
from vadflow.methods.api import MethodRun, Supervision, VideoInput
from vadflow.methods.run import open_videos, score, train
from vadflow.scores import read_scores

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
    "lad_multitask": ({"features": ["rgb", "flow"]}, {"clips": 2, "hidden": 4, "fc": [8, 8], "iterations": 4,
                                                      "batch_size": 4, "log_every": 2}),
    "deepmil": ({"features": ["rgb", "flow"]}, {"segments": 4, "hidden": [8, 4], "iterations": 4, "batch_size": 4,
                                                "log_every": 2}),
}


def test_every_registered_method_has_a_contract_case():
    assert set(TINY) == set(method_infos()), "add the new method's tiny configuration to TINY"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Gray frame stores (two normal training videos, one anomalous *training* video with a video
    label, one test video) and feature stores of the same shape for the methods on features."""
    d = tmp_path_factory.mktemp("contract")
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


@pytest.mark.parametrize("name", sorted(TINY))
def test_fit_state_fresh_instance_scores_identically(name, data, tmp_path):
    inp, params = TINY[name]
    kind = "clips" if inp.get("features") == ["rgb", "flow"] else "features" if inp.get("features") else "frames"
    train_stores, test_stores, train_feats, test_feats = data[kind]
    run = method_run(name, params, features=inp.get("features", ()), input=inp)
    info = train(run, train_stores, tmp_path / "m.pt", tmp_path / "log.csv", features=train_feats, device="cpu",
                 threads=1)

    # the supervision filter: an unsupervised method never trains on the anomalous training video; the
    # weakly and fully supervised ones (Wan et al.'s LAD network, DeepMIL) need it
    used = [p.split("/")[-1] for p in info["train_videos"]]
    if run.supervision is Supervision.UNSUPERVISED:
        assert "anomalous.zarr" not in used and len(used) == 2
    else:
        assert "anomalous.zarr" in used and len(used) == 3

    score(tmp_path / "m.pt", test_stores, tmp_path / "s.zarr", features=test_feats, device="cpu", threads=1)
    _, scores, _ = read_scores(tmp_path / "s.zarr")
    assert scores["test"].shape == (24,) and np.isfinite(scores["test"]).all()

    ckpt = torch.load(tmp_path / "m.pt", map_location="cpu", weights_only=True)  # no pickled objects
    fresh = get_method_class(name)(MethodRun.from_dict(ckpt["config"]), device="cpu")
    fresh.load_state(ckpt["state"])
    [video] = open_videos(test_stores, test_feats)
    again = fresh.score_video(video)
    assert again.scores.shape == (video.n_frames,)
    np.testing.assert_array_equal(again.scores, scores["test"])


def test_labels_a_method_sees_follow_its_regime(data):
    train_stores, (test,), _, _ = data["frames"]
    anomalous = train_stores[-1]
    assert VideoInput.open(test).video_label is None and VideoInput.open(test).frame_labels is None
    unsup = VideoInput.open(anomalous, supervision=Supervision.UNSUPERVISED)
    assert unsup.video_label == 0 and unsup.frame_labels is None and unsup.category is None
    weak = VideoInput.open(anomalous, supervision=Supervision.WEAKLY)
    assert weak.video_label == 1 and weak.frame_labels is None and weak.category is None
    full = VideoInput.open(anomalous, supervision=Supervision.FULLY)
    assert full.video_label == 1 and full.frame_labels.sum() == 12 and full.category == "Block"
    normal = VideoInput.open(train_stores[0], supervision=Supervision.FULLY)
    assert normal.video_label == 0 and normal.frame_labels.sum() == 0 and normal.category == "Normal"


def test_a_weakly_supervised_entry_trains_on_every_training_video(data, tmp_path):
    train_stores, _, _, _ = data["frames"]
    inp, params = TINY["conv_ae"]
    run = method_run("conv_ae", params, features=(), input=inp, supervision="weakly")
    assert run.supervision is Supervision.WEAKLY and run.to_dict()["supervision"] == "W"
    info = train(run, train_stores, tmp_path / "m.pt", None, device="cpu", threads=1)
    assert len(info["train_videos"]) == 3


def test_method_infos_need_no_torch():
    import subprocess
    import sys

    code = ("import sys; from vadflow.config import load_config, resolve_method; "
            "cfg = load_config('config/config.yaml'); [resolve_method(cfg, m) for m in cfg['methods']]; "
            "print(sorted(m for m in ('torch', 'sklearn', 'lightning') if m in sys.modules))")
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
