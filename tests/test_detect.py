"""`vadflow detect`'s pieces without the workflow (the end-to-end checks are in test_workflow.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vadflow.detect import Calibration, _feature_order, load_model, video_files
from vadflow.errors import CheckpointError, DataError
from vadflow.methods.engine.log import save_checkpoint


def test_calibrated_scale_puts_the_training_maximum_at_one():
    cal = Calibration(median=2.0, max=6.0, frames=100, videos=2)
    assert cal.normalise(np.array([2.0, 6.0, 8.0])).tolist() == [0.0, 1.0, 1.5]
    assert Calibration(1.0, 1.0, 3, 1).normalise(np.array([1.0, 2.0])).tolist() == [0.0, 1.0]  # flat: no division by 0


def test_checkpoints_detect_cannot_use_are_refused_with_the_fix(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "none.pt")
    save_checkpoint({"config": {"method": "no_such_method"}, "state": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="no_such_method"):
        load_model(tmp_path / "other.pt")
    save_checkpoint({"config": {"method": "conv_ae"}, "state": {}, "vadflow_version": "0.0.9"}, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="0.0.9.*retrain|retrain"):
        load_model(tmp_path / "old.pt")
    save_checkpoint({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a vadflow model"):
        load_model(tmp_path / "foreign.pt")


def test_feature_sources_come_first():
    features = {"i3d_flow": {"spec": {"kind": "i3d", "source": "flow"}}, "flow": {"spec": {"kind": "flow"}},
                "i3d_rgb": {"spec": {"kind": "i3d"}}}
    order = _feature_order(features)
    assert order.index("flow") < order.index("i3d_flow") and sorted(order) == sorted(features)


def test_video_files_of_folders_and_files(tmp_path):
    (tmp_path / "b.mp4").write_bytes(b"")
    (tmp_path / "a.avi").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in video_files([tmp_path])] == ["a.avi", "b.mp4"]
    with pytest.raises(DataError, match="does not exist"):
        video_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no video files"):
        video_files([tmp_path / "empty"])


def test_cost_table_reads_each_jobs_gpu_peak_from_its_log(tmp_path):
    """logs/benchmarks/<rule>/<job>.tsv ↔ logs/<rule>/<job>.log: the peak a CUDA job prints."""
    import csv

    from vadflow.reporting.costs import write_costs

    bench = tmp_path / "logs" / "benchmarks" / "train" / "d"
    bench.mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (bench / "a.tsv").write_text(header + "10.0\t0:00:10\t500\t0\t0\t0\t0\t0\t100\t9.0\n")
    (bench / "b.tsv").write_text(header + "4.0\t0:00:04\t700\t0\t0\t0\t0\t0\t100\t3.0\n")
    (tmp_path / "logs" / "train" / "d").mkdir(parents=True)
    (tmp_path / "logs" / "train" / "d" / "a.log").write_text("fit...\npeak GPU memory: 1234 MB\n")
    write_costs(tmp_path / "logs" / "benchmarks", tmp_path / "c.csv", tmp_path / "c.md")
    rows = {r["rule"]: r for r in csv.DictReader(open(tmp_path / "c.csv"))}
    assert rows["train"]["jobs"] == "2" and rows["train"]["wall_s"] == "14.0" and rows["train"]["peak_rss_mb"] == "700"
    assert rows["train"]["peak_gpu_mb"] == "1234" and rows["train"]["slowest_job"] == "d/a"
