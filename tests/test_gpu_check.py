"""The GPU check's dry run on the CPU (benchmarks/gpu_check.sh --device cpu, tiny shapes), as CI runs it.

The full matrix (every torch method x {32-true, bf16-mixed} x {single, ddp with devices 1}, every feature
spec) takes minutes on a small CPU, so CI runs every torch method once (32-true, one process), each
stopped by SIGUSR1 after its first step and resumed, one method through Fabric under bf16-mixed and DDP,
and a few feature specs (a source and its reader, a user-checkpoint backbone, the I3D paths)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vadflow.methods import get_method_class, method_infos
from vadflow.methods.engine.trainer import TorchMethod

REPO = Path(__file__).resolve().parents[1]
TORCH = sorted(n for n in method_infos() if issubclass(get_method_class(n), TorchMethod))
FEATURES = "effnet_tmax,effnet_dynamic_pixels,alexnet_spp,i3d_rgb"


def _check(tmp_path: Path, *args: str, timeout: int = 240) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "VADFLOW_PYTHON": sys.executable}
    env.pop("GPU_CHECK_CONDA_LIGHTNING", None)
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--small",
                           "--out", str(tmp_path / "out"), "--threads", "1", "--jobs", "2", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    report = tmp_path / "out" / "gpu_check.json"
    assert report.exists(), proc.stdout + proc.stderr
    return proc, json.loads(report.read_text())


def test_the_dry_run_trains_resumes_and_scores_every_torch_method(tmp_path):
    proc, report = _check(tmp_path, "--cases", "*:32-true:single", "lstm_ae:bf16-mixed:ddp", "tsc:*",
                          "--features", FEATURES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["exit_status"] == 0
    cases = [r for r in report["results"] if r["kind"] == "method"]
    ran = [r for r in cases if not r["status"].startswith("skipped")]
    assert all(r["status"] == "ok" for r in ran), [(r["name"], r["status"], r["detail"]) for r in ran]
    assert sorted({r["name"] for r in ran}) == TORCH  # every method the engine trains, at least once
    for r in ran:  # stopped by SIGUSR1 after the first step, resumed there, then the rest; a video scored
        assert r["extra"]["stopped_at"]["step"] == 1 and r["extra"]["steps"][0] == 1, r
        assert r["extra"]["steps"][1] >= 1 and r["extra"]["scored_frames"] > 0, r
        assert r["peak_mb"] > 0 and r["estimate"] == "n/a (no plan yet)"
    fabric = {(r["name"], r["precision"], r["strategy"]): r["extra"]["engine"] for r in ran}
    assert fabric[("lstm_ae", "bf16-mixed", "ddp")] == "Fabric DDPStrategy bf16-mixed on cpu"
    assert fabric[("conv_ae", "32-true", "single")] == "plain torch"
    tsc = {(r["precision"], r["strategy"]): r["status"] for r in cases if r["name"] == "tsc"}
    assert tsc == {("32-true", "single"): "ok", ("32-true", "ddp"): "skipped: single process",
                   ("bf16-mixed", "single"): "skipped: fp32 only", ("bf16-mixed", "ddp"): "skipped: fp32 only"}

    features = {r["name"]: r for r in report["results"] if r["kind"] == "feature"}
    assert set(features) == {"effnet_spp", "effnet_tmax", "effnet_dynamic_pixels", "alexnet_spp", "i3d_rgb",
                             "i3d_rgb [InceptionI3d]"}  # a spec's source runs before it
    assert all(r["status"] == "ok" for r in features.values()), features
    assert "random-weight checkpoint" in features["alexnet_spp"]["detail"]
    assert features["i3d_rgb [InceptionI3d]"]["detail"].endswith("(1024,)")
    assert features["effnet_spp"]["detail"].endswith("(21, 1280)")
    [conda] = [r for r in report["results"] if r["kind"] == "environment"]
    assert conda["status"].startswith(("ok", "skipped"))
    assert "| case " in proc.stdout and "exit status 0" in proc.stdout


def test_cases_left_at_the_time_limit_are_not_run_and_fail_the_check(tmp_path):
    proc, report = _check(tmp_path, "--cases", "conv_ae:32-true:single", "--features", "none",
                          "--timeout-minutes", "0", timeout=120)
    assert proc.returncode == 1 and report["exit_status"] == 1
    [case] = [r for r in report["results"] if r["kind"] == "method"]
    assert case["status"] == "not run: time limit reached"


@pytest.mark.parametrize("args", [["--device", "cpu"], ["--device", "cpu", "--paper-shapes"], ["--small"]])
def test_small_shapes_follow_the_device_unless_asked(args):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    parsed = gpu_check.parse_args(args)
    assert parsed.small == ("--paper-shapes" not in args)


def test_the_synthetic_feature_rows_have_the_shapes_the_paper_specs_give():
    """What the paper-shape cases train on (benchmarks/gpu_check.py feature_layout), against the rows of
    the dry run's extractions above: the shape of a row does not depend on the frame or network size."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    from vadflow.config import load_config

    cfg = load_config(REPO / "config" / "paper.yaml")
    layout = {k: gpu_check.feature_layout(cfg, k, (240, 360), 1)[:2]
              for k in ("effnet_spp", "effnet_tmax", "effnet_dynamic", "i3d_rgb", "i3d_flow", "resnet50_spp")}
    assert layout == {"effnet_spp": ((21, 1280), None), "effnet_tmax": ((21, 1280), None),
                      "effnet_dynamic": ((21, 1280), (20, 1)), "i3d_rgb": ((1280,), (16, 16)),
                      "i3d_flow": ((1280,), (16, 16)), "resnet50_spp": ((21, 2048), None)}
