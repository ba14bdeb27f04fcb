"""The feature stage: spec names, extraction into feature stores, and its errors."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, leftovers, moving_square
from vadflow.data.decode import DecodeSpec, decode_video
from vadflow.data.encode import write_mp4
from vadflow.config import read_config
from vadflow.errors import CheckpointError, ConfigError, DataError
from vadflow.features.extract import extract_features
from vadflow.features.spec import FeatureSpec, feature_spec, key_of, spec_id
from vadflow.features.store import FeatureStore


@pytest.fixture
def cfg():
    return read_config(REPO / "config" / "config.yaml")


def test_spec_id_follows_relevant_fields(cfg):
    base = spec_id(cfg, "effnet_spp")
    assert key_of(base) == "effnet_spp" and len(base.split("-")[-1]) == 8
    c = copy.deepcopy(cfg)
    c["features"]["effnet_spp"]["batch_size"] = 7  # no effect on values: same name
    assert spec_id(c, "effnet_spp") == base
    c["features"]["effnet_spp"]["input_size"] = 192  # a new computation: a new name
    assert spec_id(c, "effnet_spp") != base
    # ... which propagates to the specs built on it, and to no other
    assert spec_id(c, "effnet_tmax") != spec_id(cfg, "effnet_tmax")
    assert spec_id(c, "flow") == spec_id(cfg, "flow")


def test_kind_defaults_and_errors(cfg):
    assert feature_spec(cfg, "effnet_dynamic").window == 20 and feature_spec(cfg, "i3d_rgb").window == 16
    with pytest.raises(ConfigError, match="kind 'optical' is not known"):
        FeatureSpec(kind="optical")
    with pytest.raises(ConfigError, match="needs `source`"):
        FeatureSpec(kind="temporal_max")
    cfg["features"]["effnet_tmax"]["source"] = "nope"
    with pytest.raises(ConfigError, match="source names 'nope'"):
        feature_spec(cfg, "effnet_tmax")
    with pytest.raises(ConfigError, match="unknown key"):
        cfg["features"]["flow"]["flow_methd"] = "x"
        feature_spec(cfg, "flow")


@pytest.fixture(scope="module")
def frame_store(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("feat")
    write_mp4(moving_square(40, h=64, w=96), d / "v.mp4", fps=10)
    decode_video(d / "v.mp4", d / "v.zarr", DecodeSpec(color="rgb"))
    return d / "v.zarr"


def _spec(**kw):
    return FeatureSpec(**{"input_size": 64, "batch_size": 16, **kw})


def test_frame_features_spp(frame_store: Path, tmp_path: Path):
    extract_features(_spec(kind="frame"), "f-00000000", frame_store, tmp_path / "f.zarr", device="cpu")
    fs = FeatureStore(tmp_path / "f.zarr")
    assert fs.features.shape == (40, 21, 1280) and fs.features.dtype == np.float16
    assert fs.frame_index.tolist() == list(range(40))
    a = fs.attrs
    assert a["backbone"] == "efficientnet_lite0" and len(a["weights_sha256"]) == 64
    assert a["spec"]["pooling"] == "spp" and a["spec_id"] == "f-00000000"
    # cell 0 (the 1x1 level) is the max over the map, so it bounds the other 20 cells
    x = fs.read().astype(np.float32)
    assert np.all(x[:, 0] >= x[:, 1:].max(axis=1) - 1e-2)


def test_temporal_max_matches_in_memory(frame_store: Path, tmp_path: Path):
    extract_features(_spec(kind="frame", pooling="global"), "g", frame_store, tmp_path / "g.zarr", device="cpu")
    extract_features(_spec(kind="temporal_max", source="g", window=4), "t", tmp_path / "g.zarr", tmp_path / "t.zarr")
    g = FeatureStore(tmp_path / "g.zarr").read().astype(np.float32)
    t = FeatureStore(tmp_path / "t.zarr").read().astype(np.float32)
    expected = np.stack([g[max(0, i - 3) : i + 1].max(axis=0) for i in range(len(g))])
    assert np.allclose(t, expected, atol=1e-2)


def test_dynamic_image_features(frame_store: Path, tmp_path: Path):
    extract_features(_spec(kind="dynamic_image", window=8, stride=4, pooling="global"), "d", frame_store,
                     tmp_path / "d.zarr", device="cpu")
    fs = FeatureStore(tmp_path / "d.zarr")
    windows = fs.windows
    assert windows[0].tolist() == [0, 8] and windows[-1][1] == 40
    assert fs.features.shape == (len(windows), 1280) and len(fs.frame_index) == 40
    assert fs.per_frame().shape == (40, 1280)


def test_flow_features(frame_store: Path, tmp_path: Path):
    extract_features(_spec(kind="flow"), "fl", frame_store, tmp_path / "fl.zarr")
    flow = FeatureStore(tmp_path / "fl.zarr").read().astype(np.float32)
    assert flow.shape == (40, 64, 96, 2) and np.abs(flow[0]).max() == 0
    assert flow[5, 27:37, 20:40, 0].mean() > 0.5  # the square moves right by 2 px a frame
    extract_features(_spec(kind="flow", flow_size=32), "fl2", frame_store, tmp_path / "fl2.zarr")
    assert FeatureStore(tmp_path / "fl2.zarr").features.shape == (40, 32, 48, 2)


def test_frame_features_of_flow_images(frame_store: Path, tmp_path: Path):
    """A frame spec with a flow source runs the backbone on flow images (sRNN-AE's optical-flow stream)."""
    extract_features(_spec(kind="flow"), "fl", frame_store, tmp_path / "fl.zarr")
    extract_features(_spec(kind="frame", source="fl"), "ff", tmp_path / "fl.zarr", tmp_path / "ff.zarr", device="cpu")
    fs = FeatureStore(tmp_path / "ff.zarr")
    assert fs.features.shape == (40, 21, 1280) and fs.frame_index.tolist() == list(range(40))
    x = fs.read().astype(np.float32)
    assert not np.allclose(x[0], x[5])  # no motion in frame 0, the square moving later
    with pytest.raises(ConfigError, match="not an optical-flow store"):
        extract_features(_spec(kind="frame", source="g"), "x", tmp_path / "ff.zarr", tmp_path / "x.zarr", device="cpu")
    assert not (tmp_path / "x.zarr").exists()


def test_nan_features_fail_without_partial_store(frame_store: Path, tmp_path: Path, monkeypatch):
    import vadflow.features.extract as ex

    monkeypatch.setattr(ex._BackboneRunner, "forward", lambda self, x: np.full((len(x), 8), np.nan))
    with pytest.raises(DataError, match="not finite"):
        extract_features(_spec(kind="frame"), "n", frame_store, tmp_path / "out" / "n.zarr", device="cpu")
    assert not (tmp_path / "out" / "n.zarr").exists() and leftovers(tmp_path / "out") == []


def test_unknown_backbone_and_missing_weights(frame_store: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="resnet9000"):
        extract_features(_spec(backbone="resnet9000"), "x", frame_store, tmp_path / "x.zarr", device="cpu")
    with pytest.raises(CheckpointError, match="missing.pth"):
        extract_features(_spec(backbone="resnet50", weights=str(tmp_path / "missing.pth")), "x", frame_store,
                         tmp_path / "x.zarr", device="cpu")
    assert not (tmp_path / "x.zarr").exists()


def test_raw_intensity_features(frame_store: Path, tmp_path: Path):
    """sRNN-AE sec. 4.2: the frame's intensities as one vector (l2-normalised later by the method)."""
    extract_features(_spec(kind="raw"), "r", frame_store, tmp_path / "r.zarr")
    fs = FeatureStore(tmp_path / "r.zarr")
    assert fs.features.shape == (40, 64 * 96 * 3)
    from vadflow.data.store import FrameStore

    first = FrameStore(frame_store).read(0, 1).reshape(-1) / 255.0
    assert np.allclose(fs.read(0, 1)[0].astype(np.float32), first, atol=1e-3)
    extract_features(_spec(kind="raw", raw_size=32), "r2", frame_store, tmp_path / "r2.zarr")
    assert FeatureStore(tmp_path / "r2.zarr").features.shape == (40, 32 * 48 * 3)
