"""Deterministic train/test splits, for datasets whose protocol fixes none (LAD without its
split files) and for the standard split lists of those that do (UCF-Crime's
Anomaly_Train.txt / Anomaly_Test.txt).

The three supervision regimes of the LAD paper (Wan et al., Table 2) share one test set, so
results are comparable across regimes: ``make_split`` picks the test set by stratified
sampling, independent of the regime, and only then filters the training videos as
``vadflow.data.supervision.apply_supervision`` does.

Sampling uses one numpy Generator per group, seeded from (seed, group name): a group's
choice depends neither on the order of the entries nor on which other groups exist.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Callable, Hashable, Iterable, Mapping

import numpy as np

from vadflow.data.manifest import Manifest, VideoEntry
from vadflow.errors import DataError

Group = Hashable


def category_group(entry: VideoEntry) -> tuple[str, int]:
    """(category, video label): the stratum of LAD's test set (20 abnormal + 20 normal per category).

    Normal videos are grouped with the category they were filed under (``meta["scene_category"]``).
    """
    category = entry.meta.get("scene_category") or entry.category or ""
    return str(category), int(bool(entry.video_label))


def per_category_counts(categories: Iterable[str], abnormal: int, normal: int) -> dict[Group, int]:
    """Counts for ``stratified_split`` with ``category_group``: ``abnormal`` and ``normal`` per category."""
    counts: dict[Group, int] = {}
    for c in categories:
        counts[(c, 1)] = abnormal
        counts[(c, 0)] = normal
    return counts


def _generator(seed: int, group: Group) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(repr(group).encode())])


def stratified_split(
    entries: list[VideoEntry],
    counts: Mapping[Group, int],
    seed: int,
    *,
    group: Callable[[VideoEntry], Group] = category_group,
) -> tuple[list[VideoEntry], list[VideoEntry]]:
    """(chosen, rest): ``counts[g]`` entries drawn at random from each group ``g``.

    Groups absent from ``counts`` go wholly to ``rest``. Both lists keep the input order.
    """
    members: dict[Group, list[VideoEntry]] = defaultdict(list)
    for e in entries:
        members[group(e)].append(e)
    chosen_ids: set[int] = set()
    for g, k in counts.items():
        pool = sorted(members.get(g, []), key=lambda e: (e.name, e.source))
        if k > len(pool):
            raise DataError(
                f"group {g!r} has {len(pool)} videos but the split asks for {k}",
                "lower the per-category test counts, or check that all videos of that category were found",
            )
        picks = _generator(seed, g).permutation(len(pool))[:k]
        chosen_ids.update(id(pool[i]) for i in picks)
    chosen = [e for e in entries if id(e) in chosen_ids]
    rest = [e for e in entries if id(e) not in chosen_ids]
    return chosen, rest


def with_split(entries: Iterable[VideoEntry], split: str) -> list[VideoEntry]:
    return [dataclasses.replace(e, split=split) for e in entries]


def make_split(
    entries: list[VideoEntry],
    regime: str,
    seed: int,
    counts: Mapping[Group, int],
    *,
    group: Callable[[VideoEntry], Group] = category_group,
    dataset: str = "dataset",
) -> list[VideoEntry]:
    """Test set by ``stratified_split`` (the same for every regime), the rest as training videos
    filtered for ``regime`` (unsupervised / weakly / fully, see vadflow.data.supervision)."""
    from vadflow.data.supervision import apply_supervision

    test, train = stratified_split(entries, counts, seed, group=group)
    manifest = Manifest(dataset, "split", "", with_split(train, "train") + with_split(test, "test"))
    return apply_supervision(manifest, regime).videos


def read_split_list(path: Path) -> list[str]:
    """Lines of a split file (e.g. UCF-Crime's Anomaly_Test.txt), without blanks and ``#`` comments."""
    if not path.is_file():
        raise DataError(f"split list {path} does not exist", "give the path of the dataset's split file")
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln]


def split_by_names(
    entries: list[VideoEntry],
    test_names: Iterable[str],
    train_names: Iterable[str] | None = None,
    *,
    where: str = "split list",
) -> list[VideoEntry]:
    """Entries named in ``test_names`` become test videos, the others train (only those in
    ``train_names`` when given). A name that matches no entry is an error."""
    by_name = {e.name: e for e in entries}
    test_set = list(dict.fromkeys(test_names))
    train_set = None if train_names is None else list(dict.fromkeys(train_names))
    for names in (test_set, train_set or []):
        missing = [n for n in names if n not in by_name]
        if missing:
            raise DataError(
                f"{where} names {len(missing)} videos that were not found: {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''}",
                "check the dataset root (are all videos there?) and that the list belongs to this dataset",
            )
    both = set(test_set) & set(train_set or [])
    if both:
        raise DataError(f"{where}: {len(both)} videos are both train and test: {', '.join(sorted(both)[:5])}",
                        "each video belongs to one split")
    out = [dataclasses.replace(by_name[n], split="test") for n in test_set]
    rest = train_set if train_set is not None else [e.name for e in entries if e.name not in set(test_set)]
    out += [dataclasses.replace(by_name[n], split="train") for n in rest]
    return out


# --- a dataset's split replaced (Wan et al.'s reorganised splits) ------------------------------------

SPLIT_KEYS = ("test_fraction", "seed", "test_list", "train_list")


def entry_video_label(entry: VideoEntry) -> int:
    """1 if the video holds an anomaly: its stated video label, else its frame annotation; a video
    without either (the official training videos of UCSD, Avenue, ...) is normal."""
    from vadflow.data.manifest import load_labels

    if entry.video_label is not None:
        return int(bool(entry.video_label))
    if entry.label_intervals is not None:
        return int(bool(entry.label_intervals))
    if entry.labels:
        return int(load_labels(entry.labels).any())
    return 0


def resplit(manifest: Manifest, split: Mapping[str, object], where: str = "split") -> Manifest:
    """The manifest with its train/test split replaced, every video's label made explicit and its
    original split kept in ``meta["official_split"]``:

    * ``{test_fraction: 0.5, seed: 0}``: Wan et al.'s reorganised splits of Avenue and UCSD Ped2
      (Table 2: "randomly select 50 % of the videos for training"), drawn separately among normal and
      anomalous videos so both halves have both: ``floor(n · test_fraction)`` of each go to test. On
      Ped2 (16 normal + 12 anomalous) that is 14 / 14 with 8 normal training videos, on Avenue
      (16 + 21) 19 / 18 with 8: the U / W / F counts of Table 2.
    * ``{test_list: FILE, train_list: FILE}``: the videos named in the lists (e.g. Zhong et al.'s
      ShanghaiTech split, 238 / 199); without ``train_list`` every other video trains.

    Where a name occurs in both official splits (UCSD's Train001 and Test001 are both ``01``), every
    video is renamed ``<official split>_<name>`` (``test_01``), the old name kept in
    ``meta["official_name"]``; split lists then use the new names.
    """
    unknown = sorted(set(split) - set(SPLIT_KEYS))
    if unknown:
        raise DataError(f"{where}: unknown key(s) {', '.join(unknown)}", f"use {', '.join(SPLIT_KEYS)}")
    entries = [dataclasses.replace(e, video_label=entry_video_label(e), meta={**e.meta, "official_split": e.split})
               for e in manifest.videos]
    # a normal video without annotation (an official training video) may become a test video, which
    # needs frame labels: all normal
    entries = [dataclasses.replace(e, label_intervals=[])
               if not e.video_label and e.labels is None and e.label_intervals is None else e for e in entries]
    if len({e.name for e in entries}) < len(entries):  # UCSD: Train001 and Test001 are both "01"
        entries = [dataclasses.replace(e, name=f"{e.split}_{e.name}", meta={**e.meta, "official_name": e.name})
                   for e in entries]
    if "test_list" in split:
        if "test_fraction" in split:
            raise DataError(f"{where}: give test_fraction or test_list, not both", "a random split or a listed one")
        root = Path(manifest.root)
        lists = {k: (Path(str(split[k])) if Path(str(split[k])).is_absolute() else root / str(split[k]))
                 for k in ("test_list", "train_list") if k in split}
        train_names = read_split_list(lists["train_list"]) if "train_list" in lists else None
        videos = split_by_names(entries, read_split_list(lists["test_list"]), train_names, where=str(lists["test_list"]))
        return dataclasses.replace(manifest, videos=videos)
    fraction = float(split.get("test_fraction", 0.5))
    if not 0 < fraction < 1:
        raise DataError(f"{where}.test_fraction must be between 0 and 1, got {fraction}", "e.g. 0.5 (Wan et al.)")
    seed = int(split.get("seed", 0))
    sizes: dict[Group, int] = defaultdict(int)
    for e in entries:
        sizes[e.video_label] += 1
    counts = {g: int(n * fraction) for g, n in sizes.items()}
    test, train = stratified_split(entries, counts, seed, group=lambda e: e.video_label)
    return dataclasses.replace(manifest, videos=with_split(train, "train") + with_split(test, "test"))


def split_table(manifest: Manifest) -> str:
    """The split as CSV (video, split, official split, video label, category, source): what a reader
    checks, and what makes the split reproducible outside vadflow."""
    lines = ["video,split,official_split,video_label,category,source"]
    for e in manifest.videos:
        label = "" if e.video_label is None else str(int(e.video_label))
        lines.append(f"{e.name},{e.split},{e.meta.get('official_split', e.split)},{label},{e.category or ''},{e.source}")
    return "\n".join(lines) + "\n"
