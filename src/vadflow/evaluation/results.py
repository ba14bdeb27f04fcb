"""Evaluate one method on one dataset: scores store + test frame stores -> results JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vadflow.atomic import atomic_path
from vadflow.data.store import FrameStore
from vadflow.errors import DataError
from vadflow.evaluation.metrics import evaluate_video_scores

CONVENTIONS = {
    "minmax_micro": "frame AUC, per-video min-max normalised scores, all frames concatenated (the papers' convention)",
    "raw_micro": "frame AUC, raw scores, all frames concatenated",
    "macro": "frame AUC, mean of per-video AUCs (single-class videos excluded)",
    "minmax_micro_full_windows": "frame AUC as minmax_micro, on the frames that start a full clip only"
    " (each video's last clip_length - 1 frames left out, as clip-based papers' code does)",
}


def thin_curve(fpr: np.ndarray, tpr: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    """Keep at most ``max_points`` ROC points (ends included) for results files and plots."""
    if len(fpr) > max_points:
        idx = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr = fpr[idx], tpr[idx]
    return {"fpr": [round(float(x), 6) for x in fpr], "tpr": [round(float(x), 6) for x in tpr]}


def load_ground_truth(test_stores: Sequence[str | Path]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    labels, masks = {}, {}
    for p in test_stores:
        s = FrameStore(p)
        if s.labels is None:
            raise DataError(f"test store {p} has no frame labels", "give the test video a labels file and decode it again")
        labels[s.name] = s.labels
        if s.has_masks:
            masks[s.name] = s.masks
    return labels, masks


SELECTION_WARNING = (
    "chosen on the TEST labels (the best of the training snapshots, as the sRNN-AE authors' "
    "evaluation script does): not a result, only how much such a choice inflates one; `auc` is the "
    "honest figure (the last iteration)"
)


def selection_on_test(
    scores_path: str | Path, labels: dict[str, np.ndarray], convention: str, honest_auc: float | None
) -> dict[str, Any]:
    """Frame AUC of every training snapshot of a scores store, the best of them, and by how much
    it beats the honest (last-iteration) figure: a measure of test-set selection, never a choice."""
    from vadflow.evaluation.metrics import frame_level_auc
    from vadflow.scores import read_snapshot_scores

    by_snapshot = {}
    for key, snap in read_snapshot_scores(scores_path).items():
        value = frame_level_auc(snap, labels).get(convention)
        if value is not None:
            by_snapshot[key] = float(value)
    if honest_auc is not None:
        by_snapshot["last"] = float(honest_auc)
    best = max(by_snapshot, key=by_snapshot.get) if by_snapshot else None
    return {
        "warning": SELECTION_WARNING,
        "auc_by_snapshot": by_snapshot,
        "best_snapshot": best,
        "best_auc": by_snapshot.get(best) if best else None,
        "inflation": (by_snapshot[best] - honest_auc) if best and honest_auc is not None else None,
    }


def category_accuracy(scores_path: str | Path, test_stores: Sequence[str | Path]) -> dict[str, Any] | None:
    """Wan et al.'s category accuracy (Tables 5-6): the share of test segments whose predicted class is
    their video's category, over all segments of all test videos (the authors' code: per window). A
    video's category is the one its training counterpart would have (``vadflow.methods.lad.clips.
    category_of``: ``Normal``, or the scene category when the model has no ``Normal`` class; an
    anomalous video without one, as in UCSD, is the single-category mode's ``Anomaly``). None when the
    method has no category head."""
    from vadflow.methods.api import Supervision, VideoInput
    from vadflow.methods.lad import ANOMALY_CATEGORY, NORMAL_CATEGORY
    from vadflow.methods.lad.clips import category_of
    from vadflow.scores import read_categories

    names, predicted = read_categories(scores_path)
    if not names:
        return None
    mode = "normal_class" if NORMAL_CATEGORY in names else "scene"
    per_class: dict[str, list[int]] = {}
    for p in test_stores:
        video = VideoInput.open(p, supervision=Supervision.FULLY)  # evaluation reads the test labels
        if video.name not in predicted:
            continue
        truth = category_of(video, mode) or ANOMALY_CATEGORY
        hits = sum(names[int(i)] == truth for i in predicted[video.name])
        tally = per_class.setdefault(truth, [0, 0])
        tally[0] += hits
        tally[1] += len(predicted[video.name])
    total = sum(n for _, n in per_class.values())
    if not total:
        return None
    return {"category_accuracy": sum(h for h, _ in per_class.values()) / total, "category_segments": total,
            "category_accuracy_by_class": {c: h / n for c, (h, n) in sorted(per_class.items())},
            "category_names": names}


def store_categories(stores: Sequence[FrameStore]) -> dict[str, str | None]:
    """Each test video's category as its store records it (the walkway's anomaly kind; None where none)."""
    return {s.name: s.attrs.get("category") for s in stores}


def evaluate(
    scores_path: str | Path,
    test_stores: Sequence[str | Path],
    out_json: str | Path,
    *,
    dataset: str,
    convention: str = "minmax_micro",
    pixel_coverage: float = 0.4,
    events: dict[str, Any] | None = None,
    regions: dict[str, Any] | None = None,
    bootstrap: dict[str, Any] | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """``events`` / ``regions`` / ``bootstrap``: config ``evaluation.events`` (window, persistence,
    threshold), ``evaluation.regions`` (alpha, beta) and ``evaluation.bootstrap`` (draws, seed, level:
    the video-level confidence intervals of the frame AUC, ``frame_auc_ci``); ``split``: how the
    dataset's split was made, for the protocol card (None: its official split)."""
    from vadflow.evaluation.bootstrap import BootstrapParams, video_bootstrap
    from vadflow.evaluation.events import EventParams
    from vadflow.evaluation.regions import RegionParams
    from vadflow.scores import read_scores

    attrs, scores, maps = read_scores(scores_path)
    labels, masks = load_ground_truth(test_stores)
    stores = [FrameStore(p) for p in test_stores]
    clip_length = int(((attrs.get("config") or {}).get("input") or {}).get("clip_length") or 1)
    metrics = evaluate_video_scores(
        scores, labels, maps, masks, coverage=pixel_coverage, clip_length=clip_length,
        events=EventParams(**(events or {})), regions=RegionParams(**(regions or {})),
    )
    roc = metrics.pop("roc")
    result = {
        "dataset": dataset,
        "method": attrs["name"],
        "method_id": attrs["method"],
        "seed": (attrs.get("config") or {}).get("seed"),
        "label": attrs["label"],
        "supervision": attrs["supervision"],
        "convention": convention,
        "convention_text": CONVENTIONS[convention],
        "auc": metrics["frame_auc"].get(convention),
        **metrics,
        "frame_auc_ci": video_bootstrap(scores, labels, BootstrapParams(**(bootstrap or {})),
                                        categories=store_categories(stores)),
        "roc": thin_curve(np.asarray(roc["fpr"]), np.asarray(roc["tpr"])),
        "params": attrs.get("config", {}).get("params"),
        "input": attrs.get("config", {}).get("input"),
        "method_stats": attrs.get("method_stats", {}),
        "train_seconds": attrs.get("train_seconds"),
        "score_frames_per_second": attrs.get("frames_per_second"),
        "device": attrs.get("device"),
        "vadflow_version": attrs.get("vadflow_version"),
    }
    categories = category_accuracy(scores_path, test_stores)
    if categories is not None:
        result.update(categories)
    if attrs.get("snapshots"):
        result["selection_on_test"] = selection_on_test(scores_path, labels, convention, result["auc"])
    from vadflow.evaluation.protocol import protocol_card

    result["protocol"] = protocol_card(
        dataset=dataset, store_attrs=[s.attrs for s in stores], labels=labels, convention=convention,
        frame_auc=metrics["frame_auc"], clip_length=clip_length, supervision=attrs["supervision"],
        train_videos=attrs.get("train_videos"), split=split, selection_on_test="selection_on_test" in result)
    with atomic_path(out_json) as tmp:
        tmp.write_text(json.dumps(result, indent=1))
    return result


def calibrated_events(scores_path: str | Path, test_stores: Sequence[str | Path], calibration: str | Path,
                      out_json: str | Path, *, dataset: str, events: dict[str, Any] | None = None) -> dict[str, Any]:
    """``events_calibrated``: the event rule (``evaluation.events``) on the scale of the model's normal
    training frames (``calibration.json``), threshold 1. Per-video min-max gives every test video an
    event; this need not. Paper tables that show ``events_calibrated.*`` merge it into the row's result."""
    from vadflow.evaluation.events import EventParams, event_detection, load_calibration
    from vadflow.scores import read_scores

    attrs, scores, _ = read_scores(scores_path)
    labels, _ = load_ground_truth(test_stores)
    cal = load_calibration(calibration)
    out = {"dataset": dataset, "method": attrs["name"],
           "events_calibrated": {**event_detection(scores, labels, EventParams(**(events or {})), calibration=cal),
                                 "calibration": {"median": cal.median, "max": cal.max, "frames": cal.frames,
                                                 "videos": cal.videos}}}
    with atomic_path(out_json) as tmp:
        tmp.write_text(json.dumps(out, indent=1))
    return out


def seed_summary(results: Sequence[dict[str, Any]], out_json: str | Path | None = None) -> dict[str, Any]:
    """One entry on one dataset trained with several seeds (``seeds:``; the results of the entry and of
    its ``<entry>.seed<s>`` runs): every seed's frame AUC in each convention and EER, and per figure the
    mean, the sample standard deviation (n − 1) and n. Written to ``out_json`` when given."""
    first = results[0]
    runs = [{"method": r["method"], "seed": r.get("seed"), "frame_auc": r["frame_auc"], "eer": r.get("eer"),
             "frame_auc_ci": r.get("frame_auc_ci")} for r in results]
    figures: dict[str, dict[str, Any]] = {}
    for key in [c for c in CONVENTIONS if any(isinstance(r["frame_auc"].get(c), (int, float)) for r in results)]:
        values = [float(r["frame_auc"][key]) for r in results if isinstance(r["frame_auc"].get(key), (int, float))]
        figures[key] = _spread(values)
    eers = [float(r["eer"]) for r in results if isinstance(r.get("eer"), (int, float))]
    summary = {"dataset": first["dataset"], "method": first["method"], "label": first["label"],
               "seeds": [r.get("seed") for r in results], "frame_auc": figures,
               "eer": _spread(eers) if eers else None, "runs": runs}
    if out_json is not None:
        with atomic_path(out_json) as tmp:
            tmp.write_text(json.dumps(summary, indent=1))
    return summary


def _spread(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, np.float64)
    return {"values": [float(x) for x in v], "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": int(len(v))}
