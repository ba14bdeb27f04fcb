"""The contract every registered method keeps: fit on tiny videos -> state -> a fresh instance
that loads it scores identically, one score per frame; training uses only the videos its
supervision regime admits, and a method never sees the labels of a test video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import method_run
from tiny_methods import TINY, kind_of, make_contract_data
from vadflow.methods import get_method_class, method_infos
from vadflow.methods.api import MethodRun, Supervision, VideoInput
from vadflow.methods.run import open_videos, score, train
from vadflow.scores import read_scores


def test_every_registered_method_has_a_contract_case():
    assert set(TINY) == set(method_infos()), "add the new method's tiny configuration to TINY"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_contract_data(tmp_path_factory.mktemp("contract"))


@pytest.mark.parametrize("name", sorted(TINY))
def test_fit_state_fresh_instance_scores_identically(name, data, tmp_path):
    inp, params = TINY[name]
    kind = kind_of(name)
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
