"""Frame- and pixel-level metrics for video anomaly detection.

Scores are anomaly scores (higher = more anomalous). Inputs are mappings from
video name to per-frame arrays, so every error can name the offending video.

Published frame-level AUCs differ mainly in *how* frames from different videos
are pooled, so :func:`frame_level_auc` reports the pooling conventions side by
side instead of silently picking one.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from vadflow.errors import DataError
from vadflow.evaluation.basics import minmax_normalise, required_detections, resize_map

__all__ = [
    "minmax_normalise",
    "frame_level_auc",
    "roc_curve_micro",
    "equal_error_rate",
    "pixel_level_auc",
    "pixel_level_roc",
    "evaluate_video_scores",
]


# --------------------------------------------------------------------------- #
# Input validation
# --------------------------------------------------------------------------- #


def _check_same_videos(first: Mapping, second: Mapping, first_name: str, second_name: str) -> None:
    """Refuse to evaluate when the two dicts disagree on which videos exist."""
    missing_in_second = [name for name in first if name not in second]
    missing_in_first = [name for name in second if name not in first]
    if missing_in_second or missing_in_first:
        parts = []
        if missing_in_second:
            parts.append(f"no {second_name} for video(s) {missing_in_second}")
        if missing_in_first:
            parts.append(f"no {first_name} for video(s) {missing_in_first}")
        raise DataError(
            "; ".join(parts),
            f"give {first_name} and {second_name} for exactly the same test videos",
        )
    if not first:
        raise DataError(
            f"no videos to evaluate: {first_name} and {second_name} are empty",
            "check that the test split was loaded and the method produced outputs",
        )


def _check_finite(name: str, values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        n_bad = int(np.count_nonzero(~np.isfinite(values)))
        raise DataError(
            f"video {name!r}: {what} contain {n_bad} NaN/inf value(s)",
            "check the method's output for this video (diverged model, division by zero)",
        )


def _check_binary(name: str, values: np.ndarray, what: str) -> None:
    if not np.all((values == 0) | (values == 1)):
        found = np.unique(values)[:10].tolist()
        raise DataError(
            f"video {name!r}: {what} must be 0/1, found values {found}",
            "convert the ground truth to a binary 0 = normal, 1 = anomalous array",
        )


def _validated_frame_videos(
    scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (name, scores, labels) per video in score order, or raise DataError."""
    _check_same_videos(scores, labels, "scores", "labels")
    videos = []
    for name in scores:
        video_scores = np.asarray(scores[name], dtype=np.float64)
        video_labels = np.asarray(labels[name])
        if video_scores.ndim != 1 or video_labels.ndim != 1:
            raise DataError(
                f"video {name!r}: scores and labels must be 1-D per-frame arrays, "
                f"got shapes {video_scores.shape} and {video_labels.shape}",
                "give one score and one label per frame",
            )
        if video_scores.shape[0] != video_labels.shape[0]:
            raise DataError(
                f"video {name!r}: {video_scores.shape[0]} scores "
                f"but {video_labels.shape[0]} labels",
                "give one score per frame; check clip-to-frame expansion and frame stride",
            )
        if video_scores.shape[0] == 0:
            raise DataError(
                f"video {name!r} has no frames", "drop it from the test split or fix loading"
            )
        _check_finite(name, video_scores, "scores")
        _check_binary(name, video_labels, "labels")
        videos.append((name, video_scores, video_labels.astype(np.int64)))
    return videos


def _pooled_frames(
    videos: list[tuple[str, np.ndarray, np.ndarray]], normalise: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate all test frames, optionally min-max normalising each video first."""
    pooled_scores = np.concatenate(
        [minmax_normalise(s) if normalise else s for _, s, _ in videos]
    )
    pooled_labels = np.concatenate([y for _, _, y in videos])
    if pooled_labels.min() == pooled_labels.max():
        only = "anomalous" if pooled_labels[0] == 1 else "normal"
        raise DataError(
            f"all {pooled_labels.size} test frames are {only}; an ROC needs both classes",
            "evaluate on a test split that contains normal and anomalous frames",
        )
    return pooled_scores, pooled_labels


# --------------------------------------------------------------------------- #
# Frame level
# --------------------------------------------------------------------------- #


def frame_level_auc(
    scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]
) -> dict:
    """Frame-level ROC AUC under the pooling conventions found in the literature.

    ``minmax_micro`` is the usual paper number; ``raw_micro`` shows how much it
    owes to per-video normalisation; ``macro`` averages per-video AUCs, which
    is only defined for videos containing both classes, so the others are
    listed in ``macro_excluded`` instead of being dropped silently.
    """
    videos = _validated_frame_videos(scores, labels)
    minmax_scores, pooled_labels = _pooled_frames(videos, normalise=True)
    raw_scores, _ = _pooled_frames(videos, normalise=False)

    per_video: dict[str, float | None] = {}
    excluded: list[str] = []
    for name, video_scores, video_labels in videos:
        if video_labels.min() == video_labels.max():
            per_video[name] = None
            excluded.append(name)
        else:
            per_video[name] = float(roc_auc_score(video_labels, video_scores))
    defined = [auc for auc in per_video.values() if auc is not None]

    return {
        "minmax_micro": float(roc_auc_score(pooled_labels, minmax_scores)),
        "raw_micro": float(roc_auc_score(pooled_labels, raw_scores)),
        "macro": float(np.mean(defined)) if defined else None,
        "macro_excluded": excluded,
        "per_video": per_video,
        "n_frames": int(pooled_labels.size),
        "n_anomalous": int(pooled_labels.sum()),
        "n_videos": len(videos),
    }


def score_gap(scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]) -> float:
    """The separability gap of Chang et al. (Fig. 8a): the mean per-video min-max normalised score
    of the anomalous frames minus that of the normal frames, pooled over videos (the paper subtracts
    the abnormal from the normal *regularity* 1 - score, the same number)."""
    pooled, pooled_labels = _pooled_frames(_validated_frame_videos(scores, labels), normalise=True)
    return float(pooled[pooled_labels == 1].mean() - pooled[pooled_labels == 0].mean())


def roc_curve_micro(
    scores: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    normalise: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of all test frames pooled, as used for ``minmax_micro``/``raw_micro``.

    Every threshold is kept (no dropped collinear points) so curves can be
    plotted and compared point by point.
    """
    videos = _validated_frame_videos(scores, labels)
    pooled_scores, pooled_labels = _pooled_frames(videos, normalise=normalise)
    fpr, tpr, thresholds = roc_curve(pooled_labels, pooled_scores, drop_intermediate=False)
    return fpr, tpr, thresholds


def equal_error_rate(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """False-positive rate where it equals the false-negative rate (1 - TPR).

    The crossing rarely falls on an ROC point, so it is linearly interpolated
    between the two points where ``fpr - (1 - tpr)`` changes sign; taking the
    nearest point instead would make the EER depend on the score resolution.
    """
    fpr = np.asarray(fpr, dtype=np.float64)
    tpr = np.asarray(tpr, dtype=np.float64)
    if fpr.ndim != 1 or fpr.shape != tpr.shape or fpr.size == 0:
        raise ValueError(
            "fpr and tpr must be non-empty 1-D arrays of equal length, "
            f"got {fpr.shape} and {tpr.shape}"
        )
    gap = fpr - (1.0 - tpr)  # FPR - FNR: negative at the strict end of the ROC
    crossed = np.flatnonzero(gap >= 0)
    if crossed.size == 0:
        raise ValueError("the ROC never reaches FPR >= FNR; pass a complete curve ending at (1, 1)")
    after = int(crossed[0])
    if gap[after] == 0 or after == 0:
        return float(fpr[after])
    before = after - 1
    fraction = -gap[before] / (gap[after] - gap[before])
    return float(fpr[before] + fraction * (fpr[after] - fpr[before]))


# --------------------------------------------------------------------------- #
# Pixel level (Mahadevan et al., CVPR 2010)
# --------------------------------------------------------------------------- #


def _frame_critical_values(
    maps: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    coverage: float,
    normalise: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame highest threshold at which the frame is flagged, and frame labels.

    A normal frame is a false positive at θ iff its maximum is >= θ; a positive
    frame is a true positive iff its k-th largest value inside the mask is >= θ.
    So one number per frame reproduces the whole threshold sweep exactly.
    """
    raw, minmax, labels = _critical_values(maps, masks, coverage)
    return (minmax if normalise else raw), labels


def _critical_values(
    maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], coverage: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raw, per-video min-max normalised) critical values and frame labels, in one pass over
    the resized maps (the resize is the costly part)."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    missing_maps = [name for name in masks if name not in maps]
    if missing_maps:
        raise DataError(
            f"no anomaly maps for video(s) {missing_maps} that have pixel masks",
            "produce anomaly maps for every video with pixel-level ground truth",
        )
    if not masks:
        raise DataError(
            "no pixel masks given", "pass pixel-level ground truth for at least one video"
        )

    critical_values, normalised_values, frame_labels = [], [], []
    for name in masks:
        video_maps = np.asarray(maps[name], dtype=np.float64)
        video_masks = np.asarray(masks[name])
        if video_maps.ndim != 3 or video_masks.ndim != 3:
            raise DataError(
                f"video {name!r}: maps and masks must be (T, h, w) and (T, H, W), "
                f"got shapes {video_maps.shape} and {video_masks.shape}",
                "stack per-frame maps and masks along the first axis",
            )
        if video_maps.shape[0] != video_masks.shape[0]:
            raise DataError(
                f"video {name!r}: {video_maps.shape[0]} anomaly maps "
                f"but {video_masks.shape[0]} masks",
                "give one anomaly map per frame with a pixel mask",
            )
        _check_finite(name, video_maps, "anomaly maps")
        _check_binary(name, video_masks, "pixel masks")
        video_masks = video_masks.astype(bool)

        mask_shape = video_masks.shape[1:]
        video_critical = np.empty(video_maps.shape[0])
        video_low, video_high = np.inf, -np.inf
        for index, (frame_map, frame_mask) in enumerate(zip(video_maps, video_masks)):
            frame_map = resize_map(frame_map, mask_shape)
            video_low = min(video_low, frame_map.min())
            video_high = max(video_high, frame_map.max())
            n_gt = int(frame_mask.sum())
            if n_gt == 0:
                video_critical[index] = frame_map.max()
            else:
                inside = frame_map[frame_mask]
                k = required_detections(n_gt, coverage)
                video_critical[index] = np.partition(inside, n_gt - k)[n_gt - k]
        # Min-max is monotone, so normalising the critical values equals
        # normalising the maps first, without holding resized maps in memory.
        if video_high == video_low:
            normalised_values.append(np.zeros_like(video_critical))
        else:
            normalised_values.append((video_critical - video_low) / (video_high - video_low))
        critical_values.append(video_critical)
        frame_labels.append(video_masks.any(axis=(1, 2)).astype(np.int64))

    pooled_labels = np.concatenate(frame_labels)
    if pooled_labels.min() == pooled_labels.max():
        only = "have anomalous pixels" if pooled_labels[0] == 1 else "have empty masks"
        raise DataError(
            f"all {pooled_labels.size} frames with pixel masks {only}; "
            "a pixel-level ROC needs both",
            "include normal and anomalous frames of the annotated videos",
        )
    return np.concatenate(critical_values), np.concatenate(normalised_values), pooled_labels


def pixel_level_roc(
    maps: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    coverage: float = 0.4,
    normalise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-level ROC (frame counts under the 40 % localisation rule).

    Only videos in ``masks`` are evaluated (datasets such as UCSD Ped1 annotate
    pixels for a subset of test videos); each of them needs a map.
    """
    critical, frame_labels = _frame_critical_values(maps, masks, coverage, normalise)
    fpr, tpr, _ = roc_curve(frame_labels, critical, drop_intermediate=False)
    return fpr, tpr


def pixel_level_auc(
    maps: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    coverage: float = 0.4,
    normalise: bool = True,
) -> float:
    """Pixel-level AUC of Mahadevan et al. (CVPR 2010), computed exactly.

    A positive frame counts as detected only if at least ``coverage`` of its
    annotated pixels are above threshold, so a method must localise the anomaly
    and not merely fire somewhere in the frame.
    """
    critical, frame_labels = _frame_critical_values(maps, masks, coverage, normalise)
    return float(roc_auc_score(frame_labels, critical))


# --------------------------------------------------------------------------- #
# Convenience
# --------------------------------------------------------------------------- #


def full_window_frames(scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], clip_length: int):
    """Each video without its last ``clip_length - 1`` frames: the frames that start no full clip.
    Clip-based codes (Hasan et al.'s, Sun et al.'s) score clip starts only and leave those out of
    their AUC; a paper-native mode, so that our figure can be reconciled with theirs."""
    drop = max(0, int(clip_length) - 1)
    keep = {v: len(s) - drop for v, s in scores.items() if len(s) - drop > 0}
    return ({v: np.asarray(scores[v])[:n] for v, n in keep.items()}, {v: np.asarray(labels[v])[:n] for v, n in keep.items()})


#: The pixel-level rule of Mahadevan et al. (CVPR 2010) as Zhou et al. (sec. 5.3) state it: "a frame
#: is a true positive if it is positive and at least 40 percent of its anomalous pixels are
#: identified; a frame is a false positive if it is negative and any of its pixels [...] are
#: predicted as anomalous". The only pixel-level AUC convention the five papers use.
PIXEL_CONVENTION = "ucsd_40"


def evaluate_video_scores(
    scores: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    maps: Mapping[str, np.ndarray] | None = None,
    masks: Mapping[str, np.ndarray] | None = None,
    coverage: float = 0.4,
    clip_length: int = 1,
    events=None,
    regions=None,
) -> dict:
    """All benchmark metrics for one method on one test split, JSON-ready, with the
    (min-max normalised, micro) ROC curve: frame AUC (three poolings, and for clip methods the
    paper-native ``minmax_micro_full_windows``), EER, event-level TP/FA (``events``), and where
    videos have both maps and masks with at least one anomalous pixel, pixel-level AUC and
    RBDC/TBDC (``regions``); else those are None."""
    from vadflow.evaluation.events import EventParams, event_detection
    from vadflow.evaluation.regions import RegionParams, region_track_detection

    fpr, tpr, _ = roc_curve_micro(scores, labels, normalise=True)
    raw_fpr, raw_tpr, _ = roc_curve_micro(scores, labels, normalise=False)
    frame_auc = frame_level_auc(scores, labels)
    if clip_length > 1:
        trimmed = full_window_frames(scores, labels, clip_length)
        try:
            frame_auc["minmax_micro_full_windows"] = frame_level_auc(*trimmed)["minmax_micro"]
        except DataError:  # the trimmed frames hold one class only
            frame_auc["minmax_micro_full_windows"] = None
    pixel_auc = detection = None
    annotated = [v for v in (masks or {}) if maps is not None and v in maps]
    if annotated and any(np.asarray(masks[v]).any() for v in annotated):
        with_maps = {v: maps[v] for v in annotated}
        with_masks = {v: masks[v] for v in annotated}
        raw, minmax, frame_labels = _critical_values(with_maps, with_masks, coverage)
        pixel_auc = {
            "minmax": float(roc_auc_score(frame_labels, minmax)),
            "raw": float(roc_auc_score(frame_labels, raw)),
            "convention": PIXEL_CONVENTION,
            "coverage": coverage,
            "videos": len(annotated),
        }
        detection = region_track_detection(with_maps, with_masks, regions or RegionParams())
    return {
        "frame_auc": frame_auc,
        "eer": equal_error_rate(fpr, tpr),
        "eer_raw": equal_error_rate(raw_fpr, raw_tpr),
        "score_gap": score_gap(scores, labels),
        "events": event_detection(scores, labels, events or EventParams()),
        "pixel_auc": pixel_auc,
        "rbdc_tbdc": detection,
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
    }
