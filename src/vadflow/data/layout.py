"""The generic dataset layout, and the manifest that lists a dataset's videos.

Generic layout (also what the synthetic generators write; use it for your own footage)::

    <root>/
      train/<video>.mp4        training videos (any ffmpeg-readable format): normal ones, and
                               anomalous ones for weakly / fully supervised methods (with labels)
      train/<video>/           ... or a folder of frames (jpg/png/tif/bmp), naturally sorted
      test/<video>.mp4 | test/<video>/
      labels/<video>.npy       per-frame labels, 1 = anomalous: required for each test video; for a
                               training video they make it a labelled one (anomalous if any 1);
                               a training video without labels is normal
      labels/<video>.txt       ... or the same as text, one 0/1 value per line
      masks/<video>.npz        optional pixel masks, key "masks", (T, H, W), non-zero = anomalous
      masks/<video>/           ... or a folder of per-frame mask images (value > 127 = anomalous)
      categories.csv           optional ``video,category`` lines: the anomaly category of anomalous
                               videos (Wan et al.'s category head), ``Normal`` for normal ones

Video names must be unique across train/ and test/ (the annotation files are named after them).

The manifest (JSON) is what the workflow's checkpoint writes: one entry per
video with its split, source path and annotation paths. Every later job reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vadflow.atomic import atomic_path
from vadflow.data.decode import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, decode_mask_folder, natural_key
from vadflow.errors import DataError

SPLITS = ("train", "test")


@dataclass
class VideoEntry:
    """One video of a dataset, with where its annotations come from.

    Frame labels come from a per-frame file (``labels``) or from anomalous
    intervals (``label_intervals``: [start, end), 0-indexed, as adapters parse them
    from official annotation files); either is checked against the decoded frame
    count, as is ``n_frames`` where the annotation states it.
    """

    split: str
    name: str
    source: str
    labels: str | None = None
    label_intervals: list[list[int]] | None = None
    masks: str | None = None
    n_frames: int | None = None
    video_label: int | None = None  # 1 = the video contains an anomaly (weak supervision)
    category: str | None = None  # anomaly class (UCF-Crime, LAD), "Normal" for normal videos
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    dataset: str
    adapter: str
    root: str
    videos: list[VideoEntry]

    def split(self, split: str) -> list[VideoEntry]:
        return [v for v in self.videos if v.split == split]

    def get(self, split: str, name: str) -> VideoEntry:
        for v in self.videos:
            if v.split == split and v.name == name:
                return v
        raise DataError(
            f"dataset {self.dataset!r} has no {split} video named {name!r}",
            f"known {split} videos: {', '.join(v.name for v in self.split(split)) or 'none'}",
        )

    def write(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: str | Path) -> "Manifest":
        d = json.loads(Path(path).read_text())
        return cls(d["dataset"], d["adapter"], d["root"], [VideoEntry(**v) for v in d["videos"]])


def _is_video_source(p: Path) -> bool:
    if p.is_file():
        return p.suffix.lower() in VIDEO_EXTENSIONS
    return p.is_dir() and any(c.suffix.lower() in IMAGE_EXTENSIONS for c in p.iterdir())


def _annotation_files(folder: Path, suffixes: tuple[str, ...], allow_dirs: bool) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for p in folder.iterdir():
        if p.is_file() and p.suffix.lower() in suffixes:
            found[p.name[: -len(p.suffix)]] = p
        elif allow_dirs and p.is_dir():
            found[p.name] = p
    return found


def discover_generic(dataset: str, root: str | Path) -> Manifest:  # options: none
    """List the videos of a dataset in the generic layout, checking that annotations match videos."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"dataset {dataset!r}: root {root} does not exist",
            f"set datasets.{dataset}.root in your config to the folder that holds train/ and test/",
        )
    videos: list[VideoEntry] = []
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            found = ", ".join(sorted(p.name for p in root.iterdir())) or "nothing"
            raise DataError(
                f"dataset {dataset!r}: {folder} is missing (the generic layout expects train/ and test/; found {found})",
                "arrange the videos as described in vadflow.data.layout, or choose the adapter of your dataset",
            )
        sources = sorted((p for p in folder.iterdir() if _is_video_source(p)), key=lambda p: natural_key(p.name))
        if not sources:
            raise DataError(f"dataset {dataset!r}: {folder} holds no videos or frame folders", "add videos there")
        for p in sources:
            name = p.name if p.is_dir() else p.name[: -len(p.suffix)]
            videos.append(VideoEntry(split, name, str(p.resolve())))
    names = {v.name for v in videos}
    repeated = sorted({v.name for v in videos if v.split == "test"} & {v.name for v in videos if v.split == "train"})
    if repeated:
        raise DataError(f"dataset {dataset!r}: {', '.join(repeated[:5])} are in both train/ and test/",
                        "give every video its own name (the label files are named after the videos)")
    labels = _annotation_files(root / "labels", (".npy", ".txt"), allow_dirs=False)
    masks = _annotation_files(root / "masks", (".npz", ".npy"), allow_dirs=True)
    for kind, files in (("labels", labels), ("masks", masks)):
        orphans = sorted(set(files) - names)
        if orphans:
            raise DataError(
                f"dataset {dataset!r}: {kind} {[str(files[o]) for o in orphans]} match no video",
                f"name each {kind} file after a video in {root / 'train'} or {root / 'test'} "
                f"(known: {', '.join(sorted(names))})",
            )
    categories = read_categories_csv(root / "categories.csv", names) if (root / "categories.csv").is_file() else {}
    for v in videos:
        v.category = categories.get(v.name)
        if v.name in masks:
            v.masks = str(masks[v.name].resolve())
        if v.name not in labels:
            if v.split == "test":
                raise DataError(
                    f"dataset {dataset!r}: test video {v.source} has no frame labels",
                    f"add {root / 'labels' / (v.name + '.npy')} with one 0/1 value per frame",
                )
            v.video_label = 0  # a training video without labels is normal (weak supervision reads this)
            continue
        v.labels = str(labels[v.name].resolve())
        if v.split == "train":  # a labelled training video: its video-level label comes from its frames
            v.video_label = int(load_labels(v.labels).any())
    return Manifest(dataset, "generic", str(root.resolve()), videos)


def read_categories_csv(path: Path, names: set[str]) -> dict[str, str]:
    """{video: category} from ``video,category`` lines (a header line ``video,category`` is allowed)."""
    out: dict[str, str] = {}
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or (no == 1 and line.replace(" ", "") == "video,category"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 2 or not all(fields):
            raise DataError(f"{path}:{no}: expected 'video,category', found {raw.strip()!r}",
                            "write one video and its category per line")
        if fields[0] not in names:
            raise DataError(f"{path}:{no}: video {fields[0]!r} is not in train/ or test/",
                            "name videos as their files are named, without the extension")
        out[fields[0]] = fields[1]
    return out


def load_labels(path: str | Path) -> np.ndarray:
    """Per-frame 0/1 labels from .npy or text (one value per line)."""
    path = Path(path)
    try:
        arr = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, ndmin=1)
    except Exception as exc:  # numpy raises several types for unreadable files
        raise DataError(f"labels file {path} cannot be read: {exc}", "write one 0/1 value per frame") from exc
    arr = np.asarray(arr).reshape(-1)
    if not np.isin(arr, (0, 1)).all():
        raise DataError(f"labels file {path} holds values other than 0 and 1", "use 1 for anomalous frames, 0 otherwise")
    return arr.astype(np.uint8)


def intervals_to_labels(intervals: list[list[int]], n_frames: int, where: str) -> np.ndarray:
    """Per-frame 0/1 labels from [start, end) intervals; an interval past the video's end is an error."""
    labels = np.zeros(n_frames, np.uint8)
    for start, end in intervals:
        if not 0 <= start < end <= n_frames:
            raise DataError(
                f"{where}: the annotation marks frames {start}..{end - 1} (0-indexed) anomalous but the video has "
                f"{n_frames} frames",
                "check that the annotation file belongs to this video and this version of the dataset",
            )
        labels[start:end] = 1
    return labels


def labels_to_intervals(labels: np.ndarray) -> list[list[int]]:
    """Per-frame 0/1 labels -> [start, end) 0-indexed runs of anomalous frames."""
    padded = np.concatenate([[0], np.asarray(labels).reshape(-1) != 0, [0]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [[int(s), int(e)] for s, e in zip(edges[0::2], edges[1::2])]



def load_masks(path: str | Path) -> np.ndarray:
    """(T, H, W) bool pixel masks from .npz (key 'masks'), .npy, a folder of mask images, or a
    MATLAB file holding one mask per frame (CUHK Avenue's ``volLabel``)."""
    path = Path(path)
    if path.is_dir():
        return decode_mask_folder(path)
    if path.suffix == ".mat":
        return load_mat_masks(path)
    try:
        if path.suffix == ".npz":
            with np.load(path) as z:
                arr = z["masks"]
        else:
            arr = np.load(path)
    except Exception as exc:
        raise DataError(f"mask file {path} cannot be read: {exc}", "store masks as .npz with key 'masks'") from exc
    if arr.ndim != 3:
        raise DataError(f"mask file {path} has shape {arr.shape}", "masks must be (frames, height, width)")
    return arr != 0


def load_mat(path: str | Path) -> dict[str, Any]:
    """A MATLAB file (v5 through scipy; v7.3/HDF5 is not supported), with a clear error."""
    import scipy.io

    try:
        return scipy.io.loadmat(str(path), squeeze_me=False)
    except Exception as exc:
        raise DataError(
            f"{path} cannot be read as a MATLAB file: {exc}",
            "re-copy the file; a v7.3 (HDF5) .mat must be re-saved with MATLAB's -v7 option",
        ) from exc


def load_mat_masks(path: str | Path, key: str = "volLabel") -> np.ndarray:
    """(T, H, W) bool from a .mat cell array of per-frame masks (CUHK Avenue's testing_label_mask)."""
    mat = load_mat(path)
    if key not in mat:
        raise DataError(f"{path} has no variable {key!r} (found {sorted(k for k in mat if not k.startswith('__'))})",
                        "give the dataset's testing_label_mask/<N>_label.mat files")
    cells = mat[key].reshape(-1)
    return np.stack([np.asarray(c) != 0 for c in cells])


ADAPTERS: dict[str, Callable[[str, str | Path], Manifest]] = {
    "generic": discover_generic,
    "synthetic": discover_generic,  # the generators write the generic layout
}


def register_adapter(name: str):
    """Decorator: ``fn(dataset, root, **options) -> Manifest`` becomes adapter ``name``."""

    def deco(fn):
        ADAPTERS[name] = fn
        return fn

    return deco


def _load_adapters() -> None:
    import importlib

    importlib.import_module("vadflow.data.adapters")


def adapter_names() -> list[str]:
    _load_adapters()
    return sorted(ADAPTERS)


def discover(
    dataset: str,
    adapter: str,
    root: str | Path,
    *,
    options: dict[str, Any] | None = None,
    supervision: str | None = None,
) -> Manifest:
    """List a dataset's videos with its adapter; with ``supervision``, keep only the training
    videos and annotations that regime allows (see vadflow.data.supervision)."""
    _load_adapters()
    try:
        fn = ADAPTERS[adapter]
    except KeyError:
        raise DataError(f"dataset {dataset!r}: unknown adapter {adapter!r}", f"use one of {sorted(ADAPTERS)}") from None
    root = Path(root)
    if not root.exists():
        raise DataError(
            f"dataset {dataset!r}: root {root} does not exist",
            f"set datasets.{dataset}.root in your config to your copy of the dataset",
        )
    try:
        manifest = fn(dataset, root, **(options or {}))
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        raise DataError(f"dataset {dataset!r}: adapter {adapter!r} {exc}", f"check datasets.{dataset}.options") from None
    manifest.adapter = adapter
    if supervision is None:
        return manifest
    from vadflow.data.supervision import apply_supervision

    return apply_supervision(manifest, supervision)
