"""The training engine: stages, epochs and iterations, two optimisers stepped in turn, resume
checkpoints (by steps and epochs, on SIGTERM, after SIGKILL) that give bit-identical results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from conftest import make_block_stores, train_log_losses
from vadflow.methods.api import FitContext, MethodRun, Supervision, TrainerParams
from vadflow.methods.engine import Stage, StepContext, TorchMethod, TrainingInterrupted
from vadflow.methods.engine.data import ClipDataset, FrameChunkCache, WindowDataset, sequence_windows
from vadflow.methods.engine.log import TrainLog
from vadflow.methods.run import score, train
from vadflow.scores import read_scores

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- a toy method


@dataclass
class ToyParams:
    epochs: int = 3
    iterations: int = 7


class Crash(Exception):
    pass


class Toy(TorchMethod):
    """Two stages: an auto-encoder trained by epochs with one optimiser, then the encoder and a
    "critic" stepped in turn by two optimisers (manual optimisation) for some iterations, with
    noise drawn from the global RNG (which the checkpoint must restore)."""

    crash_at: tuple[str, int] | None = None
    started: list[str]

    def setup(self, videos):
        self.model = nn.ModuleDict({"enc": nn.Linear(4, 2), "dec": nn.Linear(2, 4), "critic": nn.Linear(2, 1)})
        self.data = torch.randn(40, 4, generator=torch.Generator().manual_seed(5))
        self.started = []

    def stages(self):
        return [Stage("ae", epochs=self.params.epochs, batch_size=8),
                Stage("adv", iterations=self.params.iterations, batch_size=4, log_every=3)]

    @property
    def manual_optimization(self):  # automatic in stage 1, manual in stage 2
        return getattr(self, "_stage", "ae") == "adv"

    def on_stage_start(self, stage, videos):
        self.started.append(stage.name)

    def train_dataset(self, videos, stage):
        return WindowDataset(self.data, np.arange(40), 1)

    def configure_optimizers(self, stage):
        self._stage = stage.name
        m = self.model
        if stage.name == "ae":
            return torch.optim.Adam([*m["enc"].parameters(), *m["dec"].parameters()], lr=0.01)
        return {"g": torch.optim.RMSprop(m["enc"].parameters(), lr=0.01),
                "d": torch.optim.Adam(m["critic"].parameters(), lr=0.01)}

    def training_step(self, batch, ctx: StepContext):
        if self.crash_at == (ctx.stage.name, ctx.step):
            raise Crash
        x = batch[:, 0]
        m = self.model
        if ctx.stage.name == "ae":
            return {"loss": (m["dec"](m["enc"](x)) - x).pow(2).mean()}
        z = m["enc"](x + 0.1 * torch.randn_like(x))
        d_loss = m["critic"](z.detach()).pow(2).mean()
        ctx.optimizers["d"].zero_grad()
        ctx.backward(d_loss)
        ctx.optimizers["d"].step()
        g_loss = -m["critic"](z).mean()
        ctx.optimizers["g"].zero_grad()
        ctx.backward(g_loss)
        ctx.optimizers["g"].step()
        return {"d_loss": d_loss, "g_loss": g_loss}

    def state(self):
        return {"model": self.model.state_dict()}

    def load_state(self, state):
        self.model.load_state_dict(state["model"])

    def score_video(self, video):
        raise NotImplementedError


def _toy(trainer=None) -> Toy:
    run = MethodRun("toy", "toy", "Toy", Supervision.UNSUPERVISED, 0, None, ToyParams(), {},
                    TrainerParams(**(trainer or {})))
    return Toy(run)


def _fit(method: Toy, tmp_path: Path, log_name: str = "log.csv") -> TrainLog:
    """Fit as run.train does: the resume checkpoint is removed once training has finished."""
    torch.manual_seed(0)
    log = TrainLog(tmp_path / log_name)
    method.fit([], FitContext(log=log, checkpoint=tmp_path / "resume.pt", fingerprint="toy"))
    (tmp_path / "resume.pt").unlink(missing_ok=True)
    return log


def test_stages_epochs_iterations_and_two_optimisers(tmp_path):
    m = _toy()
    log = _fit(m, tmp_path)
    assert m.started == ["ae", "adv"]
    assert [(r["stage"], r["epoch"], r["step"]) for r in log.rows] == [
        ("ae", 1, 5), ("ae", 2, 10), ("ae", 3, 15), ("adv", "", 3), ("adv", "", 6), ("adv", "", 7)]
    assert set(log.rows[-1]) >= {"d_loss", "g_loss", "seconds"}


@pytest.mark.parametrize("crash_at, trainer", [
    (("ae", 7), {"checkpoint_every_steps": 2}),  # mid-epoch
    (("ae", 12), {"checkpoint_every_epochs": 1}),  # from the end of epoch 2
    (("adv", 5), {"checkpoint_every_steps": 2}),  # iteration mode, both optimisers' states
    (("adv", 0), {}),  # at the stage boundary: the new stage starts afresh
    (("adv", 5), {"checkpoint_every_steps": 2, "fabric": "always"}),  # the same through Lightning Fabric
])
def test_resume_after_a_crash_is_bit_identical(tmp_path, crash_at, trainer):
    reference = _toy(trainer)
    ref_log = _fit(reference, tmp_path / "ref")

    crashed = _toy(trainer)
    crashed.crash_at = crash_at
    with pytest.raises(Crash):
        _fit(crashed, tmp_path / "run")
    assert (tmp_path / "run" / "resume.pt").exists()
    resumed = _toy(trainer)
    log = _fit(resumed, tmp_path / "run")
    for k, v in reference.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in ref_log.rows]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in log.rows] == strip
    if crash_at == ("adv", 0):
        assert resumed.started == ["adv"]  # the adversarial stage's start hook runs on resume


def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path, capfd):
    crashed = _toy({"checkpoint_every_steps": 1})
    crashed.crash_at = ("ae", 3)
    with pytest.raises(Crash):
        _fit(crashed, tmp_path)
    other = _toy()
    torch.manual_seed(0)
    other.fit([], FitContext(log=TrainLog(None), checkpoint=tmp_path / "resume.pt", fingerprint="changed"))
    assert "another configuration" in capfd.readouterr().err
    assert other.started == ["ae", "adv"]


def test_sigterm_checkpoints_and_stops(tmp_path):
    class Slow(Toy):
        def training_step(self, batch, ctx):
            if ctx.stage.name == "ae" and ctx.step == 4:
                os.kill(os.getpid(), signal.SIGTERM)
            return super().training_step(batch, ctx)

    run = _toy().run
    with pytest.raises(TrainingInterrupted, match="SIGTERM at step 5"):
        _fit(Slow(run), tmp_path)
    ckpt = torch.load(tmp_path / "resume.pt", weights_only=True)
    assert ckpt["position"]["step"] == 5 and ckpt["position"]["stage_index"] == 0


def test_non_finite_loss_stops_training(tmp_path):
    class Bad(Toy):
        def training_step(self, batch, ctx):
            return {"loss": torch.tensor(float("nan"), requires_grad=True)}

    with pytest.raises(FloatingPointError, match="loss is nan"):
        _fit(Bad(_toy().run), tmp_path)


# ----------------------------------------------------------------------------- data


def test_clip_dataset_reads_the_frames_of_each_clip(tmp_path):
    from vadflow.data.store import FrameStore
    from vadflow.methods.api import InputSpec
    from vadflow.methods.common.frames import load_video

    train, test, _ = make_block_stores(tmp_path)
    spec = InputSpec(color="gray", clip_length=4, height=20, width=30)
    cache = FrameChunkCache([test, train[0]], spec, cache_mb=1)
    clips = [(0, np.array([0, 5, 10, 15])), (0, np.arange(14, 18)), (1, np.arange(20, 24))]
    ds = ClipDataset(cache, clips)
    whole = [load_video(FrameStore(test), spec), load_video(FrameStore(train[0]), spec)]
    for (v, idx), item in zip(clips, ds):
        assert item.shape == (4, 1, 20, 30) and item.dtype == torch.uint8
        assert torch.equal(item, torch.from_numpy(whole[v][idx]))
    assert cache._bytes <= 2**20  # the cache keeps to its budget


@pytest.mark.parametrize(
    "height, width, store_hw, expected",
    [
        (None, None, (120, 180), (120, 180)),
        (64, None, (120, 180), (64, 96)),  # the aspect ratio is kept
        (64, None, (64, 64), (64, 64)),  # a store of that height is left as it is
        (None, 90, (120, 180), (60, 90)),
        (30, 40, (120, 180), (30, 40)),  # both given: exactly that
    ],
)
def test_target_size_keeps_the_aspect_ratio_when_one_side_is_given(height, width, store_hw, expected):
    from types import SimpleNamespace

    from vadflow.methods.api import InputSpec
    from vadflow.methods.common.frames import target_size

    store = SimpleNamespace(shape=(10, *store_hw, 1))
    assert target_size(store, InputSpec(height=height, width=width)) == expected


def test_sequence_windows():
    assert sequence_windows([5, 2, 4], 3).tolist() == [0, 1, 2, 7, 8]
    assert sequence_windows([5, 4], 3, step=2).tolist() == [0, 2, 5]


# ----------------------------------------------------------------------------- kill a real job


def _cli_config(tmp_path: Path, stores) -> Path:
    cfg = {
        "datasets": {"d": {"adapter": "generic", "root": str(tmp_path)}},
        "methods": {"conv_ae": {
            "method": "conv_ae",
            "input": {"clip_length": 4},
            "params": {"channels": [8, 8, 4], "kernels": [5, 3, 3], "first_stride": 2, "first_padding": 2,
                       "batch_size": 4, "epochs": 40, "optimizer": "adam", "lr": 0.003, "clip_step": 1},
            "trainer": {"checkpoint_every_epochs": 1},
        }},
        "reports": {"table3": {}},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_training_job_resumes_to_the_same_scores(tmp_path, sig):
    """Start `vadflow train`, kill it after its first checkpoint, rerun: the model scores exactly as
    an uninterrupted run's, and the training log is the same."""
    train_paths, test_path, _ = make_block_stores(tmp_path)
    cfg = _cli_config(tmp_path, train_paths)
    cmd = [sys.executable, "-m", "vadflow.cli", "train", "conv_ae", None, *map(str, train_paths),
           "--config", str(cfg), "--device", "cpu", "--threads", "1"]

    def run_to_end(out: Path) -> subprocess.CompletedProcess:
        c = list(cmd)
        c[5] = str(out)
        return subprocess.run(c + ["--losses", str(out.with_suffix(".csv"))], capture_output=True, text=True,
                              timeout=300)

    ref = run_to_end(tmp_path / "ref.pt")
    assert ref.returncode == 0, ref.stderr

    out = tmp_path / "killed.pt"
    c = list(cmd)
    c[5] = str(out)
    proc = subprocess.Popen(c + ["--losses", str(out.with_suffix(".csv"))], stderr=subprocess.PIPE, text=True)
    resume = out.with_suffix(".resume.pt")
    deadline = time.monotonic() + 240
    while not resume.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and resume.exists() and not out.exists()
    if sig == signal.SIGTERM:
        assert "stopped by SIGTERM" in err

    again = run_to_end(out)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr and not resume.exists()
    assert train_log_losses(out.with_suffix(".csv")) == train_log_losses(tmp_path / "ref.csv")
    for name in ("ref", "killed"):
        score(tmp_path / f"{name}.pt", [test_path], tmp_path / f"{name}.zarr", device="cpu", threads=1)
    a, b = (read_scores(tmp_path / f"{n}.zarr") for n in ("ref", "killed"))
    assert np.array_equal(a[1]["test"], b[1]["test"]) and np.array_equal(a[2]["test"], b[2]["test"])


def test_trainer_settings_from_config():
    from vadflow.config import resolve_method

    cfg = {"trainer": {"checkpoint_every_minutes": 5, "precision": "bf16-mixed"},
           "methods": {"c": {"method": "conv_ae", "trainer": {"checkpoint_every_epochs": 2}}}}
    t = resolve_method(cfg, "c").trainer
    assert (t.checkpoint_every_minutes, t.checkpoint_every_epochs, t.precision) == (5, 2, "bf16-mixed")


def test_lightning_fabric_and_the_plain_cpu_path_train_identically(tmp_path):
    """On one CPU in 32-bit the engine skips Fabric's import (plain torch does the same); with
    trainer.fabric: always it runs through Lightning Fabric: the models must be bit-identical."""
    plain, fabric = _toy(), _toy({"fabric": "always"})
    _fit(plain, tmp_path / "plain")
    log = _fit(fabric, tmp_path / "fabric")
    for k, v in plain.model.state_dict().items():
        assert torch.equal(v, fabric.model.state_dict()[k]), k
    assert log.rows[-1]["step"] == 7
