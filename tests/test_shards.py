"""Shards: consecutive short videos share a decode / feature job up to a frame budget."""

from __future__ import annotations

import dataclasses

from vadflow.data.layout import Manifest, VideoEntry
from vadflow.data.shards import frame_count, plan_shards, probe_frame_counts


def _v(name: str, frames: int | None = None, **meta) -> VideoEntry:
    if frames is not None:
        meta["frames"] = frames
    return VideoEntry("train", name, f"/x/{name}.mp4", meta=meta)


def test_plan_packs_consecutive_videos_up_to_the_budget():
    videos = [_v(f"s{i}", 20) for i in range(7)]
    shards = plan_shards(videos, max_frames=60)
    assert {k: [v.name for v in vs] for k, vs in shards.items()} == {
        "000": ["s0", "s1", "s2"], "001": ["s3", "s4", "s5"], "002": ["s6"]}


def test_long_or_unknown_videos_are_shards_of_their_own():
    videos = [_v("a", 10), _v("long", 500), _v("b", 10), _v("unknown"), _v("c", 10), _v("d", 10)]
    shards = plan_shards(videos, max_frames=100)
    assert [[v.name for v in vs] for vs in shards.values()] == [["a"], ["long"], ["b"], ["unknown"], ["c", "d"]]


def test_frame_counts_from_annotation_range_or_probe(tmp_path):
    from conftest import moving_square
    from vadflow.data.encode import write_mp4

    assert frame_count(VideoEntry("test", "x", "/x", n_frames=33)) == 33
    assert frame_count(_v("r", frame_range=[100, 140])) == 40
    write_mp4(moving_square(12), tmp_path / "v.mp4", fps=10)
    m = probe_frame_counts(Manifest("d", "generic", str(tmp_path), [VideoEntry("train", "v", str(tmp_path / "v.mp4"))]))
    assert frame_count(m.videos[0]) == 12


def test_anomalous_training_videos_get_shards_of_their_own():
    """An unsupervised method waits only for the shards of the normal training videos."""
    videos = [_v("n0", 10), dataclasses.replace(_v("a0", 10), video_label=1), _v("n1", 10),
              dataclasses.replace(_v("a1", 10), video_label=1)]
    shards = plan_shards(videos, max_frames=100)
    assert [[v.name for v in vs] for vs in shards.values()] == [["n0", "n1"], ["a0", "a1"]]
    test = [dataclasses.replace(v, split="test") for v in videos]
    assert [[v.name for v in vs] for vs in plan_shards(test, max_frames=100).values()] == [["n0", "a0", "n1", "a1"]]
