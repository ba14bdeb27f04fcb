"""ShanghaiTech Campus (Liu, Luo, Lian and Gao, CVPR 2018)::

    <root>/training/videos/01_001.avi ...           normal training videos (or training/frames/<video>/)
    <root>/testing/frames/01_0014/000.jpg ...       test videos, as frame folders
    <root>/testing/test_frame_mask/01_0014.npy      per-frame 0/1 labels
    <root>/testing/test_pixel_mask/01_0014.npy      (T, H, W) pixel masks (optional folder)

Video names are ``<scene>_<number>``; option ``scenes`` (e.g. ``["01", "04"]``) keeps the
videos of those scenes only, for per-scene experiments. Frame labels and pixel masks are
checked against the number of frames of each test folder at discovery time (the pixel masks
by their .npy header only: the files are large).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vadflow.data.adapters.common import listing
from vadflow.data.decode import VIDEO_EXTENSIONS, list_frame_files, natural_key
from vadflow.data.manifest import Manifest, VideoEntry, load_labels, register_adapter
from vadflow.errors import DataError


def scene_of(video: str) -> str:
    """The scene id of a video name ``<scene>_<number>`` ("01_0014" -> "01")."""
    return video.split("_", 1)[0]


def _normalise_scenes(dataset: str, scenes) -> set[str] | None:
    if scenes is None:
        return None
    if isinstance(scenes, (str, int)):
        scenes = [scenes]
    out = set()
    for s in scenes:
        s = str(s).strip()
        if not s.isdigit():
            raise DataError(f"dataset {dataset!r}: options.scenes holds {s!r}", 'give scene ids such as "01" or 1')
        out.add(s.zfill(2))
    if not out:
        raise DataError(f"dataset {dataset!r}: options.scenes is empty", "leave it out to keep every scene")
    return out


def _frame_folders(folder: Path) -> list[Path]:
    found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: natural_key(p.name))


def _npy_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in folder.iterdir() if p.is_file() and p.suffix == ".npy" and not p.name.startswith(".")}


def _training_sources(dataset: str, root: Path) -> list[tuple[str, Path, int | None]]:
    """(name, source, frame count or None) of each training video: video files, else frame folders."""
    videos_dir, frames_dir = root / "training" / "videos", root / "training" / "frames"
    if videos_dir.is_dir():
        files = [p for p in videos_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
        files = sorted((p for p in files if p.suffix.lower() in VIDEO_EXTENSIONS), key=lambda p: natural_key(p.name))
        if files:
            return [(p.stem, p, None) for p in files]
    if frames_dir.is_dir():
        folders = [(p.name, p, len(list_frame_files(p))) for p in _frame_folders(frames_dir)]
        folders = [f for f in folders if f[2]]
        if folders:
            return folders
    raise DataError(
        f"dataset {dataset!r}: no training videos in {videos_dir} (nor frame folders in {frames_dir})",
        "check that ShanghaiTech's training set was unpacked completely",
    )


@register_adapter("shanghaitech")
def discover_shanghaitech(dataset: str, root: str | Path, scenes=None) -> Manifest:
    """List ShanghaiTech Campus videos (optionally of some scenes) with frame labels and pixel masks."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"dataset {dataset!r}: root {root} does not exist or is not a folder",
            f"set datasets.{dataset}.root to the folder that holds training/ and testing/",
        )
    wanted = _normalise_scenes(dataset, scenes)
    test_frames = root / "testing" / "frames"
    if not ((root / "training").is_dir() and test_frames.is_dir()):
        raise DataError(
            f"dataset {dataset!r}: {root} is not in the ShanghaiTech Campus layout (expected training/videos/*.avi, "
            f"testing/frames/<video>/*.jpg and testing/test_frame_mask/<video>.npy; found {listing(root)})",
            "point the root at the unpacked shanghaitech folder",
        )
    label_dir, mask_dir = root / "testing" / "test_frame_mask", root / "testing" / "test_pixel_mask"
    if not label_dir.is_dir():
        raise DataError(
            f"dataset {dataset!r}: the frame-level ground truth is missing: expected {label_dir}/<video>.npy",
            "copy ShanghaiTech's test_frame_mask folder into testing/",
        )
    train = _training_sources(dataset, root)
    tests = [(p.name, p, len(list_frame_files(p))) for p in _frame_folders(test_frames)]
    tests = [t for t in tests if t[2]]
    if not tests:
        raise DataError(f"dataset {dataset!r}: {test_frames} holds no frame folders (found {listing(test_frames)})",
                        "check that ShanghaiTech's test set was unpacked completely")
    labels, masks = _npy_files(label_dir), _npy_files(mask_dir)
    names = {name for name, _, _ in tests}
    for kind, files in (("frame labels", labels), ("pixel masks", masks)):
        orphans = sorted(set(files) - names)
        if orphans:
            raise DataError(
                f"dataset {dataset!r}: {kind} {[files[o].name for o in orphans[:5]]} match no test video in "
                f"{test_frames}",
                "check that the test set is complete and that the annotation belongs to this dataset",
            )
    if wanted is not None:
        known = {scene_of(n) for n, _, _ in train + tests}
        unknown = sorted(wanted - known)
        if unknown:
            raise DataError(f"dataset {dataset!r}: options.scenes {unknown} are not in {root}",
                            f"known scenes: {', '.join(sorted(known))}")
        train = [t for t in train if scene_of(t[0]) in wanted]
        tests = [t for t in tests if scene_of(t[0]) in wanted]

    videos = [VideoEntry("train", name, str(src.resolve()), n_frames=n, video_label=0) for name, src, n in train]
    for name, folder, n in tests:
        if name not in labels:
            raise DataError(
                f"dataset {dataset!r}: test video {folder} has no frame labels: {label_dir / (name + '.npy')} "
                "is missing",
                "copy the complete test_frame_mask folder",
            )
        frame_labels = load_labels(labels[name])
        if frame_labels.size != n:
            raise DataError(
                f"dataset {dataset!r}: test video {name} has {n} frames in {folder} but its frame labels "
                f"{labels[name]} have {frame_labels.size}",
                "check that the labels belong to this video and that the frame folder is complete",
            )
        entry = VideoEntry("test", name, str(folder.resolve()), labels=str(labels[name].resolve()), n_frames=n,
                           video_label=int(frame_labels.any()))
        if masks:
            if name not in masks:
                raise DataError(
                    f"dataset {dataset!r}: test video {folder} has no pixel masks: {mask_dir / (name + '.npy')} "
                    "is missing",
                    "copy the complete test_pixel_mask folder, or remove the folder to go without pixel masks",
                )
            try:
                shape = np.load(masks[name], mmap_mode="r").shape
            except Exception as exc:  # numpy raises several types for unreadable files
                raise DataError(f"pixel masks {masks[name]} cannot be read: {exc}", "re-copy the file") from exc
            if len(shape) != 3 or shape[0] != n:
                raise DataError(
                    f"dataset {dataset!r}: test video {name} has {n} frames in {folder} but its pixel masks "
                    f"{masks[name]} have shape {tuple(shape)}",
                    "give one (H, W) mask per frame of this video",
                )
            entry.masks = str(masks[name].resolve())
        videos.append(entry)
    return Manifest(dataset, "shanghaitech", str(root.resolve()), videos)
