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
    with pytest.raises(DataError, match="v9.npy.*match no test video"):
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
