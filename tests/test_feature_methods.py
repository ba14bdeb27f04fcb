"""Methods on pretrained features (nearest subspace, OC-SVM, LSTM-AE) through the runner."""

from __future__ import annotations


import numpy as np
import pytest

from conftest import moving_square
from vadflow.config import resolve_method
from vadflow.data.decode import DecodeSpec, decode_video
from vadflow.data.encode import write_mp4
from vadflow.errors import ConfigError
from vadflow.features.extract import extract_features
from vadflow.features.spec import FeatureSpec
from vadflow.methods.run import score, train
from vadflow.scores import read_scores


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two training videos and one test video with a bright block in its second half, with features."""
    d = tmp_path_factory.mktemp("fm")
    spec = FeatureSpec(kind="frame", input_size=64, pooling="spp", batch_size=16)
    frames, feats = [], []
    for name, seed in (("a", 0), ("b", 1), ("test", 9)):
        v = moving_square(24, seed=seed)
        labels = None
        if name == "test":
            v[12:, 4:30, 4:30] = 255
            labels = np.r_[np.zeros(12), np.ones(12)]
        write_mp4(v, d / f"{name}.mp4", fps=10)
        decode_video(d / f"{name}.mp4", d / f"{name}.zarr", DecodeSpec(color="rgb"), labels=labels)
        extract_features(spec, "spp", d / f"{name}.zarr", d / f"{name}.spp.zarr", device="cpu")
        frames.append(d / f"{name}.zarr")
        feats.append(d / f"{name}.spp.zarr")
    return d, frames, feats


@pytest.mark.parametrize(
    "method, params",
    [
        ("nearest_subspace", {"n_atoms": 8}),
        ("ocsvm", {}),
        ("lstm_ae", {"hidden": 8, "seq_len": 4, "epochs": 2}),
        ("tsc", {"n_atoms": 16, "K": 10, "dictionary_iterations": 3, "seq_len": 6}),
        ("srnn_ae", {"n_atoms": 16, "iterations": 30, "lr": 0.001, "seq_len": 6, "log_every": 10}),
    ],
)
def test_feature_method_scores_every_frame(videos, method, params):
    d, frames, feats = videos
    cfg = {"features": {"spp": {"kind": "frame"}},
           "methods": {method: {"method": method, "input": {"features": ["spp"]}, "params": params}}}
    resolved = resolve_method(cfg, method)
    train(resolved, frames[:2], d / f"{method}.pt", d / f"{method}.csv", features={"spp": feats[:2]}, device="cpu")
    score(d / f"{method}.pt", frames[2:], d / f"{method}.zarr", features={"spp": feats[2:]}, device="cpu")
    attrs, s, maps = read_scores(d / f"{method}.zarr")
    assert s["test"].shape == (24,) and np.isfinite(s["test"]).all() and maps == {}
    assert attrs["method"] == method and attrs["supervision"] == "U"
    assert s["test"][14:].mean() > s["test"][:10].mean()  # the block is unlike anything in training


def test_feature_method_needs_features(videos):
    d, frames, _ = videos
    cfg = {"methods": {"ns": {"method": "nearest_subspace"}}}
    with pytest.raises(ConfigError, match="works on features"):
        train(resolve_method(cfg, "ns"), frames[:2], d / "x.pt", None, device="cpu")


def test_srnn_ae_batches_whole_clips_with_every_cell(videos):
    """A training sample is a 10-frame clip of one video with all its pyramid cells (Luo et al.
    sec. 3.6; 4 clips x 21 cells per batch), flattened to (clips · cells) sequences for eq. 9."""
    import torch

    from vadflow.methods.engine import Stage
    from vadflow.methods.run import as_run, build, open_videos

    d, frames, feats = videos
    cfg = {"features": {"spp": {"kind": "frame"}},
           "methods": {"s": {"method": "srnn_ae", "input": {"features": ["spp"]}, "params": {"n_atoms": 8, "seq_len": 6}}}}
    method = build(as_run(resolve_method(cfg, "s")), "cpu")
    vids = open_videos(frames[:2], {"spp": feats[:2]})
    method.setup(vids)
    data = method.train_dataset(vids, Stage("fit", iterations=1, batch_size=4))
    cells, dim = method.sequences(vids[0]).shape[0], method.sequences(vids[0]).shape[-1]
    assert cells == 21 and len(data) == 2 * (24 - 6 + 1)  # every 6-frame window of each 24-frame video
    clip = data[0]
    assert clip.shape == (6, cells, dim)
    torch.testing.assert_close(clip.transpose(0, 1), torch.from_numpy(method.sequences(vids[0])[:, :6]))


def test_srnn_ae_snapshots_measure_selection_on_test_without_changing_the_result(videos):
    """snapshot_every keeps earlier models and scores the test videos with each; the evaluation
    reports the best of them as test-selected (labelled so), while `auc` stays the last iteration's."""
    from vadflow.evaluation.results import evaluate
    from vadflow.scores import read_snapshot_scores

    d, frames, feats = videos
    params = {"n_atoms": 16, "iterations": 30, "lr": 0.001, "seq_len": 6, "log_every": 10}
    cfg = {"features": {"spp": {"kind": "frame"}},
           "methods": {"plain": {"method": "srnn_ae", "input": {"features": ["spp"]}, "params": params},
                       "snap": {"method": "srnn_ae", "input": {"features": ["spp"]},
                                "params": {**params, "snapshot_every": 10}}}}
    out = {}
    for name in ("plain", "snap"):
        train(resolve_method(cfg, name), frames[:2], d / f"{name}.pt", None, features={"spp": feats[:2]}, device="cpu")
        score(d / f"{name}.pt", frames[2:], d / f"{name}.zarr", features={"spp": feats[2:]}, device="cpu")
        out[name] = evaluate(d / f"{name}.zarr", frames[2:], d / f"{name}.json", dataset="toy")
    snaps = read_snapshot_scores(d / "snap.zarr")
    assert list(snaps) == ["iteration_10", "iteration_20"] and snaps["iteration_10"]["test"].shape == (24,)
    assert read_snapshot_scores(d / "plain.zarr") == {} and "selection_on_test" not in out["plain"]
    np.testing.assert_array_equal(read_scores(d / "snap.zarr")[1]["test"], read_scores(d / "plain.zarr")[1]["test"])
    sel = out["snap"]["selection_on_test"]
    assert set(sel["auc_by_snapshot"]) == {"iteration_10", "iteration_20", "last"}
    assert sel["auc_by_snapshot"]["last"] == out["snap"]["auc"] == out["plain"]["auc"]
    assert sel["best_auc"] == max(sel["auc_by_snapshot"].values()) and sel["inflation"] >= 0
    assert "TEST labels" in sel["warning"]
