"""The workflow on SLURM: `snakemake --profile profiles/slurm` against a real, throw-away single-node
Slurm cluster on this machine (tests/slurm/local_slurm.py), compared with a local run.

Needs root and Debian's `slurm-wlm` and `munge` (.ci/run installs them); skips otherwise.
The target is one method on a shrunk `digits_appearance` (1 training and 1 test video) so that
the 7 jobs (synthesize, list_videos (a checkpoint), decode x2, train, score, evaluate) take
about 3.5 minutes on 2 cores, the whole module under 4: a SLURM job takes ~20 s, as it starts
Snakemake twice (the plugin's job step, then the rule) and each start parses the workflow,
and the plugin sees it finish ~33 s after submission (it polls squeue after 1 s, then 10 s
later each time, +10 s per check that finds nothing finished).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from local_slurm import LocalSlurm, SlurmUnavailable

pytestmark = [pytest.mark.slurm, pytest.mark.e2e]

SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
PROFILE = str(REPO / "profiles" / "slurm")
TARGET = "results/digits_appearance/conv_ae.json"
# the tiny config, with one training and one test video (fewer jobs, same rules)
CONFIG = [
    "--configfile", str(REPO / "config" / "tiny.yaml"),
    "--config", "datasets={digits_appearance: {params: {n_train: 1, n_test: 1}}}",
]
# Test-only speed-ups: first squeue check 1 s after a submission instead of 40 s
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1"]
EXPECTED_JOBS = {"synthesize": 1, "list_videos": 1, "decode": 2, "train": 1, "score": 1, "evaluate": 1}
# conv_ae's own resources (its MethodInfo.resources in vadflow.methods.conv_ae): the GPU jobs
CONV_AE = {"NumCPUs": "2", "MinMemory": "8000M", "TimeLimit": "2:00:00"}
TIMING_FIELDS = {"train_seconds", "score_frames_per_second"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VADFLOW_", "SLURM_", "SNAKEMAKE_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    return [*SNAKEMAKE, TARGET, "--directory", str(workdir), *args, *CONFIG]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm")  # config, state, logs: kept for a look after a failure
    try:
        slurm = LocalSlurm(root, partition="debug", other_partition="vadflow").start()
    except SlurmUnavailable as e:
        pytest.skip(f"no local Slurm cluster: {e}")
    try:
        if slurm.real_memory < int(CONV_AE["MinMemory"].rstrip("M")):
            pytest.skip(f"the node has {slurm.real_memory} MB, conv_ae's jobs ask for {CONV_AE['MinMemory']}")
        yield slurm
    finally:
        slurm.stop()


@pytest.fixture(scope="module")
def runs(cluster: LocalSlurm, tmp_path_factory):
    """The target on SLURM and, at the same time, locally (the reference)."""
    local_dir = tmp_path_factory.mktemp("local")
    slurm_dir = tmp_path_factory.mktemp("onslurm")
    local_log = local_dir.with_name(local_dir.name + ".log")
    with open(local_log, "w") as out:  # a file, not a pipe: nobody reads it while SLURM runs
        local = subprocess.Popen(
            snakemake_cmd(local_dir, "--cores", "2"), cwd=local_dir, env=clean_env(), stdout=out, stderr=out
        )
    # cwd = the workflow's directory, as a user would start it: the plugin's logs/slurm and
    # sbatch -D are relative to it
    start = time.monotonic()
    try:
        slurm = subprocess.run(
            snakemake_cmd(slurm_dir, "--profile", PROFILE, *FAST_POLLING),
            cwd=slurm_dir, env=clean_env(**cluster.env, VADFLOW_SLURM_PARTITION="vadflow"),
            capture_output=True, text=True, timeout=900,
        )
        slurm_seconds = time.monotonic() - start
        local.wait(timeout=600)
    finally:
        if local.poll() is None:
            local.kill()
            local.wait()
    slurm_out = slurm.stdout + slurm.stderr
    print(f"SLURM run: {slurm_seconds:.0f} s")
    assert local.returncode == 0, f"local run failed:\n{local_log.read_text()[-3000:]}"
    assert slurm.returncode == 0, f"SLURM run failed:\n{slurm_out[-5000:]}\n{cluster.jobs()}"
    return {"local": local_dir, "slurm": slurm_dir, "log": slurm_out, "jobs": cluster.jobs()}


def finished_jobs(log: str) -> dict[str, str]:
    """{snakemake job id: rule} of every job Snakemake reports finished."""
    return dict(re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", log))


def test_every_job_ran_as_a_slurm_job(runs):
    log = runs["log"]
    finished = finished_jobs(log)
    assert Counter(finished.values()) == EXPECTED_JOBS
    assert "localrule" not in log  # the workflow has no localrules: nothing runs on the submit host
    # "Job 4 has been submitted with SLURM jobid 19 (log: ...)": one SLURM job per Snakemake job
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    assert set(submitted) == set(finished)
    assert len(set(submitted.values())) == len(submitted)
    # ... which slurmctld ran to completion, under this run's name
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    ours = {jid: job for jid, job in runs["jobs"].items() if job["Name"] == run_id}
    assert set(ours) == set(submitted.values())
    assert {job["State"] for job in ours.values()} == {"COMPLETED"}


def test_resources_reach_sbatch(runs):
    """Partition from $VADFLOW_SLURM_PARTITION; a GPU exactly for the gpu=1 jobs; the rules'
    threads, mem_mb and runtime as --cpus-per-task, --mem and -t."""
    by_rule = {}
    for job in runs["jobs"].values():
        m = re.match(r"rule_([a-z_]+?)(_wildcards_|$)", job["Comment"])
        if m:
            by_rule.setdefault(m.group(1), []).append(job)
    assert {rule: len(jobs) for rule, jobs in by_rule.items()} == EXPECTED_JOBS
    for rule, jobs in by_rule.items():
        for job in jobs:
            assert job["Partition"] == "vadflow", (rule, job)
            if rule in ("train", "score"):  # conv_ae: gpu=1
                assert job["tres-per-job"] == "gres:gpu:1", (rule, job)
                assert {k: job[k] for k in CONV_AE} == CONV_AE, (rule, job)
            else:  # gpu=0 or no gpu resource: no --gpus, no --gres
                assert job["tres-per-job"] == "N/A", (rule, job)
    decode = by_rule["decode"][0]  # workflow/rules/data.smk: threads 1, mem_mb 2000, runtime 60
    assert (decode["NumCPUs"], decode["MinMemory"], decode["TimeLimit"]) == ("1", "2000M", "1:00:00")


def test_outputs_equal_a_local_run(runs):
    on_slurm = json.loads((runs["slurm"] / TARGET).read_text())
    local = json.loads((runs["local"] / TARGET).read_text())
    assert set(on_slurm) == set(local)
    assert {k: v for k, v in on_slurm.items() if k not in TIMING_FIELDS} == {
        k: v for k, v in local.items() if k not in TIMING_FIELDS
    }
    # and the per-frame scores themselves, bit for bit
    import zarr

    def frame_scores(workdir: Path) -> dict[str, np.ndarray]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Snakemake's .snakemake_timestamp inside the store
            store = zarr.open_group(workdir / "work/digits_appearance/scores/conv_ae.zarr", mode="r")
            return {name: array[...] for name, array in store["scores"].arrays()}

    on_slurm, local = frame_scores(runs["slurm"]), frame_scores(runs["local"])
    assert on_slurm.keys() == local.keys() and on_slurm
    for video in on_slurm:
        assert np.array_equal(on_slurm[video], local[video]), video


def test_gpu_model_from_environment(runs, cluster, tmp_path):
    """$VADFLOW_SLURM_GPU_MODEL turns the GPU request into --gpus=<model>:1; a model the cluster
    lacks is refused by sbatch, and Snakemake says so. (Last: runs in a copy of the SLURM run.)"""
    workdir = tmp_path / "copy"
    shutil.copytree(runs["slurm"], workdir, symlinks=True)
    shutil.rmtree(workdir / ".snakemake" / "locks", ignore_errors=True)
    proc = subprocess.run(
        snakemake_cmd(workdir, "--profile", PROFILE, *FAST_POLLING, "--forcerun", "train"),
        cwd=workdir, env=clean_env(**cluster.env, VADFLOW_SLURM_GPU_MODEL="nosuchgpu"),
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "SLURM sbatch failed" in out and "--gpus=nosuchgpu:1" in out, out[-3000:]
    assert "has been submitted with SLURM jobid" not in out


def test_a_training_job_with_two_devices_gets_two_tasks_and_trains_in_a_world_of_two(runs, cluster, tmp_path):
    """trainer.devices: 2 (on CPUs: gpu 0, gloo): the job is submitted with 2 tasks, the engine starts
    the 2 processes with srun inside it, and they train as one world of 2 (their log says so).
    (Runs in a copy of the SLURM run: only the training job is redone.)"""
    workdir = tmp_path / "ddp"
    shutil.copytree(runs["slurm"], workdir, symlinks=True)
    shutil.rmtree(workdir / ".snakemake" / "locks", ignore_errors=True)
    target = "work/digits_appearance/models/conv_ae/model.pt"
    ddp = "methods={conv_ae: {trainer: {devices: 2}, resources: {gpu: 0, threads: 1, mem_mb: 2000}}}"
    before = set(cluster.jobs())
    proc = subprocess.run(
        [*SNAKEMAKE, target, "--directory", str(workdir), "--profile", PROFILE, *FAST_POLLING,
         "--configfile", str(REPO / "config" / "tiny.yaml"),
         "--config", "datasets={digits_appearance: {params: {n_train: 1, n_test: 1}}}", ddp],
        cwd=workdir, env=clean_env(**cluster.env, VADFLOW_SLURM_PARTITION="vadflow"),
        capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout + proc.stderr
    log = workdir / "logs" / "train" / "digits_appearance" / "conv_ae.log"
    assert proc.returncode == 0, out[-4000:] + (log.read_text()[-4000:] if log.exists() else "")
    [job] = [j for jid, j in cluster.jobs().items() if jid not in before and j["Comment"].startswith("rule_train")]
    assert (job["State"], job["NumTasks"], job["NumCPUs"], job["tres-per-job"]) == ("COMPLETED", "2", "2", "N/A"), job
    text = log.read_text()
    assert "conv_ae: 2 processes (srun tasks of Slurm job" in text, text[-3000:]
    for rank in (0, 1):
        assert f"DDP rank {rank} of world size 2" in text and "backend gloo" in text, text[-3000:]
    assert "the 2 ranks hold identical weights" in text
    assert (workdir / target).exists() and not (workdir / target).with_suffix(".resume.pt").exists()
