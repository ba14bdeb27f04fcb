"""Report tables: cell swaps, fields of any metric, the sweep figure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from vadflow.reporting.cells import result_field
from vadflow.reporting.tables import format_field, write_paper_table, write_table3


def _result(tmp: Path, dataset: str, method: str, auc: float, **extra) -> Path:
    r = {"dataset": dataset, "method": method, "label": method.upper(), "supervision": "U",
         "auc": auc, "frame_auc": {"minmax_micro": auc}, **extra}
    path = tmp / f"{dataset}-{method}.json"
    path.write_text(json.dumps(r))
    return path


def test_fields_and_formats():
    r = {"auc": 0.5, "params": {"K": 3}, "method_stats": {"code_sparsity": 0.123456}}
    assert result_field(r, "params.K") == 3 and result_field(r, "params.missing") is None
    assert result_field(None, "auc") is None and result_field(r, "auc.deeper") is None
    assert format_field("auc", 0.9011) == "90.11" and format_field("params.K", 3) == "3"
    assert format_field("method_stats.code_sparsity", 0.123456) == "0.1235"
    assert format_field("train_seconds", 1234.5) == "1234" and format_field("device", "cpu") == "cpu"
    assert format_field("x", None) == ""


def test_table3_swaps_a_cell(tmp_path: Path):
    paths = [_result(tmp_path, "a", "m", 0.8), _result(tmp_path, "b", "m_raw", 0.6), _result(tmp_path, "b", "m", 0.1)]
    write_table3(paths, ["a", "b"], ["m"], "minmax_micro", tmp_path / "t.csv", tmp_path / "t.md", use={"b": {"m": "m_raw"}})
    rows = list(csv.reader(open(tmp_path / "t.csv")))
    assert rows[1] == ["M", "U", "80.00", "60.00", "", "", "", ""]  # the row keeps its own label; no intervals
    assert "b: row m shows m_raw" in (tmp_path / "t.md").read_text()


def test_tables_show_the_bootstrap_interval(tmp_path: Path):
    """The CSV gets the interval as two columns, the Markdown beside the AUC: ``80.00 [70.00, 90.00]``."""
    ci = {"minmax_micro": [0.7, 0.9], "raw_micro": None, "macro": None, "draws": 1000, "seed": 0, "level": 0.95}
    paths = [_result(tmp_path, "a", "m", 0.8, frame_auc_ci=ci)]
    write_table3(paths, ["a"], ["m"], "minmax_micro", tmp_path / "t.csv", tmp_path / "t.md")
    rows = list(csv.reader(open(tmp_path / "t.csv")))
    assert rows[0] == ["method", "supervision", "a", "a ci_low", "a ci_high"]
    assert rows[1] == ["M", "U", "80.00", "70.00", "90.00"]
    md = (tmp_path / "t.md").read_text()
    assert "| M | U | 80.00 [70.00, 90.00] |" in md and "1000 draws" in md and "within each" not in md
    stratified = {**ci, "strata": {"by": "category", "videos": {"cart": 2, "runner": 2}}}
    write_table3([_result(tmp_path, "a", "m", 0.8, frame_auc_ci=stratified)], ["a"], ["m"], "minmax_micro",
                 tmp_path / "t.csv", tmp_path / "t.md")
    assert "on a within each test-video category" in (tmp_path / "t.md").read_text()
    spec = {"title": "t", "datasets": ["a"], "methods": ["m"], "paper": {"m": {"a": 85.0}}}
    write_paper_table(paths, spec, {"a": {"adapter": "synthetic", "generator": "walkway"}}, "minmax_micro",
                      tmp_path / "p.csv", tmp_path / "p.md")
    rows = list(csv.reader(open(tmp_path / "p.csv")))
    assert rows[0][-2:] == ["auc_ci_low", "auc_ci_high"] and rows[1][4:] == ["80.00", "85.00", "70.00", "90.00"]
    assert "| M | U | a | synthetic walkway | 80.00 [70.00, 90.00] | 85.00 |" in (tmp_path / "p.md").read_text()


def test_paper_table_of_a_metric_with_sweep_figure(tmp_path: Path):
    paths = [
        _result(tmp_path, "a", f"k{k}", 0.5 + k / 100, params={"K": k}, method_stats={"code_sparsity": k / 10},
                score_frames_per_second=100.0 / k)
        for k in (1, 3, 5)
    ]
    spec = {"title": "sweep", "datasets": ["a"], "methods": ["k1", "k3", "k5"], "metric": "score_frames_per_second",
            "columns": ["params.K"], "paper": {"k3": {"a": 152}},
            "plot": {"x": "params.K", "y": ["auc", "method_stats.code_sparsity"]}}
    datasets = {"a": {"adapter": "synthetic", "generator": "walkway"}}
    write_paper_table(paths, spec, datasets, "minmax_micro", tmp_path / "s.csv", tmp_path / "s.md")
    rows = list(csv.reader(open(tmp_path / "s.csv")))
    assert rows[0] == ["method", "supervision", "dataset", "computed_on", "score_frames_per_second", "paper", "params.K"]
    assert rows[2] == ["K3", "U", "a", "synthetic walkway", "33.33", "152", "3"]  # as the paper prints it
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_paper_table_with_a_bar_figure(tmp_path: Path):
    """``plot`` without ``x``: one bar per row (Chang et al. Fig. 8a's score gap per cue)."""
    paths = [_result(tmp_path, "a", m, 0.7, score_gap=g) for m, g in (("app", 0.2), ("mot", 0.15))]
    spec = {"title": "gap", "datasets": ["a"], "methods": ["app", "mot"], "metric": "score_gap", "columns": ["auc"],
            "plot": {"y": ["score_gap", "auc"]}}
    write_paper_table(paths, spec, {"a": {"adapter": "synthetic", "generator": "walkway"}}, "minmax_micro",
                      tmp_path / "g.csv", tmp_path / "g.md")
    rows = list(csv.reader(open(tmp_path / "g.csv")))
    assert rows[1][4:] == ["0.2", "", "70.00"] and (tmp_path / "g.png").stat().st_size > 1000


def test_paper_table_of_event_counts_and_a_paper_native_convention(tmp_path: Path):
    """TP/FA with a published "12/1" beside it, RBDC as a column in %, and a table whose frame AUC
    is the paper-native full-window one."""
    paths = [_result(tmp_path, "a", "m", 0.8, frame_auc={"minmax_micro": 0.8, "minmax_micro_full_windows": 0.85},
                     events={"tp_fa": "11/2"}, rbdc_tbdc={"rbdc": 0.4321})]
    datasets = {"a": {"adapter": "synthetic", "generator": "walkway"}}
    spec = {"title": "events", "datasets": ["a"], "methods": ["m"], "metric": "events.tp_fa",
            "columns": ["rbdc_tbdc.rbdc"], "paper": {"m": {"a": "12/1"}}}
    write_paper_table(paths, spec, datasets, "minmax_micro", tmp_path / "e.csv", tmp_path / "e.md")
    assert list(csv.reader(open(tmp_path / "e.csv")))[1][4:] == ["11/2", "12/1", "43.21"]
    spec = {"title": "native", "datasets": ["a"], "methods": ["m"], "paper": {"m": {"a": 90.0}}}
    write_paper_table(paths, spec, datasets, "minmax_micro_full_windows", tmp_path / "n.csv", tmp_path / "n.md")
    assert list(csv.reader(open(tmp_path / "n.csv")))[1][4:6] == ["85.00", "90.00"]
    assert "full clip" in (tmp_path / "n.md").read_text()


def test_paper_table_takes_published_figures_and_lists_the_competitors(tmp_path: Path):
    """Luo et al. Table 3 (src/vadflow/published/srnn.yaml): our rows take the paper's figure of the
    row they stand for, on the paper dataset the stand-in is compared to; the competitors follow."""
    paths = [_result(tmp_path, "walkway", "tsc", 0.6), _result(tmp_path, "walkway", "srnn_ae_late", 0.7)]
    datasets = {"walkway": {"adapter": "synthetic", "generator": "walkway"}}
    spec = {"title": "t3", "datasets": ["walkway"], "methods": ["tsc", "srnn_ae_late"],
            "published": "srnn/table3", "compare": {"walkway": "ped2"}}
    write_paper_table(paths, spec, datasets, "minmax_micro", tmp_path / "p.csv", tmp_path / "p.md")
    rows = {r[0]: r for r in list(csv.reader(open(tmp_path / "p.csv")))[1:]}
    assert rows["TSC"][4:6] == ["60.00", "91.03"] and rows["SRNN_AE_LATE"][4:6] == ["70.00", "92.21"]
    assert rows["Hinami et al. [27]"][3:6] == ["not run here (published figure only)", "", "92.20"]
    assert "Del et al. [32]" not in rows  # it has no Ped2 figure
    assert "walkway rows beside the paper's ped2" in (tmp_path / "p.md").read_text()


def test_split_table_counts_what_each_regime_trains_on(tmp_path):
    """Wan et al. Table 2: per row, the training videos its regime admits and the test videos, beside the
    paper's counts for that regime."""
    import csv

    from vadflow.data.layout import Manifest, VideoEntry
    from vadflow.reporting.tables import write_split_table

    videos = [VideoEntry("train", "n0", "/n0", video_label=0), VideoEntry("train", "n1", "/n1"),
              VideoEntry("train", "a0", "/a0", video_label=1, label_intervals=[[0, 3]]),
              VideoEntry("test", "t0", "/t0", label_intervals=[[1, 2]])]
    Manifest("ped2", "ucsd", "/", videos).write(tmp_path / "m.json")
    spec = {"title": "T2", "datasets": ["ped2"], "methods": ["conv_ae", "lad_multitask"], "published": "lad/table2"}
    write_split_table({"ped2": tmp_path / "m.json"}, spec, {"conv_ae": "unsupervised", "lad_multitask": "fully"},
                      {"ped2": {"adapter": "ucsd"}}, tmp_path / "t.csv", tmp_path / "t.md")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert [(r["supervision"], r["train"], r["train_anomalous"], r["test"]) for r in rows] == [
        ("U", "2", "0", "1"), ("F", "3", "1", "1")]
    assert [(r["train (paper)"], r["test (paper)"]) for r in rows] == [("8", "14"), ("14", "14")]


def test_auc_column_follows_the_tables_convention_and_a_log_sweep_shows_the_papers_points(tmp_path: Path):
    """Wan et al. Table 6 / Fig. 6: an ``auc`` column is the table's convention (raw micro there), not
    the results file's default; a λ sweep on a log axis with the published point beside ours."""
    paths = [_result(tmp_path, "a", f"l{i}", 0.6, frame_auc={"minmax_micro": 0.6, "raw_micro": 0.7 + i / 100},
                     params={"lambda_score": lam}, category_accuracy=0.5)
             for i, lam in enumerate((0.1, 10.0, 100.0))]
    spec = {"title": "λ", "datasets": ["a"], "methods": ["l0", "l1", "l2"], "metric": "category_accuracy",
            "columns": ["auc"], "paper": {"l1": {"a": 59.3}}}
    write_paper_table(paths, spec, {"a": {"adapter": "synthetic", "generator": "walkway"}}, "raw_micro",
                      tmp_path / "c.csv", tmp_path / "c.md")
    assert [r[4:] for r in list(csv.reader(open(tmp_path / "c.csv")))[1:]] == [
        ["50.00", "", "70.00"], ["50.00", "59.30", "71.00"], ["50.00", "", "72.00"]]
    spec = {"title": "λ", "datasets": ["a"], "methods": ["l0", "l1", "l2"], "paper": {"l1": {"a": 86.93}},
            "plot": {"x": "params.lambda_score", "y": ["auc"], "xscale": "log"}}
    write_paper_table(paths, spec, {"a": {"adapter": "synthetic", "generator": "walkway"}}, "raw_micro",
                      tmp_path / "f.csv", tmp_path / "f.md")
    assert (tmp_path / "f.png").stat().st_size > 1000 and "hollow squares" in (tmp_path / "f.md").read_text()


def test_a_tables_protocol_cards_follow_its_convention(tmp_path: Path):
    """Wan et al.'s tables are raw micro: their cards say so, whatever the evaluation's convention."""
    from vadflow.evaluation.protocol import convention_fields

    card = {"labels": "x", **convention_fields("minmax_micro"), "excluded": "nothing"}
    paths = [_result(tmp_path, "d", "m", 0.8, protocol=card, frame_auc={"minmax_micro": 0.8, "raw_micro": 0.7})]
    spec = {"title": "T", "datasets": ["d"], "methods": ["m"]}
    write_paper_table(paths, spec, {"d": {"adapter": "ucsd"}}, "raw_micro", tmp_path / "p.csv", tmp_path / "p.md")
    html = (tmp_path / "p.html").read_text()
    assert "none (raw scores)" in html and "per-video min-max" not in html


def test_eer_follows_the_tables_convention():
    from vadflow.reporting.cells import metric_value

    r = {"frame_auc": {"minmax_micro": 0.8, "raw_micro": 0.7}, "eer": 0.2, "eer_raw": 0.3}
    assert metric_value(r, "eer", "minmax_micro") == 0.2 and metric_value(r, "eer", "raw_micro") == 0.3
