"""UCF-Crime (Sultani, Chen & Shah, CVPR 2018): 13 anomaly classes, weak labels for training.

Published layout (the parts of the download this adapter reads)::

    <root>/<Class>/<Class>NNN_x264.mp4                 anomalous videos, e.g. Abuse/Abuse001_x264.mp4
    <root>/Training_Normal_Videos_Anomaly/*.mp4        normal training videos
    <root>/Testing_Normal_Videos_Anomaly/*.mp4         normal test videos
    <root>/Anomaly_Train.txt, Anomaly_Test.txt         the standard split (lines 'Abuse/Abuse001_x264.mp4'),
                                                       anywhere up to 3 folders deep (e.g. in
                                                       UCF_Crimes-Train-Test-Split/Anomaly_Detection_splits/)
    <root>/Temporal_Anomaly_Annotation_for_Testing_Videos.txt   frame-level annotation of the 290 test videos
    <root>/Temporal_Anomaly_Annotation_New.txt         optional: the same plus each video's frame count

Class folders may sit one or two levels lower (e.g. ``Anomaly-Videos-Part-1/Abuse/``): a
listed video not found at ``<root>/<line>`` is looked up by file name. A video may also be
a frame folder named like the file without its extension.

Annotation lines are ``<video> <class> <s1> <e1> <s2> <e2> [n_frames]`` with ``-1`` for an
absent second interval. They are read as 1-indexed frame numbers with inclusive ends
(options ``one_indexed`` / ``inclusive``): no interval starts at 0, and fewer intervals end
past the New file's frame counts than when read 0-indexed inclusive (docs/datasets.md lists
the five that still do).
An interval that overruns the stated frame count by at most ``clip_overrun`` frames is
clipped to the video's end (recorded in ``meta["clipped"]``); a larger overrun is an error.

Training videos get video-level labels only (1 for anomalous classes, ``category`` the
class, ``"Normal"`` / 0 for normal videos), or with ``train_frame_labels: video`` frame labels
that repeat the video label (Wan et al.'s fully supervised UCF-Crime); test videos get their
frame-level intervals and, with the New file, ``n_frames``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vadflow.data.adapters.common import half_open, resolve_in_root
from vadflow.data.decode import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from vadflow.data.manifest import Manifest, VideoEntry, register_adapter
from vadflow.data.splits import read_split_list
from vadflow.errors import DataError

ANOMALY_CLASSES = (
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)  # fmt: skip
NORMAL = "Normal"
NORMAL_FOLDERS = ("Training_Normal_Videos_Anomaly", "Testing_Normal_Videos_Anomaly", "Normal_Videos_event")
TRAIN_LIST = "Anomaly_Train.txt"
TEST_LIST = "Anomaly_Test.txt"
ANNOTATION_FILES = ("Temporal_Anomaly_Annotation_for_Testing_Videos.txt", "Temporal_Anomaly_Annotation.txt")
FRAME_COUNT_FILE = "Temporal_Anomaly_Annotation_New.txt"
_VIDEO_FOLDERS = set(ANOMALY_CLASSES) | set(NORMAL_FOLDERS)
_CLASS_FROM_NAME = re.compile(r"^([A-Za-z]+?)_?\d+(_x264)?$")


@dataclass
class TemporalAnnotation:
    """One line of the temporal annotation, intervals already 0-indexed [start, end)."""

    video: str
    category: str
    intervals: list[list[int]]
    raw: list[int]
    n_frames: int | None
    where: str
    clipped: list[list[int]] = field(default_factory=list)


def parse_temporal_annotation(
    path: Path, *, one_indexed: bool = True, inclusive: bool = True
) -> dict[str, TemporalAnnotation]:
    """Every line of a UCF-Crime temporal annotation file (6 columns, or 7 with the frame count)."""
    if not path.is_file():
        raise DataError(f"UCF-Crime annotation {path} does not exist", "give the path of the temporal annotation file")
    out: dict[str, TemporalAnnotation] = {}
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        fields = raw.split()
        if not fields:
            continue
        where = f"{path}:{no}"
        if len(fields) not in (6, 7):
            raise DataError(
                f"{where}: expected '<video> <class> <s1> <e1> <s2> <e2> [n_frames]', found {len(fields)} columns",
                "check that this is the UCF-Crime temporal annotation file",
            )
        try:
            numbers = [int(f) for f in fields[2:]]
        except ValueError:
            raise DataError(f"{where}: frame numbers expected after the class, found {raw.strip()!r}",
                            "check that this is the UCF-Crime temporal annotation file") from None
        video, category = fields[0], fields[1]
        if video in out:
            raise DataError(f"{where}: {video} is annotated twice (also {out[video].where})", "keep one line per video")
        intervals = []
        for s, e in (numbers[0:2], numbers[2:4]):
            if (s, e) == (-1, -1):
                continue
            if s < 0 or e < 0:
                raise DataError(f"{where}: interval {s} {e} of {video} has one end missing",
                                "write -1 -1 where there is no interval")
            intervals.append(list(half_open(s, e, one_indexed=one_indexed, inclusive=inclusive, where=where)))
        if category == NORMAL and intervals:
            raise DataError(f"{where}: normal video {video} has anomalous intervals", "use -1 for a normal video")
        if category != NORMAL and not intervals:
            raise DataError(f"{where}: {category} video {video} has no anomalous interval", "give its interval(s)")
        n_frames = numbers[4] if len(numbers) == 5 else None
        out[video] = TemporalAnnotation(video, category, intervals, numbers[:4], n_frames, where)
    if not out:
        raise DataError(f"UCF-Crime annotation {path} is empty", "give the temporal annotation file")
    return out


def interval_overruns(annotations: dict[str, TemporalAnnotation]) -> dict[str, tuple[int, int]]:
    """Videos whose intervals end past their stated frame count: {video: (interval end, frame count)}."""
    found = {}
    for a in annotations.values():
        if a.n_frames is not None and a.intervals and max(e for _, e in a.intervals) > a.n_frames:
            found[a.video] = (max(e for _, e in a.intervals), a.n_frames)
    return found


def class_of(listed: str) -> str:
    """The class of a split-list line from its folder ('Abuse/...'), else its file name ('Abuse001_x264')."""
    parts = Path(listed).parts
    for folder in parts[:-1]:
        if folder in ANOMALY_CLASSES:
            return folder
        if folder in NORMAL_FOLDERS or folder.startswith("Normal"):
            return NORMAL
    stem = Path(parts[-1]).stem
    if stem.startswith("Normal"):
        return NORMAL
    m = _CLASS_FROM_NAME.match(stem)
    if m and m.group(1) in ANOMALY_CLASSES:
        return m.group(1)
    raise DataError(f"the class of {listed!r} cannot be told from its folder or name",
                    f"list videos as <Class>/<video>, the class one of {', '.join(ANOMALY_CLASSES)} or a normal "
                    "folder")


def _find_file(root: Path, names: tuple[str, ...], max_depth: int = 3) -> Path | None:
    """The first of ``names`` under ``root`` (breadth first, not inside video folders)."""
    level = [root]
    for _ in range(max_depth + 1):
        for name in names:
            hits = sorted(d / name for d in level if (d / name).is_file())
            if hits:
                return hits[0]
        level = [c for d in level for c in sorted(d.iterdir()) if c.is_dir() and c.name not in _VIDEO_FOLDERS]
    return None


class _VideoIndex:
    """Video files under the root by file name (built on first need: a bounded walk)."""

    def __init__(self, root: Path, max_depth: int = 3):
        self.root = root
        self.max_depth = max_depth
        self._by_name: dict[str, list[Path]] | None = None

    def by_name(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            self._by_name = {}
            for folder, dirs, files in os.walk(self.root):
                here = Path(folder)
                depth = len(here.relative_to(self.root).parts)
                inside_video_folder = here.name in _VIDEO_FOLDERS
                for f in files:
                    if Path(f).suffix.lower() in VIDEO_EXTENSIONS:
                        self._by_name.setdefault(f, []).append(here / f)
                if inside_video_folder:  # its sub-folders are frame folders: index them, do not walk them
                    for d in dirs:
                        self._by_name.setdefault(d, []).append(here / d)
                    dirs[:] = []
                elif depth >= self.max_depth:
                    dirs[:] = []
                dirs.sort()
        return self._by_name

    def resolve(self, listed: str, where: str) -> Path:
        direct = self.root / listed
        if direct.is_file():
            return direct
        folder = direct.with_suffix("")
        if folder.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir()):
            return folder
        name = Path(listed).name
        index = self.by_name()
        candidates = index.get(name, []) + index.get(Path(name).stem, [])
        parent = Path(listed).parent.name
        same_folder = [c for c in candidates if c.parent.name == parent]
        if len(same_folder) == 1 or len(candidates) == 1:
            return (same_folder or candidates)[0]
        if not candidates:
            raise DataError(
                f"{where} lists {listed} but no such video is under {self.root} (looked for {direct} and for "
                f"{name} in sub-folders)",
                "restore the missing video, or check that the dataset root is the folder holding the class folders",
            )
        raise DataError(f"{where}: {listed} matches several files: {', '.join(map(str, candidates[:4]))}",
                        f"keep one copy, or list the video with its folder relative to {self.root}")


def _option_or_found(root: Path, value: str | None, names: tuple[str, ...]) -> Path | None:
    if value is not None:
        path = resolve_in_root(root, value)
        if not path.is_file():
            raise DataError(f"UCF-Crime file {path} does not exist", f"check the option that names it ({names[0]})")
        return path
    return _find_file(root, names)


def _layout_error(dataset: str, root: Path, missing: str) -> DataError:
    found = ", ".join(sorted(p.name for p in root.iterdir())[:12]) or "nothing"
    return DataError(
        f"dataset {dataset!r}: {missing} not found under {root} (the UCF-Crime layout expects class folders such as "
        f"Abuse/, Training_Normal_Videos_Anomaly/, the split lists {TRAIN_LIST} / {TEST_LIST} and "
        f"{ANNOTATION_FILES[0]}; found {found})",
        f"point datasets.{dataset}.root at the UCF-Crime folder, or name the files with the options "
        "train_list, test_list, annotation",
    )


def _clip(a: TemporalAnnotation, clip_overrun: int) -> None:
    if a.n_frames is None:
        return
    for interval in a.intervals:
        over = interval[1] - a.n_frames
        if over > clip_overrun:
            raise DataError(
                f"{a.where}: {a.video} is annotated anomalous up to frame {interval[1] - 1} (0-indexed) but has "
                f"{a.n_frames} frames",
                "check the annotation file and its one_indexed / inclusive options (or raise clip_overrun)",
            )
        if over > 0:
            a.clipped.append(list(interval))
            interval[1] = a.n_frames


@register_adapter("ucf_crime")
def discover_ucf_crime(
    dataset: str,
    root: Path,
    *,
    train_list: str | None = None,
    test_list: str | None = None,
    annotation: str | None = None,
    frame_counts: str | None = None,
    one_indexed: bool = True,
    inclusive: bool = True,
    clip_overrun: int = 5,
    use_frame_counts: bool = True,
    train_frame_labels: str = "none",
) -> Manifest:
    """UCF-Crime's standard split: video labels for training, frame intervals for testing.

    ``train_frame_labels: video`` gives every frame of a training video its video's label (Wan et al.
    sec. 5.1 train fully supervised on UCF-Crime this way: its training videos have no frame labels);
    the default ``none`` leaves them without, so fully supervised training is refused."""
    if train_frame_labels not in ("none", "video"):
        raise DataError(f"dataset {dataset!r}: options.train_frame_labels {train_frame_labels!r} is not known",
                        "use none or video")
    root = Path(root)
    train_path = _option_or_found(root, train_list, (TRAIN_LIST,))
    test_path = _option_or_found(root, test_list, (TEST_LIST,))
    counts_path = _option_or_found(root, frame_counts, (FRAME_COUNT_FILE,))
    ann_path = _option_or_found(root, annotation, ANNOTATION_FILES) or counts_path
    if train_path is None:
        raise _layout_error(dataset, root, TRAIN_LIST)
    if ann_path is None:
        raise _layout_error(dataset, root, ANNOTATION_FILES[0])
    conv = {"one_indexed": one_indexed, "inclusive": inclusive}
    annotations = parse_temporal_annotation(ann_path, **conv)
    if counts_path is not None and counts_path != ann_path:
        counted = parse_temporal_annotation(counts_path, **conv)
        for video, a in annotations.items():
            b = counted.get(video)
            if b is None or b.raw != a.raw or b.category != a.category:
                raise DataError(
                    f"{a.where} and {counts_path} disagree about {video} "
                    f"({a.category} {a.raw} vs {'no line' if b is None else f'{b.category} {b.raw}'})",
                    "use the two annotation files of the same dataset release (or leave frame_counts out)",
                )
            a.n_frames = b.n_frames
    for a in annotations.values():
        _clip(a, clip_overrun)

    index = _VideoIndex(root)
    test_lines = read_split_list(test_path) if test_path else list(annotations)
    test_where = str(test_path or ann_path)
    videos: list[VideoEntry] = []
    for line in read_split_list(train_path):
        category = class_of(line)
        source = index.resolve(line, str(train_path))
        videos.append(VideoEntry(
            "train", Path(line).stem, str(source.resolve()),
            video_label=int(category != NORMAL), category=category,
            meta={"listed_as": line, **({"frame_labels": "video_label"} if train_frame_labels == "video" else {})},
        ))  # fmt: skip
    for line in test_lines:
        a = annotations.get(Path(line).name)
        if a is None:
            raise DataError(f"{test_where} lists {line} but {ann_path} has no line for {Path(line).name}",
                            "use the split list and the annotation of the same dataset release")
        if class_of(line) != a.category:
            raise DataError(f"{test_where} files {line} as {class_of(line)} but {a.where} says {a.category}",
                            "check the split list and the annotation")
        source = index.resolve(line, test_where)
        meta = {"listed_as": line}
        if a.clipped:
            meta["clipped"] = a.clipped
        videos.append(VideoEntry(
            "test", Path(line).stem, str(source.resolve()),
            label_intervals=[list(i) for i in a.intervals],
            n_frames=a.n_frames if use_frame_counts else None,
            video_label=int(a.category != NORMAL), category=a.category, meta=meta,
        ))  # fmt: skip
    unlisted = sorted(set(annotations) - {Path(line).name for line in test_lines})
    if unlisted:
        raise DataError(f"{ann_path} annotates {len(unlisted)} videos that {test_where} does not list: "
                        f"{', '.join(unlisted[:5])}", "use the split list and the annotation of the same release")
    for split in ("train", "test"):
        counts = Counter(v.name for v in videos if v.split == split)
        dupes = sorted(n for n, k in counts.items() if k > 1)
        if dupes:
            raise DataError(f"dataset {dataset!r}: the {split} list names {', '.join(dupes[:5])} more than once",
                            "list each video once")
    overlap = {v.name for v in videos if v.split == "train"} & {v.name for v in videos if v.split == "test"}
    if overlap:
        raise DataError(f"{train_path} and {test_where} share {', '.join(sorted(overlap)[:5])}",
                        "a video belongs to one split")
    return Manifest(dataset, "ucf_crime", str(root.resolve()), videos)
