"""Event-level detection (Hasan et al.'s protocol), RBDC/TBDC (Ramachandra & Jones 2020), the
pixel-level AUC's oracle and the paper-native full-window frame AUC, on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from vadflow.evaluation.events import (
    Calibration,
    EventParams,
    detect_events,
    event_detection,
    ground_truth_events,
    persistent_maxima,
)
from vadflow.evaluation.metrics import evaluate_video_scores, full_window_frames, pixel_level_auc
from vadflow.evaluation.regions import RegionParams, envelope_area, region_track_detection


def test_ground_truth_events_are_runs_of_anomalous_frames():
    assert ground_truth_events(np.array([0, 1, 1, 0, 0, 1, 0, 1])) == [(1, 3), (5, 6), (7, 8)]
    assert ground_truth_events(np.zeros(4)) == []


def test_persistence_of_maxima():
    # maxima at 1 (3), 3 (5) and 5 (4); minima 2 (1) and 4 (2); global min 0 at the ends
    x = np.array([0, 3, 1, 5, 2, 4, 0], float)
    # 3 dies at the valley 1 (persistence 2), 4 dies at the valley 2 (persistence 2), 5 lives (5 - 0)
    assert persistent_maxima(x, 0.0) == [(1, 2.0), (3, 5.0), (5, 2.0)]
    assert persistent_maxima(x, 2.5) == [(3, 5.0)]


def test_detect_events_merges_maxima_within_the_window():
    s = np.zeros(200)
    s[40], s[60], s[150] = 1.0, 0.9, 0.8  # 40 and 60 are 20 frames apart: one event
    events = detect_events(s, EventParams(window=50, persistence=0.1, threshold=0.5))
    assert events == [(15, 85, 40), (125, 175, 150)]
    # a maximum under the score threshold starts no event
    assert detect_events(s, EventParams(threshold=0.85)) == [(15, 85, 40)]


def test_event_detection_counts_true_positives_and_false_alarms():
    labels = np.zeros(300, int)
    labels[30:50] = 1  # event 1: detected
    labels[200:210] = 1  # event 2: missed
    s = np.zeros(300)
    s[40] = 1.0  # inside event 1
    s[120] = 0.9  # no event there: a false alarm
    out = event_detection({"v": s}, {"v": labels}, EventParams(window=20))
    assert (out["tp"], out["fa"], out["gt_events"], out["detected"]) == (1, 1, 2, 2)
    assert out["tp_fa"] == "1/1" and out["recall"] == 0.5 and out["precision"] == 0.5


def test_min_max_gives_every_video_an_event_the_calibrated_scale_need_not():
    """A normal video whose scores wobble below anything seen in training: per-video min-max stretches
    its top frame to 1 and reports a (false) event; on the training frames' scale (median 1, max 3:
    1.5 -> 0.25) nothing passes the threshold 1. A frame at 5 (-> 2.0) is an event on both scales."""
    labels = {"quiet": np.zeros(100, int), "busy": np.r_[np.zeros(50, int), np.ones(50, int)]}
    quiet = np.ones(100)
    quiet[30] = 1.5
    busy = np.ones(100)
    busy[70] = 5.0
    scores = {"quiet": quiet, "busy": busy}
    papers = event_detection(scores, labels, EventParams(window=20))
    assert (papers["tp"], papers["fa"]) == (1, 1)  # quiet's top frame became an event
    cal = Calibration(median=1.0, max=3.0, frames=1000, videos=4)
    assert cal.normalise(np.array([1.5, 5.0])).tolist() == [0.25, 2.0]
    calibrated = event_detection(scores, labels, EventParams(window=20), calibration=cal)
    assert (calibrated["tp"], calibrated["fa"]) == (1, 0) and calibrated["rule"]["threshold"] == 1.0
    assert calibrated["per_video"]["quiet"]["events"] == []


def _two_frame_fixture():
    """Frame 0: region A (top left) and region B (bottom right); frame 1: A again (one track)."""
    m = np.zeros((2, 10, 10), bool)
    m[0, 1:3, 1:3] = m[1, 1:3, 1:3] = True
    m[0, 6:8, 6:8] = True
    return m


def test_rbdc_tbdc_are_one_when_the_maps_are_the_masks():
    m = _two_frame_fixture()
    out = region_track_detection({"v": m.astype(float)}, {"v": m})
    assert (out["rbdc"], out["tbdc"], out["regions"], out["tracks"]) == (1.0, 1.0, 3, 2)


def test_rbdc_tbdc_with_a_missed_and_a_false_region():
    """B is missed; a false region F scores above A. Thresholds: at 1, only F (0.5 false positives
    per frame, nothing detected); at 0.5, F + A + A' (0.5 per frame; regions 2/3, tracks 1/2); at 0,
    one region per frame, none detected (1 per frame). The envelope is 0 up to 0.5, then 2/3
    (regions) and 1/2 (tracks): RBDC = 0.5 * 2/3, TBDC = 0.5 * 1/2."""
    m = _two_frame_fixture()
    maps = np.zeros((2, 10, 10))
    maps[0, 1:3, 1:3] = maps[1, 1:3, 1:3] = 0.5
    maps[0, 6:8, 1:3] = 1.0
    out = region_track_detection({"v": maps}, {"v": m})
    assert out["rbdc"] == pytest.approx(1 / 3) and out["tbdc"] == pytest.approx(0.25)


def test_a_track_needs_alpha_of_its_regions():
    m = np.zeros((10, 8, 8), bool)
    m[:, 2:4, 2:4] = True  # one track of 10 regions
    maps = np.zeros((10, 8, 8))
    maps[0, 2:4, 2:4] = 1.0  # only the first frame's region is found
    out = region_track_detection({"v": maps}, {"v": m}, RegionParams(alpha=0.1))
    assert out["tracks"] == 1 and out["tbdc"] == 1.0 and out["rbdc"] == pytest.approx(0.1)
    assert region_track_detection({"v": maps}, {"v": m}, RegionParams(alpha=0.2))["tbdc"] == 0.0


def test_iou_below_beta_is_not_a_detection():
    m = np.zeros((1, 10, 10), bool)
    m[0, 0:2, 0:2] = True  # 4 pixels
    maps = np.zeros((1, 10, 10))
    maps[0, 0:8, 0:8] = 1.0  # covers it, IoU 4/64 < 0.1: a false positive, the region missed
    assert region_track_detection({"v": maps}, {"v": m})["rbdc"] == 0.0
    maps[0] = 0
    maps[0, 0:4, 0:6] = 1.0  # IoU 4/24 >= 0.1
    assert region_track_detection({"v": maps}, {"v": m})["rbdc"] == 1.0


def test_envelope_area():
    # best rate at fp <= x: 0 on [0, .5), .5 on [.5, .8), 1 on [.8, 1]; a worse later point is ignored
    assert envelope_area(np.array([0, 0.5, 0.8, 0.9]), np.array([0, 0.5, 1.0, 0.2])) == pytest.approx(0.3 * 0.5 + 0.2 * 1.0)


def test_pixel_auc_of_an_oracle_map_is_one():
    m = _two_frame_fixture()
    normal = np.zeros((3, 10, 10), bool)
    masks = {"a": m, "b": normal}
    maps = {k: v.astype(float) for k, v in masks.items()}
    assert pixel_level_auc(maps, masks) == 1.0


def test_full_window_frames_leave_out_the_frames_that_start_no_clip():
    scores, labels = {"v": np.arange(10.0), "w": np.arange(3.0)}, {"v": np.zeros(10), "w": np.zeros(3)}
    s, y = full_window_frames(scores, labels, clip_length=4)
    assert list(s) == ["v"] and len(s["v"]) == 7 and len(y["v"]) == 7


def test_the_paper_native_mode_is_recorded_for_clip_methods():
    scores = {"v": np.r_[np.zeros(6), np.ones(4), 5.0, 0.0]}
    labels = {"v": np.r_[np.zeros(6), np.ones(4), 0, 0]}
    out = evaluate_video_scores(scores, labels, clip_length=3)
    # the two trailing frames (one a high-scored normal frame) are left out: a perfect ranking remains
    assert out["frame_auc"]["minmax_micro"] < 1.0 and out["frame_auc"]["minmax_micro_full_windows"] == 1.0
    assert "minmax_micro_full_windows" not in evaluate_video_scores(scores, labels)["frame_auc"]
