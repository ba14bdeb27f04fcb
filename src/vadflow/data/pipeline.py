"""The data steps of the workflow, as functions of paths and config (the rules and CLI call these)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typing import Any

from vadflow.data.decode import DecodeSpec, decode_video
from vadflow.data.layout import Manifest, discover, intervals_to_labels, load_labels, load_masks


def list_videos(
    dataset: str,
    adapter: str,
    root: str | Path,
    out: str | Path,
    *,
    options: dict[str, Any] | None = None,
    split: dict[str, Any] | None = None,
    split_csv: str | Path | None = None,
) -> Manifest:
    """Discover a dataset's videos (every training video, with all its annotations: which of
    them a method trains on is its supervision regime's choice) and write its manifest; with
    ``split`` (config ``datasets.<name>.split``) the train/test split is replaced
    (``vadflow.data.splits.resplit``); ``split_csv`` gets the split as a table."""
    from vadflow.atomic import atomic_path
    from vadflow.data.shards import probe_frame_counts
    from vadflow.data.splits import resplit, split_table

    manifest = discover(dataset, adapter, root, options=options)
    if split:
        manifest = resplit(manifest, split, f"datasets.{dataset}.split")
    manifest = probe_frame_counts(manifest)
    if split_csv is not None:
        with atomic_path(split_csv) as tmp:
            tmp.write_text(split_table(manifest))
    manifest.write(out)
    return manifest


def decode_shard(
    manifest_path: str | Path, split: str, videos: list[str], stores: list[str | Path], out: str | Path,
    decode_cfg: dict[str, Any] | None,
) -> None:
    """Decode the videos of one shard (vadflow.data.shards), each into its own store; then write
    ``out``, the list of stores written (the job's output)."""
    import json

    from vadflow.atomic import atomic_path

    for video, store in zip(videos, stores, strict=True):
        decode_manifest_entry(manifest_path, split, video, store, decode_cfg)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps({"split": split, "videos": list(videos), "stores": [str(s) for s in stores]}, indent=1))


def decode_manifest_entry(
    manifest_path: str | Path, split: str, video: str, out: str | Path, decode_cfg: dict[str, Any] | None
) -> dict[str, Any]:
    """Decode one video of a manifest, with its labels and masks, into a frame store."""
    manifest = Manifest.read(manifest_path)
    entry = manifest.get(split, video)
    labels = load_labels(entry.labels) if entry.labels else None
    if entry.label_intervals is not None:
        labels = lambda n: intervals_to_labels(entry.label_intervals, n, entry.source)  # noqa: E731 (needs the count)
    elif entry.meta.get("frame_labels") == "video_label":  # every frame labelled as its video (UCF-Crime, Wan et al.)
        labels = lambda n: np.full(n, int(bool(entry.video_label)), np.uint8)  # noqa: E731
    masks = load_masks(entry.masks) if entry.masks else None
    extra = {"dataset": manifest.dataset, "split": split, "video": video, "adapter": manifest.adapter}
    extra.update({k: getattr(entry, k) for k in ("video_label", "category") if getattr(entry, k) is not None})
    if entry.meta.get("scene_category"):  # LAD: the category a normal video was filed under
        extra["scene_category"] = entry.meta["scene_category"]
    if entry.meta.get("split_from_labels"):  # UMN: a train/test boundary made from the labels (protocol cards)
        extra["split_from_labels"] = entry.meta["split_from_labels"]
    return decode_video(
        entry.source,
        out,
        DecodeSpec.from_dict(decode_cfg),
        labels=labels,
        masks=masks,
        expected_frames=entry.n_frames,
        frame_range=tuple(entry.meta["frame_range"]) if entry.meta.get("frame_range") else None,
        extra_attrs=extra,
    )
