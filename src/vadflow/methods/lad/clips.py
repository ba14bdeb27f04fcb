"""A video as the LAD network and DeepMIL see it: one feature row per clip of m frames, the
K-clip segments of the LAD network (Wan et al. sec. 4.2: m = 16, K = 5, 80 frames), Sultani et
al.'s 32 segments, and the anomaly categories of the training videos.

Clip rows are the I3D stores' rows, RGB and flow concatenated (sec. 4.1: 1024 + 1024). The
stores' clips are ``covering_windows`` of m frames every m frames: non-overlapping, except that a
last, partial clip is taken flush with the video's end (the paper does not say what it does with
the frames left over; dropping them would leave frames unscored).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from vadflow.errors import ConfigError, DataError
from vadflow.methods.api import VideoInput
from vadflow.methods.lad import ANOMALY_CATEGORY, NORMAL_CATEGORY


def clip_rows(video: VideoInput, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n_clips, D) float32 rows of the specs concatenated (early fusion), and the clips' (n_clips, 2)
    [start, end) frame windows. The specs must cut the video into the same clips."""
    rows, windows = [], None
    for key in keys:
        store = video.feature(key)
        w = store.windows
        if w is None:
            raise ConfigError(
                f"feature {key!r} of video {video.name} has one row per frame, not per clip",
                "the LAD network and DeepMIL read clip features: use kind: i3d specs in input.features",
            )
        if windows is not None and not np.array_equal(w, windows):
            raise ConfigError(
                f"video {video.name}: features {list(keys)} cut the video into different clips",
                "give every spec in input.features the same window and stride",
            )
        windows = w
        x = store.read().astype(np.float32)
        rows.append(x.reshape(len(x), -1))
    return np.concatenate(rows, axis=1), np.asarray(windows, np.int64)


def clip_length(windows: np.ndarray) -> int:
    """m: the frames of a full clip (the longest window)."""
    return int((windows[:, 1] - windows[:, 0]).max())


def segment_starts(n_clips: int, K: int, where: str) -> np.ndarray:
    """First clip of every segment of K consecutive clips, one per clip (the test-time sliding
    window of sec. 4.4, stride one clip); a video of fewer than K clips is an error."""
    if n_clips < K:
        raise DataError(
            f"{where} has {n_clips} clips, fewer than the K = {K} clips of one LAD segment",
            "lower params.clips (K), or leave out videos shorter than K clips of 16 frames",
        )
    return np.arange(n_clips - K + 1, dtype=np.int64)


def pad_to_segment(x: np.ndarray, windows: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """A test video of fewer than K clips as one segment: its last clip (row and window) repeated up to K.

    Sec. 4.4 slides a K-clip window over a test video and says nothing of a video shorter than one
    window (UCF-Crime and LAD have some); repeating the last clip, as the feature stage repeats a
    partial clip's last frame, gives every frame a score (docs/papers/lad.md). Longer videos pass unchanged.
    """
    missing = K - len(x)
    if missing <= 0 or len(x) == 0:
        return x, windows
    return np.concatenate([x, np.repeat(x[-1:], missing, axis=0)]), np.concatenate([windows, np.repeat(windows[-1:], missing, axis=0)])


def segment_frames(windows: np.ndarray, start: int, K: int, m: int) -> np.ndarray:
    """(K·m,) frame index of each of a segment's K·m outputs: output j·m + f is frame f of clip
    start + j (a partial clip repeats its last frame, as the feature stage padded it)."""
    s = windows[start : start + K, 0][:, None] + np.arange(m)[None, :]
    return np.minimum(s, windows[start : start + K, 1][:, None] - 1).reshape(-1)


def frame_max(n_frames: int, frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n_frames,) the max of ``values`` over the outputs that map to each frame (sec. 4.4:
    overlapping segments vote, a frame keeps its highest score); -inf where none do."""
    out = np.full(n_frames, -np.inf)
    np.maximum.at(out, frames.reshape(-1), values.reshape(-1).astype(np.float64))
    return out


def mil_segments(n_clips: int, n_segments: int) -> list[tuple[int, int]]:
    """Sultani et al.'s 32 temporal segments as [first, last) clip ranges: equal shares of the
    clips; with fewer clips than segments a clip serves several consecutive segments."""
    out = []
    for k in range(n_segments):
        a, b = k * n_clips // n_segments, (k + 1) * n_clips // n_segments
        out.append((a, max(b, a + 1)))
    return out


def category_of(video: VideoInput, mode: str) -> str | None:
    """A training video's class: its anomaly category; a normal video's is ``Normal`` or (mode
    ``scene``, Wan et al.'s 14-way LAD classifier) the category it was filed under."""
    if not video.video_label:
        if mode == "scene":
            scene = video.frames.attrs.get("scene_category")
            if not scene:
                raise DataError(
                    f"normal training video {video.name} ({video.frames.path}) has no scene category",
                    "categories: scene is for LAD, whose normal videos are filed under a category; use normal_class",
                )
            return str(scene)
        return NORMAL_CATEGORY
    return video.category


def video_categories(videos: Sequence[VideoInput], mode: str) -> tuple[dict[str, str], str]:
    """Each training video's class for the category head, and how they were found. A dataset whose
    anomalous videos carry no category (UCSD, Avenue, ShanghaiTech) trains in single-category mode:
    one class ``Anomaly`` beside ``Normal``, so the head learns normal vs anomalous (documented in
    docs/papers/lad.md). Some anomalous videos with and some without a category is an error."""
    cats = {v.name: category_of(v, mode) for v in videos}
    anomalous = [v for v in videos if v.video_label]
    missing = [v for v in anomalous if not cats[v.name]]
    if missing and len(missing) < len(anomalous):
        raise DataError(
            f"{len(missing)} of {len(anomalous)} anomalous training videos have no anomaly category "
            f"(first: {missing[0].frames.path})",
            "give every anomalous video its category (or none of them, for the single-category mode)",
        )
    if missing:
        for v in anomalous:
            cats[v.name] = ANOMALY_CATEGORY
        return cats, "single-category (the dataset has no anomaly categories)"
    return cats, "categories of the training videos"
