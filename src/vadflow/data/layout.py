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

from pathlib import Path
from typing import Any

from vadflow.data.decode import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_key
from vadflow.data.manifest import (  # noqa: F401 (the manifest's names, read from here by the workflow and tests)
    ADAPTERS,
    SPLITS,
    Manifest,
    VideoEntry,
    intervals_to_labels,
    labels_to_intervals,
    load_labels,
    load_masks,
    load_mat,
    load_mat_masks,
    read_categories_csv,
    register_adapter,
)
from vadflow.errors import DataError

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


ADAPTERS.update({
    "generic": discover_generic,
    "synthetic": discover_generic,  # the generators write the generic layout
})


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
