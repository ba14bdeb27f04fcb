"""Training seeds (``seeds:``) and the parameter-free floor rows: how a config grows one run per seed,
what the summary of the runs holds, and how tables show the spread and flag a row below the floor."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from vadflow.config import check_config, load_config, resolve_method, seed_runs
from vadflow.errors import ConfigError
from vadflow.evaluation.results import seed_summary
from vadflow.reporting.tables import write_paper_table, write_table3

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default():
    return load_config(REPO / "config" / "config.yaml")


def _with(cfg, **top):
    cfg = copy.deepcopy(cfg)
    cfg["methods"] = {k: v for k, v in cfg["methods"].items() if ".seed" not in k}
    cfg.update(top)
    check_config(cfg)
    return cfg


def test_seeds_make_one_run_per_seed_with_that_seed(default):
    cfg = _with(default, seeds=[3, 4, 5])
    runs = seed_runs(cfg, "conv_ae")
    assert runs == ["conv_ae", "conv_ae.seed4", "conv_ae.seed5"]
    assert [resolve_method(cfg, r).seed for r in runs] == [3, 4, 5]
    assert resolve_method(cfg, "conv_ae.seed4").params == resolve_method(cfg, "conv_ae").params
    # a floor does not depend on the seed: one run
    assert seed_runs(cfg, "frame_difference") == ["frame_difference"]
    # checking again adds nothing (the workflow checks the config twice)
    n = len(cfg["methods"])
    check_config(cfg)
    assert len(cfg["methods"]) == n


def test_an_entrys_own_seeds_and_seed_win(default):
    cfg = copy.deepcopy(default)
    cfg["methods"]["conv_ae"]["seeds"] = [7, 8]
    cfg["methods"]["tsc"]["seed"] = 2
    cfg = _with(cfg, seeds=[0, 1])
    assert seed_runs(cfg, "conv_ae") == ["conv_ae", "conv_ae.seed8"] and resolve_method(cfg, "conv_ae").seed == 7
    assert seed_runs(cfg, "tsc") == ["tsc"] and resolve_method(cfg, "tsc").seed == 2
    assert seed_runs(cfg, "srnn_ae") == ["srnn_ae", "srnn_ae.seed1"]


def test_a_late_fusion_fuses_its_streams_runs_of_the_same_seed():
    cfg = load_config(REPO / "config" / "cpu/ped2/srnn.yaml")
    cfg = _with(cfg, seeds=[0, 1])
    assert seed_runs(cfg, "srnn_ae_late") == ["srnn_ae_late", "srnn_ae_late.seed1"]
    fused = resolve_method(cfg, "srnn_ae_late.seed1")
    assert (fused.params.spatial, fused.params.temporal) == ("srnn_ae.seed1", "srnn_ae_tmax.seed1")


def test_an_entry_named_like_a_seed_run_is_refused(default):
    cfg = copy.deepcopy(default)
    cfg["methods"]["mine.seed3"] = cfg["methods"]["conv_ae"]
    with pytest.raises(ConfigError, match="seed<N>"):
        check_config(cfg)


def _result(tmp: Path, dataset: str, method: str, auc: float, ci=None, method_id: str | None = None, seed=0) -> Path:
    r = {"dataset": dataset, "method": method, "method_id": method_id or method.split(".")[0], "seed": seed,
         "label": method.split(".")[0].upper(), "supervision": "U", "auc": auc,
         "frame_auc": {"minmax_micro": auc, "raw_micro": auc - 0.1}, "eer": 0.3}
    if ci:
        r["frame_auc_ci"] = {"minmax_micro": ci, "draws": 1000, "seed": 0, "level": 0.95}
    path = tmp / f"{dataset}-{method}.json"
    path.write_text(json.dumps(r))
    return path


def test_seed_summary_holds_every_seed_with_mean_and_sample_sd(tmp_path):
    runs = [json.loads(_result(tmp_path, "d", m, a, seed=s).read_text())
            for m, a, s in [("m", 0.70, 0), ("m.seed1", 0.80, 1), ("m.seed2", 0.90, 2)]]
    out = seed_summary(runs, tmp_path / "s.json")
    fig = out["frame_auc"]["minmax_micro"]
    assert fig["values"] == [0.70, 0.80, 0.90] and fig["mean"] == pytest.approx(0.80)
    assert fig["sd"] == pytest.approx(0.10) and fig["n"] == 3  # sample sd of 0.7, 0.8, 0.9
    assert out["seeds"] == [0, 1, 2] and json.loads((tmp_path / "s.json").read_text())["method"] == "m"


def test_tables_show_the_spread_over_seeds_and_flag_rows_below_the_floor(tmp_path):
    paths = [_result(tmp_path, "d", "frame_difference", 0.90, [0.85, 0.95]),
             _result(tmp_path, "d", "m", 0.70, [0.60, 0.80]),  # entirely below the floor's interval
             _result(tmp_path, "d", "m.seed1", 0.80, [0.70, 0.88], seed=1),
             _result(tmp_path, "d", "good", 0.92, [0.84, 0.97])]
    runs = [json.loads(p.read_text()) for p in paths[1:3]]
    seeds = tmp_path / "seeds.json"
    seed_summary(runs, seeds)
    write_table3(paths, ["d"], ["frame_difference", "m", "good"], "minmax_micro", tmp_path / "t.csv", tmp_path / "t.md",
                 seed_paths=[seeds])
    rows = list(csv.reader(open(tmp_path / "t.csv")))
    assert rows[0][-3:] == ["d seed_mean", "d seed_sd", "d seeds"]
    assert rows[2][:3] == ["M", "U", "70.00"] and rows[2][-3:] == ["75.00", "7.07", "2"]
    md = (tmp_path / "t.md").read_text()
    assert "70.00 [60.00, 80.00]; 75.00 ± 7.07 (2 seeds)" in md
    assert "Below the floor: M on d (60.00–80.00) lies entirely below FRAME_DIFFERENCE (85.00–95.00)." in md
    assert "GOOD on d" not in md  # its interval overlaps the floor's
    spec = {"title": "T", "datasets": ["d"], "methods": ["frame_difference", "m", "good"]}
    write_paper_table(paths, spec, {"d": {"adapter": "ucsd"}}, "minmax_micro", tmp_path / "p.csv", tmp_path / "p.md",
                      seed_paths=[seeds])
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert (rows[1]["auc"], rows[1]["auc_seed_mean"], rows[1]["auc_seed_sd"], rows[1]["seeds"]) == ("70.00", "75.00", "7.07", "2")
    md = (tmp_path / "p.md").read_text()
    assert "70.00 [60.00, 80.00]; 75.00 ± 7.07 (2 seeds)" in md and "Below the floor: M on d" in md


def test_every_config_puts_the_floors_in_table3():
    for name in ["config.yaml", "paper.yaml", "cpu/ped2/conv_ae.yaml", "cpu/ped2/srnn.yaml", "cpu/ped2/anomalynet.yaml",
                 "cpu/ped2/adv3d.yaml", "cpu/ped2/dissociation.yaml", "cpu/ped2/lad.yaml"]:
        cfg = load_config(REPO / "config" / name)
        rows = cfg["reports"]["table3"]["methods"]
        assert rows[:2] == ["frame_difference", "mean_frame_distance"], name
