"""Shards: consecutive videos of a split, up to a frame budget, that one workflow job decodes (or
extracts features of) together.

A job costs a process start (Python, Snakemake's script preamble, torch and a backbone for
features) before any work; with one job per video, 120 twenty-frame sequences pay it 120 times.
Grouping by frames keeps the cost per frame low while a real video (thousands of frames) is
still one job, and a cluster still gets parallel jobs. Every store keeps its own path
(``work/<dataset>/frames/<split>/<video>.zarr``) and content: a shard only decides which job
writes it. The job's own output is a small JSON file listing the stores it wrote.

Frame counts come from the manifest: the annotation's count where it states one, else the
count ``probe_frame_counts`` measured when the videos were listed (``meta["frames"]``); a video
of unknown length is a shard of its own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vadflow.data.layout import Manifest, VideoEntry

#: the default frame budget of one shard (config: ``shard_frames``)
SHARD_FRAMES = 2000


def frame_count(entry: VideoEntry) -> int | None:
    """The video's frame count as far as the manifest knows it."""
    if entry.meta.get("frame_range"):
        start, end = entry.meta["frame_range"]
        if end is not None:
            return int(end) - int(start)
    if entry.n_frames is not None:
        return int(entry.n_frames)
    frames = entry.meta.get("frames")
    return int(frames) if frames is not None else None


def anomalous_training(entry: VideoEntry) -> bool:
    """A training video that only the weakly and fully supervised regimes train on."""
    return entry.split == "train" and bool(entry.video_label)


def probe_frame_counts(manifest: Manifest) -> Manifest:
    """The manifest with ``meta["frames"]`` set to each video's frame count (files of a frame
    folder, or duration x frame rate from the container) where nothing else states it."""
    from vadflow.data.decode import _FrameInput
    from vadflow.errors import DataError

    videos = []
    for v in manifest.videos:
        if frame_count(v) is None:
            inp = _FrameInput(Path(v.source), 10.0)
            try:
                info = inp.probe()
                n = inp.n_files or (round(info.duration_s * info.fps) if info.duration_s and info.fps else None)
            except DataError:
                n = None  # decoding will say what is wrong with the file
            finally:
                inp.close()
            if n:
                v = dataclasses.replace(v, meta={**v.meta, "frames": int(n)})
        videos.append(v)
    return dataclasses.replace(manifest, videos=videos)


def plan_shards(entries: list[VideoEntry], max_frames: int = SHARD_FRAMES) -> dict[str, list[VideoEntry]]:
    """{shard id: videos}: consecutive videos (in manifest order) packed greedily until the next
    would take the shard past ``max_frames``; a video of unknown length, or longer than the
    budget, is a shard of its own. Anomalous training videos are packed after the others and
    never share a shard with them, so that an unsupervised method's frames and features wait
    for (and compute) only the normal videos it trains on. Ids are "000", "001", ... per split."""
    shards: list[list[VideoEntry]] = []
    for group in (False, True):
        total = max_frames  # a group starts a shard of its own
        for v in (e for e in entries if anomalous_training(e) == group):
            n = frame_count(v)
            if n is None or n >= max_frames:
                shards.append([v])
                total = max_frames  # nothing joins a full shard
                continue
            if total + n > max_frames:
                shards.append([])
                total = 0
            shards[-1].append(v)
            total += n
    return {f"{i:03d}": s for i, s in enumerate(shards)}
