"""The parameter-free floors on hand-checkable videos: each pixel's squared difference to the previous
frame / to the mean training frame, summed over the frame's pixels."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import method_run
from vadflow.data.store import FrameStoreWriter
from vadflow.methods.api import FitContext, VideoInput
from vadflow.methods.engine.log import TrainLog
from vadflow.methods.run import build


def _store(path, frames: np.ndarray):
    w = FrameStoreWriter(path, frames.shape[1], frames.shape[2], 1)
    w.append(frames[..., None].astype(np.uint8))
    w.close()
    w.set_attrs({"n_frames": len(frames), "fps": 10.0})
    return VideoInput.open(path)


@pytest.mark.parametrize("chunk", [1, 2, 256])
def test_frame_difference_is_the_squared_step_from_the_previous_frame(tmp_path, chunk):
    frames = np.zeros((4, 2, 2))
    frames[1, 0, 0] = 255  # one pixel lights up at t = 1 and goes out at t = 2
    frames[3] = 51  # everything at 0.2 at t = 3
    video = _store(tmp_path / "v.zarr", frames)
    method = build(method_run("frame_difference", {"chunk": chunk}, features=()), "cpu")
    out = method.score_video(video)
    np.testing.assert_allclose(out.scores, [1.0, 1.0, 1.0, 4 * 0.2**2], rtol=1e-6)  # frame 0 takes pair (0, 1)
    assert out.maps.shape == (4, 2, 2) and out.maps[2, 0, 0] == pytest.approx(1.0)


def test_mean_frame_distance_uses_the_mean_training_frame(tmp_path):
    train = [_store(tmp_path / "a.zarr", np.full((2, 2, 2), 0.0)), _store(tmp_path / "b.zarr", np.full((2, 2, 2), 102.0))]
    method = build(method_run("mean_frame_distance", {"chunk": 1}, features=()), "cpu")
    method.fit(train, FitContext(log=TrainLog(None)))
    np.testing.assert_allclose(method.mean, np.full((1, 2, 2), 0.2), rtol=1e-6)  # (0 + 0.4) / 2
    test = np.zeros((2, 2, 2))
    test[1, 1, 1] = 255
    out = method.score_video(_store(tmp_path / "t.zarr", test))
    np.testing.assert_allclose(out.scores, [4 * 0.04, 3 * 0.04 + 0.64], rtol=1e-5)
