"""AnomalyNet (Zhou et al.) as a video method: units and their samples, the eq. 21 score's raw error,
the pixel maps, the ablation solvers, the clear errors (a video shorter than T, a backbone without a
checkpoint), and the tables' not-run rows and per-field published figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import feature_videos, method_run
from vadflow.data.store import FrameStoreWriter
from vadflow.errors import ConfigError, DataError
from vadflow.features.store import FeatureStoreWriter
from vadflow.features.transforms import rank_pooling_coefficients
from vadflow.methods.anomalynet.method import AnomalyNetMethod, cell_map_weights, pyramid_levels
from vadflow.methods.api import VideoInput
from vadflow.methods.run import open_videos, score, train
from vadflow.scores import read_scores
from vadflow.windows import covering_windows, window_of_frame


def test_rank_pooling_coefficients_hand_example():
    """Eq. 2 with T = 3: beta = (-2, 0, 2) on the running means v_t; on the frames
    alpha_1 = -2/1 + 0/2 + 2/3 = -4/3, alpha_2 = 0/2 + 2/3 = 2/3, alpha_3 = 2/3."""
    np.testing.assert_allclose(rank_pooling_coefficients(3), [-4 / 3, 2 / 3, 2 / 3])
    np.testing.assert_array_equal(rank_pooling_coefficients(3, sqrt=True), [-2, 0, 2])


def test_pyramid_levels_and_cell_map_weights():
    assert pyramid_levels(21) == (1, 2, 4) and pyramid_levels(1) == (1,) and pyramid_levels(3) is None
    w = cell_map_weights((1, 2))  # 2x2 finest grid; cells: [whole, tl, tr, bl, br]
    np.testing.assert_allclose(w, [[0.5, 0.5, 0, 0, 0], [0.5, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0], [0.5, 0, 0, 0, 0.5]])
    w4 = cell_map_weights((1, 2, 4))
    assert w4.shape == (16, 21) and np.allclose(w4.sum(1), 1.0)
    # block (row 3, col 0) lies in the 2x2 grid's bottom-left cell (index 1 + 2) and is 4x4 cell 5 + 12
    assert set(np.flatnonzero(w4[12])) == {0, 3, 5 + 12}


def _window_store(path, rows, windows, n_frames, kind="dynamic_image", window=4):
    w = FeatureStoreWriter(path, rows.shape[1:], "float32", 16)
    w.append(rows.astype(np.float32), "t")
    w.finish(window_of_frame(windows, n_frames), windows, {"spec": {"kind": kind, "window": window}})


def _frame_store(path, n_frames):
    fw = FrameStoreWriter(path, 8, 8, 1)
    fw.append(np.zeros((n_frames, 8, 8, 1), np.uint8))
    fw.close()
    fw.set_attrs({"n_frames": n_frames, "fps": 10.0})


@pytest.fixture
def two_spec_video(tmp_path):
    """A 12-frame video: 5-cell pyramid rows of dynamic images (T = 4, stride 2) and of frames."""
    n = 12
    windows = covering_windows(n, 4, 2)
    rng = np.random.default_rng(0)
    di = rng.normal(size=(len(windows), 5, 3))
    fr = rng.normal(size=(n, 5, 3))
    _frame_store(tmp_path / "v.zarr", n)
    _window_store(tmp_path / "v.di.zarr", di, windows, n)
    w = FeatureStoreWriter(tmp_path / "v.fr.zarr", (5, 3), "float32", 16)
    w.append(fr.astype(np.float32), "t")
    w.finish(np.arange(n), None, {"spec": {"kind": "frame"}})
    video = VideoInput.open(tmp_path / "v.zarr", {"di": tmp_path / "v.di.zarr", "fr": tmp_path / "v.fr.zarr"})
    return video, windows, di, fr


def test_units_stack_both_specs_cells_at_the_window_centre(two_spec_video):
    video, windows, di, fr = two_spec_video
    m = AnomalyNetMethod(method_run("anomalynet", {"l2_normalise": False}, features=("di", "fr")))
    samples, frame_index = m.units(video)
    assert samples.shape == (len(windows), 10, 3)
    centres = (windows[:, 0] + windows[:, 1] - 1) // 2
    np.testing.assert_allclose(samples[:, :5], di, rtol=1e-6)
    np.testing.assert_allclose(samples[:, 5:], fr[centres], rtol=1e-6)
    np.testing.assert_array_equal(frame_index, window_of_frame(windows, 12))


def test_score_is_the_mean_sample_error_with_pixel_maps(two_spec_video):
    video, windows, _, _ = two_spec_video
    m = AnomalyNetMethod(method_run("anomalynet", {"n_atoms": 4, "K": 2}, features=("di", "fr")))
    m.model = m._build(3, 4)
    samples, frame_index = m.units(video)
    B = m.model.dictionary().detach()
    with torch.no_grad():
        x = torch.from_numpy(samples.reshape(-1, 3))
        errors = ((x - m.model(x) @ B.T) ** 2).sum(-1).reshape(len(samples), 10).double().numpy()
    out = m.score_video(video)
    np.testing.assert_allclose(out.scores, errors.mean(1)[frame_index], rtol=1e-6)
    # maps: each 2x2 block averages its two levels' cells, then the two specs
    expected = (errors[:, :5] @ cell_map_weights((1, 2)).T + errors[:, 5:] @ cell_map_weights((1, 2)).T) / 2
    assert out.maps.shape == (12, 2, 2)
    np.testing.assert_allclose(out.maps.reshape(12, 4), expected[frame_index], rtol=1e-6)


def test_video_shorter_than_the_window_is_a_clear_error(tmp_path):
    _frame_store(tmp_path / "short.zarr", 3)
    windows = covering_windows(3, 20, 5)  # one window, all 3 frames
    _window_store(tmp_path / "short.di.zarr", np.ones((1, 1, 3)), windows, 3, window=20)
    video = VideoInput.open(tmp_path / "short.zarr", {"di": tmp_path / "short.di.zarr"})
    m = AnomalyNetMethod(method_run("anomalynet", features=("di",)))
    with pytest.raises(DataError, match=r"3 frames, fewer than the dynamic-image window T = 20") as e:
        m.units(video)
    assert "features.di.window" in str(e.value)


def test_specs_of_different_widths_are_refused(tmp_path):
    _frame_store(tmp_path / "v.zarr", 4)
    for key, width in (("a", 3), ("b", 5)):
        w = FeatureStoreWriter(tmp_path / f"v.{key}.zarr", (1, width), "float32", 16)
        w.append(np.ones((4, 1, width), np.float32), "t")
        w.finish(np.arange(4), None, {"spec": {"kind": "frame"}})
    video = VideoInput.open(tmp_path / "v.zarr", {k: tmp_path / f"v.{k}.zarr" for k in "ab"})
    with pytest.raises(ConfigError, match="same backbone"):
        AnomalyNetMethod(method_run("anomalynet", features=("a", "b"))).units(video)


def test_unknown_solver_is_a_config_error():
    with pytest.raises(ConfigError, match="solver 'fista' is not known"):
        method_run("anomalynet", {"solver": "fista"})


@pytest.fixture(scope="module")
def feature_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("anet")
    rng = np.random.default_rng(1)
    rows = {n: rng.normal(size=(20, 5, 6)).astype(np.float32) for n in ("tr0", "tr1", "test")}
    rows["test"][10:] += 2.0
    frames, feats = feature_videos(d, rows)
    return frames, feats


@pytest.mark.parametrize("solver", ["slstm", "ista", "lista", "lfista"])
def test_each_solver_trains_deterministically_and_learns(solver, feature_data, tmp_path):
    frames, feats = feature_data
    run = method_run("anomalynet", {"solver": solver, "n_atoms": 8, "K": 3, "epochs": 3, "batch_size": 4})
    out = []
    for i in range(2):
        train(run, frames[:2], tmp_path / f"m{i}.pt", tmp_path / f"l{i}.csv", features={"f": feats["f"][:2]},
              device="cpu", threads=1)
        score(tmp_path / f"m{i}.pt", frames[2:], tmp_path / f"s{i}.zarr", features={"f": feats["f"][2:]},
              device="cpu", threads=1)
        out.append(read_scores(tmp_path / f"s{i}.zarr")[1]["test"])
    np.testing.assert_array_equal(out[0], out[1])  # deterministic on CPU
    state = torch.load(tmp_path / "m0.pt", map_location="cpu", weights_only=True)["state"]["net"]
    fresh = AnomalyNetMethod(run)._build(6, 8).state_dict()
    # every learned parameter moved away from its initial value (the gradient reaches it)
    moved = {k for k in fresh if k != "tau" and not torch.equal(fresh[k], state[k])}
    expected = {k for k in fresh if k != "tau"}
    assert moved == expected, f"{solver}: unchanged {expected - moved}"


def test_ista_ablation_learns_the_dictionary_with_codes_fixed(feature_data):
    frames, feats = feature_data
    m = AnomalyNetMethod(method_run("anomalynet", {"solver": "ista", "n_atoms": 8, "K": 3}))
    [video] = open_videos(frames[:1], {"f": feats["f"][:1]})
    m.setup([video])
    from types import SimpleNamespace

    x = m.data[:4].unsqueeze(1)  # 4 units as the engine batches them
    out = m.training_step(x, SimpleNamespace(model=m.model, step=0))
    out["loss"].backward()
    assert m.model.B.grad is not None and torch.isfinite(m.model.B.grad).all()
    # the codes are constants of the dictionary step: eq. 17's gradient in B alone, -2 (x - Bs) s^T / N
    xs = x.reshape(-1, x.shape[-1])
    with torch.no_grad():
        s = m.model(xs)
        expected = -2 * (xs - s @ m.model.B.T).T @ s / len(xs)
    torch.testing.assert_close(m.model.B.grad, expected, rtol=1e-4, atol=1e-6)


def test_rows_needing_a_missing_checkpoint_are_left_out_with_a_reason(tmp_path):
    from vadflow.config import blocked_rows, load_config, missing_checkpoint, table_cells

    cfg = load_config("config/config.yaml")
    assert missing_checkpoint(cfg, "anomalynet") is None  # the shipped backbone
    why = missing_checkpoint(cfg, "anomalynet_resnet50")
    assert why == "needs a checkpoint of resnet50: set features.resnet50_spp.weights" or "resnet50_dynamic" in why
    blocked = blocked_rows(cfg, "anomalynet_table8")
    assert set(blocked) == {"anomalynet_alexnet", "anomalynet_vgg16", "anomalynet_resnet50", "anomalynet_resnet152"}
    assert {m for _, _, m in table_cells(cfg, "anomalynet_table8")} == {"anomalynet"}
    # a configured path that is not a file says so
    fake = tmp_path / "resnet50.pth"
    for key in ("resnet50_dynamic", "resnet50_spp"):
        cfg["features"][key]["weights"] = str(fake)
    assert "is not a file" in missing_checkpoint(cfg, "anomalynet_resnet50")
    fake.write_bytes(b"x")  # present: the row runs (and the feature stage checks the file's contents)
    assert missing_checkpoint(cfg, "anomalynet_resnet50") is None


def test_table3_leaves_anomalynet_out_of_the_digits_sequences():
    from vadflow.config import load_config, table_cells

    cells = table_cells(load_config("config/config.yaml"), "table3")
    assert ("walkway", "anomalynet", "anomalynet") in cells
    assert not [c for c in cells if c[1] == "anomalynet" and c[0].startswith("digits")]


def test_backbones_without_shipped_weights_match_the_registry():
    from vadflow.features.backbones import _REGISTRY
    from vadflow.features.spec import USER_CHECKPOINT_BACKBONES

    assert set(USER_CHECKPOINT_BACKBONES) == {n for n, spec in _REGISTRY.items() if spec.default_weights is None}


def test_paper_table_shows_per_field_published_figures_and_not_run_rows(tmp_path):
    import csv
    import json

    from vadflow.reporting.tables import write_paper_table

    result = {"dataset": "walkway", "method": "anomalynet", "label": "AnomalyNet", "supervision": "U",
              "auc": 0.9, "frame_auc": {"minmax_micro": 0.9}, "eer": 0.12, "events": {"tp_fa": "3/1"}}
    (tmp_path / "r.json").write_text(json.dumps(result))
    spec = {"title": "T5", "datasets": ["walkway"], "methods": ["anomalynet_vgg16", "anomalynet"],
            "published": "anomalynet/table5", "compare": {"walkway": "ped2"}, "columns": ["eer", "events.tp_fa"],
            "not_run": {"anomalynet_vgg16": "needs a checkpoint of vgg16: set features.v.weights"},
            "labels": {"anomalynet_vgg16": "AnomalyNet (VGG-16)"}}
    datasets = {"walkway": {"adapter": "synthetic", "generator": "walkway"}}
    write_paper_table([tmp_path / "r.json"], spec, datasets, "minmax_micro", tmp_path / "t.csv", tmp_path / "t.md")
    rows = list(csv.reader(open(tmp_path / "t.csv")))
    assert rows[0][-4:] == ["eer (paper)", "events.tp_fa (paper)", "auc_ci_low", "auc_ci_high"]
    assert rows[1][:5] == ["AnomalyNet (VGG-16)", "", "walkway", "not run: needs a checkpoint of vgg16: set features.v.weights", ""]
    assert rows[2][4:] == ["90.00", "94.90", "12.00", "3/1", "10.30", "12/1", "", ""]
    assert ["MPPCA [8]", "", "walkway", "not run here (published figure only)", "", "69.30", "", "", "30.00", "", "",
            ""] in rows
