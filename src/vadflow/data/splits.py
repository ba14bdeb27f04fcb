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

from vadflow.data.layout import Manifest, VideoEntry
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
