"""LAD / LAD2000 (Wan, Jiang, Fang, Luo & Ding, "Anomaly detection in video sequences: a
benchmark and computational model", IET Image Processing 2021): 2000 videos in 14 anomaly
categories, with video-level categories and frame-level labels.

The download's exact tree could not be checked here; the accepted layout follows what the
authors' code (github.com/wanboyang/anomaly_detection_LAD2000, utils/gt_creater.py and the
dataset loader) reads, with the video files in place of its extracted frames::

    <root>/videos/<Category>/<video>.mp4   or Videos/, or the category folders directly in <root>
    <root>/videos/<Category>/<video>/      ... or a frame folder (frames directly inside, or in img/)
    <root>/GT/**/gt_<id>.mat               frame labels of video v_<id>: variable "gt", 1 x frames, 0/1
    <root>/labels/**/<video>.npy|.txt      ... or per-video 0/1 frame labels named like the video
    <root>/test_split.txt, train_split.txt optional: the authors' split, one video name per line

``Category`` is one of the 14 (``CATEGORIES``; option ``categories`` overrides). Normal videos
are filed inside the category folders; a video is normal when its frame labels are all 0,
or when it has no label file and its name marks it normal (``..._n_<a>_<b>``: the third
'_'-separated token from the end is ``n``, the authors' convention). A normal video keeps
its folder's category in ``meta["scene_category"]`` (``category`` is ``"Normal"``): that
is the category it counts for in the stratified test split.

Test split: ``test_list`` (default ``test_split.txt`` in the root) when present, the
training split then being ``train_list`` (default ``train_split.txt``) or every other
video. Otherwise the paper's test set is drawn: ``test_abnormal_per_category`` (20)
abnormal and ``test_normal_per_category`` (20) normal videos per category = 560 videos,
by ``vadflow.data.splits.stratified_split`` with ``seed``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from vadflow.data.adapters.common import resolve_in_root
from vadflow.data.decode import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from vadflow.data.manifest import Manifest, VideoEntry, labels_to_intervals, load_labels, load_mat, register_adapter
from vadflow.data.splits import per_category_counts, read_split_list, split_by_names, stratified_split, with_split
from vadflow.errors import DataError

CATEGORIES = (
    "Crash", "Crowd", "Destroy", "Drop", "Falling", "FallIntoWater", "Fighting",
    "Fire", "Hurt", "Loitering", "Panic", "Thiefing", "Trampled", "Violence",
)  # fmt: skip
VIDEO_DIR_NAMES = ("videos", "Videos", "video", "Video")
LABEL_DIR_NAMES = ("GT", "gt", "Label", "Labels", "labels")
LABEL_SUFFIXES = (".mat", ".npy", ".txt")


def is_marked_normal(name: str) -> bool:
    """The authors' naming of normal videos: 'n' as the third '_'-token from the end."""
    tokens = name.split("_")
    return len(tokens) >= 3 and tokens[-3] == "n"


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir())


def _video_sources(folder: Path) -> list[tuple[str, Path]]:
    """(name, source) of the videos and frame folders directly in ``folder``."""
    found = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
            found.append((p.stem, p))
        elif _has_images(p):
            found.append((p.name, p))
        elif _has_images(p / "img"):
            found.append((p.name, p / "img"))
    return found


def _first_dir(root: Path, option: str | None, names: tuple[str, ...]) -> Path | None:
    if option is not None:
        path = resolve_in_root(root, option)
        if not path.is_dir():
            raise DataError(f"LAD folder {path} does not exist", "check the option that names it")
        return path
    return next((root / n for n in names if (root / n).is_dir()), None)


def read_frame_labels(path: Path, key: str = "gt") -> np.ndarray:
    """0/1 frame labels from an LAD ground-truth .mat (variable ``key``) or a .npy/.txt file."""
    if path.suffix.lower() != ".mat":
        return load_labels(path)
    mat = load_mat(path)
    names = [k for k in mat if not k.startswith("__")]
    if key not in mat and len(names) != 1:
        raise DataError(f"{path} has no variable {key!r} (found {names})",
                        "name the variable with the option label_key")
    arr = np.asarray(mat[key] if key in mat else mat[names[0]]).reshape(-1)
    if not np.isin(arr, (0, 1)).all():
        raise DataError(f"labels file {path} holds values other than 0 and 1",
                        "use 1 for anomalous frames, 0 otherwise")
    return arr.astype(np.uint8)


def _label_index(folder: Path | None) -> dict[str, Path]:
    """Label files by the video name they belong to ('gt_<id>' belongs to 'v_<id>'); first path wins."""
    index: dict[str, Path] = {}
    if folder is None:
        return index
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in LABEL_SUFFIXES:
            stem = p.name[: -len(p.suffix)]
            index.setdefault("v_" + stem[3:] if stem.startswith("gt_") else stem, p)
    return index


def _names_from_list(path: Path) -> list[str]:
    names = []
    for line in read_split_list(path):
        name = Path(line).name
        names.append(Path(name).stem if Path(name).suffix.lower() in VIDEO_EXTENSIONS else name)
    return names


@register_adapter("lad")
def discover_lad(
    dataset: str,
    root: Path,
    *,
    videos_dir: str | None = None,
    labels_dir: str | None = None,
    label_key: str = "gt",
    test_list: str | None = None,
    train_list: str | None = None,
    test_abnormal_per_category: int = 20,
    test_normal_per_category: int = 20,
    seed: int = 0,
    categories: list[str] | None = None,
    ignore_unmatched_labels: bool = False,
) -> Manifest:
    """LAD's videos with their categories and frame labels, split by its lists or stratified."""
    root = Path(root)
    known = tuple(categories or CATEGORIES)
    vdir = _first_dir(root, videos_dir, VIDEO_DIR_NAMES) or root
    ldir = _first_dir(root, labels_dir, LABEL_DIR_NAMES)
    folders = [d for d in sorted(vdir.iterdir()) if d.is_dir() and d != ldir]
    cat_dirs = [d for d in folders if d.name in known]
    strays = [d.name for d in folders if d.name not in known and _video_sources(d)]
    if not cat_dirs or strays:
        found = ", ".join(p.name for p in sorted(vdir.iterdir())) or "nothing"
        raise DataError(
            f"dataset {dataset!r}: the LAD layout expects category folders ({', '.join(known)}) of videos in {vdir}"
            + (f"; {', '.join(strays)} hold videos but are no LAD category" if strays else f"; found {found}"),
            f"point datasets.{dataset}.root at the LAD folder (or set options.videos_dir), or list your "
            "categories with options.categories",
        )
    labels = _label_index(ldir)
    entries: list[VideoEntry] = []
    used: set[str] = set()
    for cat_dir in cat_dirs:
        for name, source in _video_sources(cat_dir):
            label_path = labels.get(name)
            meta: dict = {"scene_category": cat_dir.name}
            if label_path is not None:
                frame_labels = read_frame_labels(label_path, label_key)
                intervals, n_frames = labels_to_intervals(frame_labels), int(frame_labels.size)
                meta["labels_file"] = str(label_path.resolve())
                used.add(name)
                if intervals and is_marked_normal(name):
                    raise DataError(f"LAD video {source} is named as normal but {label_path} marks anomalous frames",
                                    "check that the label file belongs to this video")
            elif is_marked_normal(name):
                intervals, n_frames = [], None
            else:
                hint_dir = ldir or root / "GT"
                raise DataError(f"LAD video {source} has no frame labels (no gt_/label file for {name} in {hint_dir})",
                                "add its label file, or set options.labels_dir to the folder that holds them")
            abnormal = int(bool(intervals))
            entries.append(VideoEntry(
                "train", name, str(source.resolve()), label_intervals=intervals, n_frames=n_frames,
                video_label=abnormal, category=cat_dir.name if abnormal else "Normal", meta=meta,
            ))  # fmt: skip
    orphans = sorted(set(labels) - used)
    if orphans and not ignore_unmatched_labels:
        raise DataError(
            f"dataset {dataset!r}: {len(orphans)} label files match no video: "
            f"{', '.join(str(labels[o]) for o in orphans[:3])}{' ...' if len(orphans) > 3 else ''}",
            "restore the missing videos, or set options.ignore_unmatched_labels: true to use the videos present",
        )
    dupes = sorted(n for n, k in Counter(e.name for e in entries).items() if k > 1)
    if dupes:
        raise DataError(f"dataset {dataset!r}: video names repeat across categories: {', '.join(dupes[:5])}",
                        "LAD video names must be unique")
    test_path = resolve_in_root(root, test_list) if test_list else root / "test_split.txt"
    train_path = resolve_in_root(root, train_list) if train_list else root / "train_split.txt"
    if test_list or test_path.is_file():
        train_names = _names_from_list(train_path) if (train_list or train_path.is_file()) else None
        videos = split_by_names(entries, _names_from_list(test_path), train_names, where=str(test_path))
    else:
        counts = per_category_counts([d.name for d in cat_dirs], test_abnormal_per_category, test_normal_per_category)
        try:
            test, train = stratified_split(entries, counts, seed)
        except DataError as exc:
            raise DataError(f"dataset {dataset!r}: {exc.message}",
                            "lower options.test_abnormal_per_category / test_normal_per_category, or give a "
                            "test_list") from None
        videos = with_split(train, "train") + with_split(test, "test")
    return Manifest(dataset, "lad", str(root.resolve()), videos)
