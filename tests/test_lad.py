"""The LAD multi-task network (Wan et al.) and DeepMIL (Sultani et al.): shapes, the losses against
their definitions, segments and their frames, categories, training and scoring end to end on clip
features where the anomaly is plain to see, determinism, and the clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import clip_feature_video, method_run
from vadflow.errors import ConfigError, DataError
from vadflow.methods.api import Supervision
from vadflow.methods.lad.clips import (
    frame_max,
    mil_segments,
    pad_to_segment,
    segment_frames,
    segment_starts,
    video_categories,
)
from vadflow.methods.lad.model import LadNet, MILScorer, mil_ranking_loss, multitask_loss
from vadflow.methods.run import open_videos, score, train
from vadflow.scores import read_categories, read_scores
from vadflow.windows import covering_windows

M = 4  # frames per clip in these tests (16 in the paper), as conftest.clip_feature_video makes them


def test_convlstm_path_reads_2048_as_128x4x4_and_outputs_both_heads():
    net = LadNet(2048, n_classes=14, n_outputs=80)
    assert net.in_channels == 128
    x = torch.randn(3, 5, 2048)
    z = net.encode(x)
    assert z.shape == (3, 2048)  # the last hidden state, 4 x 4 x 128, flattened
    logits, scores = net(x)
    assert logits.shape == (3, 14) and scores.shape == (3, 80)
    assert net.shared[0].in_features == 2048 and net.shared[0].out_features == 1024
    assert net.category_head[0].out_features == 512 and net.score_head[0].out_features == 512
    # the vector is read channel-first: row value c·16 + 4·i + j is channel c at (i, j)
    v = torch.arange(2048.0).reshape(1, 1, 2048)
    assert v.reshape(1, 1, 128, 4, 4)[0, 0, 2, 1, 3] == 2 * 16 + 4 + 3
    with pytest.raises(ConfigError, match="4x4"):
        LadNet(1000, 2, 80)


def test_smooth_l1_score_loss_matches_its_definition():
    """Eq. 7: smooth-L1(d) = 0.5 d² for |d| < 1, |d| − 0.5 otherwise; scores in (0, 1) against 0/1
    labels always fall in the quadratic part."""
    logits = torch.tensor([[0.0, 2.0, -1.0, 3.0]])
    labels = torch.tensor([[0, 1, 1, 0]])
    s = torch.sigmoid(logits)
    d = (s - labels).abs()
    expected = torch.where(d < 1, 0.5 * d**2, d - 0.5).mean()
    cls_logits, y = torch.tensor([[2.0, 0.0]]), torch.tensor([0])
    out = multitask_loss(cls_logits, logits, y, labels, lambda_cls=1.0, lambda_score=10.0)
    assert torch.isclose(out["score"], expected)
    assert torch.isclose(out["classification"], F.cross_entropy(cls_logits, y))
    assert torch.isclose(out["loss"], out["classification"] + 10 * expected)
    # by hand: sigmoid(0) = 0.5 against 0 -> 0.125
    one = multitask_loss(cls_logits, torch.zeros(1, 1), y, torch.zeros(1, 1), 0.0, 1.0)
    assert one["loss"].item() == pytest.approx(0.125)


def test_mil_ranking_loss_hand_example():
    """A bag whose top segment outranks the normal bag's top by the margin gives zero hinge; the
    smoothness and sparsity terms are the sums of squared steps and of the anomalous scores."""
    a = torch.tensor([[0.0, 1.0, 0.0]])
    n = torch.tensor([[0.0, 0.0, 0.0]])
    out = mil_ranking_loss(a, n, lambda_smooth=0.1, lambda_sparse=0.01)
    assert out["hinge"].item() == 0.0
    assert out["smoothness"].item() == pytest.approx(2.0) and out["sparsity"].item() == pytest.approx(1.0)
    assert out["loss"].item() == pytest.approx(0.1 * 2 + 0.01 * 1)
    worse = mil_ranking_loss(torch.tensor([[0.3, 0.4, 0.2]]), torch.tensor([[0.1, 0.6, 0.0]]), 0.0, 0.0)
    assert worse["hinge"].item() == pytest.approx(1 - 0.4 + 0.6)
    assert MILScorer(8)(torch.randn(2, 32, 8)).shape == (2, 32)


def test_segments_and_the_frames_they_cover():
    windows = covering_windows(18, M, M)  # [0,4) [4,8) [8,12) [12,16) [14,18)
    assert segment_starts(5, 3, "v").tolist() == [0, 1, 2]
    with pytest.raises(DataError, match="fewer than the K = 6"):
        segment_starts(5, 6, "video v")
    np.testing.assert_array_equal(segment_frames(windows, 3, 2, M), [12, 13, 14, 15, 14, 15, 16, 17])
    short = np.array([[0, 3]])  # a partial clip repeats its last frame
    np.testing.assert_array_equal(segment_frames(short, 0, 1, M), [0, 1, 2, 2])
    out = frame_max(4, np.array([[0, 1], [1, 2]]), np.array([[0.1, 0.5], [0.3, 0.2]]))
    np.testing.assert_allclose(out, [0.1, 0.5, 0.2, -np.inf])
    assert mil_segments(64, 32)[:2] == [(0, 2), (2, 4)] and mil_segments(64, 32)[-1] == (62, 64)
    # a test video of 2 clips, K = 3: one segment, the last clip repeated; its frames all covered
    rows, wins = pad_to_segment(np.array([[1.0], [2.0]]), np.array([[0, 4], [4, 7]]), 3)
    np.testing.assert_array_equal(rows[:, 0], [1.0, 2.0, 2.0])
    np.testing.assert_array_equal(wins, [[0, 4], [4, 7], [4, 7]])
    assert segment_starts(len(rows), 3, "v").tolist() == [0]
    covered = segment_frames(wins, 0, 3, M)
    assert set(covered.tolist()) == set(range(7))
    long_enough = np.zeros((4, 1))
    assert pad_to_segment(long_enough, np.zeros((4, 2), int), 3)[0] is long_enough
    few = mil_segments(3, 6)
    assert few == [(0, 1), (0, 1), (1, 2), (1, 2), (2, 3), (2, 3)]


# --- end to end on clip features -----------------------------------------------------------------

@pytest.fixture
def clip_dataset(tmp_path):
    rng = np.random.default_rng(0)
    train, test = [], []
    for i in range(3):
        train.append(clip_feature_video(tmp_path, f"normal{i}", 40, rng=rng))
    for i, cat in enumerate(["cyclist", "cart", "cyclist", "cart"]):
        train.append(clip_feature_video(tmp_path, f"anom{i}", 40, range(12, 28), category=cat, rng=rng))
    for i in range(2):
        test.append(clip_feature_video(tmp_path, f"test{i}", 44, range(16 + 4 * i, 32), category="cyclist", split="test", rng=rng))

    def stores(videos):
        return [v[0] for v in videos], {k: [v[1][k] for v in videos] for k in ("rgb", "flow")}

    return stores(train), stores(test)


def _auc(scores, labels):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(labels, scores)


def test_lad_multitask_trains_scores_and_predicts_categories(clip_dataset, tmp_path):
    (train_frames, train_feats), (test_frames, test_feats) = clip_dataset
    run = method_run("lad_multitask", {"clips": 3, "hidden": 8, "fc": [32, 16], "iterations": 60, "batch_size": 8,
                                       "lr": 0.003, "log_every": 20}, features=("rgb", "flow"))
    assert run.supervision is Supervision.FULLY
    info = train(run, train_frames, tmp_path / "lad.pt", tmp_path / "log.csv", features=train_feats, device="cpu")
    assert info["state"]["class_names"] == ["Normal", "cart", "cyclist"]
    score(tmp_path / "lad.pt", test_frames, tmp_path / "scores.zarr", features=test_feats, device="cpu")
    attrs, scores, _ = read_scores(tmp_path / "scores.zarr")
    names, predicted = read_categories(tmp_path / "scores.zarr")
    assert names == ["Normal", "cart", "cyclist"] and attrs["category_names"] == names
    for i, v in enumerate(test_frames):
        labels = open_videos([v])[0].frames.labels
        s = scores[f"test{i}"]
        assert s.shape == (44,) and np.isfinite(s).all()
        assert _auc(s, labels) > 0.9
        assert len(predicted[f"test{i}"]) == 11 - 3 + 1  # one class per segment
    # Tables 5-6: category accuracy over all test segments against the videos' categories
    from vadflow.evaluation.results import evaluate

    res = evaluate(tmp_path / "scores.zarr", test_frames, tmp_path / "r.json", dataset="toy")
    assert res["auc"] > 0.9 and res["supervision"] == "F"
    expected = np.mean([names[int(i)] == "cyclist" for v in ("test0", "test1") for i in predicted[v]])
    assert res["category_accuracy"] == pytest.approx(expected) and res["category_segments"] == 18
    assert set(res["category_accuracy_by_class"]) == {"cyclist"}
    # deterministic on CPU: the same run gives the same model
    again = train(run, train_frames, tmp_path / "lad2.pt", features=train_feats, device="cpu")
    for k, v in info["state"]["net"].items():
        assert torch.equal(v, again["state"]["net"][k]), k


def test_deepmil_trains_on_video_labels_and_scores_every_frame(clip_dataset, tmp_path):
    (train_frames, train_feats), (test_frames, test_feats) = clip_dataset
    run = method_run("deepmil", {"segments": 8, "hidden": [16, 8], "iterations": 200, "batch_size": 8, "lr": 0.02,
                                 "dropout": 0.0}, features=("rgb", "flow"))
    assert run.supervision is Supervision.WEAKLY
    train(run, train_frames, tmp_path / "mil.pt", tmp_path / "log.csv", features=train_feats, device="cpu")
    score(tmp_path / "mil.pt", test_frames, tmp_path / "scores.zarr", features=test_feats, device="cpu")
    _, scores, _ = read_scores(tmp_path / "scores.zarr")
    labels = open_videos([test_frames[0]])[0].frames.labels
    assert scores["test0"].shape == (44,) and _auc(scores["test0"], labels) > 0.9


def test_categories_single_category_mode_and_mixed_categories(clip_dataset, tmp_path):
    (train_frames, train_feats), _ = clip_dataset
    videos = open_videos(train_frames, train_feats, Supervision.FULLY)
    cats, _ = video_categories(videos, "normal_class")
    assert cats["anom0"] == "cyclist" and cats["normal0"] == "Normal"
    with pytest.raises(DataError, match="no scene category"):
        video_categories(videos, "scene")
    # a dataset without anomaly categories (UCSD Ped2): the anomalous videos form one class, "Anomaly"
    rng = np.random.default_rng(1)
    d = tmp_path / "nocat"
    d.mkdir()
    plain = [clip_feature_video(d, "n0", 20, rng=rng), clip_feature_video(d, "a0", 20, range(4, 8), rng=rng), clip_feature_video(d, "a1", 20, [9], rng=rng)]
    videos = open_videos([v[0] for v in plain], {k: [v[1][k] for v in plain] for k in ("rgb", "flow")},
                         Supervision.FULLY)
    cats, how = video_categories(videos, "normal_class")
    assert cats == {"n0": "Normal", "a0": "Anomaly", "a1": "Anomaly"} and how.startswith("single-category")
    # some anomalous videos with a category, some without: an error naming one
    mixed = videos[1:2] + open_videos(train_frames[3:4], {k: v[3:4] for k, v in train_feats.items()}, Supervision.FULLY)
    with pytest.raises(DataError, match="1 of 2 anomalous training videos have no anomaly category"):
        video_categories(mixed, "normal_class")


def test_training_needs_anomalous_and_normal_videos(clip_dataset, tmp_path):
    (train_frames, train_feats), _ = clip_dataset
    run = method_run("deepmil", {"iterations": 1}, features=("rgb", "flow"))
    normal_only = train_frames[:3]  # the first three are the normal ones
    with pytest.raises(DataError, match="all normal"):
        train(run, normal_only, tmp_path / "m.pt", features={k: v[:3] for k, v in train_feats.items()}, device="cpu")
    weak = method_run("lad_multitask", {"iterations": 1, "batch_size": 2}, features=("rgb", "flow"), supervision="weakly")
    with pytest.raises(ConfigError, match="trains fully supervised, not weakly"):
        train(weak, train_frames, tmp_path / "m.pt", features=train_feats, device="cpu")
    run = method_run("lad_multitask", {"clips": 20, "iterations": 1, "batch_size": 2}, features=("rgb", "flow"))
    with pytest.raises(DataError, match="fewer than the K = 20 clips"):
        train(run, train_frames, tmp_path / "m.pt", features=train_feats, device="cpu")
    assert not (tmp_path / "m.pt").exists()
