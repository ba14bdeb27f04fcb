"""Late fusion: s = s_spatial + beta * s_temporal on per-video min-max normalised scores."""

from __future__ import annotations

import numpy as np
import pytest

from vadflow.config import resolve_method
from vadflow.errors import ConfigError
from vadflow.fusion import fuse_scores
from vadflow.scores import VideoScores, read_scores, write_scores

CFG = {
    "features": {"f": {"kind": "frame"}},
    "methods": {
        "s": {"method": "srnn_ae", "input": {"features": ["f"]}},
        "t": {"method": "lstm_ae", "input": {"features": ["f"]}},
        "st": {"fusion": {"spatial": "s", "temporal": "t", "beta": 0.5}},
    },
}


def test_fused_scores(tmp_path):
    a = {"v": VideoScores(np.array([0.0, 2.0, 4.0]))}
    b = {"v": VideoScores(np.array([10.0, 30.0, 20.0]))}
    write_scores(tmp_path / "s.zarr", a, resolve_method(CFG, "s").to_dict())
    write_scores(tmp_path / "t.zarr", b, resolve_method(CFG, "t").to_dict())
    resolved = resolve_method(CFG, "st").to_dict()
    fuse_scores(tmp_path / "s.zarr", tmp_path / "t.zarr", tmp_path / "st.zarr", resolved)
    attrs, scores, _ = read_scores(tmp_path / "st.zarr")
    assert np.allclose(scores["v"], [0.0 + 0.0, 0.5 + 0.5, 1.0 + 0.25])
    assert attrs["method"] == "late_fusion" and attrs["supervision"] == "U"
    assert attrs["label"] == "sRNN-AE [Luo et al.] (s) + LSTM-AE (t) (late fusion)"


def test_fusion_must_name_trained_methods():
    bad = {**CFG, "methods": {**CFG["methods"], "x": {"fusion": {"spatial": "st", "temporal": "t"}}}}
    with pytest.raises(ConfigError, match="fusion.spatial names 'st'"):
        resolve_method(bad, "x")
