"""End-to-end: the Snakemake workflow on config/tiny.yaml in a temporary directory."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SHARED_DATASETS, make_generic_dataset

pytestmark = pytest.mark.e2e
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
TINY = str(REPO / "config" / "tiny.yaml")


def snakemake(
    workdir: Path,
    *targets: str,
    configfile: str = TINY,
    config: tuple[str, ...] = (),
    dry_run: bool = False,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    args = [*targets, "--directory", str(workdir), "--cores", "2", "--configfile", configfile]
    args += ["-n"] if dry_run else []
    args += ["--config", *config] if config else []
    proc = subprocess.run(
        [*SNAKEMAKE, *args],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("VADFLOW_")}, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """The 'Job stats' table of a dry run, as {rule: count}."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    lines = text[text.index("Job stats:") :].splitlines()[3:]
    jobs = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("tiny")
    snakemake(workdir, "reports/table3.csv")
    return workdir


def test_outputs(tiny_run: Path):
    rows = list(csv.reader(open(tiny_run / "reports" / "table3.csv")))
    assert rows[0] == ["method", "supervision", "walkway", "digits_appearance", "walkway ci_low", "walkway ci_high",
                       "digits_appearance ci_low", "digits_appearance ci_high"]
    assert [r[:2] for r in rows[1:]] == [
        ["Conv-AE [Hasan et al. 2016]", "U"], ["Nearest subspace", "U"], ["OC-SVM", "U"], ["LSTM-AE", "U"],
        ["TSC [Luo et al.]", "U"], ["sRNN-AE [Luo et al.]", "U"],
        ["LAD multi-task [Wan et al.]", "F"], ["DeepMIL [Sultani et al.]", "W"],
    ]
    assert all(0 <= float(x) <= 100 for r in rows[1:-2] for x in r[2:])
    # each AUC inside its bootstrap interval (evaluation.bootstrap)
    assert all(float(r[4 + 2 * i]) <= float(r[2 + i]) <= float(r[5 + 2 * i]) for r in rows[1:-2] for i in range(2))
    # the supervised methods need the walkway's anomalous training videos; moving digits has none
    assert all(0 <= float(r[2]) <= 100 and r[3] == "" for r in rows[-2:])
    manifest = json.loads((tiny_run / "work" / "walkway" / "manifest.json").read_text())
    anomalous = [v for v in manifest["videos"] if v["split"] == "train" and v["video_label"]]
    assert [v["category"] for v in anomalous] == ["cyclist", "skater"]
    from vadflow.methods.engine.log import load_checkpoint

    def trained_on(method):
        ckpt = load_checkpoint(tiny_run / "work" / "walkway" / "models" / method / "model.pt")
        return sorted(Path(p).name for p in ckpt["train_videos"])

    assert trained_on("conv_ae") == ["train_000.zarr", "train_001.zarr"]  # unsupervised: normal videos only
    assert trained_on("lad_multitask") == trained_on("deepmil") == [
        "train_000.zarr", "train_001.zarr", "train_anomalous_000.zarr", "train_anomalous_001.zarr"]
    md = (tiny_run / "reports" / "table3.md").read_text()
    assert "per-video min-max normalised" in md
    res = json.loads((tiny_run / "results" / "walkway" / "conv_ae.json").read_text())
    assert set(res["frame_auc"]) >= {"minmax_micro", "raw_micro", "macro", "macro_excluded", "per_video"}
    assert res["convention"] == "minmax_micro" and 0 <= res["eer"] <= 1
    assert res["pixel_auc"] is not None  # walkway has masks, Conv-AE has maps
    figs = tiny_run / "reports" / "figures"
    assert (figs / "walkway" / "roc.png").stat().st_size > 1000
    timelines = sorted(p.name for p in (figs / "walkway" / "timelines").glob("*.png"))
    assert timelines == ["test_000.png", "test_001.png"]
    losses = (tiny_run / "work" / "walkway" / "models" / "conv_ae" / "train_log.csv").read_text()
    assert losses.startswith("stage,epoch,step,loss")
    assert (tiny_run / "logs" / "train" / "walkway" / "conv_ae.log").exists()
    assert (tiny_run / "logs" / "benchmarks" / "train" / "walkway" / "conv_ae.tsv").exists()


def test_paper_table_target(tiny_run: Path):
    """A paper's table is its own target: ours beside the published figure, and what each row ran on."""
    snakemake(tiny_run, "reports/srnn/table1.csv")
    rows = list(csv.reader(open(tiny_run / "reports" / "srnn" / "table1.csv")))
    assert rows[0] == ["method", "supervision", "dataset", "computed_on", "auc", "paper", "auc_ci_low", "auc_ci_high"]
    by_method = {r[0]: r for r in rows[1:]}
    assert by_method["sRNN-AE [Luo et al.]"][2:4] == ["digits_appearance", "synthetic moving_digits (appearance)"]
    assert by_method["sRNN-AE [Luo et al.]"][5] == "90.11" and by_method["TSC [Luo et al.]"][5] == ""
    assert 0 <= float(by_method["TSC [Luo et al.]"][4]) <= 100
    fused = by_method["sRNN-AE [Luo et al.] + sRNN-AE [Luo et al.] (srnn_ae_tmax) (late fusion)"]
    assert 0 <= float(fused[4]) <= 100
    assert "Table 1" in (tiny_run / "reports" / "srnn" / "table1.md").read_text()


def test_table3_swaps_in_raw_features_on_digits(tiny_run: Path):
    """reports.table3.use: the sRNN-AE row shows srnn_ae_raw's result on digits (Luo et al. sec. 4.2)."""
    raw = json.loads((tiny_run / "results" / "digits_appearance" / "srnn_ae_raw.json").read_text())
    rows = {r[0]: r for r in csv.reader(open(tiny_run / "reports" / "table3.csv"))}
    assert rows["sRNN-AE [Luo et al.]"][3] == f"{100 * raw['frame_auc']['minmax_micro']:.2f}"
    assert "digits_appearance: row srnn_ae shows srnn_ae_raw" in (tiny_run / "reports" / "table3.md").read_text()


def test_speed_and_sweep_tables(tiny_run: Path):
    """A paper table of another metric (Table 10: frames/s, training time) and a sweep with its figure
    (Fig. 8: AUC and code sparsity against K); optical-flow images through the CNN feed srnn_ae_flow."""
    snakemake(tiny_run, "reports/srnn/speed.csv", "reports/srnn/layers.csv")
    rows = list(csv.reader(open(tiny_run / "reports" / "srnn" / "speed.csv")))
    assert rows[0] == ["method", "supervision", "dataset", "computed_on", "score_frames_per_second", "paper",
                       "train_seconds", "params.K"]
    by_method = {r[0]: r for r in rows[1:]}
    assert float(by_method["sRNN-AE [Luo et al.]"][4]) > 0 and by_method["sRNN-AE [Luo et al.]"][5] == "152"
    assert by_method["TSC [Luo et al.]"][7] == "10" and float(by_method["TSC [Luo et al.]"][6]) > 0
    assert by_method["Conv-AE"][3:6] == ["not run here (published figure only)", "", "30"]  # Luo et al.'s row
    rows = list(csv.reader(open(tiny_run / "reports" / "srnn" / "layers.csv")))
    ks = [r[6] for r in rows[1:]]
    assert ks == ["1", "3", "3"]
    assert all(0 <= float(r[7]) <= 1 for r in rows[1:])
    assert (tiny_run / "reports" / "srnn" / "layers.png").stat().st_size > 1000
    flow = json.loads((tiny_run / "results" / "walkway" / "srnn_ae_flow.json").read_text())
    assert 0 <= flow["auc"] <= 1 and flow["params"]["K"] == 3


def test_anomalynet_table_with_a_row_that_needs_a_checkpoint(tiny_run: Path):
    """Zhou et al.'s Table 5 on the tiny walkway: AnomalyNet trained on dynamic images + frames, every
    metric beside the paper's; the ResNet-50 row is marked not run (no checkpoint), not a failure. The
    TP/FA beside the papers' comes also on the model's calibrated scale, and the note says why."""
    snakemake(tiny_run, "reports/anomalynet/table5.csv")
    rows = list(csv.reader(open(tiny_run / "reports" / "anomalynet" / "table5.csv")))
    assert rows[0] == ["method", "supervision", "dataset", "computed_on", "auc", "paper", "pixel_auc.minmax", "eer",
                       "events.tp_fa", "events_calibrated.tp_fa", "pixel_auc.minmax (paper)", "eer (paper)",
                       "events.tp_fa (paper)", "auc_ci_low", "auc_ci_high"]  # no paper gives calibrated events
    by_method = {r[0]: r for r in rows[1:]}
    ours = by_method["AnomalyNet [Zhou et al.]"]
    assert ours[3] == "synthetic walkway" and ours[5] == "94.90" and ours[10:13] == ["52.80", "10.30", "12/1"]
    assert float(ours[13]) <= float(ours[4]) <= float(ours[14])
    assert 0 <= float(ours[4]) <= 100 and 0 <= float(ours[6]) <= 100 and "/" in ours[8] and "/" in ours[9]
    calibrated = json.loads((tiny_run / "results" / "walkway" / "calibrated" / "anomalynet.json").read_text())
    calibrated = calibrated["events_calibrated"]
    assert calibrated["rule"]["threshold"] == 1.0 and calibrated["calibration"]["videos"] >= 1
    assert ours[9] == calibrated["tp_fa"]
    assert (tiny_run / "work" / "walkway" / "models" / "anomalynet" / "calibration.json").exists()
    assert "part of every such TP count is structural" in (tiny_run / "reports" / "anomalynet" / "table5.md").read_text()
    blocked = by_method["AnomalyNet [Zhou et al.] (anomalynet_resnet50)"]
    assert blocked[3].startswith("not run: needs a checkpoint of resnet50") and blocked[4] == ""
    assert by_method["Liu et al. [38]"][3] == "not run here (published figure only)"
    assert not (tiny_run / "results" / "walkway" / "anomalynet_resnet50.json").exists()


def test_second_run_is_a_no_op(tiny_run: Path):
    proc = snakemake(tiny_run, "reports/table3.csv", dry_run=True)
    assert planned_jobs(proc) == {}


def test_param_change_reruns_only_that_method(tiny_run: Path):
    proc = snakemake(tiny_run, "reports/table3.csv", dry_run=True, config=("methods={conv_ae: {params: {epochs: 2}}}",))
    jobs = planned_jobs(proc)
    assert set(jobs) == {"train", "score", "evaluate", "roc_figure", "timeline_figures", "table3"}
    assert jobs["train"] == 2  # one per dataset; nothing is decoded or generated again


def test_decode_change_reruns_that_dataset(tiny_run: Path):
    proc = snakemake(tiny_run, "reports/table3.csv", dry_run=True, config=("datasets={walkway: {decode: {chunk_frames: 4}}}",))
    jobs = planned_jobs(proc)
    # the walkway's only: its normal training videos, its anomalous ones (a shard of their own) and its test videos
    assert jobs["decode"] == 3
    assert jobs["train"] == 8 and "synthesize" not in jobs  # every method on the walkway, nothing else


def test_unknown_config_key_is_reported(tmp_path: Path):
    proc = snakemake(tmp_path, dry_run=True, config=("evaluation={convension: macro}",), check=False)
    assert proc.returncode != 0
    assert "convension" in proc.stderr + proc.stdout


def test_missing_dataset_root_is_reported(tmp_path: Path):
    proc = snakemake(
        tmp_path,
        "reports/table3.csv",
        dry_run=True,
        config=(
            f"datasets={{mine: {{adapter: generic, root: {tmp_path / 'nowhere'}}}}}",
            "reports={table3: {datasets: [mine], methods: [conv_ae]}}",
        ),
        check=False,
    )
    assert proc.returncode != 0
    out = proc.stderr + proc.stdout
    assert "nowhere" in out and "datasets.mine.root" in out


def test_generic_dataset_end_to_end(tmp_path: Path):
    """Your own footage in the generic layout runs through the same rules."""
    root = make_generic_dataset(tmp_path / "mycam")
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(
        f"""
seed: 0
device: cpu
datasets:
  mycam: {{adapter: generic, root: {root}, decode: {{color: gray}}}}
methods:
  conv_ae:
    method: conv_ae
    input: {{clip_length: 4}}
    params: {{channels: [4, 4, 4], kernels: [5, 3, 3], first_stride: 2, first_padding: 2, epochs: 1, batch_size: 8}}
reports:
  table3: {{datasets: [mycam], methods: [conv_ae]}}
"""
    )
    snakemake(tmp_path, "reports/table3.csv", configfile=str(cfg))
    res = json.loads((tmp_path / "results" / "mycam" / "conv_ae.json").read_text())
    assert res["frame_auc"]["n_videos"] == 2 and res["pixel_auc"]["videos"] == 1


def test_lint_is_clean():
    proc = subprocess.run([*SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "good condition" in proc.stdout + proc.stderr


def test_feature_targets(tiny_run: Path):
    """Feature stores per (video, spec), computed per shard of videos; an index per (dataset, spec);
    names follow the spec."""
    targets = [f"work/walkway/features/{k}.json" for k in ("effnet_tmax", "effnet_dynamic", "i3d_flow")]
    snakemake(tiny_run, *targets)
    index = json.loads((tiny_run / "work/walkway/features/effnet_tmax.json").read_text())
    assert index["spec_id"].startswith("effnet_tmax-") and len(index["splits"]["test"]) == 2
    assert index["splits"]["train"][0]["row_shape"] == [21, 1280]
    assert json.loads((tiny_run / "work/walkway/features/i3d_flow.json").read_text())["splits"]["test"][0]["row_shape"]
    # the frame features effnet_tmax pools were computed once, as their own spec
    spp = [p.name for p in (tiny_run / "work/walkway/features").iterdir() if p.name.startswith("effnet_spp-")]
    assert len(spp) == 1
    # a changed parameter reruns that spec and what is built on it, nothing else
    proc = snakemake(tiny_run, *targets, dry_run=True, config=("features={effnet_spp: {input_size: 96}}",))
    jobs = planned_jobs(proc)
    # spp + tmax for 3 shards (normal training, anomalous training and test videos), the tmax index
    assert jobs == {"extract_features": 6, "feature_index": 1}


@pytest.mark.realdata
def test_paper_config_plans_with_real_ped2(tmp_path: Path):
    """config/paper.yaml plans with only the Ped2 root set; the other datasets are left out, with a message."""
    ped2 = SHARED_DATASETS / "ucsd_ped2"
    if not ped2.is_dir():
        pytest.skip(f"the real UCSD Ped2 is not at {ped2} (set VADFLOW_SHARED_DATASETS)")
    proc = snakemake(
        tmp_path, "reports/table3.csv", configfile=str(REPO / "config" / "paper.yaml"), dry_run=True,
        env={"VADFLOW_PED2": str(ped2)},
    )
    out = proc.stdout + proc.stderr
    assert "dataset 'avenue' is left out" in out and "dataset 'ped2' is left out" not in out
    jobs = planned_jobs(proc)
    assert jobs.get("list_videos") == 1 and jobs.get("table3") == 1


def _vadflow(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "vadflow.cli", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_detect_on_new_footage_gives_the_workflows_scores(tiny_run: Path, tmp_path: Path):
    """`vadflow detect` on a test video the workflow scored: the same scores bit for bit (Conv-AE on
    frames with pixel maps, and the LAD network on I3D RGB + flow, whose flow stream is computed from
    another feature spec); events and a timeline; Conv-AE's overlay has the input's frame count."""
    from vadflow.data.decode import decode_frames, DecodeSpec
    from vadflow.scores import read_scores

    video = tiny_run / "data" / "synthetic" / "walkway" / "test" / "test_000.mp4"
    for method in ("conv_ae", "lad_multitask"):
        snakemake(tiny_run, f"work/walkway/models/{method}/calibration.json")
        out = tmp_path / method
        _vadflow(tiny_run, "detect", "--model", f"work/walkway/models/{method}/model.pt", str(video), "--out", str(out))
        rows = list(csv.DictReader(open(out / "test_000" / "scores.csv")))
        _, scores, _ = read_scores(tiny_run / "work" / "walkway" / "scores" / f"{method}.zarr")
        assert [float(r["score"]) for r in rows] == scores["test_000"].astype(float).tolist()
        assert list(csv.reader(open(out / "test_000" / "events.csv")))[0][:2] == ["start_frame", "end_frame"]
        assert (out / "test_000" / "timeline.png").stat().st_size > 1000
    overlay = tmp_path / "conv_ae" / "test_000" / "overlay.mp4"
    assert sum(len(c) for c in decode_frames(overlay, DecodeSpec())) == len(scores["test_000"])
    assert not (tmp_path / "lad_multitask" / "test_000" / "overlay.mp4").exists()  # no pixel maps


def test_detect_rule_goes_on_past_an_unreadable_video(tiny_run: Path, tmp_path: Path):
    """`snakemake detect` over a folder with a broken file and a video of another size: the broken one
    is listed with why, the other is resized (with a warning) and scored."""
    import shutil

    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"not a video")
    from vadflow.data.encode import write_mp4
    from conftest import moving_square

    write_mp4(moving_square(30, h=40, w=56), folder / "small.mp4", fps=10)  # the model: 48 x 64
    snakemake(tiny_run, "detect", config=(f"detect={{videos: {folder}, models: [walkway/conv_ae]}}",))
    rows = {Path(r["video"]).name: r for r in csv.DictReader(open(tiny_run / "detections" / "walkway" / "conv_ae" / "detections.csv"))}
    assert rows["broken.mp4"]["error"] and "broken.mp4" in rows["broken.mp4"]["error"]
    assert rows["small.mp4"]["error"] == "" and int(rows["small.mp4"]["frames"]) == 30
    assert "resized" in (tiny_run / "logs" / "detect" / "walkway" / "conv_ae.log").read_text()
    assert not (tiny_run / "detections" / "walkway" / "conv_ae" / "broken").exists()
    shutil.rmtree(tiny_run / "detections")


def test_html_report_with_intervals_protocol_cards_and_costs(tiny_run: Path):
    """`snakemake --report` builds one page from the tables (each an HTML page with its AUCs' bootstrap
    intervals and the protocol card of every row), the figures and the cost of every rule."""
    result = json.loads((tiny_run / "results" / "walkway" / "conv_ae.json").read_text())
    ci = result["frame_auc_ci"]["minmax_micro"]
    assert ci[0] <= result["frame_auc"]["minmax_micro"] <= ci[1] and result["frame_auc_ci"]["draws"] == 1000
    card = result["protocol"]
    assert card["test_labels_used_for"] == "the evaluation" and len(card["labels_sha256"]) == 64
    assert "per-video min-max" in card["normalisation"] and "official split" in card["split"]
    page = (tiny_run / "reports" / "table3.html").read_text()
    assert "Protocol of each row" in page and f"{100 * ci[0]:.2f}" in page
    snakemake(tiny_run, "reports/costs.csv")
    costs = {r["rule"]: r for r in csv.DictReader(open(tiny_run / "reports" / "costs.csv"))}
    assert int(costs["train"]["jobs"]) >= 8 and float(costs["total"]["wall_s"]) > 0
    snakemake(tiny_run, "reports/settings.html")
    assert "n_train_anomalous" in (tiny_run / "reports" / "settings.html").read_text()  # the run's own config
    snakemake(tiny_run, "reports/fidelity.md")  # rule all's last part: synthetic data only, so it says so
    assert "no results on real data" in (tiny_run / "reports" / "fidelity.md").read_text()
    snakemake(tiny_run, "--report", "reports/report.html")
    assert (tiny_run / "reports" / "report.html").stat().st_size > 100_000


def test_the_html_report_builds(tiny_run: Path):
    """What `make report` runs: rule all (table3, the cost of its jobs, the settings), then Snakemake's report."""
    snakemake(tiny_run)
    proc = subprocess.run([*SNAKEMAKE, "--directory", str(tiny_run), "--configfile", TINY, "--report",
                           str(tiny_run / "reports" / "report.html")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (tiny_run / "reports" / "report.html").read_text(errors="replace")
    assert "table3" in html and len(html) > 10_000
