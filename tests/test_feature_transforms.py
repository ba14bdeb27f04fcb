"""Spatial pyramid pooling, dynamic images and their windows, temporal max pooling, optical flow."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vadflow.errors import ConfigError
from vadflow.features.flow import FlowParams, flow_for_i3d, flow_to_uint8, iter_optical_flow, optical_flow
from vadflow.windows import covering_windows, window_of_frame
from vadflow.features.transforms import (
    dynamic_image,
    rank_pooling_coefficients,
    spatial_pyramid_max_pool,
    temporal_max_pool,
)

# ---------------------------------------------------------------- spatial pyramid pooling


def test_spp_on_hand_made_map():
    fmap = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    fmap = torch.cat([fmap, -fmap], dim=1)  # channel 1: maxima at the top-left of each cell
    pooled = spatial_pyramid_max_pool(fmap)
    assert pooled.shape == (1, 21, 2)
    expected_c0 = [15] + [5, 7, 13, 15] + list(range(16))
    expected_c1 = [0] + [0, -2, -8, -10] + [-v for v in range(16)]
    assert pooled[0, :, 0].tolist() == expected_c0
    assert pooled[0, :, 1].tolist() == expected_c1


@pytest.mark.parametrize("size", [(7, 7), (6, 6), (5, 9), (3, 3)])
def test_spp_non_divisible_sizes(size):
    h, w = size
    fmap = torch.randn(2, 3, h, w)
    pooled = spatial_pyramid_max_pool(fmap)
    assert pooled.shape == (2, 21, 3)
    assert torch.equal(pooled[:, 0], fmap.amax(dim=(2, 3)))  # level 1 = global max
    assert torch.equal(pooled[:, 1:5].amax(dim=1), pooled[:, 0])  # the 2x2 cells cover the map
    assert torch.equal(pooled[:, 5:].amax(dim=1), pooled[:, 0])


# ---------------------------------------------------------------- dynamic images


def _brute_force_dynamic_image(frames: np.ndarray, sqrt: bool) -> np.ndarray:
    T = len(frames)
    x = np.zeros(frames.shape[1:])
    for t in range(1, T + 1):
        v = frames[:t].astype(np.float64).mean(axis=0)
        if sqrt:
            v = np.sign(v) * np.sqrt(np.abs(v))
        x += (2 * t - T - 1) * v
    return x


@pytest.mark.parametrize("T", [1, 2, 5, 20])
def test_rank_pooling_coefficients_match_brute_force(T):
    rng = np.random.default_rng(T)
    frames = rng.normal(size=(T, 4, 5, 3))
    alpha = rank_pooling_coefficients(T)
    assert alpha.shape == (T,)
    np.testing.assert_allclose(np.tensordot(alpha, frames, axes=1), _brute_force_dynamic_image(frames, False), atol=1e-9)
    assert abs(alpha.sum()) < 1e-9
    # Bilen et al.'s closed form
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, T + 1))])
    closed = [2 * (T - t + 1) - (T + 1) * (harmonic[T] - harmonic[t - 1]) for t in range(1, T + 1)]
    np.testing.assert_allclose(alpha, closed, atol=1e-9)
    np.testing.assert_array_equal(rank_pooling_coefficients(T, sqrt=True), 2 * np.arange(1, T + 1) - T - 1)


@pytest.mark.parametrize("sqrt", [False, True])
def test_dynamic_image_equals_rescaled_definition(sqrt):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (8, 6, 7, 3), dtype=np.uint8)
    di = dynamic_image(frames, sqrt=sqrt)
    assert di.shape == (6, 7, 3) and di.dtype == np.uint8
    exact = _brute_force_dynamic_image(frames, sqrt)
    for c in range(3):
        ch = exact[..., c]
        expected = np.rint((ch - ch.min()) / (ch.max() - ch.min()) * 255)
        assert np.abs(di[..., c].astype(int) - expected).max() <= 1
        assert di[..., c].min() == 0 and di[..., c].max() == 255


@pytest.mark.parametrize("sqrt", [False, True])
def test_dynamic_image_of_static_video_is_zero(sqrt):
    frame = np.random.default_rng(2).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    assert not dynamic_image(np.repeat(frame[None], 10, axis=0), sqrt=sqrt).any()


@pytest.mark.parametrize("sqrt", [False, True])
def test_dynamic_image_of_brightening_ramp_is_monotone(sqrt):
    # pixel column j brightens at rate j: the dynamic image grows along the columns
    T, W = 10, 12
    t = np.arange(T)[:, None, None, None]
    j = np.arange(W)[None, None, :, None]
    frames = np.broadcast_to(2 * t * j, (T, 3, W, 1)).astype(np.uint8)
    di = dynamic_image(frames, sqrt=sqrt)[..., 0]
    assert (np.diff(di.astype(int), axis=1) >= 0).all()
    assert di[:, 0].max() == 0 and di[:, -1].min() == 255


@pytest.mark.parametrize("n, window, stride", [(100, 20, 10), (95, 20, 10), (16, 16, 16), (7, 20, 10), (50, 16, 16), (1, 4, 2)])
def test_windows_cover_the_video(n, window, stride):
    windows = covering_windows(n, window, stride)
    assert windows.ndim == 2 and windows.shape[1] == 2
    assert windows[0, 0] == 0 and windows[:, 1].max() == n
    assert (windows[:, 0] >= 0).all() and (windows[:, 1] <= n).all()
    assert (windows[:, 1] - windows[:, 0] == min(window, n)).all()
    covered = np.zeros(n, bool)
    for start, end in windows:
        covered[start:end] = True
    assert covered.all()
    owner = window_of_frame(windows, n)
    assert owner.shape == (n,)
    for f, w in enumerate(owner):
        start, end = windows[w]
        assert start <= f < end  # the nearest-centre window contains the frame
        centres = (windows[:, 0] + windows[:, 1] - 1) / 2
        assert abs(centres[w] - f) == np.abs(centres - f).min()


def test_windows_reject_bad_config():
    with pytest.raises(ConfigError):
        covering_windows(10, 0, 1)


# ---------------------------------------------------------------- temporal max pooling


@pytest.mark.parametrize("window, interval", [(4, 1), (3, 2), (1, 1), (5, 3)])
def test_temporal_max_pool_matches_loop(window, interval):
    features = np.random.default_rng(3).normal(size=(13, 4, 2)).astype(np.float32)
    pooled = temporal_max_pool(features, window, interval)
    expected = np.empty_like(features)
    for t in range(len(features)):
        idx = [t - k * interval for k in range(window) if t - k * interval >= 0]
        expected[t] = features[idx].max(axis=0)
    np.testing.assert_array_equal(pooled, expected)
    torch_pooled = temporal_max_pool(torch.from_numpy(features), window, interval)
    assert isinstance(torch_pooled, torch.Tensor)
    np.testing.assert_array_equal(torch_pooled.numpy(), expected)


# ---------------------------------------------------------------- optical flow


def _textured_translation(shift_x: int = 3, n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(4)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (64, 96)).astype(np.float32), (0, 0), 2.0)
    base = cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    frames = np.stack([np.roll(base, shift_x * t, axis=1) for t in range(n)])
    return np.repeat(frames[..., None], 3, axis=3)


def test_farneback_recovers_translation():
    frames = _textured_translation(3)
    flow = optical_flow(frames)
    assert flow.shape == (3, 64, 96, 2) and flow.dtype == np.float32
    assert not flow[0].any()
    interior = flow[1:, 12:-12, 12:-12]
    assert abs(interior[..., 0].mean() - 3.0) < 0.3
    assert abs(interior[..., 1].mean()) < 0.3


def test_iter_optical_flow_over_chunks_equals_whole():
    frames = np.random.default_rng(5).integers(0, 256, (7, 24, 32, 3), dtype=np.uint8)
    whole = optical_flow(frames)
    chunks = list(iter_optical_flow([frames[:3], frames[3:4], frames[4:]]))
    assert [len(c) for c in chunks] == [3, 1, 3]
    np.testing.assert_array_equal(np.concatenate(chunks), whole)


def test_flow_params_validation():
    with pytest.raises(ConfigError):
        FlowParams(method="lucas")
    if not hasattr(cv2, "optflow"):
        with pytest.raises(ConfigError, match="contrib"):
            FlowParams(method="tvl1")


def test_flow_encodings_are_bounded():
    flow = np.array([[-50.0, 50.0], [-20.0, 20.0], [0.0, 10.0]], dtype=np.float32)
    encoded = flow_to_uint8(flow)
    assert encoded.dtype == np.uint8
    assert encoded.tolist() == [[0, 255], [0, 255], [128, 191]]
    as_float = flow_for_i3d(flow)
    np.testing.assert_allclose(as_float, [[-1, 1], [-1, 1], [0, 0.5]])
    decoded = flow_for_i3d(encoded)
    assert decoded.min() >= -1 and decoded.max() <= 1
    np.testing.assert_allclose(decoded, as_float, atol=1.0 / 255 + 1e-6)
