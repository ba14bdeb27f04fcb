"""What changes when a GPU, several GPUs or mixed precision are used, proven on the CPU (CI has no GPU).

* Device placement: every torch method trains with its networks and batches on a second device —
  ``meta`` under ``DeviceGuard``, which refuses to mix a CPU tensor with a device tensor the way CUDA
  refuses it (``cpu_table[cuda_index]`` fails there). The LAD network and DeepMIL indexed CPU lookup
  tables with batch ids on the device: this test fails on that code.
* DDP: two processes over gloo for every torch method's tiny case: both ranks finish holding the same
  weights, rank 0 alone writes, and the model scores the test video as one process trained on the same
  global batches does (tolerances below); a rank killed mid-training stops the job, and the rerun
  resumes to the same model as an uninterrupted run, bit for bit.
* bf16-mixed on the CPU: every method that may use it trains with finite losses under autocast (some
  layer really ran in bfloat16) while its weights stay float32; the sparse coders refuse it at config
  check (tests/test_config.py-style, here).
* pick_device: ``cuda`` that cannot be used, and ``auto`` on a job given GPUs torch cannot use, fail.
"""

from __future__ import annotations

import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

from conftest import method_run
from tiny_methods import TINY, kind_of, make_contract_data
from vadflow.data.supervision import admits
from vadflow.errors import ConfigError, VadflowError
from vadflow.methods import get_method_class, method_infos
from vadflow.methods.api import FitContext
from vadflow.methods.engine import trainer as engine_trainer
from vadflow.methods.engine.log import TrainLog
from vadflow.methods.engine.trainer import TorchMethod
from vadflow.methods.run import build, open_videos, score, train
from vadflow.scores import read_scores

#: the methods the engine trains (the others fit in scikit-learn, or are parameter-free, on the CPU)
TORCH = sorted(n for n in TINY if issubclass(get_method_class(n), TorchMethod))
#: methods DDP can run (TSC codes every sequence in each iteration: one process)
DDP = [n for n in TORCH if not method_infos()[n].single_process]
#: the tiny cases with their randomness off, so that one and two processes can be compared
DETERMINISTIC = {"adv3d_cae": {"noise": "none"}, "deepmil": {"dropout": 0.0}}
#: relative tolerance of the scores of a 2-process model against a 1-process one. Without BatchNorm the
#: two differ only in the order of floating-point sums (measured <= 1e-7). With BatchNorm (Sun et al.,
#: Chang et al.) a convolution bias that feeds a BatchNorm gets a gradient that is rounding noise, which
#: RMSprop/Adam scale to full steps, so those biases (which BatchNorm cancels) differ (measured 3e-4)
SCORE_RTOL = {"adv3d_cae": 2e-3, "dissociation_ae": 2e-3}
DEFAULT_RTOL = 1e-5

aten = torch.ops.aten


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_contract_data(tmp_path_factory.mktemp("gpu_path"))


def _run(name: str, **entry):
    inp, params = TINY[name]
    return method_run(name, {**params, **DETERMINISTIC.get(name, {})}, features=inp.get("features", ()),
                      input=inp, **entry)


# --------------------------------------------------------------------------- device placement


class DeviceGuard(TorchDispatchMode):
    """Runs every op, but refuses one that mixes a CPU tensor (other than a 0-dim scalar) with a
    ``meta`` tensor, as CUDA refuses CPU/CUDA mixes; copies between the two (``.to()``, ``copy_``) and
    a device tensor indexed by CPU indices stay legal, as on CUDA. Reading a value back (``.item()``,
    ``.cpu()``) gives 1 / zeros: meta tensors have no data."""

    LEGAL = {aten._to_copy.default, aten.copy_.default}
    INDEX = {aten.index.Tensor, aten.index_put_.default, aten.index_put.default}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if func is aten._local_scalar_dense.default and tensors[0].device.type == "meta":
            t = tensors[0]
            return True if t.dtype == torch.bool else (1.0 if t.is_floating_point() else 1)
        if func is aten._to_copy.default and tensors[0].device.type == "meta" and str(kwargs.get("device")) == "cpu":
            return torch.zeros(tensors[0].shape, dtype=kwargs.get("dtype") or tensors[0].dtype)
        devices = {t.device.type for t in tensors if not (t.device.type == "cpu" and t.dim() == 0)}
        if {"cpu", "meta"} <= devices and func not in self.LEGAL and not (
                func in self.INDEX and args[0].device.type == "meta"):
            raise RuntimeError(f"device guard: {func} mixes a CPU tensor with one on the training device: "
                               + ", ".join(f"{t.device.type}{tuple(t.shape)}" for t in tensors))
        return func(*args, **kwargs)


class _MetaLoader:
    def __init__(self, loader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield tree_map(lambda t: t.to("meta") if isinstance(t, torch.Tensor) else t, batch)


class MetaFabric(engine_trainer._SingleCPU):
    """What Fabric does on a GPU (move the networks and every batch to the device), on ``meta``."""

    device = torch.device("meta")

    def setup_module(self, module):
        return module.to("meta")

    def setup_dataloaders(self, loader, use_distributed_sampler: bool = False):
        return _MetaLoader(loader)

    def clip_gradients(self, module, optimizer, max_norm, error_if_nonfinite=True):
        return None


def test_the_device_guard_refuses_a_cpu_table_indexed_on_the_device():
    table, index = torch.arange(5), torch.tensor([1, 2])
    with DeviceGuard():
        with pytest.raises(RuntimeError, match="device guard"):
            table[index.to("meta")]
        assert table.to("meta")[index].device.type == "meta"  # a device tensor, CPU indices: legal


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")  # K-means on meta's all-zero read-back
@pytest.mark.parametrize("name", TORCH)
def test_every_torch_method_trains_on_another_device(name, data, monkeypatch):
    """The engine's whole fit, networks and batches on the device: nothing the method keeps on the CPU
    meets a device tensor (lookup tables, statistics, the mean frame, the TSC chunks)."""
    monkeypatch.setattr(engine_trainer.Engine, "_fabric", lambda self: MetaFabric())
    monkeypatch.setattr(engine_trainer, "_rng_state", lambda device: {})
    train_stores, _, train_feats, _ = data[kind_of(name)]
    run = _run(name)
    method = build(run, "cpu")
    videos = [v for v in open_videos(train_stores, train_feats, run.supervision)
              if admits(run.supervision.value, v.frames.attrs.get("video_label"))]
    with DeviceGuard():
        method.fit(videos, FitContext(log=TrainLog(None), device="meta"))
    assert all(p.device.type == "meta" for p in method.model.parameters())


class _NoModules(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, (torch.nn.Module, TorchMethod)):
            raise AssertionError(f"a training dataset holds {type(obj).__name__}")
        return NotImplemented


@pytest.mark.parametrize("name", TORCH)
def test_training_datasets_hold_data_not_the_model(name, data, tmp_path):
    """A DataLoader worker started by spawn (or forkserver, Python 3.14's default) pickles the dataset:
    it must not carry the method with its (CUDA) model."""
    train_stores, _, train_feats, _ = data[kind_of(name)]
    run = _run(name)
    method = build(run, "cpu")
    videos = [v for v in open_videos(train_stores, train_feats, run.supervision)
              if admits(run.supervision.value, v.frames.attrs.get("video_label"))]
    method.setup(videos)
    for stage in method.stages():
        with open(tmp_path / "dataset.pkl", "wb") as f:
            _NoModules(f).dump(method.train_dataset(videos, stage))


# --------------------------------------------------------------------------- DDP over gloo


def _scores(model: Path, test_stores, test_feats, out: Path) -> np.ndarray:
    score(model, test_stores, out, features=test_feats, device="cpu", threads=1)
    return read_scores(out)[1]["test"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", DDP)
def test_two_processes_train_the_model_one_process_trains(name, data, tmp_path, capfd):
    train_stores, test_stores, train_feats, test_feats = data[kind_of(name)]
    one, two = tmp_path / "one", tmp_path / "two"
    train(_run(name), train_stores, one / "model.pt", one / "train_log.csv", features=train_feats, device="cpu",
          threads=1)
    capfd.readouterr()
    train(_run(name, trainer={"devices": 2}), train_stores, two / "model.pt", two / "train_log.csv",
          features=train_feats, device="cpu", threads=2)
    log = capfd.readouterr().err
    # both ranks ran, in one world of two, and ended with the same weights (the engine compares them)
    assert "[rank 1]" in log and "DDP rank 1 of world size 2" in log and "DDP rank 0 of world size 2" in log
    assert "ranks hold identical weights" in log
    # one writer: the model, the finished run's checkpoint and the log, once; nothing left to resume; no
    # rank's spec file left
    assert sorted(p.name for p in two.iterdir()) == ["model.final.pt", "model.pt", "train_log.csv"]
    assert len((two / "train_log.csv").read_text().splitlines()) == len((one / "train_log.csv").read_text().splitlines())
    a = _scores(one / "model.pt", test_stores, test_feats, tmp_path / "a.zarr")
    b = _scores(two / "model.pt", test_stores, test_feats, tmp_path / "b.zarr")
    np.testing.assert_allclose(b, a, rtol=SCORE_RTOL.get(name, DEFAULT_RTOL), atol=1e-12)


def _rank_processes() -> list:
    import psutil

    return [p for p in psutil.Process().children(recursive=True)
            if "vadflow.methods.rank" in " ".join(p.cmdline())]


@pytest.mark.e2e
@pytest.mark.parametrize("name, signal_name, params", [
    ("lstm_ae", "SIGKILL", {"epochs": 20}),  # epoch mode; the rank dies
    ("srnn_ae", "SIGUSR1", {"iterations": 60}),  # iteration mode; pre-emption warns one rank only
])
def test_a_stopped_rank_stops_the_job_and_the_rerun_resumes(name, signal_name, params, data, tmp_path, capfd):
    """SIGKILL to rank 1 mid-training: the launcher stops rank 0 (it would wait in a collective for 30
    minutes) and the job fails naming the rank. SIGUSR1 to rank 1 alone: both ranks agree to stop at the
    same step and checkpoint there. Either way the rerun resumes to the model an uninterrupted 2-process
    run trains, bit for bit (the batches a resumed iteration-mode run draws are the global steps')."""
    import signal

    train_stores, _, train_feats, _ = data[kind_of(name)]
    inp, tiny = TINY[name]
    run = method_run(name, {**tiny, **params}, features=inp["features"], input=inp,
                     trainer={"devices": 2, "checkpoint_every_steps": 1})
    ref, job = tmp_path / "ref", tmp_path / "job"
    train(run, train_stores, ref / "model.pt", ref / "log.csv", features=train_feats, device="cpu", threads=2)

    errors: list[BaseException] = []

    def run_job() -> None:
        try:
            train(run, train_stores, job / "model.pt", job / "log.csv", features=train_feats, device="cpu", threads=2)
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            errors.append(exc)

    worker = threading.Thread(target=run_job)
    worker.start()
    deadline = time.monotonic() + 120
    while not (job / "model.resume.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    victims = [p for p in _rank_processes() if p.environ().get("RANK") == "1"]
    assert victims, "rank 1 was not found running"
    victims[0].send_signal(getattr(signal, signal_name))
    worker.join(timeout=120)
    assert not worker.is_alive()
    if signal_name == "SIGKILL":
        assert errors and isinstance(errors[0], VadflowError) and "rank 1 (killed by SIGKILL)" in str(errors[0])
    else:
        assert errors and type(errors[0]).__name__ == "TrainingInterrupted", errors
        assert "a signal to another rank" in capfd.readouterr().err  # rank 0 stopped because rank 1 was told to
    assert not (job / "model.pt").exists() and (job / "model.resume.pt").exists()
    capfd.readouterr()
    train(run, train_stores, job / "model.pt", job / "log.csv", features=train_feats, device="cpu", threads=2)
    assert "resuming from" in capfd.readouterr().err
    a = torch.load(ref / "model.pt", weights_only=True)["state"]["net"]
    b = torch.load(job / "model.pt", weights_only=True)["state"]["net"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (ref / "log.csv").read_text().count("\n") == (job / "log.csv").read_text().count("\n")


def test_tsc_resumes_between_dictionary_iterations(data, tmp_path, monkeypatch):
    """TSC through the engine: killed after its second dictionary iteration, the rerun resumes there
    and learns the dictionary an uninterrupted fit learns, bit for bit; its objective is logged per
    iteration."""
    from vadflow.methods.srnn.tsc import TSC

    train_stores, _, train_feats, _ = data["features"]
    inp, tiny = TINY["tsc"]
    run = method_run("tsc", {**tiny, "dictionary_iterations": 4}, features=inp["features"], input=inp,
                     trainer={"checkpoint_every_steps": 1})
    full = train(run, train_stores, tmp_path / "full.pt", tmp_path / "full.csv", features=train_feats, device="cpu")
    original = TSC.training_step

    def crash(self, batch, ctx):
        if ctx.step == 2:
            raise KeyboardInterrupt
        return original(self, batch, ctx)

    monkeypatch.setattr(TSC, "training_step", crash)
    with pytest.raises(KeyboardInterrupt):
        train(run, train_stores, tmp_path / "m.pt", tmp_path / "m.csv", features=train_feats, device="cpu")
    monkeypatch.setattr(TSC, "training_step", original)
    again = train(run, train_stores, tmp_path / "m.pt", tmp_path / "m.csv", features=train_feats, device="cpu")
    assert torch.equal(full["state"]["A"], again["state"]["A"])
    import csv

    with open(tmp_path / "m.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["stage"] for r in rows] == ["dictionary"] * 4 + ["final"]
    objective = [float(r["loss"]) for r in rows]
    assert all(b <= a + 1e-9 for a, b in zip(objective, objective[1:]))  # each step cannot increase it


def test_a_batch_the_processes_cannot_share_is_refused(data, tmp_path):
    name = "conv_ae"
    train_stores, _, _, _ = data[kind_of(name)]
    inp, params = TINY[name]
    run = method_run(name, {**params, "batch_size": 7}, features=(), input=inp, trainer={"devices": 2})
    with pytest.raises(VadflowError, match="divisible by trainer.devices"):
        train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=2)


# --------------------------------------------------------------------------- bf16-mixed


MIXED = [n for n in TORCH if not method_infos()[n].fp32_only]


@pytest.mark.parametrize("name", MIXED)
def test_bf16_mixed_trains_on_the_cpu_with_float32_weights(name, data, tmp_path):
    dtypes: set[torch.dtype] = set()

    def record(module, args, output):
        for t in tree_flatten(output)[0]:
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                dtypes.add(t.dtype)

    train_stores, _, train_feats, _ = data[kind_of(name)]
    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        info = train(_run(name, trainer={"precision": "bf16-mixed"}), train_stores, tmp_path / "m.pt",
                     tmp_path / "log.csv", features=train_feats, device="cpu", threads=1)
    finally:
        handle.remove()
    assert torch.bfloat16 in dtypes, "autocast never ran a layer in bfloat16"
    import csv

    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(np.isfinite(float(r["loss"])) for r in rows)
    for key, value in info["state"]["net"].items():  # the optimiser's weights stay float32
        if value.is_floating_point():
            assert value.dtype == torch.float32, key


@pytest.mark.parametrize("name", [n for n in TORCH if method_infos()[n].fp32_only])
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed", "bf16-true"])
def test_the_sparse_coders_refuse_reduced_precision_at_config_check(name, precision):
    with pytest.raises(ConfigError, match="trains in 32-bit"):
        _run(name, trainer={"precision": precision})


def test_bfloat16_would_change_the_srnn_layer_matrix():
    """Why: the diagonal of I − AᵀA/γ is 1 − 1/γ' ≈ 0.999 for the paper's sizes; bfloat16 has 8 bits."""
    diagonal = torch.tensor(1.0 - 1e-3)
    assert diagonal.to(torch.bfloat16).float() == 1.0 and diagonal.float() != 1.0


# --------------------------------------------------------------------------- choosing the device


def _cuda(monkeypatch, *, built: bool, available: bool, env: dict[str, str] | None = None):
    monkeypatch.setattr(torch.version, "cuda", "12.4" if built else None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS"):
        monkeypatch.delenv(var, raising=False)
    for var, value in (env or {}).items():
        monkeypatch.setenv(var, value)


def test_device_cuda_fails_at_once_when_cuda_cannot_be_used(monkeypatch):
    from vadflow.runtime import pick_device

    _cuda(monkeypatch, built=False, available=False)
    with pytest.raises(ConfigError, match="CPU-only build"):
        pick_device("cuda")
    _cuda(monkeypatch, built=True, available=False)
    with pytest.raises(ConfigError, match="driver"):
        pick_device("cuda")


@pytest.mark.parametrize("var, value", [("CUDA_VISIBLE_DEVICES", "0,1"), ("SLURM_JOB_GPUS", "3")])
def test_auto_on_a_job_given_gpus_torch_cannot_use_is_an_error(monkeypatch, var, value):
    from vadflow.runtime import pick_device

    _cuda(monkeypatch, built=True, available=False, env={var: value})
    with pytest.raises(ConfigError, match=f"given GPUs \\({var}={value}\\)"):
        pick_device("auto")


@pytest.mark.parametrize("env", [{}, {"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "-1"}])
def test_auto_without_allocated_gpus_runs_on_the_cpu(monkeypatch, env):
    from vadflow.runtime import pick_device

    _cuda(monkeypatch, built=False, available=False, env=env)
    assert pick_device("auto") == "cpu" and pick_device("cpu") == "cpu"


def test_a_non_finite_gradient_norm_stops_training_on_the_plain_cpu_path_as_under_fabric():
    layer = torch.nn.Linear(2, 1)
    layer(torch.tensor([[float("inf"), 1.0]])).sum().backward()
    with pytest.raises(FloatingPointError, match="gradient norm is not finite"):
        engine_trainer._clip(engine_trainer._SingleCPU(), layer, None, 1.0)


def test_local_jobs_spread_over_the_gpus_of_a_node(monkeypatch, tmp_path):
    """Several local jobs on a node with several GPUs each take one that no other holds (not all cuda:0)."""
    import tempfile

    from vadflow import runtime

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(runtime, "_CLAIMED", [])
    assert runtime.claim_gpus(1) == [0]
    assert runtime.claim_gpus(1) == [1]  # the first claim still holds GPU 0
    assert runtime.claim_gpus(1) == [2]
    for handle in runtime._CLAIMED:
        handle.close()
    assert runtime.claim_gpus(2) == [0, 1]  # released with their holder
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert runtime.claim_gpus(2) is None  # exactly the GPUs the job needs are visible: nothing to choose
    with pytest.raises(ConfigError, match="3 GPU"):
        runtime.claim_gpus(3)


# --------------------------------------------------------------------------- config and job resources


def test_devices_set_the_gpus_and_tasks_of_a_training_job(monkeypatch):
    from vadflow.config import job_resources

    monkeypatch.delenv("VADFLOW_SLURM_GPU_MODEL", raising=False)
    run = _run("conv_ae", trainer={"devices": 4}).to_dict()  # conv_ae asks for 1 GPU, 2 threads, 8000 MB
    assert run["resources"]["gpu"] == 4
    train_job = job_resources(run, "train")
    assert train_job == {"threads": 8, "mem_mb": 32000, "runtime": 120, "gpu": 4, "tasks": 4, "cpus_per_task": 2,
                         "tasks_per_gpu": 1, "gpu_model": None, "mpi": "srun"}
    assert job_resources(run, "score")["gpu"] == 1 and "mpi" not in job_resources(run, "score")
    one = job_resources(_run("conv_ae").to_dict(), "train")
    assert (one["threads"], one["gpu"], one["tasks"], "mpi" in one) == (2, 1, 1, False)
    monkeypatch.setenv("VADFLOW_SLURM_GPU_MODEL", "a100")
    assert job_resources(run, "train")["gpu_model"] == "a100"
    assert job_resources(_run("ocsvm").to_dict(), "train")["gpu_model"] is None  # no GPU, no --gpus=a100:0


def test_devices_and_an_explicit_gpu_count_must_agree():
    with pytest.raises(ConfigError, match="resources.gpu is 1"):
        _run("conv_ae", trainer={"devices": 2}, resources={"gpu": 1})
    assert _run("conv_ae", trainer={"devices": 2}, resources={"gpu": 0}).resources["gpu"] == 0  # DDP on CPUs


def test_tsc_trains_in_one_process():
    with pytest.raises(ConfigError, match="tsc trains in one process"):
        _run("tsc", trainer={"devices": 2})
    with pytest.raises(ConfigError, match="strategy"):
        _run("conv_ae", trainer={"strategy": "ddp_spawn"})


def test_two_writers_of_one_output_folder_never_fail(tmp_path):
    """Rank 0 alone writes, but two jobs may race on a path (a rerun beside a stale one): every
    write-then-rename succeeds and the folder holds one writer's complete output."""
    from vadflow.atomic import atomic_path

    final = tmp_path / "out.zarr"
    failures: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for _ in range(30):
                with atomic_path(final) as tmp:
                    tmp.mkdir()
                    for k in range(5):
                        (tmp / f"part{k}").write_text(str(i))
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    parts = sorted(p.read_text() for p in final.iterdir())
    assert len(parts) == 5 and len(set(parts)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]
