"""The fidelity page (reports/fidelity.md): each paper's headline entries on the run's real datasets
beside the paper's figure, with the gap, the scale, the better floor and the docs' measured cause."""

from __future__ import annotations

import json
from pathlib import Path

from vadflow.config import check_config, load_config
from vadflow.reporting.fidelity import fidelity_cells, fidelity_inputs, write_fidelity
from vadflow.reporting.published import published_table

REPO = Path(__file__).resolve().parents[1]


def _write(root: Path, method: str, auc: float, label: str, **extra) -> None:
    r = {"dataset": "ped2", "method": method, "method_id": method, "seed": 0, "label": label, "supervision": "U",
         "auc": auc, "frame_auc": {"minmax_micro": auc, "raw_micro": auc - 0.05},
         "frame_auc_ci": {"minmax_micro": [auc - 0.05, auc + 0.04], "draws": 1000, "seed": 0, "level": 0.95},
         "eer": 0.3, **extra}
    (root / "ped2").mkdir(parents=True, exist_ok=True)
    (root / "ped2" / f"{method}.json").write_text(json.dumps(r))


def test_the_page_puts_our_real_data_figure_beside_the_papers_with_gap_floor_scale_and_cause(tmp_path):
    cfg = load_config(REPO / "config" / "cpu/ped2/srnn.yaml")
    cells = fidelity_cells(cfg)
    assert [(c["paper"], c["entry"], c["dataset"]) for c in cells] == [
        ("srnn", "srnn_ae_late", "ped2"), ("srnn", "srnn_ae", "ped2"), ("srnn", "tsc", "ped2")]
    assert "results/ped2/frame_difference.json" in fidelity_inputs(cfg)
    results = tmp_path / "results"
    _write(results, "srnn_ae_late", 0.70, "sRNN-AE (late fusion)",
           input={"height": 224, "width": 224, "features": ["efficientnet_lite0"]},
           params={"n_atoms": 512, "iterations": 2000})
    _write(results, "frame_difference", 0.89, "frame difference")
    _write(results, "mean_frame_distance", 0.83, "mean frame distance")
    write_fidelity(cfg, results, tmp_path / "fidelity.md")
    md = (tmp_path / "fidelity.md").read_text()
    row = next(line for line in md.splitlines() if "sRNN-AE (late fusion)" in line)
    paper = published_table("srnn/table3").value("srnn_ae_late", "ped2")
    paper = paper["auc"] if isinstance(paper, dict) else paper
    assert "70.00 [65.00, 74.00]" in row and f"{paper:.2f}" in row and f"{paper - 70:+.2f}" in row
    assert "89.00 (frame difference)" in row  # the better of the two floors
    assert "frames 224 x 224; features efficientnet_lite0; n_atoms 512; iterations 2000" in row
    assert "docs/papers/srnn.md" in row
    assert "srnn_ae |" not in md and "TSC" not in md  # entries without results are left out, not invented
    assert (tmp_path / "fidelity.html").exists()


def test_an_entry_trained_with_seeds_shows_their_spread(tmp_path):
    cfg = load_config(REPO / "config" / "cpu/ped2/srnn.yaml")
    cfg["seeds"] = [0, 1]
    check_config(cfg)
    assert "results/ped2/seeds/srnn_ae_late.json" in fidelity_inputs(cfg)
    results = tmp_path / "results"
    _write(results, "srnn_ae_late", 0.70, "sRNN-AE (late fusion)")
    (results / "ped2" / "seeds").mkdir()
    (results / "ped2" / "seeds" / "srnn_ae_late.json").write_text(json.dumps(
        {"frame_auc": {"minmax_micro": {"values": [0.70, 0.74], "mean": 0.72, "sd": 0.0283, "n": 2}}}))
    write_fidelity(cfg, results, tmp_path / "fidelity.md")
    row = next(line for line in (tmp_path / "fidelity.md").read_text().splitlines() if "sRNN-AE (late" in line)
    assert "70.00 [65.00, 74.00]; 72.00 ± 2.83 (2 seeds)" in row


def test_a_run_on_synthetic_data_only_says_the_page_fills_with_real_data(tmp_path):
    cfg = load_config(REPO / "config" / "config.yaml")
    assert fidelity_cells(cfg) == [] and fidelity_inputs(cfg) == []
    write_fidelity(cfg, tmp_path, tmp_path / "fidelity.md")
    assert "no results on real data" in (tmp_path / "fidelity.md").read_text()
