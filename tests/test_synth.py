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
from vadflow.data.synth.common import derived_rng
from vadflow.data.synth.moving_digits import digit_pool, draw_digits, motion_tracks, random_walk_tracks
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
        ({"test_frames_per_video": 30}, "test_frames_per_video"),
        ({"test_frames_per_video": -1}, "test_frames_per_video"),
        ({"max_anomaly_frames": 10}, "max_anomaly_frames"),  # below min_anomaly_frames
    ],
)
def test_walkway_params_reject_bad_values_naming_them(bad, named):
    with pytest.raises(ConfigError) as err:
        WalkwayParams.from_dict(bad)
    assert named in str(err.value)


def test_test_videos_take_their_own_length_and_the_kinds_in_turn():
    videos = walkway(n_test=4, test_frames_per_video=40, anomalies_per_test_video=1, n_train_anomalous=1,
                     anomaly_kinds=["cyclist", "cart", "runner"], max_anomaly_frames=12)
    lengths = {v.name: len(v.frames) for v in videos}
    assert lengths == {"train_000": 48, "train_001": 48, "train_anomalous_000": 48,
                       "test_000": 40, "test_001": 40, "test_002": 40, "test_003": 40}
    for v in videos:
        if v.split == "test":
            check_ground_truth(v, 40, 48, 72)
    # no anomaly planned longer than max_anomaly_frames (+ the frames where it enters and leaves unseen)
    assert all(e["end"] - e["start"] <= 12 + 2 for v in videos for e in v.events)
    # one anomaly a video, the kinds taken in turn: cyclist, cart, runner, cyclist
    assert [v.events[0]["kind"] for v in videos if v.split == "test"] == ["cyclist", "cart", "runner", "cyclist"]


def test_unknown_key_error_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        MovingDigitsParams.from_dict({"variant": "motion", "speed": 2})
    assert "speed" in err.value.message
    assert "together_frames" in err.value.hint


def test_negative_seed_is_a_config_error():
    with pytest.raises(ConfigError):
        next(walkway_videos(WalkwayParams(**SMALL_WALKWAY), -1))


# --------------------------------------------------------------------------- moving digits
# Luo et al. sec. 4.2: 225x225 canvas, two 28-px digits side by side in the centre, 20 frames,
# steps of 4 px; the pair spans x 84..139, y 98..125 in frame 0.

PAIR_X, PAIR_Y = (84, 140), (98, 126)


def ink_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(frame)
    return xs.min(), xs.max() + 1, ys.min(), ys.max() + 1


def shifted(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The frame moved by (dx, dy) px, black coming in (the digits never reach the edge)."""
    return np.roll(frame, (dy, dx), axis=(0, 1))


def displacement(a: np.ndarray, b: np.ndarray, step: int = 4) -> tuple[int, int] | None:
    """The axis step (dx, dy) that turns frame a into frame b, if one does."""
    for dx, dy in ((step, 0), (-step, 0), (0, step), (0, -step), (0, 0)):
        if np.array_equal(shifted(a, dx, dy), b):
            return dx, dy
    return None


@pytest.mark.parametrize("variant", ["appearance", "motion"])
def test_moving_digits_shapes_and_ground_truth(variant):
    videos = digits(variant)
    assert [v.split for v in videos] == ["train"] * 3 + ["test"] * 4
    for video in videos:
        check_ground_truth(video, 20, 225, 225)
        gray = video.frames[..., 0]
        assert np.array_equal(gray, video.frames[..., 1]) and gray.max() >= 200 and gray.min() == 0


def test_moving_digits_protocol_defaults():
    p = MovingDigitsParams()
    assert (p.height, p.width, p.digit_size, p.frames_per_video) == (225, 225, 28, 20)
    assert (p.box_size, p.box_frames, p.together_frames, p.step) == (3, 5, 10, 4)
    assert p.starts().tolist() == [[84, 98], [112, 98]] and p.room() == 84
    assert digit_pool("train", 28).shape[1:] == (28, 28)


@pytest.mark.parametrize("variant", ["appearance", "motion"])
def test_moving_digits_start_centred_side_by_side(variant):
    for video in digits(variant):
        first = video.frames[0, ..., 0]
        x0, x1, y0, y1 = ink_box(first)
        assert PAIR_X[0] <= x0 and x1 <= PAIR_X[1] and PAIR_Y[0] <= y0 and y1 <= PAIR_Y[1]
        assert first[:, 84:112].any() and first[:, 112:140].any(), "one digit on each side of the centre"


def test_moving_digits_box_is_3x3_white_on_5_consecutive_frames():
    for video in digits("appearance", n_test=8)[3:]:
        assert video.labels.sum() == 5
        (event,) = video.events
        start, end = event["start"], event["end"]
        assert event["kind"] == "occluding_box" and end - start == 5 and video.labels[start:end].all()
        ys, xs = np.nonzero(video.masks[start])
        assert np.ptp(ys) == 2 and np.ptp(xs) == 2 and len(ys) == 9
        for t in range(start, end):
            assert np.array_equal(video.masks[t], video.masks[start]), "one box, fixed for its 5 frames"
            assert (video.frames[t][video.masks[t]] == 255).all()


def test_moving_digits_box_is_the_only_difference_from_the_walk():
    """Rendering the same test sequence without the box (box_frames bounds only its timing) leaves
    every other pixel as it was: the box is drawn over the digits and nothing else changes."""
    video = digits("appearance", n_train=0, n_test=1)[0]
    params = MovingDigitsParams(n_train=0, n_test=1)
    rng = derived_rng(0, "moving_digits", "appearance/test", 0)
    pool = digit_pool("test", 28)
    chosen = [pool[i] for i in rng.choice(len(pool), size=2, replace=False)]
    gray, _ = draw_digits(params, chosen, random_walk_tracks(rng, params))
    plain = np.rint(gray).astype(np.uint8)
    differs = video.frames[..., 0] != plain
    assert not differs[~video.masks].any()


def test_moving_digits_appearance_random_walk():
    """Every frame each digit steps 4 px along one axis, independently: the walk of each digit."""
    params = MovingDigitsParams()
    for index in range(10):
        a, b = random_walk_tracks(derived_rng(0, "t", "walk", index), params)
        for track in (a, b):
            assert track[0].tolist() in params.starts().tolist()
            steps = np.diff(track, axis=0)
            assert (np.abs(steps).sum(axis=1) == 4).all() and ((steps == 0).sum(axis=1) == 1).all()
        assert not (np.diff(a, axis=0) == np.diff(b, axis=0)).all(), "the two digits walk independently"


def test_moving_digits_motion_train_moves_rigidly_in_a_straight_line():
    for video in digits("motion", n_test=0, n_train=6):
        gray = video.frames[..., 0]
        d = displacement(gray[0], gray[1])
        assert d is not None and d != (0, 0)
        for t in range(20):
            assert np.array_equal(gray[t], shifted(gray[0], d[0] * t, d[1] * t)), f"frame {t}"


def test_moving_digits_motion_test_together_then_apart():
    for video in digits("motion", n_train=0, n_test=6):
        gray = video.frames[..., 0]
        d = displacement(gray[0], gray[1])
        assert d is not None and d != (0, 0)
        for t in range(10):  # together: the whole frame (both digits) moves by the same step
            assert np.array_equal(gray[t], shifted(gray[0], d[0] * t, d[1] * t)), f"frame {t}"
        for t in range(10, 20):  # apart: no single step explains the frame any more
            assert displacement(gray[t - 1], gray[t]) is None, f"frame {t}"
        assert not video.labels[:10].any() and video.labels[10:].all()
        assert video.events == [{"kind": "divergent_motion", "start": 10, "end": 20}]
        assert np.array_equal(video.masks[10:], gray[10:] > 0) and not video.masks[:10].any()


def test_moving_digits_motion_tracks():
    params = MovingDigitsParams(variant="motion")
    for index in range(10):
        a, b = motion_tracks(derived_rng(0, "t", "motion", index), params, "test")
        assert a[0].tolist() == [84, 98] and b[0].tolist() == [112, 98]
        da, db = np.diff(a, axis=0), np.diff(b, axis=0)
        for steps in (da, db):
            assert (np.abs(steps).sum(axis=1) == 4).all() and ((steps == 0).sum(axis=1) == 1).all()
        assert (da[:9] == db[:9]).all() and (da[:9] == da[0]).all(), "frames 0..9: together, one direction"
        assert (da[9:] != db[9:]).any(axis=1).all(), "frames 10..19: two different directions every frame"
        train = motion_tracks(derived_rng(0, "t", "motion", index), params, "train")
        assert all((np.diff(t, axis=0) == np.diff(t, axis=0)[0]).all() for t in train)
        assert (np.diff(train[0], axis=0) == np.diff(train[1], axis=0)).all()


def test_moving_digits_motion_anomaly_starts_at_together_frames():
    for video in digits("motion", together_frames=7)[3:]:
        assert not video.labels[:7].any() and video.labels[7:].all()
        assert video.events == [{"kind": "divergent_motion", "start": 7, "end": 20}]


def test_moving_digits_determinism_and_disjoint_splits():
    a, b = digits("motion", seed=4), digits("motion", seed=4)
    assert all(same_video(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0].frames, digits("motion", seed=5)[0].frames)
    # a video depends on (seed, variant, split, index) only, not on how many others there are
    assert same_video(digits("appearance", n_train=1, n_test=1)[1], digits("appearance")[3])
    train, test = digit_pool("train", 8), digit_pool("test", 8)
    assert len(train) + len(test) == 1797
    assert not {im.tobytes() for im in train} & {im.tobytes() for im in test}, "no image in both splits"


def test_moving_digits_params_checks():
    with pytest.raises(ConfigError, match="variant"):
        MovingDigitsParams.from_dict({"variant": "colour"})
    with pytest.raises(ConfigError, match="box_frames"):
        MovingDigitsParams.from_dict({"box_frames": 20})
    with pytest.raises(ConfigError, match="height"):
        MovingDigitsParams.from_dict({"height": 16})
    with pytest.raises(ConfigError, match="could leave the canvas"):
        MovingDigitsParams.from_dict({"height": 100})  # 36 px of room for 19 steps of 4 px
    with pytest.raises(ConfigError, match="could leave the canvas"):
        MovingDigitsParams.from_dict({"step": 5})
    with pytest.raises(ConfigError, match="step"):
        MovingDigitsParams.from_dict({"step": 0})
    assert MovingDigitsParams.from_dict({"height": 64, "width": 64, "digit_size": 8, "step": 1}).room() == 24


def test_walkway_anomalous_training_videos_one_category_each(small_walkway):
    """Weak / full supervision needs anomalous training videos: labelled, one kind of anomaly each (its
    category), kinds in turn; adding them changes none of the other videos."""
    more = walkway(n_train_anomalous=2, anomaly_kinds=("cyclist", "cart"))
    names = [v.name for v in more]
    assert names == ["train_000", "train_001", "train_anomalous_000", "train_anomalous_001",
                     "test_000", "test_001", "test_002"]
    for video, kind in zip(more[2:4], ("cyclist", "cart")):
        assert video.split == "train" and video.category == kind
        assert video.labels is not None and video.labels.any() and video.labels.shape == (len(video.frames),)
        assert {e["kind"] for e in video.events} == {kind}
    assert all(more[i].category is None for i in (0, 1))
    assert all(v.category in ("cyclist", "cart") for v in more[4:])  # the kind shown longest
    same = walkway(anomaly_kinds=("cyclist", "cart"))
    assert all(same_video(a, b) for a, b in zip(same, more[:2] + more[4:]))
