"""Event-level detection: Hasan et al.'s protocol (CVPR 2016, sec. 4.3), as Sun et al. (Table X)
and Zhou et al. (Tables 3-5) report it, "true positives / false alarms".

Hasan et al. find the local minima of the regularity score s(t) = 1 - normalised error with the
persistence1D algorithm (Kozlov & Weinkauf), and take minima within 50 frames to belong to one
abnormal event; Sun et al. phrase the same on the anomaly score: its persistent local maxima, each
spanned by a fixed temporal window, overlapping windows merged into the detected events. None of
the papers gives the persistence threshold, a score threshold or the matching rule, so this module
fixes them (docs/evaluation.md lists each choice):

- scores are min-max normalised per video first (Hasan et al.'s regularity score is);
- a maximum counts when its persistence is at least ``persistence`` and its score at least
  ``threshold`` (0.1 and 0.5: fixed here, never chosen on test labels);
- each spans ``window`` frames centred on it (50, Hasan et al.); overlapping spans merge;
- a ground-truth event is a run of consecutive anomalous frames; it is a true positive when a
  detected event overlaps it (each counted once), and a detected event that overlaps none is a
  false alarm. Recall = TP / ground-truth events, precision = TP / (TP + FA), the two figures the
  papers' tables derive from these counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: the event threshold on the calibrated scale: above every normal training frame
CALIBRATED_THRESHOLD = 1.0


@dataclass(frozen=True)
class Calibration:
    """A model's score scale on its normal training frames (``calibration.json``, rule calibrate /
    ``vadflow calibrate``): (score - median) / (max - median), so 1.0 is as unusual as the most unusual
    frame the model saw in training. Unlike per-video min-max it can leave a video with no event."""

    median: float
    max: float
    frames: int
    videos: int

    def normalise(self, scores: np.ndarray) -> np.ndarray:
        span = self.max - self.median
        return (np.asarray(scores, np.float64) - self.median) / (span if span > 0 else 1.0)


def load_calibration(path: str | Path) -> Calibration:
    d = json.loads(Path(path).read_text())
    return Calibration(float(d["median"]), float(d["max"]), int(d["frames"]), int(d["videos"]))


__all__ = ["EventParams", "ground_truth_events", "persistent_maxima", "detect_events", "event_detection",
           "Calibration", "load_calibration", "CALIBRATED_THRESHOLD"]


@dataclass(frozen=True)
class EventParams:
    """The event-level rule's constants (config: ``evaluation.events``)."""

    window: int = 50
    persistence: float = 0.1
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"events.window must be >= 1 frame, got {self.window}")
        if self.persistence < 0 or self.threshold < 0:
            raise ValueError("events.persistence and events.threshold must be >= 0 (on min-max normalised scores:"
                             " in [0, 1])")


def ground_truth_events(labels: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive anomalous frames as [start, end) frame intervals."""
    from vadflow.data.layout import labels_to_intervals

    return [(s, e) for s, e in labels_to_intervals(labels)]


def persistent_maxima(scores: np.ndarray, persistence: float) -> list[tuple[int, float]]:
    """Local maxima of a 1-D signal with their persistence (Kozlov & Weinkauf's persistence1D on
    -scores): sweeping a threshold down, a maximum is born when its value is reached and dies when
    its component merges with one whose maximum is higher; persistence = birth - death. The global
    maximum never dies (persistence = its value - the signal's minimum). Returns (index, persistence)
    of those with persistence >= ``persistence``, by index; on plateaus the first frame stands for it."""
    x = np.asarray(scores, dtype=np.float64)
    n = x.size
    if n == 0:
        return []
    order = np.argsort(-x, kind="stable")
    parent = np.full(n, -1)
    peak = np.zeros(n, dtype=np.int64)  # the highest frame of each component (its root's record)
    found: list[tuple[int, float]] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in order:
        i = int(i)
        parent[i] = i
        peak[i] = i
        for j in (i - 1, i + 1):
            if 0 <= j < n and parent[j] != -1:
                a, b = root(i), root(j)
                if a == b:
                    continue
                # the lower peak dies at x[i]; ties go to the earlier frame (stable order)
                low, high = (a, b) if (x[peak[a]], -peak[a]) < (x[peak[b]], -peak[b]) else (b, a)
                if peak[low] != i:  # a frame that only joins two slopes is not a maximum
                    found.append((int(peak[low]), float(x[peak[low]] - x[i])))
                parent[low] = high
    top = int(peak[root(int(order[0]))])
    found.append((top, float(x[top] - x.min())))
    return sorted((i, p) for i, p in found if p >= persistence)


def detect_events(scores: np.ndarray, params: EventParams = EventParams(), *, normalise: bool = True
                  ) -> list[tuple[int, int, int]]:
    """Detected events of one video as (start, end, peak frame), [start, end) in frames. ``normalise``
    False: the scores are on a scale of their own already (``vadflow detect``'s calibrated one)."""
    from vadflow.evaluation.basics import minmax_normalise

    s = minmax_normalise(scores) if normalise else np.asarray(scores, np.float64)
    peaks = [i for i, _ in persistent_maxima(s, params.persistence) if s[i] >= params.threshold]
    half = params.window // 2
    events: list[list[int]] = []
    for i in peaks:  # by index: a span that overlaps the previous one extends it
        start, end = max(0, i - half), min(len(s), i - half + params.window)
        if events and start < events[-1][1]:
            events[-1][1] = max(events[-1][1], end)
            if s[i] > s[events[-1][2]]:
                events[-1][2] = i
        else:
            events.append([start, end, i])
    return [tuple(e) for e in events]  # type: ignore[misc]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def event_detection(
    scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], params: EventParams = EventParams(),
    calibration: Calibration | None = None,
) -> dict:
    """True positives, false alarms, precision and recall over all test videos (JSON-ready): on per-video
    min-max normalised scores (the papers'), or, with ``calibration``, on the scale of the model's normal
    training frames with the threshold ``CALIBRATED_THRESHOLD`` (``params.threshold`` is then unused)."""
    if calibration is not None:
        params = EventParams(window=params.window, persistence=params.persistence, threshold=CALIBRATED_THRESHOLD)
    tp = fa = n_gt = n_det = 0
    per_video = {}
    for name, video_scores in scores.items():
        truth = ground_truth_events(labels[name])
        found = (detect_events(video_scores, params) if calibration is None else
                 detect_events(calibration.normalise(video_scores), params, normalise=False))
        hit = sum(any(_overlaps(g, e[:2]) for e in found) for g in truth)
        false = sum(not any(_overlaps(g, e[:2]) for g in truth) for e in found)
        tp, fa, n_gt, n_det = tp + hit, fa + false, n_gt + len(truth), n_det + len(found)
        per_video[name] = {"tp": hit, "fa": false, "events": [list(e) for e in found], "truth": [list(g) for g in truth]}
    return {
        "tp": tp,
        "fa": fa,
        "tp_fa": f"{tp}/{fa}",
        "gt_events": n_gt,
        "detected": n_det,
        "recall": tp / n_gt if n_gt else None,
        "precision": tp / (tp + fa) if tp + fa else None,
        "rule": {"window": params.window, "persistence": params.persistence, "threshold": params.threshold,
                 "scale": "per-video min-max" if calibration is None else
                 "calibrated on the normal training frames ((s - median) / (max - median))"},
        "per_video": per_video,
    }
