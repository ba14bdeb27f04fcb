"""Tests for vadflow.evaluation.metrics: hand-computed values and a brute-force oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from vadflow.errors import DataError
from vadflow.evaluation import (
    equal_error_rate,
    evaluate_video_scores,
    frame_level_auc,
    minmax_normalise,
    pixel_level_auc,
    pixel_level_roc,
    roc_curve_micro,
)

trapezoid = getattr(np, "trapezoid", None) or np.trapz  # np.trapz is gone in NumPy >= 2.4


def two_videos():
    """Two videos on different score scales where the three AUC conventions disagree.

    a: scores 0 1 2 3,  labels 0 0 1 1 -> per-video AUC 1
    b: scores 10 20 30, labels 0 1 0   -> per-video AUC 0.5 (20 beats 10, loses to 30)
    """
    scores = {"a": np.array([0.0, 1.0, 2.0, 3.0]), "b": np.array([10.0, 20.0, 30.0])}
    labels = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 1, 0])}
    return scores, labels


# --------------------------------------------------------------------------- #
# minmax_normalise
# --------------------------------------------------------------------------- #


def test_minmax_normalise_rescales_to_unit_interval():
    np.testing.assert_allclose(minmax_normalise(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])


def test_minmax_normalise_constant_video_is_all_zeros():
    np.testing.assert_array_equal(minmax_normalise(np.full(4, 7.0)), np.zeros(4))


# --------------------------------------------------------------------------- #
# frame_level_auc
# --------------------------------------------------------------------------- #


def test_frame_level_auc_hand_computed_conventions_differ():
    scores, labels = two_videos()
    result = frame_level_auc(scores, labels)

    # macro: mean(1, 0.5) = 0.75
    assert result["macro"] == pytest.approx(0.75)
    assert result["per_video"] == {"a": pytest.approx(1.0), "b": pytest.approx(0.5)}
    assert result["macro_excluded"] == []

    # raw_micro: positives {2, 3, 20}, negatives {0, 1, 10, 30}, 3 * 4 = 12 pairs.
    # 2 beats 0,1 (2); 3 beats 0,1 (2); 20 beats 0,1,10 (3) -> 7 / 12
    assert result["raw_micro"] == pytest.approx(7 / 12)

    # minmax_micro: a -> 0 1/3 2/3 1, b -> 0 0.5 1.
    # positives {2/3, 1, 0.5}, negatives {0, 1/3, 0 (b), 1 (b)}.
    # 2/3 beats 0,1/3,0 (3); 1 beats 0,1/3,0 and ties 1 (3.5); 0.5 beats 0,1/3,0 (3)
    # -> 9.5 / 12
    assert result["minmax_micro"] == pytest.approx(9.5 / 12)

    assert result["n_frames"] == 7
    assert result["n_anomalous"] == 3
    assert result["n_videos"] == 2


def test_frame_level_auc_perfect_and_inverted_scores():
    labels = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 1, 1, 0, 0])}
    perfect = {name: y * 5.0 + 1.0 for name, y in labels.items()}
    inverted = {name: -s for name, s in perfect.items()}

    best = frame_level_auc(perfect, labels)
    worst = frame_level_auc(inverted, labels)
    for key in ("minmax_micro", "raw_micro", "macro"):
        assert best[key] == pytest.approx(1.0)
        assert worst[key] == pytest.approx(0.0)


def test_single_class_video_is_listed_in_macro_excluded():
    scores, labels = two_videos()
    scores["c"] = np.array([0.2, 0.9, 0.4])
    labels["c"] = np.array([0, 0, 0])

    result = frame_level_auc(scores, labels)

    assert result["macro_excluded"] == ["c"]
    assert result["per_video"]["c"] is None
    assert result["macro"] == pytest.approx(0.75)  # still the mean over a and b only
    assert result["n_videos"] == 3


def test_macro_is_none_when_no_video_has_both_classes():
    scores = {"normal": np.array([0.1, 0.2]), "anomalous": np.array([0.7, 0.8])}
    labels = {"normal": np.array([0, 0]), "anomalous": np.array([1, 1])}

    result = frame_level_auc(scores, labels)

    assert result["macro"] is None
    assert result["macro_excluded"] == ["normal", "anomalous"]
    assert result["raw_micro"] == pytest.approx(1.0)


def test_frame_level_result_is_json_serialisable():
    scores, labels = two_videos()
    json.dumps(frame_level_auc(scores, labels))


# --------------------------------------------------------------------------- #
# roc_curve_micro and equal_error_rate
# --------------------------------------------------------------------------- #


def test_roc_curve_micro_auc_matches_frame_level_auc():
    scores, labels = two_videos()
    result = frame_level_auc(scores, labels)
    for normalise, key in ((True, "minmax_micro"), (False, "raw_micro")):
        fpr, tpr, thresholds = roc_curve_micro(scores, labels, normalise=normalise)
        assert fpr.shape == tpr.shape == thresholds.shape
        assert trapezoid(tpr, fpr) == pytest.approx(result[key])


def test_eer_interpolates_between_roc_points():
    # FPR - FNR along the curve: -1, -0.5, +0.5, +1 -> crossing halfway between
    # (0, 0.5) and (0.5, 1): FPR = 0.25, TPR = 0.75, so FNR = 0.25 too.
    assert equal_error_rate([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0]) == pytest.approx(0.25)


def test_eer_on_an_exact_roc_point():
    assert equal_error_rate([0.0, 0.2, 1.0], [0.0, 0.8, 1.0]) == pytest.approx(0.2)


def test_eer_of_a_known_small_case():
    # scores 1..5, labels 0 0 1 0 1 (P = 2, N = 3). ROC points from the top threshold:
    # (0,0) (0,1/2) (1/3,1/2) (1/3,1) (2/3,1) (1,1). FPR - FNR is -1/6 at (1/3,1/2) and
    # +1/3 at (1/3,1); both have FPR 1/3, so the interpolated EER is 1/3 (TPR 2/3).
    scores = {"v": np.array([1.0, 2.0, 3.0, 4.0, 5.0])}
    labels = {"v": np.array([0, 0, 1, 0, 1])}
    fpr, tpr, _ = roc_curve_micro(scores, labels, normalise=False)
    assert equal_error_rate(fpr, tpr) == pytest.approx(1 / 3)


def test_eer_of_chance_level_roc_is_one_half():
    diagonal = np.linspace(0.0, 1.0, 11)
    assert equal_error_rate(diagonal, diagonal) == pytest.approx(0.5)

    # Scores that carry no information (all tied) give the diagonal ROC.
    scores = {"v": np.full(6, 0.3)}
    labels = {"v": np.array([0, 1, 0, 1, 0, 1])}
    fpr, tpr, _ = roc_curve_micro(scores, labels)
    assert equal_error_rate(fpr, tpr) == pytest.approx(0.5)


def test_eer_of_perfect_scores_is_zero():
    scores = {"v": np.array([0.1, 0.2, 0.8, 0.9])}
    labels = {"v": np.array([0, 0, 1, 1])}
    fpr, tpr, _ = roc_curve_micro(scores, labels)
    assert equal_error_rate(fpr, tpr) == pytest.approx(0.0)


# --------------------------------------------------------------------------- #
# Pixel level
# --------------------------------------------------------------------------- #


def brute_force_pixel_auc(maps, masks, coverage=0.4, normalise=True):
    """Sweep every distinct map value as a threshold and apply the 40 % rule literally."""
    prepared = []
    for name, video_mask in masks.items():
        video_map = np.asarray(maps[name], dtype=np.float64)
        _, height, width = video_mask.shape
        if video_map.shape[1:] != (height, width):
            factors = (1, height / video_map.shape[1], width / video_map.shape[2])
            video_map = ndimage.zoom(video_map, factors, order=1)
        if normalise:
            low, high = video_map.min(), video_map.max()
            video_map = (video_map - low) / (high - low) if high > low else np.zeros_like(video_map)
        prepared.append((video_map, np.asarray(video_mask, dtype=bool)))

    n_positive = sum(int(m.any(axis=(1, 2)).sum()) for _, m in prepared)
    n_negative = sum(int((~m.any(axis=(1, 2))).sum()) for _, m in prepared)
    thresholds = np.unique(np.concatenate([v.ravel() for v, _ in prepared]))[::-1]

    fprs, tprs = [0.0], [0.0]  # threshold above every value: nothing flagged
    for theta in thresholds:
        true_positives = false_positives = 0
        for video_map, video_mask in prepared:
            for frame_map, frame_mask in zip(video_map, video_mask):
                detected = frame_map >= theta
                n_gt = int(frame_mask.sum())
                if n_gt > 0:
                    true_positives += int(detected[frame_mask].sum() / n_gt >= coverage)
                else:
                    false_positives += int(detected.any())
        fprs.append(false_positives / n_negative)
        tprs.append(true_positives / n_positive)
    return float(trapezoid(tprs, fprs))


def random_maps_and_masks(seed=0):
    """Three videos: full-resolution maps, half-resolution maps, and quantised maps with ties."""
    rng = np.random.default_rng(seed)
    height, width = 12, 16
    maps, masks = {}, {}
    for name, map_shape, quantise in (
        ("full_res", (height, width), False),
        ("half_res", (height // 2, width // 2), False),
        ("tied", (height, width), True),
    ):
        n_frames = 6
        video_masks = np.zeros((n_frames, height, width), dtype=bool)
        for frame in range(n_frames):
            if rng.random() < 0.5:
                continue  # normal frame
            box_h, box_w = rng.integers(2, 6, size=2)
            top, left = rng.integers(0, height - box_h), rng.integers(0, width - box_w)
            video_masks[frame, top : top + box_h, left : left + box_w] = True
        video_masks[0] = False  # guarantee both classes in every video
        video_masks[1, 4:7, 5:10] = True  # 15 pixels: 40 % is exactly 6
        # Anomaly maps: noise, brighter over the anomaly so the AUC is non-trivial.
        factors = (1, map_shape[0] / height, map_shape[1] / width)
        signal = ndimage.zoom(video_masks.astype(float), factors, order=1)
        video_maps = rng.random((n_frames, *map_shape)) + 0.6 * signal
        if quantise:
            video_maps = np.round(video_maps * 4) / 4
        maps[name], masks[name] = 3.0 * video_maps + rng.normal(), video_masks
    return maps, masks


@pytest.mark.parametrize("normalise", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pixel_level_auc_matches_brute_force(seed, normalise):
    maps, masks = random_maps_and_masks(seed)

    expected = brute_force_pixel_auc(maps, masks, normalise=normalise)
    assert 0.0 < expected < 1.0  # a degenerate oracle would prove nothing
    assert pixel_level_auc(maps, masks, normalise=normalise) == pytest.approx(expected, abs=1e-12)

    fpr, tpr = pixel_level_roc(maps, masks, normalise=normalise)
    assert trapezoid(tpr, fpr) == pytest.approx(expected, abs=1e-12)


def test_pixel_level_requires_coverage_not_just_a_hit():
    # The anomalous frame fires hardest (0.9) but only 1 of its 5 gt pixels beats the
    # normal frame's 0.85; 40 % needs 2 pixels, reached only at 0.8 < 0.85 -> AUC 0.
    anomalous = np.zeros((1, 1, 5))
    anomalous[0, 0] = [0.9, 0.8, 0.1, 0.1, 0.1]
    normal = np.full((1, 1, 5), 0.85)
    maps = {"v": np.concatenate([normal, anomalous])}
    masks = {"v": np.array([[[0, 0, 0, 0, 0]], [[1, 1, 1, 1, 1]]])}
    assert pixel_level_auc(maps, masks, normalise=False) == pytest.approx(0.0)

    maps["v"][0] = 0.7  # now the second-best gt pixel beats every normal pixel
    assert pixel_level_auc(maps, masks, normalise=False) == pytest.approx(1.0)


def test_pixel_level_forty_percent_of_fifteen_pixels_is_six():
    # 0.4 * 15 == 6.000000000000001 in floating point; 6 detected pixels must still count.
    mask = np.zeros((2, 3, 5), dtype=bool)
    mask[1] = True
    video_map = np.zeros((2, 3, 5))
    video_map[0] = 0.5
    video_map[1].flat[:6] = 0.9
    assert pixel_level_auc({"v": video_map}, {"v": mask}, normalise=False) == pytest.approx(1.0)


def test_pixel_level_ignores_videos_without_masks():
    maps, masks = random_maps_and_masks(0)
    with_extra = dict(maps, unannotated=np.random.default_rng(5).random((3, 4, 4)))
    assert pixel_level_auc(with_extra, masks) == pytest.approx(pixel_level_auc(maps, masks))


# --------------------------------------------------------------------------- #
# evaluate_video_scores
# --------------------------------------------------------------------------- #


def test_evaluate_video_scores_without_maps():
    scores, labels = two_videos()
    result = evaluate_video_scores(scores, labels)

    assert result["frame_auc"] == frame_level_auc(scores, labels)
    assert result["pixel_auc"] is None
    fpr, tpr, _ = roc_curve_micro(scores, labels, normalise=False)
    assert result["eer_raw"] == pytest.approx(equal_error_rate(fpr, tpr))
    json.dumps(result)


def test_evaluate_video_scores_with_maps():
    maps, masks = random_maps_and_masks(1)
    labels = {name: m.any(axis=(1, 2)).astype(int) for name, m in masks.items()}
    scores = {name: m.max(axis=(1, 2)) for name, m in maps.items()}

    result = evaluate_video_scores(scores, labels, maps=maps, masks=masks)

    assert result["pixel_auc"] == {
        "minmax": pytest.approx(pixel_level_auc(maps, masks, normalise=True)),
        "raw": pytest.approx(pixel_level_auc(maps, masks, normalise=False)),
        "convention": "ucsd_40",
        "coverage": 0.4,
        "videos": len(masks),
    }
    assert 0.0 <= result["rbdc_tbdc"]["rbdc"] <= 1.0 and result["events"]["tp_fa"].count("/") == 1
    assert 0.0 <= result["eer"] <= 1.0
    assert isinstance(result["eer"], float)
    assert evaluate_video_scores(scores, labels, maps=maps, masks={})["pixel_auc"] is None
    json.dumps(result)


# --------------------------------------------------------------------------- #
# DataError on bad input
# --------------------------------------------------------------------------- #


def test_length_mismatch_names_video_and_both_lengths():
    scores, labels = two_videos()
    labels["b"] = np.array([0, 1, 0, 0, 1])
    with pytest.raises(DataError) as error:
        frame_level_auc(scores, labels)
    message = error.value.message
    assert "'b'" in message and "3" in message and "5" in message
    assert error.value.hint


def test_nan_score_names_video():
    scores, labels = two_videos()
    scores["a"] = np.array([0.0, np.nan, 2.0, 3.0])
    with pytest.raises(DataError, match="'a'.*NaN"):
        frame_level_auc(scores, labels)


def test_infinite_score_names_video():
    scores, labels = two_videos()
    scores["b"] = np.array([10.0, np.inf, 30.0])
    with pytest.raises(DataError, match="'b'"):
        roc_curve_micro(scores, labels)


def test_missing_video_is_named():
    scores, labels = two_videos()
    del scores["b"]
    with pytest.raises(DataError, match="no scores for video.*'b'"):
        frame_level_auc(scores, labels)


def test_extra_scores_without_labels_are_named():
    scores, labels = two_videos()
    scores["ghost"] = np.zeros(2)
    with pytest.raises(DataError, match="no labels for video.*'ghost'"):
        frame_level_auc(scores, labels)


def test_non_binary_labels_are_rejected():
    scores, labels = two_videos()
    labels["a"] = np.array([0, 2, 1, 1])
    with pytest.raises(DataError, match="'a'.*0/1"):
        frame_level_auc(scores, labels)


def test_single_class_test_set_is_rejected():
    scores = {"v": np.array([0.1, 0.5])}
    labels = {"v": np.array([0, 0])}
    with pytest.raises(DataError, match="both classes"):
        frame_level_auc(scores, labels)


def test_pixel_frame_count_mismatch_names_video():
    maps, masks = random_maps_and_masks(0)
    maps["half_res"] = maps["half_res"][:-1]
    with pytest.raises(DataError, match="'half_res'.*5 anomaly maps but 6 masks"):
        pixel_level_auc(maps, masks)


def test_pixel_missing_map_names_video():
    maps, masks = random_maps_and_masks(0)
    del maps["tied"]
    with pytest.raises(DataError, match="'tied'"):
        pixel_level_roc(maps, masks)


def test_score_gap_is_the_mean_normalised_score_of_anomalous_minus_normal_frames():
    """Chang et al. Fig. 8a's separability, by hand: video a's scores [0, 1, 2] normalise to
    [0, .5, 1], video b's [4, 2] to [1, 0]; anomalous frames {a: 1, b: 4} average (1 + 1) / 2 = 1,
    normal ones (0 + .5 + 0) / 3 = 1/6."""
    from vadflow.evaluation.metrics import score_gap

    scores = {"a": np.array([0.0, 1.0, 2.0]), "b": np.array([4.0, 2.0])}
    labels = {"a": np.array([0, 0, 1]), "b": np.array([1, 0])}
    assert score_gap(scores, labels) == pytest.approx(1.0 - 1.0 / 6.0)
    with pytest.raises(DataError, match="both classes"):
        score_gap(scores, {"a": np.zeros(3, int), "b": np.zeros(2, int)})


def test_the_protocol_card_says_what_the_test_labels_were_used_for():
    """Derived from the run: a split made from the labels (UMN) and a snapshot chosen on them are facts
    of the stores and the result; the hyper-parameters' independence is a declaration, said as one."""
    from vadflow.evaluation.protocol import test_label_use

    assert test_label_use([{}], False)["test_labels_used_for"] == "the evaluation"
    umn = test_label_use([{"split_from_labels": "scene lawn: training ends at its first anomalous frame (530)"}], True)
    assert "the split (scene lawn: training ends at its first anomalous frame (530))" in umn["test_labels_used_for"]
    assert "selection_on_test" in umn["test_labels_used_for"] and "declaration" in umn["declared"]
