"""Subway Entrance / Exit (Adam et al., PAMI 2008): one long surveillance video per dataset.

Layout: ``<root>/<video>`` (any ffmpeg-readable file; option ``video`` names it when the
root holds several) and a user-provided anomaly annotation (option ``annotation``),
because the dataset ships no frame-level ground truth file.

Protocol: the first ``train_minutes`` of the video (15 by default, the training prefix used
for both Entrance and Exit in the papers that compare on Subway, e.g. Hasan et al.,
CVPR 2016) are the training split, the rest is the test split. Train and test are thus
two *segments of one file*: each entry carries ``meta["frame_range"] = [start, end)``
(end ``None``: to the end of the file) and vadflow's decode must honour it, keeping
only those frames; label intervals of the test entry are relative to its segment.

Annotation file: one anomaly per line, ``start end`` frame numbers of the whole video;
by default 1-indexed and inclusive (as a video player counts frames), options
``one_indexed`` / ``inclusive`` change that. ``#`` starts a comment.
"""

from __future__ import annotations

from pathlib import Path

from vadflow.data.adapters.common import probe_frame_count, read_interval_file, resolve_in_root
from vadflow.data.decode import VIDEO_EXTENSIONS
from vadflow.data.manifest import Manifest, VideoEntry, register_adapter
from vadflow.errors import DataError

DEFAULT_TRAIN_MINUTES = 15.0


def _find_video(dataset: str, root: Path, video: str | None) -> Path:
    if video is not None:
        path = resolve_in_root(root, video)
        if not path.is_file():
            raise DataError(f"dataset {dataset!r}: video {path} does not exist",
                            f"check datasets.{dataset}.options.video")
        return path
    if root.is_file():
        return root
    found = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    named = [p for p in found if p.stem.lower() == dataset.lower()]
    if len(found) == 1 or len(named) == 1:
        return named[0] if named else found[0]
    raise DataError(
        f"dataset {dataset!r}: expected one long video in {root} (the Subway layout), found "
        f"{len(found)} video files ({', '.join(p.name for p in found) or 'none'})",
        f"name the video with datasets.{dataset}.options.video",
    )


def _find_annotation(dataset: str, root: Path, video: Path, annotation: str | None) -> Path:
    if annotation is not None:
        return resolve_in_root(root, annotation)
    folder = video.parent
    candidates = [folder / f"{video.stem}.txt", folder / f"{video.stem}_gt.txt", folder / "annotation.txt"]
    for c in candidates:
        if c.is_file():
            return c
    raise DataError(
        f"dataset {dataset!r}: no anomaly annotation for {video.name} (looked for "
        f"{', '.join(c.name for c in candidates)} in {folder})",
        f"Subway ships no frame-level ground truth: write one 'start end' line per anomaly and set "
        f"datasets.{dataset}.options.annotation to that file (see docs/datasets.md)",
    )


@register_adapter("subway")
def discover_subway(
    dataset: str,
    root: Path,
    *,
    video: str | None = None,
    annotation: str | None = None,
    train_minutes: float = DEFAULT_TRAIN_MINUTES,
    one_indexed: bool = True,
    inclusive: bool = True,
    fps: float | None = None,
    n_frames: int | None = None,
) -> Manifest:
    """One training segment (the first ``train_minutes``) and one test segment (the rest) of one video."""
    root = Path(root)
    path = _find_video(dataset, root, video)
    ann_path = _find_annotation(dataset, root, path, annotation)
    intervals = read_interval_file(ann_path, one_indexed=one_indexed, inclusive=inclusive)
    estimate = None
    if fps is None or n_frames is None:
        fps, estimate = probe_frame_count(path, fps)
    total = n_frames if n_frames is not None else estimate
    train_end = round(train_minutes * 60 * fps)
    if not 0 < train_end < (total or train_end + 1):
        raise DataError(
            f"dataset {dataset!r}: a training prefix of {train_minutes} min is {train_end} frames at {fps:g} fps but "
            f"{path.name} has {total} frames",
            f"set datasets.{dataset}.options.train_minutes below the video's length",
        )
    # A probed count is an estimate: allow one second of slack here; decode checks the exact count.
    limit = n_frames if n_frames is not None else (total + round(fps) if total else None)
    for s, e in intervals:
        if s < train_end:
            raise DataError(
                f"dataset {dataset!r}: {ann_path} marks frames {s}..{e - 1} (0-indexed) anomalous, inside the "
                f"training prefix (frames 0..{train_end - 1}, the first {train_minutes} min)",
                "the training prefix must be normal: lower train_minutes, or check the annotation's frame numbers",
            )
        if limit is not None and e > limit:
            raise DataError(
                f"dataset {dataset!r}: {ann_path} marks frames up to {e - 1} (0-indexed) anomalous but {path.name} "
                f"has {total} frames",
                "check that the annotation belongs to this video and uses its frame numbers (or give n_frames)",
            )
    source = str(path.resolve())
    common = {"fps": fps, "n_frames_probed": estimate}
    train = VideoEntry(
        "train", f"{path.stem}_train", source, n_frames=train_end, video_label=0,
        meta={**common, "frame_range": [0, train_end], "start_frame": 0, "end_frame": train_end},
    )  # fmt: skip
    test = VideoEntry(
        "test", f"{path.stem}_test", source,
        label_intervals=[[s - train_end, e - train_end] for s, e in intervals],
        n_frames=None if n_frames is None else n_frames - train_end,
        video_label=int(bool(intervals)),
        meta={**common, "frame_range": [train_end, n_frames], "start_frame": train_end, "end_frame": n_frames,
              "annotation": str(ann_path.resolve())},
    )  # fmt: skip
    return Manifest(dataset, "subway", str(root.resolve()), [train, test])
