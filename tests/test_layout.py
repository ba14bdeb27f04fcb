"""The generic dataset layout: discovery, annotation checks, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vadflow.data.layout import Manifest, discover, load_labels, load_masks
from vadflow.data.pipeline import decode_manifest_entry, list_videos
from vadflow.data.store import FrameStore
from vadflow.errors import DataError


def test_discover_generic(generic_dataset: Path, tmp_path: Path):
    m = list_videos("ds", "generic", generic_dataset, tmp_path / "manifest.json")
    assert [v.name for v in m.split("train")] == ["t0", "t1"]
    assert [v.name for v in m.split("test")] == ["v0", "v1"]
    v0 = m.get("test", "v0")
    assert v0.labels.endswith("v0.npy") and v0.masks.endswith("v0.npz")
    assert m.get("test", "v1").masks is None
    again = Manifest.read(tmp_path / "manifest.json")
    assert again == m


def test_decode_entry_with_annotations(generic_dataset: Path, tmp_path: Path):
    list_videos("ds", "generic", generic_dataset, tmp_path / "m.json")
    decode_manifest_entry(tmp_path / "m.json", "test", "v0", tmp_path / "v0.zarr", {"height": 24, "width": 32})
    s = FrameStore(tmp_path / "v0.zarr")
    assert s.labels.sum() == 12 and s.masks.shape == (24, 24, 32)
    assert s.attrs["dataset"] == "ds" and s.attrs["split"] == "test"


def test_missing_root(tmp_path: Path):
    with pytest.raises(DataError, match="does not exist") as e:
        discover("mine", "generic", tmp_path / "nowhere")
    assert "datasets.mine.root" in str(e.value)


def test_unrecognised_layout(tmp_path: Path):
    (tmp_path / "Train").mkdir()
    with pytest.raises(DataError, match="expects train/ and test/; found Train"):
        discover("mine", "generic", tmp_path)


def test_labels_matching_no_video(generic_dataset: Path):
    np.save(generic_dataset / "labels" / "v9.npy", np.zeros(3))
    with pytest.raises(DataError, match="v9.npy.*match no video"):
        discover("ds", "generic", generic_dataset)


def test_test_video_without_labels(generic_dataset: Path):
    (generic_dataset / "labels" / "v1.npy").unlink()
    with pytest.raises(DataError, match="v1.mp4 has no frame labels"):
        discover("ds", "generic", generic_dataset)


def test_unknown_adapter(generic_dataset: Path):
    with pytest.raises(DataError, match="unknown adapter"):
        discover("ds", "nosuch", generic_dataset)


def test_label_and_mask_files(tmp_path: Path):
    (tmp_path / "a.txt").write_text("0\n1\n1\n")
    assert load_labels(tmp_path / "a.txt").tolist() == [0, 1, 1]
    (tmp_path / "b.txt").write_text("0\n2\n")
    with pytest.raises(DataError, match="other than 0 and 1"):
        load_labels(tmp_path / "b.txt")
    (tmp_path / "c.npy").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot be read"):
        load_labels(tmp_path / "c.npy")
    np.savez(tmp_path / "m.npz", masks=np.ones((2, 4, 4)))
    assert load_masks(tmp_path / "m.npz").dtype == bool


def test_labelled_training_videos_and_categories(generic_dataset: Path):
    """Anomalous training videos (weak / full supervision): labels name them, categories.csv classes them."""
    from vadflow.data.layout import discover_generic

    train = [p.stem for p in sorted((generic_dataset / "train").iterdir())]
    test = [p.stem for p in sorted((generic_dataset / "test").iterdir())]
    n = len(np.load(generic_dataset / "labels" / f"{test[0]}.npy"))
    np.save(generic_dataset / "labels" / f"{train[0]}.npy", np.r_[np.zeros(n - 3), np.ones(3)].astype(np.uint8))
    (generic_dataset / "categories.csv").write_text(f"video,category\n{train[0]},cyclist\n{test[0]},cart\n")
    m = discover_generic("ds", generic_dataset)
    first, second = m.get("train", train[0]), m.get("train", train[1])
    assert first.video_label == 1 and first.labels and first.category == "cyclist"
    assert second.video_label == 0 and second.labels is None  # unlabelled: normal
    assert m.get("test", test[0]).category == "cart"
    (generic_dataset / "categories.csv").write_text("nosuch,cart\n")
    with pytest.raises(DataError, match="categories.csv:1: video 'nosuch' is not in train/ or test/"):
        discover_generic("ds", generic_dataset)


def test_resplit_by_fraction_and_by_lists(tmp_path: Path):
    """datasets.<name>.split: half of each of normal and anomalous videos to test (floor), seeded; or the
    videos a list names; unknown keys and a list naming a missing video are clear errors."""
    from vadflow.data.layout import VideoEntry
    from vadflow.data.splits import resplit

    videos = [VideoEntry("train", f"n{i}", f"/n{i}") for i in range(5)]
    videos += [VideoEntry("test", f"a{i}", f"/a{i}", label_intervals=[[0, 2]]) for i in range(4)]
    m = Manifest("ds", "generic", str(tmp_path), videos)
    out = resplit(m, {"test_fraction": 0.5, "seed": 3})
    test = out.split("test")
    assert len(test) == 2 + 2 and sum(v.video_label for v in test) == 2
    assert all(v.meta["official_split"] in ("train", "test") for v in out.videos)
    assert resplit(m, {"test_fraction": 0.5, "seed": 3}) == out
    (tmp_path / "test.txt").write_text("a0\nn0\n")
    listed = resplit(m, {"test_list": "test.txt"})
    assert sorted(v.name for v in listed.split("test")) == ["a0", "n0"] and len(listed.split("train")) == 7
    with pytest.raises(DataError, match="unknown key"):
        resplit(m, {"fraction": 0.5})
    (tmp_path / "bad.txt").write_text("zz\n")
    with pytest.raises(DataError, match="names 1 videos that were not found: zz"):
        resplit(m, {"test_list": str(tmp_path / "bad.txt")})
