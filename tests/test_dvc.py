"""DVC over the Snakemake workflow: the generated dvc.yaml (one stage per report table), and
`dvc repro` / metrics / plots / push-pull in a fresh clone of the repository (the e2e tests)."""

from __future__ import annotations

import copy
import csv
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from vadflow.config import check_config
from vadflow.reporting.dvc_pipeline import build_dvc_yaml, generate, render

PARAMS = "config/config.yaml"


# --- the generator ----------------------------------------------------------------------------

def _cfg() -> dict:
    """A small config with a fusion entry, a base: variant and a feature with a source."""
    cfg = {
        "seed": 0,
        "device": "cpu",
        "datasets": {
            "walkway": {"adapter": "synthetic", "generator": "walkway"},
            "digits": {"adapter": "synthetic", "generator": "moving_digits"},
            "ped2": {"adapter": "ucsd", "root": "data/raw/ped2"},
        },
        "methods": {
            "conv_ae": {"method": "conv_ae"},
            "srnn_ae": {"method": "srnn_ae", "input": {"features": ["spp"]}, "params": {"K": 3}},
            "srnn_ae_tmax": {"base": "srnn_ae", "input": {"features": ["tmax"]}},
            "srnn_ae_late": {"fusion": {"spatial": "srnn_ae", "temporal": "srnn_ae_tmax", "beta": 0.5}},
            "tsc_raw": {"method": "tsc", "input": {"features": ["raw"]}},
        },
        "features": {
            "spp": {"kind": "frame", "input_size": 64},
            "tmax": {"kind": "temporal_max", "source": "spp"},
            "raw": {"kind": "raw"},
            "unused": {"kind": "flow"},
        },
        "evaluation": {"convention": "minmax_micro"},
        "reports": {
            "table3": {"datasets": ["walkway", "digits"], "methods": ["conv_ae", "srnn_ae"],
                       "use": {"digits": {"srnn_ae": "tsc_raw"}}},
            "fusion_table": {"output": "reports/x/fusion.csv", "title": "t", "datasets": ["walkway", "ped2"],
                             "methods": ["conv_ae", "srnn_ae_late"]},
        },
    }
    check_config(cfg)
    return cfg


def _params(stage: dict) -> list[str]:
    [entry] = stage["params"]
    return entry[PARAMS]


def _paths(items: list[dict]) -> list[str]:
    return [next(iter(i)) for i in items]


def test_stage_params_are_what_the_table_depends_on():
    stages = build_dvc_yaml(_cfg())["stages"]
    assert list(stages) == ["table3", "fusion_table"]
    t3 = _params(stages["table3"])
    assert t3[:3] == ["seed", "device", "evaluation"]  # every top-level setting
    assert set(t3[3:]) == {
        "datasets.walkway", "datasets.digits",
        "methods.conv_ae", "methods.srnn_ae", "methods.tsc_raw",  # rows and the entry `use:` swaps in
        "features.spp", "features.raw", "reports.table3",
    }
    fused = _params(stages["fusion_table"])
    assert set(fused[3:]) == {
        "datasets.walkway", "datasets.ped2",
        "methods.conv_ae", "methods.srnn_ae_late", "methods.srnn_ae", "methods.srnn_ae_tmax",  # fusion streams
        "features.spp", "features.tmax",  # tmax's source: spp
        "reports.fusion_table",
    }


def test_stage_cmd_deps_outs_metrics():
    stages = build_dvc_yaml(_cfg())["stages"]
    t3, fused = stages["table3"], stages["fusion_table"]
    assert t3["cmd"] == "snakemake reports/table3.csv --cores all"
    assert fused["cmd"] == "snakemake reports/x/fusion.csv --cores all"
    assert t3["deps"] == ["Snakefile", "workflow", "src/vadflow"]  # synthetic data: generated, no dep
    assert fused["deps"] == ["Snakefile", "workflow", "src/vadflow", "data/raw/ped2"]
    assert _paths(fused["outs"]) == ["reports/x/fusion.csv", "reports/x/fusion.md", "reports/x/fusion.html"]
    assert _paths(t3["outs"]) == [
        "reports/table3.csv", "reports/table3.md", "reports/table3.html", "reports/figures/walkway/roc.csv",
        "reports/figures/digits/roc.csv",
    ]
    for item in t3["outs"] + t3["metrics"] + fused["outs"] + fused["metrics"]:
        assert next(iter(item.values())) == {"persist": True, "cache": False}
    assert _paths(t3["metrics"]) == [
        "results/walkway/conv_ae.json", "results/digits/conv_ae.json",
        "results/walkway/srnn_ae.json", "results/digits/tsc_raw.json",
    ]
    # a results file is declared once (DVC refuses two stages with one output): walkway/conv_ae is table3's
    assert _paths(fused["metrics"]) == [
        "results/ped2/conv_ae.json", "results/walkway/srnn_ae_late.json", "results/ped2/srnn_ae_late.json",
    ]


def test_roc_plots_and_other_configs():
    cfg = _cfg()
    d = build_dvc_yaml(cfg, config_path="config/paper.yaml")
    assert d["stages"]["table3"]["cmd"] == (
        "snakemake reports/table3.csv --configfile config/paper.yaml --cores all"
    )
    assert list(d["stages"]["table3"]["params"][0]) == ["config/paper.yaml"]
    plots = {k: v for p in d["plots"] for k, v in p.items()}
    assert list(plots) == ["reports/figures/walkway/roc.csv", "reports/figures/digits/roc.csv"]
    assert plots["reports/figures/walkway/roc.csv"]["template"] == "roc_by_method"
    assert {plots["reports/figures/digits/roc.csv"][k] for k in ("x", "y")} == {"fpr", "tpr"}
    assert (REPO / ".dvc" / "plots" / "roc_by_method.json").exists()
    # a real dataset whose root names an unset variable is left out of the table, and of the deps
    cfg["datasets"]["ped2"]["root"] = "${VADFLOW_TEST_UNSET_ROOT}"
    os.environ.pop("VADFLOW_TEST_UNSET_ROOT", None)
    fused = build_dvc_yaml(cfg)["stages"]["fusion_table"]
    assert fused["deps"] == ["Snakefile", "workflow", "src/vadflow"] and "datasets.ped2" not in _params(fused)
    text = render(d)
    assert text.startswith("# Generated by `vadflow dvc-yaml`") and yaml.safe_load(text) == d


def test_committed_dvc_yaml_is_in_sync_with_the_config():
    proc = subprocess.run(
        [sys.executable, "-m", "vadflow.cli", "dvc-yaml", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\n(regenerate it: vadflow dvc-yaml)"


def test_check_fails_on_a_stale_file(tmp_path: Path):
    from vadflow.cli import main

    out = tmp_path / "dvc.yaml"
    assert main(["dvc-yaml", "--config", str(REPO / PARAMS), "--output", str(out)]) == 0
    assert main(["dvc-yaml", "--config", str(REPO / PARAMS), "--output", str(out), "--check"]) == 0
    out.write_text(out.read_text().replace("--cores all", "--cores 1", 1))
    with pytest.raises(SystemExit) as exc:
        main(["dvc-yaml", "--config", str(REPO / PARAMS), "--output", str(out), "--check"])
    assert exc.value.code == 1


def test_roc_csv_is_long_form(tmp_path: Path):
    from conftest import leftovers
    from vadflow.reporting.figures import write_roc_csv

    results = [
        {"method": "a", "dataset": "d", "roc": {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.75, 1.0]}},
        {"method": "b", "dataset": "d", "roc": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}},
    ]
    out = tmp_path / "roc.csv"
    write_roc_csv(results, out)
    rows = list(csv.reader(open(out)))
    assert rows[0] == ["method", "fpr", "tpr"]
    assert rows[1:] == [["a", "0.0", "0.0"], ["a", "0.5", "0.75"], ["a", "1.0", "1.0"], ["b", "0.0", "0.0"], ["b", "1.0", "1.0"]]
    results[1]["roc"]["tpr"] = [0.0]
    with pytest.raises(ValueError, match="differ in length"):
        write_roc_csv(results, out)
    assert leftovers(tmp_path) == [] and len(list(csv.reader(open(out)))) == 6  # the old file is untouched


# --- DVC in a fresh clone -----------------------------------------------------------------------

GIT = ["git", "-c", "user.name=vadflow tests", "-c", "user.email=tests@vadflow.invalid", "-c", "commit.gpgsign=false"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VADFLOW_", "DVC_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # the venv's snakemake
        PYTHONUNBUFFERED="1",
        DVC_NO_ANALYTICS="1",  # never reach the network (also off in .dvc/config)
        DVC_STUDIO_OFFLINE="1",
        DVC_GLOBAL_CONFIG_DIR=str(home / "global"),  # no user or system DVC config leaks in
        DVC_SYSTEM_CONFIG_DIR=str(home / "system"),
        DVC_SITE_CACHE_DIR=str(home / "site"),
    )
    return env


def run(clone: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), cwd=clone, capture_output=True, text=True, env=_env(clone.parent / "dvc-home"))
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dvc(clone: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(clone, sys.executable, "-m", "dvc", *args, check=check)


def make_clone(dest: Path, cfg: dict | None = None) -> Path:
    """The repository's tracked and untracked-but-not-ignored files (uncommitted work included),
    as a new git repository; ``cfg`` becomes its config/config.yaml and dvc.yaml is regenerated."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if rel == "dvc.lock" or not (src.is_file() or src.is_symlink()):
            continue  # the repository's lock is for its own config; deleted files are listed too
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel, follow_symlinks=False)
    if cfg is not None:
        (dest / PARAMS).write_text(yaml.safe_dump(cfg, sort_keys=False))
        (dest / "dvc.yaml").write_text(generate(dest / PARAMS, dest / "dvc.yaml"))
    run(dest, "git", "init", "-q")
    run(dest, "git", "add", "-A")
    run(dest, *GIT, "commit", "-q", "-m", "clone")
    return dest


def dvc_test_config() -> dict:
    """config/tiny.yaml with two small tables on one dataset: table3 (Conv-AE, with the ROC
    figure and data) and a paper table whose only row is a variant of it (``base: conv_ae``)."""
    cfg = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
    cfg["methods"]["conv_ae_b"] = {"base": "conv_ae", "params": {"batch_size": 4}}
    cfg["reports"] = {
        "table3": {"datasets": ["digits_appearance"], "methods": ["conv_ae"]},
        "srnn_table1": {
            "output": "reports/srnn/table1.csv",
            "title": "Luo et al., Table 1 (DVC test)",
            "datasets": ["digits_appearance"],
            "methods": ["conv_ae_b"],
        },
    }
    check_config(copy.deepcopy(cfg))
    return cfg


def ran_stages(proc: subprocess.CompletedProcess) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return make_clone(tmp_path_factory.mktemp("dvc") / "clone", dvc_test_config())


@pytest.fixture(scope="module")
def reproduced(clone: Path) -> tuple[Path, subprocess.CompletedProcess]:
    return clone, dvc(clone, "repro")


@pytest.mark.e2e
def test_repro_builds_the_tables(reproduced):
    clone, proc = reproduced
    assert sorted(ran_stages(proc)) == ["srnn_table1", "table3"]
    rows = list(csv.reader(open(clone / "reports" / "table3.csv")))
    assert rows[0][:3] == ["method", "supervision", "digits_appearance"] and rows[1][0].startswith("Conv-AE")
    rows = list(csv.reader(open(clone / "reports" / "srnn" / "table1.csv")))
    assert len(rows) == 2 and rows[1][0].startswith("Conv-AE") and 0 <= float(rows[1][4]) <= 100
    roc = list(csv.reader(open(clone / "reports" / "figures" / "digits_appearance" / "roc.csv")))
    assert roc[0] == ["method", "fpr", "tpr"] and {r[0] for r in roc[1:]} == {"conv_ae"} and len(roc) > 3
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    assert set(lock) == {"table3", "srnn_table1"}
    assert lock["srnn_table1"]["params"][PARAMS]["methods.conv_ae_b"]["params"]["batch_size"] == 4
    assert "methods.conv_ae_b" not in lock["table3"]["params"][PARAMS]


@pytest.mark.e2e
def test_metrics_and_plots(reproduced):
    clone, _ = reproduced
    shown = json.loads(dvc(clone, "metrics", "show", "--json").stdout)
    data = shown[""]["data"]
    res = data["results/digits_appearance/conv_ae.json"]["data"]
    # nested dicts are read (flattened in the table), lists (the ROC points) left out, strings kept
    assert 0 <= res["frame_auc"]["minmax_micro"] <= 1 and "roc" not in res and res["method"] == "conv_ae"
    assert "results/digits_appearance/conv_ae_b.json" in data and not shown[""].get("error")
    table = dvc(clone, "metrics", "show").stdout
    assert "frame_auc.minmax_micro" in table and "results/digits_appearance/conv_ae.json" in table
    plots = json.loads(dvc(clone, "plots", "show", "--json").stdout)
    [plot] = plots["data"]["reports/figures/digits_appearance/roc.csv"]
    spec = json.dumps(plot["content"])
    assert "<DVC_METRIC" not in spec and '"field": "method"' in spec
    points = plot["content"]["data"]["values"]
    assert {p["method"] for p in points} == {"conv_ae"} and {"fpr", "tpr", "rev"} <= set(points[0])
    assert not plots.get("errors")


@pytest.mark.e2e
def test_second_repro_is_a_no_op(reproduced):
    clone, _ = reproduced
    proc = dvc(clone, "repro")
    out = proc.stdout + proc.stderr
    assert ran_stages(proc) == [] and "didn't change" in out and "Data and pipelines are up to date" in out
    assert "Building DAG of jobs" not in out  # no Snakemake run at all
    assert dvc(clone, "status").stdout.strip() == "Data and pipelines are up to date."


@pytest.mark.e2e
def test_param_change_reruns_only_the_affected_stage(reproduced):
    clone, _ = reproduced
    # the results are git-ignored: commit them (and the lock) so that `dvc metrics diff` has a baseline
    run(clone, "git", "add", "-A")
    run(clone, "git", "add", "-f", "results")
    run(clone, *GIT, "commit", "-q", "-m", "results")
    cfg = yaml.safe_load((clone / PARAMS).read_text())
    cfg["methods"]["conv_ae_b"]["params"]["batch_size"] = 6  # a method only srnn_table1 has
    (clone / PARAMS).write_text(yaml.safe_dump(cfg, sort_keys=False))
    status = json.loads(dvc(clone, "status", "--json").stdout)
    assert list(status) == ["srnn_table1"]
    before = (clone / "reports" / "table3.csv").stat().st_mtime_ns
    proc = dvc(clone, "repro")
    assert ran_stages(proc) == ["srnn_table1"], proc.stdout
    assert "Stage 'table3' didn't change" in proc.stdout + proc.stderr
    assert (clone / "reports" / "table3.csv").stat().st_mtime_ns == before
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    assert lock["srnn_table1"]["params"][PARAMS]["methods.conv_ae_b"]["params"]["batch_size"] == 6
    changed = json.loads(dvc(clone, "metrics", "diff", "--json").stdout)
    assert set(changed) == {"results/digits_appearance/conv_ae_b.json"}  # table3's Conv-AE did not change
    assert "train_seconds" in changed["results/digits_appearance/conv_ae_b.json"]
    # a report's title is that table's alone too
    cfg["reports"]["srnn_table1"]["title"] = "Luo et al., Table 1 (retitled)"
    (clone / PARAMS).write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = dvc(clone, "repro")
    assert ran_stages(proc) == ["srnn_table1"], proc.stdout
    assert "retitled" in (clone / "reports" / "srnn" / "table1.md").read_text()


@pytest.mark.e2e
def test_push_pull_round_trips_raw_data(tmp_path: Path):
    clone = make_clone(tmp_path / "clone")
    raw = clone / "data" / "raw" / "mini"
    (raw / "train").mkdir(parents=True)
    for i in range(3):
        (raw / "train" / f"{i:03d}.bin").write_bytes(os.urandom(1000 + i))
    (raw / "labels.txt").write_text("0 1 1 0\n")
    keep = tmp_path / "expected"
    shutil.copytree(raw, keep)
    dvc(clone, "add", "data/raw/mini")
    # the .dvc file is for git (data/ is git-ignored, but not data/raw/*.dvc); the data is not
    assert run(clone, "git", "status", "--porcelain", "--untracked-files=all").stdout.split() == ["??", "data/raw/mini.dvc"]
    dvc(clone, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    assert "5 files pushed" in dvc(clone, "push").stdout  # the 4 files and the directory's listing
    shutil.rmtree(raw)
    shutil.rmtree(clone / ".dvc" / "cache")
    assert "5 files fetched" in dvc(clone, "pull").stdout
    cmp = filecmp.dircmp(keep, raw)
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    for p in keep.rglob("*"):
        if p.is_file():
            assert (raw / p.relative_to(keep)).read_bytes() == p.read_bytes()
