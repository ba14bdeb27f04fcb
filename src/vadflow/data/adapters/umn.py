"""UMN unusual crowd activity (University of Minnesota, 2006): 11 escape clips in 3 scenes.

The dataset is distributed as one or a few long videos (e.g. one file of all 11 clips); the
clips, their scenes and where the escape starts are not in any official machine-readable
file, so the user states them in a *boundary file* (option ``boundaries``; searched as
``boundaries.csv`` / ``boundaries.txt`` / ``umn_boundaries.csv`` in the root otherwise).

Boundary file: one clip per line, comma- or whitespace-separated, ``#`` comments, an
optional header line starting with ``scene``::

    scene  video                 start  end   anomaly_start  [split]
    lawn   Crowd-Activity-All.avi  1     625   530

``start``/``end`` delimit the clip in ``video`` (a path relative to the root), and
``anomaly_start`` is the first frame of the escape (``-1`` or ``none``: no anomaly); the
escape lasts to the clip's end. Frame numbers are 1-indexed with an inclusive end by
default (options ``one_indexed`` / ``inclusive``), as for the Subway annotation.

Protocol (per scene, as in the papers that report frame-level results on UMN, e.g.
Cong et al., CVPR 2011): train on the normal frames at the start of the scene, test on
the rest. Here: the scene's first clip (in file order) gives its first ``train_frames``
normal frames (default: its whole normal part) to the training split; the remainder of
that clip and every other clip of the scene are test segments. A line with an explicit
``split`` column (``train`` or ``test``) opts its scene out of that rule: the lines go
whole to the split they name (unmarked lines to test).

Every entry is a segment of a video: ``meta["frame_range"] = [start, end)`` in the
video's frames, which vadflow's decode must honour; label intervals are relative to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vadflow.data.adapters.common import half_open, probe_frame_count, resolve_in_root
from vadflow.data.manifest import Manifest, VideoEntry, register_adapter
from vadflow.errors import DataError

BOUNDARY_FILE_NAMES = ("boundaries.csv", "boundaries.txt", "umn_boundaries.csv")
COLUMNS = "scene video start end anomaly_start [split]"


@dataclass
class Clip:
    """One line of the boundary file, in 0-indexed [start, end) frames of its video."""

    scene: str
    video: Path
    start: int
    end: int
    anomaly_start: int | None
    split: str | None
    where: str


def read_boundaries(path: Path, root: Path, *, one_indexed: bool, inclusive: bool) -> list[Clip]:
    """Parse and check a UMN boundary file (see the module docstring for its format)."""
    if not path.is_file():
        raise DataError(f"UMN boundary file {path} does not exist", "give its path with the option boundaries")
    clips = []
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        fields = raw.split("#", 1)[0].replace(",", " ").split()
        if not fields or (not clips and fields[0].lower() == "scene"):
            continue
        where = f"{path}:{no}"
        if len(fields) not in (5, 6):
            raise DataError(f"{where}: expected the columns {COLUMNS}, found {raw.strip()!r}",
                            "see the template in docs/datasets.md")
        scene, video, start, end, anomaly = fields[:5]
        split = fields[5].lower() if len(fields) == 6 else None
        if split not in (None, "train", "test"):
            raise DataError(f"{where}: split {fields[5]!r} is neither train nor test",
                            "write train or test, or leave the column out")
        try:
            s, e = half_open(int(start), int(end), one_indexed=one_indexed, inclusive=inclusive, where=where)
            a = None if anomaly.lower() in ("-1", "none", "-") else int(anomaly) - (1 if one_indexed else 0)
        except ValueError:
            raise DataError(f"{where}: start, end and anomaly_start must be frame numbers, found {raw.strip()!r}",
                            "write integers (anomaly_start -1 when the clip has no anomaly)") from None
        if a is not None and not s <= a < e:
            raise DataError(f"{where}: anomaly_start {anomaly} lies outside the clip {start}..{end}",
                            "give the first frame of the escape, inside the clip")
        if split == "train" and a is not None:
            raise DataError(f"{where}: a clip with an anomaly is marked train",
                            "training segments must be normal: mark it test, or drop the split column")
        video_path = resolve_in_root(root, video)
        if not video_path.exists():
            raise DataError(f"{where}: video {video_path} does not exist",
                            "write the video's path relative to the dataset root")
        clips.append(Clip(scene, video_path, s, e, a, split, where))
    if not clips:
        raise DataError(f"UMN boundary file {path} lists no clip", f"write one line per clip: {COLUMNS}")
    by_video: dict[Path, list[Clip]] = defaultdict(list)
    for c in clips:
        by_video[c.video].append(c)
    for video_clips in by_video.values():
        video_clips = sorted(video_clips, key=lambda c: c.start)
        for a, b in zip(video_clips, video_clips[1:]):
            if b.start < a.end:
                raise DataError(f"{a.where} and {b.where}: the clips overlap in {a.video.name}",
                                "give each clip its own frames")
    return clips


def _segments(clips: list[Clip], train_frames: int | None):
    """(split, name, clip, start, end, cut at the anomaly) per segment, by the protocol of the module
    docstring; the last is True where the train / test boundary is the scene's first anomalous frame (a
    split made from the labels: the protocol cards say so)."""
    scenes: dict[str, list[Clip]] = defaultdict(list)
    for c in clips:
        scenes[c.scene].append(c)
    for scene, scene_clips in scenes.items():
        explicit = any(c.split for c in scene_clips)
        for k, c in enumerate(scene_clips, 1):
            name = f"{scene}_clip{k}"
            if explicit:
                split = c.split or "test"
                yield split, f"{name}_{split}", c, c.start, c.end, False
                continue
            if k > 1:
                yield "test", f"{name}_test", c, c.start, c.end, False
                continue
            normal_end = c.end if c.anomaly_start is None else c.anomaly_start
            cut = normal_end if train_frames is None else c.start + train_frames
            if not c.start < cut <= normal_end:
                raise DataError(
                    f"{c.where}: train_frames={train_frames} does not fit the {normal_end - c.start} normal frames at "
                    f"the start of scene {scene!r}",
                    "lower train_frames (it counts the training frames per scene)",
                )
            yield "train", f"{name}_train", c, c.start, cut, cut == normal_end
            if cut < c.end:
                yield "test", f"{name}_test", c, cut, c.end, cut == normal_end


@register_adapter("umn")
def discover_umn(
    dataset: str,
    root: Path,
    *,
    boundaries: str | None = None,
    train_frames: int | None = None,
    one_indexed: bool = True,
    inclusive: bool = True,
    check_lengths: bool = True,
    scene: str | None = None,
) -> Manifest:
    """Train/test segments per scene of the UMN videos, from the user's boundary file; ``scene``
    keeps one scene (the papers evaluate each scene on its own and average, e.g. AnomalyNet Table 6)."""
    root = Path(root)
    if boundaries is not None:
        path = resolve_in_root(root, boundaries)
    else:
        found = [root / n for n in BOUNDARY_FILE_NAMES if (root / n).is_file()]
        if not found:
            present = ", ".join(sorted(p.name for p in root.iterdir())) or "nothing"
            raise DataError(
                f"dataset {dataset!r}: the UMN layout expects a boundary file ({' or '.join(BOUNDARY_FILE_NAMES)}) "
                f"in {root}; found {present}",
                f"write one line per clip ({COLUMNS}; template in docs/datasets.md) and set "
                f"datasets.{dataset}.options.boundaries to it",
            )
        path = found[0]
    clips = read_boundaries(path, root, one_indexed=one_indexed, inclusive=inclusive)
    if scene is not None:
        scenes = sorted({c.scene for c in clips})
        clips = [c for c in clips if c.scene == scene]
        if not clips:
            raise DataError(f"dataset {dataset!r}: {path} has no clip of scene {scene!r}",
                            f"set datasets.{dataset}.options.scene to one of {', '.join(scenes)}")
    if check_lengths:  # a probed count is an estimate: one second of slack; decode checks the exact count
        for video in dict.fromkeys(c.video for c in clips if c.video.is_file()):
            fps, estimate = probe_frame_count(video)
            last = max(c.end for c in clips if c.video == video)
            if estimate is not None and last > estimate + round(fps):
                raise DataError(
                    f"dataset {dataset!r}: {path} puts a clip up to frame {last - 1} (0-indexed) of {video.name}, "
                    f"which has about {estimate} frames",
                    "check the boundary file's frame numbers and its one_indexed / inclusive options",
                )
    videos = []
    for split, name, clip, start, end, from_labels in _segments(clips, train_frames):
        intervals = []
        if split == "test" and clip.anomaly_start is not None and clip.anomaly_start < end:
            intervals = [[max(clip.anomaly_start, start) - start, end - start]]
        videos.append(VideoEntry(
            split, name, str(clip.video.resolve()),
            label_intervals=intervals if split == "test" else None,
            n_frames=end - start,
            video_label=int(bool(intervals)),
            meta={"frame_range": [start, end], "start_frame": start, "end_frame": end, "scene": clip.scene,
                  "boundaries": str(path.resolve()),
                  **({"split_from_labels": f"scene {clip.scene}: training ends at its first anomalous frame "
                                           f"({clip.anomaly_start}), the test part starts there"} if from_labels else {})},
        ))  # fmt: skip
    if not any(v.split == "test" for v in videos):
        raise DataError(f"dataset {dataset!r}: {path} leaves no test segment",
                        "mark some clips test, or lower train_frames")
    return Manifest(dataset, "umn", str(root.resolve()), videos)
