"""UCSD Anomaly Detection Dataset, Ped1 and Ped2 (Mahadevan et al., CVPR 2010).

Two layouts are recognised (option ``layout``: ``auto`` | ``official`` | ``frames``)::

    official, as the UCSD archive unpacks (root = UCSDped1/ or UCSDped2/):
      Train/Train001/001.tif ...     normal training clips (TIFF frames)
      Test/Test001/001.tif ...       test clips
      Test/Test004_gt/001.bmp ...    pixel masks of some test clips (.png in some copies)
      Test/UCSDped1.m                frame-level ground truth: ``TestVideoFile{end+1}.gt_frame = [61:180];``

    frames, as redistributed with many public VAD code bases (root = ped2/):
      training/frames/01/000.jpg ...
      testing/frames/01/000.jpg ...
      ped2.mat                       ``gt``: 1xN cell of [start; end] columns, 1-indexed, inclusive

Frame labels (option ``gt``: ``auto`` | ``m`` | ``mat``) come by default from the official
``UCSDpedN.m`` wherever one is found (``Test/``, the root, or ``UCSDpedN/Test/``): it is the
annotation the dataset's authors published; ``pedN.mat`` is a later transcription. Pixel masks
come from the official ``TestNNN_gt`` folders wherever they are found, in either layout, matched
to test clip k by number. Annotation entry k belongs to the test clip numbered k.

Stray files (``.DS_Store``, ``Thumbs.db``, ``._*`` AppleDouble files) are ignored when listing
clips; a hidden ``._*`` file with an image extension inside a frame folder is reported, because
the decoder would read it as a frame.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from vadflow.data.adapters.common import listing
from vadflow.data.decode import list_frame_files, natural_key
from vadflow.data.manifest import Manifest, VideoEntry, intervals_to_labels, load_mat, register_adapter
from vadflow.errors import DataError

LAYOUTS = ("auto", "official", "frames")
GT_SOURCES = ("auto", "m", "mat")

_M_FILE = re.compile(r"ucsdped\d*\.m$", re.IGNORECASE)
_MAT_FILE = re.compile(r"ped\d*\.mat$", re.IGNORECASE)
_GT_ENTRY = re.compile(r"TestVideoFile\s*\{\s*([^}]*?)\s*\}\s*\.\s*gt_frame\s*=\s*\[([^\]]*)\]")
_MASK_DIR = re.compile(r"Test(\d+)_gt$", re.IGNORECASE)


def frames_to_intervals(frames_1based: list[int] | set[int]) -> list[list[int]]:
    """Sorted 1-indexed frame numbers -> [start, end) 0-indexed runs (the manifest's convention)."""
    intervals: list[list[int]] = []
    for f in sorted(set(frames_1based)):
        if intervals and intervals[-1][1] == f - 1:
            intervals[-1][1] = f
        else:
            intervals.append([f - 1, f])
    return intervals


def _matlab_indices(body: str, where: str) -> list[int]:
    """Frame numbers of a MATLAB index vector such as ``61:180`` or ``1:15, 45:113`` (or ``a:step:b``)."""
    body = re.sub(r"\s*:\s*", ":", body.strip())
    frames: list[int] = []
    for token in (t for t in re.split(r"[\s,;]+", body) if t):
        parts = token.split(":")
        if len(parts) > 3 or not all(re.fullmatch(r"\d+", p) for p in parts):
            raise DataError(f"{where}: cannot read {token!r} as a MATLAB frame range", "use ranges such as [61:180]")
        nums = [int(p) for p in parts]
        start, step, stop = (nums[0], 1, nums[-1]) if len(nums) < 3 else nums
        if start < 1 or step < 1:
            raise DataError(f"{where}: frame range {token!r} starts below frame 1", "UCSD frame numbers are 1-indexed")
        frames.extend(range(start, stop + 1, step))
    return frames


def parse_gt_m(path: str | Path) -> list[list[list[int]]]:
    """The official ``UCSDpedN.m``: per test clip (in file order), its anomalous [start, end) intervals."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise DataError(f"ground truth {path} cannot be read: {exc}", "re-copy the file from the UCSD archive") from exc
    text = re.sub(r"%[^\n]*", "", text)  # MATLAB comments
    entries: dict[int, list[list[int]]] = {}
    for n, match in enumerate(_GT_ENTRY.finditer(text), 1):
        index, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        where = f"{path}, line {line}"
        if index.replace(" ", "") == "end+1":
            k = len(entries) + 1
        elif index.isdigit():
            k = int(index)
        else:
            raise DataError(
                f"{where}: cannot read the index {{{index}}}", "use TestVideoFile{end+1} or TestVideoFile{k}"
            )
        entries[k] = frames_to_intervals(_matlab_indices(body, where))
    if not entries:
        raise DataError(
            f"ground truth {path} holds no 'TestVideoFile{{...}}.gt_frame = [...]' entries",
            "give the UCSDpedN.m file of the dataset's Test folder",
        )
    if sorted(entries) != list(range(1, len(entries) + 1)):
        raise DataError(f"{path}: the test clip numbers {sorted(entries)} have gaps", "number the entries 1..N")
    return [entries[k] for k in range(1, len(entries) + 1)]


def parse_gt_mat(path: str | Path) -> list[list[list[int]]]:
    """``pedN.mat`` (variable ``gt``: a cell per test clip of [start; end] columns, 1-indexed, inclusive)."""
    mat = load_mat(path)
    if "gt" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"{path} has no variable 'gt' (found {found})", "give the pedN.mat of the frames layout")
    per_clip: list[list[list[int]]] = []
    for k, cell in enumerate(np.asarray(mat["gt"], dtype=object).reshape(-1), 1):
        ranges = np.asarray(cell)
        if ranges.size == 0:
            per_clip.append([])
            continue
        if ranges.ndim != 2 or ranges.shape[0] != 2:
            raise DataError(
                f"{path}: gt{{{k}}} has shape {ranges.shape}, not 2 x K ([start; end] columns)",
                "give the pedN.mat of the frames layout",
            )
        frames: list[int] = []
        for start, end in ranges.T.astype(int):
            if not 1 <= start <= end:
                raise DataError(
                    f"{path}: gt{{{k}}} holds the range {start}..{end}", "frames are 1-indexed, start <= end"
                )
            frames.extend(range(start, end + 1))
        per_clip.append(frames_to_intervals(frames))
    return per_clip


def count_frames(folder: Path) -> int:
    """Number of frames the decoder will read from a frame folder (stray ``._*`` images are an error)."""
    files = list_frame_files(folder)
    hidden = [f.name for f in files if f.name.startswith(".")]
    if hidden:
        raise DataError(
            f"frame folder {folder} holds hidden files with an image extension ({', '.join(hidden[:3])}"
            f"{', ...' if len(hidden) > 3 else ''}), which would be read as frames",
            f"delete these macOS metadata files, e.g. find {folder.parent} -name '._*' -delete",
        )
    return len(files)


def _clip_number(name: str, folder: Path) -> int:
    digits = re.findall(r"\d+", name)
    if not digits:
        raise DataError(
            f"test clip folder {folder / name} has no number in its name",
            "name the test clips by number (Test001 or 01): annotation entry k belongs to clip k",
        )
    return int(digits[-1])


def _clip_folders(folder: Path, pattern: re.Pattern) -> list[Path]:
    """Sub-folders of ``folder`` whose names match ``pattern`` (hidden and stray entries skipped)."""
    found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and pattern.fullmatch(p.name)]
    return sorted(found, key=lambda p: natural_key(p.name))


def _detect_layout(dataset: str, root: Path, layout: str) -> str:
    official = (root / "Train").is_dir() and (root / "Test").is_dir()
    frames = (root / "training" / "frames").is_dir() and (root / "testing" / "frames").is_dir()
    expected = (
        "the official layout (Train/Train001/*.tif, Test/Test001/*.tif, Test/UCSDpedN.m) or the frames layout "
        "(training/frames/01/*.jpg, testing/frames/01/*.jpg, pedN.mat)"
    )
    if layout == "official" and not official:
        raise DataError(
            f"dataset {dataset!r}: {root} is not in the official UCSD layout (expected Train/ and Test/; "
            f"found {listing(root)})",
            "point the root at UCSDped1/ or UCSDped2/, or set options.layout: frames",
        )
    if layout == "frames" and not frames:
        raise DataError(
            f"dataset {dataset!r}: {root} is not in the UCSD frames layout (expected training/frames/ and "
            f"testing/frames/; found {listing(root)})",
            "point the root at the folder that holds training/ and testing/, or set options.layout: official",
        )
    if layout != "auto":
        return layout
    if official and frames:
        raise DataError(
            f"dataset {dataset!r}: {root} holds both the official (Train/, Test/) and the frames (training/, testing/) "
            "layout",
            "choose one with options.layout: official or options.layout: frames",
        )
    if official or frames:
        return "official" if official else "frames"
    sets = sorted(p.name for p in root.glob("UCSDped*") if p.is_dir())
    hint = (
        f"point the root at one of {', '.join(str(root / s) for s in sets)}"
        if sets
        else "point the root at your copy of UCSD Ped1 or Ped2"
    )
    raise DataError(
        f"dataset {dataset!r}: {root} is not a UCSD dataset: expected {expected}; found {listing(root)}", hint
    )


def _official_test_dirs(root: Path) -> list[Path]:
    """Where the official ground truth may lie: Test/ of the official layout, or UCSDpedN/Test/ beside the frames."""
    dirs = [root / "Test", *sorted(root.glob("UCSDped*/Test"))]
    return [d for d in dirs if d.is_dir()]


def _find_one(dataset: str, folders: list[Path], pattern: re.Pattern, what: str) -> Path | None:
    found = sorted({p for d in folders for p in d.iterdir() if p.is_file() and pattern.fullmatch(p.name)})
    if len(found) > 1:
        raise DataError(
            f"dataset {dataset!r}: several {what} files were found: {', '.join(map(str, found))}",
            "point the root at one UCSD set (Ped1 or Ped2), or remove the stray copy",
        )
    return found[0] if found else None


def _ground_truth(dataset: str, root: Path, gt: str) -> tuple[Path, list[list[list[int]]]]:
    m_file = _find_one(dataset, [root, *_official_test_dirs(root)], _M_FILE, "UCSDpedN.m") if gt != "mat" else None
    mat_file = _find_one(dataset, [root], _MAT_FILE, "pedN.mat") if gt != "m" and m_file is None else None
    if m_file is not None:
        return m_file, parse_gt_m(m_file)
    if mat_file is not None:
        return mat_file, parse_gt_mat(mat_file)
    wanted = {
        "m": "the official UCSDpedN.m (in Test/ or UCSDpedN/Test/)",
        "mat": "pedN.mat at the root",
        "auto": "the official UCSDpedN.m (in Test/ or UCSDpedN/Test/) or pedN.mat at the root",
    }[gt]
    raise DataError(
        f"dataset {dataset!r}: the frame-level ground truth is missing under {root}: expected {wanted}",
        "copy the ground-truth file that came with the dataset there, or change options.gt",
    )


def _mask_folders(dataset: str, root: Path) -> dict[int, Path]:
    """Official pixel-mask folders (TestNNN_gt) by clip number."""
    holders = [d for d in _official_test_dirs(root) if _clip_folders(d, _MASK_DIR)]
    if len(holders) > 1:
        raise DataError(
            f"dataset {dataset!r}: pixel masks (TestNNN_gt) were found in several folders: "
            f"{', '.join(map(str, holders))}",
            "point the root at one UCSD set (Ped1 or Ped2)",
        )
    if not holders:
        return {}
    return {int(_MASK_DIR.fullmatch(p.name).group(1)): p for p in _clip_folders(holders[0], _MASK_DIR)}


@register_adapter("ucsd")
def discover_ucsd(dataset: str, root: str | Path, layout: str = "auto", gt: str = "auto") -> Manifest:
    """List the clips of UCSD Ped1 or Ped2 with frame labels, pixel masks and frame counts, checked
    against each other at discovery, so that a mismatched copy fails before any decoding."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise DataError(
            f"dataset {dataset!r}: options.layout {layout!r} is not known", f"use one of {', '.join(LAYOUTS)}"
        )
    if gt not in GT_SOURCES:
        raise DataError(f"dataset {dataset!r}: options.gt {gt!r} is not known", f"use one of {', '.join(GT_SOURCES)}")
    if not root.is_dir():
        raise DataError(
            f"dataset {dataset!r}: root {root} does not exist or is not a folder",
            f"set datasets.{dataset}.root to your copy of UCSD Ped1 or Ped2",
        )
    layout = _detect_layout(dataset, root, layout)
    if layout == "official":
        train_dir, test_dir = root / "Train", root / "Test"
        train_pattern, test_pattern = re.compile(r"Train\d+", re.I), re.compile(r"Test\d+", re.I)
    else:
        train_dir, test_dir = root / "training" / "frames", root / "testing" / "frames"
        train_pattern = test_pattern = re.compile(r".+")
    gt_file, per_clip = _ground_truth(dataset, root, gt)
    masks = _mask_folders(dataset, root)

    videos: list[VideoEntry] = []
    for split, folder, pattern in (("train", train_dir, train_pattern), ("test", test_dir, test_pattern)):
        counts = {clip: count_frames(clip) for clip in _clip_folders(folder, pattern)}
        clips = [clip for clip, n in counts.items() if n > 0]
        if not clips:
            raise DataError(
                f"dataset {dataset!r}: {folder} holds no clip folders with frames (found {listing(folder)})",
                "check that the dataset was unpacked completely",
            )
        for clip in clips:
            videos.append(VideoEntry(split, clip.name, str(clip.resolve()), n_frames=counts[clip], video_label=0))

    tests = {_clip_number(v.name, test_dir): v for v in videos if v.split == "test"}
    if len(tests) != len(per_clip) or sorted(tests) != list(range(1, len(per_clip) + 1)):
        missing = [k for k in range(1, len(per_clip) + 1) if k not in tests]
        extra = [tests[k].name for k in sorted(tests) if not 1 <= k <= len(per_clip)]
        details = [f"no clip numbered {missing}"] if missing else []
        details += [f"not annotated: {extra}"] if extra else []
        detail = "; ".join(details)
        raise DataError(
            f"dataset {dataset!r}: {gt_file} annotates {len(per_clip)} test clips but {test_dir} holds {len(tests)} "
            f"({detail})",
            "use the ground-truth file of this UCSD set, and check that no test clip is missing",
        )
    orphans = sorted(set(masks) - set(tests))
    if orphans:
        raise DataError(
            f"dataset {dataset!r}: pixel masks {[str(masks[k]) for k in orphans]} match no test clip "
            f"(clips are numbered 1..{len(tests)})",
            "remove them, or use the masks of this UCSD set",
        )
    for k, video in sorted(tests.items()):
        intervals = per_clip[k - 1]
        intervals_to_labels(intervals, video.n_frames, f"{gt_file}, entry {k} (test clip {video.source})")
        video.label_intervals = intervals
        video.video_label = int(bool(intervals))
        if k in masks:
            n_masks = count_frames(masks[k])
            if n_masks != video.n_frames:
                raise DataError(
                    f"dataset {dataset!r}: test clip {video.name} ({video.source}) has {video.n_frames} frames but its "
                    f"pixel masks {masks[k]} hold {n_masks}",
                    "check that the masks belong to this clip and that neither folder is incomplete",
                )
            video.masks = str(masks[k].resolve())
        video.meta = {"ground_truth": str(gt_file.resolve())}
    return Manifest(dataset, "ucsd", str(root.resolve()), videos)
