"""The manifest that lists a dataset's videos (one ``VideoEntry`` each), the annotation readers every
adapter shares, and the adapter registry: the floor the adapters stand on. ``vadflow.data.layout``
(the generic layout and ``discover``) stands above it and the adapters, so none of them imports a
module that imports it back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vadflow.atomic import atomic_path
from vadflow.data.decode import decode_mask_folder
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


#: adapter name -> ``fn(dataset, root, **options) -> Manifest`` (``register_adapter``; the generic layout's
#: own entries are added by vadflow.data.layout)
ADAPTERS: dict[str, Callable[..., "Manifest"]] = {}


def register_adapter(name: str):
    """Decorator: ``fn(dataset, root, **options) -> Manifest`` becomes adapter ``name``."""

    def deco(fn):
        ADAPTERS[name] = fn
        return fn

    return deco


