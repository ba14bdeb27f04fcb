"""The `vadflow` console script: every step has --help, and the steps chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from vadflow.cli import main

VADFLOW = [sys.executable, "-m", "vadflow.cli"]


@pytest.mark.parametrize("cmd", ["synth", "list", "decode", "train", "score", "evaluate", "methods"])
def test_help(cmd):
    proc = subprocess.run([*VADFLOW, cmd, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: vadflow" in proc.stdout


def test_console_script_installed():
    exe = Path(sys.executable).parent / "vadflow"
    if not exe.exists():
        pytest.skip("the vadflow console script is not installed in this environment")
    assert subprocess.run([exe, "--help"], capture_output=True).returncode == 0


def test_steps_chain(tmp_path: Path, capsys):
    params = json.dumps({"n_train": 1, "n_test": 1, "height": 56, "width": 56, "digit_size": 8, "step": 1})
    assert main(["synth", "moving_digits", str(tmp_path / "ds"), "--params", params, "--color", "gray"]) == 0
    assert main(["list", "ds", str(tmp_path / "ds"), str(tmp_path / "m.json")]) == 0
    assert main(["decode", str(tmp_path / "ds/train/train_000.mp4"), str(tmp_path / "tr.zarr")]) == 0
    assert main([
        "decode", str(tmp_path / "ds/test/test_000.mp4"), str(tmp_path / "te.zarr"),
        "--labels", str(tmp_path / "ds/labels/test_000.npy"), "--masks", str(tmp_path / "ds/masks/test_000.npz"),
    ]) == 0
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        (REPO / "config" / "tiny.yaml").read_text()
    )
    assert main(["train", "conv_ae", str(tmp_path / "m.pt"), str(tmp_path / "tr.zarr"), "--config", str(cfg),
                 "--device", "cpu"]) == 0
    assert main(["score", str(tmp_path / "m.pt"), str(tmp_path / "s.zarr"), str(tmp_path / "te.zarr")]) == 0
    assert main(["evaluate", str(tmp_path / "s.zarr"), str(tmp_path / "r.json"), str(tmp_path / "te.zarr")]) == 0
    out = capsys.readouterr().out
    assert "AUC" in out and "EER" in out
    assert json.loads((tmp_path / "r.json").read_text())["frame_auc"]["n_frames"] == 20


def test_error_is_a_message_not_a_traceback(tmp_path: Path, capsys):
    assert main(["decode", str(tmp_path / "missing.mp4"), str(tmp_path / "x.zarr")]) == 2
    err = capsys.readouterr().err
    assert "missing.mp4" in err and "Traceback" not in err
