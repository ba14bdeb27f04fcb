"""CUHK Avenue (Lu, Shi and Jia, ICCV 2013)::

    <root>/training_videos/01.avi ... 16.avi      normal training videos
    <root>/testing_videos/01.avi ... 21.avi       test videos
    <root>/ground_truth_demo/testing_label_mask/1_label.mat ... 21_label.mat
                                                  pixel masks: ``volLabel``, a 1xT cell, one HxW mask per frame

The official annotation is the pixel masks; a frame is anomalous when any pixel of its mask
is. Frame labels and frame counts are therefore derived from the masks at discovery time.
Some frame-label files published with public VAD code bases disagree with these masks (the
``frame_labels_avenue.npy`` of one such code base has the same 15,324 frames but differs on 15
of the 21 videos, 441 frames in all: 3,867 anomalous frames against the masks' 3,712). We use
the official masks.

Option ``masks_dir``: the folder of ``N_label.mat`` files where it is kept apart from the
videos (absolute, or relative to the root); by default ``ground_truth_demo/testing_label_mask``
or ``testing_label_mask`` under the root.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from vadflow.data.decode import VIDEO_EXTENSIONS, natural_key
from vadflow.data.adapters.common import listing
from vadflow.data.manifest import Manifest, VideoEntry, labels_to_intervals, load_mat, register_adapter
from vadflow.errors import DataError

_MASK_FILE = re.compile(r"(\d+)_label\.mat$", re.IGNORECASE)


def mask_frame_labels(path: str | Path, key: str = "volLabel") -> np.ndarray:
    """Per-frame 0/1 labels of a ``N_label.mat`` (1 where any pixel of the frame's mask is anomalous).

    Reads one mask at a time rather than stacking the volume, so a long video costs its
    compressed file plus one frame, not T x H x W booleans.
    """
    mat = load_mat(path)
    if key not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(
            f"{path} has no variable {key!r} (found {found})", "give Avenue's testing_label_mask/N_label.mat"
        )
    cells = np.asarray(mat[key], dtype=object).reshape(-1)
    if cells.size == 0:
        raise DataError(f"{path}: {key} holds no masks", "re-copy the file from Avenue's ground_truth_demo")
    shapes = {np.shape(c) for c in cells}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise DataError(
            f"{path}: the masks in {key} have shapes {sorted(shapes)[:4]}, not one H x W shape",
            "re-copy the file from Avenue's ground_truth_demo",
        )
    return np.array([np.any(np.asarray(c) != 0) for c in cells], np.uint8)


def _videos(folder: Path) -> list[Path]:
    found = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted((p for p in found if p.suffix.lower() in VIDEO_EXTENSIONS), key=lambda p: natural_key(p.name))


def _mask_dir(dataset: str, root: Path, masks_dir: str | Path | None) -> Path:
    if masks_dir is not None:
        folder = Path(masks_dir) if Path(masks_dir).is_absolute() else root / masks_dir
        if not folder.is_dir():
            raise DataError(
                f"dataset {dataset!r}: options.masks_dir {folder} does not exist",
                "give the folder that holds Avenue's N_label.mat files",
            )
        return folder
    candidates = [root / "ground_truth_demo" / "testing_label_mask", root / "testing_label_mask"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise DataError(
        f"dataset {dataset!r}: the ground truth is missing: expected {candidates[0]}/N_label.mat "
        f"(or {candidates[1]}); found {listing(root)}",
        "unpack Avenue's ground_truth_demo.zip into the root, or set options.masks_dir",
    )


@register_adapter("avenue")
def discover_avenue(dataset: str, root: str | Path, masks_dir: str | Path | None = None) -> Manifest:
    """List Avenue's videos; test videos get the official masks and frame labels derived from them."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"dataset {dataset!r}: root {root} does not exist or is not a folder",
            f"set datasets.{dataset}.root to the folder that holds training_videos/ and testing_videos/",
        )
    train_dir, test_dir = root / "training_videos", root / "testing_videos"
    if not (train_dir.is_dir() and test_dir.is_dir()):
        raise DataError(
            f"dataset {dataset!r}: {root} is not in the CUHK Avenue layout (expected training_videos/*.avi, "
            f"testing_videos/*.avi and ground_truth_demo/testing_label_mask/; found {listing(root)})",
            "point the root at the unpacked 'Avenue Dataset' folder",
        )
    videos: list[VideoEntry] = []
    for split, folder in (("train", train_dir), ("test", test_dir)):
        files = _videos(folder)
        if not files:
            raise DataError(f"dataset {dataset!r}: {folder} holds no videos (found {listing(folder)})",
                            "check that the dataset was unpacked completely")
        label = 0 if split == "train" else None  # Avenue's training videos are all normal
        videos += [VideoEntry(split, p.stem, str(p.resolve()), video_label=label) for p in files]

    mask_folder = _mask_dir(dataset, root, masks_dir)
    mask_files = {int(m.group(1)): p for p in mask_folder.iterdir() if (m := _MASK_FILE.fullmatch(p.name))}
    tests = [v for v in videos if v.split == "test"]
    numbers: dict[int, VideoEntry] = {}
    for v in tests:
        if not v.name.isdigit():
            raise DataError(
                f"dataset {dataset!r}: test video {v.source} is not named by number",
                "keep Avenue's names (01.avi ... 21.avi): video N's masks are N_label.mat",
            )
        numbers[int(v.name)] = v
    orphans = sorted(set(mask_files) - set(numbers))
    if orphans:
        raise DataError(
            f"dataset {dataset!r}: mask files {[mask_files[k].name for k in orphans]} in {mask_folder} match no test "
            f"video ({len(tests)} found in {test_dir})",
            "check that testing_videos/ is complete, and that the masks belong to this dataset",
        )
    for k, v in sorted(numbers.items()):
        if k not in mask_files:
            raise DataError(
                f"dataset {dataset!r}: test video {v.source} has no pixel masks: {mask_folder / f'{k}_label.mat'} "
                "is missing",
                "copy the complete testing_label_mask folder from Avenue's ground_truth_demo.zip",
            )
        labels = mask_frame_labels(mask_files[k])
        v.masks = str(mask_files[k].resolve())
        v.label_intervals = labels_to_intervals(labels)
        v.n_frames = int(labels.size)
        v.video_label = int(labels.any())
    return Manifest(dataset, "avenue", str(root.resolve()), videos)
