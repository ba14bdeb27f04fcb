"""Video-level bootstrap intervals of the frame AUC (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vadflow.errors import ConfigError
from vadflow.evaluation.bootstrap import BootstrapParams, format_with_interval, rank_auc, video_bootstrap
from vadflow.evaluation.metrics import frame_level_auc


def _videos(n: int, seed: int = 0) -> tuple[dict, dict]:
    """n videos of 40 frames, frames 20-30 anomalous, scores higher there plus noise."""
    rng = np.random.default_rng(seed)
    scores, labels = {}, {}
    for i in range(n):
        y = np.zeros(40, np.uint8)
        y[20:30] = 1
        scores[f"v{i:02d}"] = y * rng.uniform(0.2, 1.0) + rng.normal(0, 0.5, 40) + rng.uniform(0, 2)
        labels[f"v{i:02d}"] = y
    return scores, labels


def test_rank_auc_is_sklearns_auc_with_ties():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.4, 0.8, 0.2, 0.4])  # ties across classes count one half
    assert rank_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert rank_auc(np.zeros(3), np.arange(3)) is None


def test_interval_contains_the_estimate_and_narrows_with_more_videos():
    few = _videos(6)
    many = _videos(48)
    ci_few = video_bootstrap(*few, BootstrapParams(draws=400, seed=1))
    ci_many = video_bootstrap(*many, BootstrapParams(draws=400, seed=1))
    for (scores, labels), ci in ((few, ci_few), (many, ci_many)):
        point = frame_level_auc(scores, labels)
        for conv in ("minmax_micro", "raw_micro", "macro"):
            assert ci[conv][0] <= point[conv] <= ci[conv][1], conv
    assert ci_many["minmax_micro"][1] - ci_many["minmax_micro"][0] < ci_few["minmax_micro"][1] - ci_few["minmax_micro"][0]
    assert ci_few["draws"] == 400 and ci_few["unit"] == "test video" and ci_few["videos"] == 6


def test_seeded_and_switchable():
    scores, labels = _videos(5)
    a = video_bootstrap(scores, labels, BootstrapParams(draws=50, seed=3))
    assert a == video_bootstrap(scores, labels, BootstrapParams(draws=50, seed=3))
    assert a != video_bootstrap(scores, labels, BootstrapParams(draws=50, seed=4))
    assert video_bootstrap(scores, labels, BootstrapParams(draws=0)) is None
    with pytest.raises(ConfigError, match="level"):
        BootstrapParams(level=95)


def test_one_class_draws_are_left_out_and_counted():
    """Two videos, one all normal: a draw of that one twice has no AUC."""
    scores = {"a": np.array([0.1, 0.9, 0.8]), "b": np.array([0.2, 0.3, 0.1])}
    labels = {"a": np.array([0, 1, 1]), "b": np.array([0, 0, 0])}
    ci = video_bootstrap(scores, labels, BootstrapParams(draws=200, seed=0))
    assert 20 < ci["undefined_draws"] < 90  # about a quarter of the draws
    assert ci["macro"] == [1.0, 1.0]  # only video a has both classes


def test_format():
    assert format_with_interval(0.8203, [0.781, 0.856]) == "82.03 [78.10, 85.60]"
    assert format_with_interval(0.8203, None) == "82.03" and format_with_interval(None, None) == ""


def test_stratified_draws_keep_each_categorys_count():
    """Two categories, one easy (every video perfect) and one hard (every video at chance): a plain draw
    changes the mix and so the AUC; a draw within categories keeps three videos of each, so the interval
    is far narrower, and every video without a category is one stratum."""
    scores, labels = {}, {}
    for i in range(3):
        y = np.array([0, 0, 1, 1])
        scores[f"easy{i}"], labels[f"easy{i}"] = np.array([0.0, 0.1, 0.9, 1.0]), y
        scores[f"hard{i}"], labels[f"hard{i}"] = np.array([0.9, 0.0, 1.0, 0.1]), y
    kinds = {v: v[:4] for v in scores}
    plain = video_bootstrap(scores, labels, BootstrapParams(draws=300, seed=0), categories=kinds)
    strat = video_bootstrap(scores, labels, BootstrapParams(draws=300, seed=0, strata="category"), categories=kinds)
    # within a category every video is the same, so each stratified draw is the test set itself
    assert strat["minmax_micro"][0] == strat["minmax_micro"][1] == pytest.approx(frame_level_auc(scores, labels)["minmax_micro"])
    assert plain["minmax_micro"][1] - plain["minmax_micro"][0] > 0.1
    assert strat["strata"] == {"by": "category", "videos": {"easy": 3, "hard": 3}} and "strata" not in plain
    none = video_bootstrap(scores, labels, BootstrapParams(draws=300, seed=0, strata="category"))
    assert none["strata"]["videos"] == {"None": 6}
    with pytest.raises(ConfigError, match="strata"):
        BootstrapParams(strata="kind")
