"""The synthetic dataset renderers: determinism, ground-truth consistency and parameter checking."""

from __future__ import annotations

import numpy as np
import pytest

from vadflow.data.synth import (
    WALKWAY_ANOMALY_KINDS,
    MovingDigitsParams,
    SyntheticVideo,
    WalkwayParams,
    moving_digits_videos,
    walkway_videos,
)
from vadflow.data.synth.moving_digits import digit_pool, together_tracks
from vadflow.errors import ConfigError

SMALL_WALKWAY = dict(height=48, width=72, n_train=2, n_test=3, frames_per_video=48, min_anomaly_frames=8)
SMALL_DIGITS = dict(n_train=3, n_test=4)


def walkway(seed: int = 0, **overrides) -> list[SyntheticVideo]:
    return list(walkway_videos(WalkwayParams(**{**SMALL_WALKWAY, **overrides}), seed))


def digits(variant: str, seed: int = 0, **overrides) -> list[SyntheticVideo]:
    return list(moving_digits_videos(MovingDigitsParams(variant=variant, **{**SMALL_DIGITS, **overrides}), seed))


def same_video(a: SyntheticVideo, b: SyntheticVideo) -> bool:
    def same(x, y):
        return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))

    return a.name == b.name and same(a.frames, b.frames) and same(a.labels, b.labels) and same(a.masks, b.masks) and a.events == b.events


def check_ground_truth(video: SyntheticVideo, n_frames: int, height: int, width: int) -> None:
    assert video.frames.shape == (n_frames, height, width, 3) and video.frames.dtype == np.uint8
    if video.split == "train":
        assert video.labels is None and video.masks is None and video.events == []
        return
    assert video.labels.shape == (n_frames,) and video.labels.dtype == np.uint8
    assert video.masks.shape == (n_frames, height, width) and video.masks.dtype == bool
    assert np.array_equal(video.labels, video.masks.any(axis=(1, 2)).astype(np.uint8))
    assert video.labels.any() and not video.labels.all(), "a test video needs anomalous and normal frames"
    for event in video.events:
        assert 0 <= event["start"] < event["end"] <= n_frames
        assert video.labels[event["start"]] == 1 and video.labels[event["end"] - 1] == 1


# --------------------------------------------------------------------------- walkway


@pytest.fixture(scope="module")
def small_walkway() -> list[SyntheticVideo]:
    return walkway()


def test_walkway_train_first_then_test_with_consistent_ground_truth(small_walkway):
    assert [v.name for v in small_walkway] == ["train_000", "train_001", "test_000", "test_001", "test_002"]
    assert [v.split for v in small_walkway] == ["train"] * 2 + ["test"] * 3
    for video in small_walkway:
        check_ground_truth(video, 48, 48, 72)


def test_walkway_test_videos_hold_their_anomalies_with_normal_frames_before(small_walkway):
    p = WalkwayParams(**SMALL_WALKWAY)
    for video in small_walkway[2:]:
        assert len(video.events) == p.anomalies_per_test_video
        assert not video.labels[0], "the first frames are normal"
        for event in video.events:
            assert event["kind"] in p.anomaly_kinds
            assert event["end"] - event["start"] >= p.min_anomaly_frames
        ordered = sorted(video.events, key=lambda e: e["start"])
        for first, second in zip(ordered, ordered[1:]):
            assert first["end"] < second["start"], "normal frames between two anomalies"


def test_walkway_is_deterministic_per_seed(small_walkway):
    again = walkway(seed=0)
    assert all(same_video(a, b) for a, b in zip(small_walkway, again))
    other = walkway(seed=1)
    assert not np.array_equal(small_walkway[0].frames, other[0].frames)
    assert not np.array_equal(small_walkway[-1].frames, other[-1].frames)


def test_walkway_video_does_not_depend_on_how_many_others_there_are(small_walkway):
    fewer = walkway(n_train=1, n_test=1)
    assert same_video(fewer[0], small_walkway[0])
    assert same_video(fewer[1], small_walkway[2])


@pytest.mark.parametrize("kind", WALKWAY_ANOMALY_KINDS)
def test_walkway_each_anomaly_kind_alone(kind):
    videos = walkway(seed=3, n_train=0, n_test=2, anomaly_kinds=[kind])
    for video in videos:
        check_ground_truth(video, 48, 48, 72)
        assert [e["kind"] for e in video.events] == [kind, kind]
        assert all(e["end"] - e["start"] >= 8 for e in video.events)


def test_walkway_pedestrian_density_follows_the_parameter():
    def busy(pedestrians: float) -> float:
        video = walkway(n_train=1, n_test=0, pedestrians=pedestrians, noise_std=0.0)[0]
        return float(np.abs(np.diff(video.frames.astype(np.int16), axis=0)).mean())

    assert busy(0.0) < 1.0, "without people only the flicker changes"
    assert busy(6.0) > busy(1.0)


def test_walkway_params_from_dict():
    p = WalkwayParams.from_dict({"height": 60, "anomaly_kinds": ["cart", "runner"], "noise_std": 2})
    assert p.height == 60 and p.anomaly_kinds == ("cart", "runner") and p.noise_std == 2.0
    assert WalkwayParams.from_dict({}) == WalkwayParams()


@pytest.mark.parametrize(
    "bad, named",
    [
        ({"pedestrain": 3}, "pedestrain"),
        ({"height": "tall"}, "height"),  # strings that parse as numbers are accepted (--config)
        ({"n_test": 2.5}, "n_test"),
        ({"noise_std": -1}, "noise_std"),
        ({"anomaly_kinds": ["cyclist", "dragon"]}, "dragon"),
        ({"anomaly_kinds": []}, "anomaly_kinds"),
        ({"frames_per_video": 30}, "frames_per_video"),
    ],
)
def test_walkway_params_reject_bad_values_naming_them(bad, named):
    with pytest.raises(ConfigError) as err:
        WalkwayParams.from_dict(bad)
    assert named in str(err.value)


def test_unknown_key_error_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        MovingDigitsParams.from_dict({"variant": "motion", "speed": 2})
    assert "speed" in err.value.message
    assert "together_frames" in err.value.hint


def test_negative_seed_is_a_config_error():
    with pytest.raises(ConfigError):
        next(walkway_videos(WalkwayParams(**SMALL_WALKWAY), -1))


# --------------------------------------------------------------------------- moving digits


@pytest.mark.parametrize("variant", ["appearance", "motion"])
def test_moving_digits_shapes_and_ground_truth(variant):
    videos = digits(variant)
    assert [v.split for v in videos] == ["train"] * 3 + ["test"] * 4
    for video in videos:
        check_ground_truth(video, 20, 64, 64)
        gray = video.frames[..., 0]
        assert np.array_equal(gray, video.frames[..., 1]) and gray.max() >= 200 and gray.min() == 0


def test_moving_digits_box_lasts_box_frames():
    for video in digits("appearance", box_frames=4, box_size=6)[3:]:
        assert video.labels.sum() == 4
        (event,) = video.events
        assert event["end"] - event["start"] == 4 and video.labels[event["start"] : event["end"]].all()
        for t in range(event["start"], event["end"]):
            ys, xs = np.nonzero(video.masks[t])
            assert np.ptp(ys) + 1 == 6 and np.ptp(xs) + 1 == 6 and len(ys) == 36
            assert (video.frames[t][video.masks[t]] == 255).all()


def test_moving_digits_motion_anomaly_starts_at_together_frames():
    for video in digits("motion", together_frames=7)[3:]:
        assert not video.labels[:7].any() and video.labels[7:].all()
        assert video.events == [{"kind": "divergent_motion", "start": 7, "end": 20}]


def test_moving_digits_pairs_move_as_one():
    params = MovingDigitsParams(variant="motion")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b, (axis, speed) = together_tracks(rng, params, 30)
        assert (np.diff(a, axis=0) == np.diff(b, axis=0)).all(), "same motion every frame"
        assert np.abs(np.diff(a, axis=0)).max() > 0
        for track in (a, b):
            assert track.min() >= 0 and track[:, 0].max() <= 48 and track[:, 1].max() <= 48
        assert axis in (0, 1) and 1 <= abs(speed) <= 3


def test_moving_digits_determinism_and_disjoint_splits():
    a, b = digits("motion", seed=4), digits("motion", seed=4)
    assert all(same_video(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0].frames, digits("motion", seed=5)[0].frames)
    assert len(digit_pool("train", 1)) + len(digit_pool("test", 1)) == 1797
    assert same_video(digits("appearance", n_train=1, n_test=1)[1], digits("appearance")[3])


def test_moving_digits_params_checks():
    with pytest.raises(ConfigError, match="variant"):
        MovingDigitsParams.from_dict({"variant": "colour"})
    with pytest.raises(ConfigError, match="box_frames"):
        MovingDigitsParams.from_dict({"box_frames": 20})
    with pytest.raises(ConfigError, match="height"):
        MovingDigitsParams.from_dict({"height": 16})
