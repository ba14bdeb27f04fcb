"""Confidence intervals of the frame-level AUC: a bootstrap over test videos.

The papers print one number per cell; with UCSD Ped2's 12 test videos, a difference of two points
between two methods can be the luck of which videos are in the test set. The interval here resamples
the *videos* (the unit the test set was drawn in; frames of one video are far from independent), with
replacement, ``draws`` times from a seeded generator, recomputes each pooling convention on the drawn
set (a video drawn twice counts twice) and reports the percentile interval (Efron & Tibshirani 1993,
ch. 13). A draw whose frames hold one class only has no AUC and is left out (``undefined_draws``).

Per-video min-max normalisation is a per-video operation, so ``minmax_micro`` resamples the already
normalised videos; ``macro`` resamples the per-video AUCs of the videos that have both classes.

``strata: category`` resamples within each test-video category instead (each category keeps its count of
videos; a video without a category is a stratum of its own kind, ``None``): the bootstrap of a stratified
sample (Efron & Tibshirani 1993, sec. 8.5 "stratified sampling"), for a test set *made* with a fixed number of
videos per category, as the embedded walkway's is (its anomaly kinds are taken in turn). The interval then
holds the category mix fixed, as the design does; on a test set whose mix came by chance (the real datasets)
leave it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy.stats import rankdata

from vadflow.errors import ConfigError
from vadflow.evaluation.metrics import minmax_normalise


@dataclass(frozen=True)
class BootstrapParams:
    """Config ``evaluation.bootstrap``: ``draws`` 0 switches the intervals off."""

    draws: int = 1000
    seed: int = 0
    level: float = 0.95
    strata: str = "none"  # none / category

    def __post_init__(self) -> None:
        if self.draws < 0:
            raise ConfigError(f"evaluation.bootstrap.draws must be >= 0, got {self.draws}", "e.g. 1000; 0 switches it off")
        if not 0 < self.level < 1:
            raise ConfigError(f"evaluation.bootstrap.level must be in (0, 1), got {self.level}", "e.g. 0.95")
        if self.strata not in ("none", "category"):
            raise ConfigError(f"evaluation.bootstrap.strata must be none or category, got {self.strata!r}",
                              "category: resample within each test-video category (a test set stratified by design)")


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic (ties count one half): what sklearn's roc_auc_score gives,
    without its checks, for the thousands of draws. None when one class is missing."""
    labels = np.asarray(labels, bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def video_bootstrap(
    scores: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    params: BootstrapParams = BootstrapParams(),
    categories: Mapping[str, str | None] | None = None,
) -> dict[str, Any] | None:
    """{convention: [low, high]} percentile intervals of minmax_micro, raw_micro and macro over ``draws``
    resamplings of the test videos, with what was done; None when ``draws`` is 0. ``categories``: each
    video's category, used when ``params.strata`` is ``category``."""
    if params.draws == 0:
        return None
    names = sorted(scores)
    if params.strata == "category":
        category = {v: (categories or {}).get(v) for v in names}
        groups: dict[str, list[int]] = {}
        for i, v in enumerate(names):
            groups.setdefault(str(category[v]), []).append(i)
        strata = [np.asarray(idx) for _, idx in sorted(groups.items())]
    else:
        strata = [np.arange(len(names))]
    raw = [np.asarray(scores[v], np.float64).ravel() for v in names]
    norm = [minmax_normalise(s) for s in raw]
    lab = [np.asarray(labels[v]).ravel().astype(bool) for v in names]
    per_video = np.array([np.nan if y.all() or not y.any() else rank_auc(y, s) for y, s in zip(lab, raw)])
    rng = np.random.default_rng(params.seed)
    values: dict[str, list[float]] = {"minmax_micro": [], "raw_micro": [], "macro": []}
    undefined = 0
    for _ in range(params.draws):
        pick = np.concatenate([idx[rng.integers(len(idx), size=len(idx))] for idx in strata])
        y = np.concatenate([lab[i] for i in pick])
        auc_norm = rank_auc(y, np.concatenate([norm[i] for i in pick]))
        if auc_norm is None:
            undefined += 1
        else:
            values["minmax_micro"].append(auc_norm)
            values["raw_micro"].append(rank_auc(y, np.concatenate([raw[i] for i in pick])))
        macro = per_video[pick]
        if np.isfinite(macro).any():
            values["macro"].append(float(np.nanmean(macro)))
    tail = 100 * (1 - params.level) / 2
    out: dict[str, Any] = {
        conv: ([float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] if v else None)
        for conv, v in values.items()
    }
    out.update({"draws": params.draws, "seed": params.seed, "level": params.level, "unit": "test video",
                "videos": len(names), "undefined_draws": undefined})
    if params.strata != "none":
        out["strata"] = {"by": params.strata, "videos": {str(category[names[idx[0]]]): len(idx) for idx in strata}}
    return out


def format_with_interval(value: float | None, interval: list[float] | None) -> str:
    """``82.00 [78.10, 85.60]`` (fractions shown in %), or the value alone where there is no interval."""
    if value is None:
        return ""
    if not interval:
        return f"{100 * value:.2f}"
    return f"{100 * value:.2f} [{100 * interval[0]:.2f}, {100 * interval[1]:.2f}]"
