"""One training engine for every torch method: Lightning Fabric under a loop of ours.

On one CPU in 32-bit Fabric adds nothing to plain torch but a several-second import per job,
so the loop then runs on ``_SingleCPU`` (the same calls, done directly); ``trainer.fabric:
always`` uses Fabric there too. Why Fabric and not Lightning's Trainer: Snakemake owns the outer loop (one job = one fit, no
validation loop), methods train by epochs *or* by iterations and in stages, and a killed job
must resume bit for bit, mid-epoch included. Fabric gives what we would otherwise hand-write
— accelerator and device placement, mixed precision (``trainer.precision``), DDP
(``trainer.strategy``/``devices``), gradient clipping and scaling — and leaves the loop,
the batch order and the checkpoint contents to us.

The loop
  * ``Stage``: a named phase trained for ``epochs`` (every sample once per epoch, shuffled)
    or ``iterations`` (``batch_size`` samples drawn at random per step). The batch order is a
    pure function of (seed, stage, epoch or step), so a resumed run draws the same batches.
  * automatic optimisation: ``training_step`` returns ``{"loss": ..., other terms}``; the
    engine zeroes, back-propagates, clips (``grad_clip``), steps every optimiser, and stops
    on a non-finite loss. ``manual_optimization = True``: the method steps its optimisers
    itself (``ctx.backward``, ``ctx.optimizers``), e.g. a generator and a discriminator.
  * logging: the batch-size-weighted mean of every returned term per epoch (per
    ``log_every`` steps in iteration mode) into ``train_log.csv``; a progress bar into the
    rule's log.
  * resume: a checkpoint (model, optimisers, RNG states, position, running sums, log rows)
    at least every ``trainer.checkpoint_every_minutes``, every ``checkpoint_every_epochs`` /
    ``checkpoint_every_steps``, at every stage end, and when SIGTERM or SIGUSR1 arrives (Slurm
    pre-emption, a time limit, ``kill``), after which the job exits with an error. A rerun
    with the same configuration (the fingerprint) continues from it; SIGKILL loses only the
    steps since the last checkpoint. Snakemake keeps the file (it is not a rule output).
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
import sys
import threading
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from vadflow import __version__
from vadflow.errors import VadflowError
from vadflow.methods.api import FitContext, Method, VideoInput
from vadflow.methods.engine.log import load_checkpoint, save_checkpoint
from vadflow.runtime import progress


class TrainingInterrupted(VadflowError):
    """A signal stopped training after a checkpoint was written; rerunning resumes."""


@dataclass(frozen=True)
class Stage:
    """A phase of training: ``epochs`` passes over the dataset, or ``iterations`` random batches."""

    name: str = "fit"
    epochs: int = 0
    iterations: int = 0
    batch_size: int = 1
    log_every: int = 100  # iteration mode: one log row per this many steps
    shuffle: bool = True

    def __post_init__(self) -> None:
        if (self.epochs > 0) == (self.iterations > 0):
            raise ValueError(f"stage {self.name!r}: give epochs or iterations (one of them, > 0)")
        if self.batch_size < 1:
            raise ValueError(f"stage {self.name!r}: batch_size must be >= 1")


@dataclass
class StepContext:
    """What ``training_step`` gets besides the batch."""

    stage: Stage
    stage_index: int
    epoch: int  # 1-based; 0 in iteration mode
    step: int  # optimiser steps taken in this stage before this one
    optimizers: dict[str, torch.optim.Optimizer]
    fabric: Any
    model: nn.Module  # the method's model as Fabric wrapped it: call it for forward passes (DDP needs that)

    def backward(self, loss: torch.Tensor) -> None:
        self.fabric.backward(loss)

    def clip(self, optimizer: torch.optim.Optimizer, max_norm: float) -> None:
        self.fabric.clip_gradients(self.model, optimizer, max_norm=max_norm)


class TorchMethod(Method):
    """A method trained by the engine. ``self.model`` holds every trained network (an
    ``nn.ModuleDict`` or a module with sub-modules where there are several); the engine moves
    it to the device. ``training_step`` runs under the precision's autocast; forward passes
    through ``ctx.model`` (Fabric's wrapper) also keep DDP's gradient synchronisation."""

    manual_optimization: ClassVar[bool] = False
    #: clip the gradient norm to this before each step (automatic mode); 0 = off
    grad_clip: float = 0.0
    model: nn.Module

    # what a method says ------------------------------------------------------------
    @abstractmethod
    def setup(self, videos: Sequence[VideoInput]) -> None:
        """Build ``self.model`` (on the CPU) and whatever statistics of the training data it
        needs. Must be deterministic: a resumed run calls it again, then loads the checkpoint."""

    @abstractmethod
    def stages(self) -> list[Stage]:
        """The training phases, in order."""

    @abstractmethod
    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> torch.utils.data.Dataset:
        """A map-style dataset; its items are collated into batches (``collate``)."""

    @abstractmethod
    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer | dict[str, torch.optim.Optimizer]:
        """The optimisers of a stage (a dict names them, for manual optimisation and checkpoints)."""

    @abstractmethod
    def training_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor | float]:
        """One step; return the loss (key ``loss`` in automatic mode) and any terms to log."""

    def on_stage_start(self, stage: Stage, videos: Sequence[VideoInput]) -> None:
        """Called before a stage's first step (not when resuming into its middle)."""

    def collate(self, items: list[Any]) -> Any:
        return torch.utils.data.default_collate(items)

    def extra_state(self) -> dict[str, Any]:
        """Training state outside ``self.model`` that a resume needs (tensors and plain values)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # what the engine does ------------------------------------------------------------
    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        Engine(self, ctx).fit(videos)


def _seed_of(*parts: int) -> int:
    """A generator seed that depends on every part (seed, stage, epoch or step)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from, as tensors and plain values (weights_only-safe)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached": float(cached)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _SingleCPU:
    """What Lightning Fabric does on one CPU in 32-bit, which is nothing beyond plain torch: used
    there instead of Fabric, whose import alone costs several seconds per training job (it pulls
    in torch._dynamo and more), a large share of a short job. ``trainer.fabric: always`` uses
    Fabric on the CPU too; the tests check that both give bit-identical models."""

    global_rank, world_size, is_global_zero = 0, 1, True

    def launch(self) -> None:
        pass

    def setup_module(self, module: nn.Module) -> nn.Module:
        return module

    def setup_optimizers(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        return optimizer

    def setup_dataloaders(self, loader, use_distributed_sampler: bool = False):
        return loader

    def autocast(self):
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def clip_gradients(self, module: nn.Module, optimizer, max_norm: float):
        return nn.utils.clip_grad_norm_(module.parameters(), max_norm)


class _Signals:
    """SIGTERM / SIGUSR1 set a flag; the loop checkpoints after the current step and stops."""

    NAMES = ("SIGTERM", "SIGUSR1")

    def __init__(self) -> None:
        self.received: str | None = None
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            for name in self.NAMES:
                sig = getattr(signal, name, None)
                if sig is not None:
                    self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


@dataclass
class _Position:
    """Where training stands: what a resume checkpoint records."""

    stage_index: int = 0
    started: bool = False  # False: at the boundary before the stage (on_stage_start still to run)
    epoch: int = 1  # the epoch in progress (1-based)
    batch: int = 0  # batches of that epoch already taken
    step: int = 0  # optimiser steps taken in the stage
    sums: dict[str, float] = field(default_factory=dict)  # running sums of logged terms since the last row
    count: int = 0  # samples (epoch mode) or steps (iteration mode) in those sums


class Engine:
    def __init__(self, method: TorchMethod, ctx: FitContext):
        self.method = method
        self.ctx = ctx
        self.trainer = method.run.trainer
        self._last_save = time.monotonic()

    # ------------------------------------------------------------------ set-up
    def _fabric(self):
        t = self.trainer
        if self.ctx.device != "cuda":
            if t.precision not in ("32-true", "32"):
                print(f"trainer.precision {t.precision} needs CUDA: training in 32-bit on the CPU", file=sys.stderr)
            if t.fabric != "always":
                return _SingleCPU()
        from lightning.fabric import Fabric

        if self.ctx.device == "cuda":
            fabric = Fabric(accelerator="cuda", devices=t.devices, strategy=t.strategy, precision=t.precision)
        else:
            fabric = Fabric(accelerator="cpu", devices=1, precision="32-true")
        if t.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)  # warn where an op has no such kernel
        fabric.launch()
        return fabric

    def _load_resume(self) -> dict[str, Any] | None:
        path = self.ctx.checkpoint
        if path is None or not path.exists():
            return None
        ckpt = load_checkpoint(path)
        if ckpt.get("fingerprint") != self.ctx.fingerprint:
            print(f"resume checkpoint {path} belongs to another configuration: starting afresh", file=sys.stderr)
            return None
        p = ckpt["position"]
        print(f"resuming from {path}: stage {p['stage_index']}, epoch {p['epoch']}, step {p['step']}", file=sys.stderr)
        return ckpt

    def _save(self, pos: _Position, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self._last_save = time.monotonic()
        if self.ctx.checkpoint is None or not self.fabric.is_global_zero:
            return
        save_checkpoint(
            {
                "fingerprint": self.ctx.fingerprint,
                "vadflow_version": __version__,
                "position": {**pos.__dict__, "sums": dict(pos.sums)},
                "model": self.raw_model.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
                "extra": self.method.extra_state(),
                "rng": _rng_state(),
                "log": self.ctx.log.rows,
            },
            self.ctx.checkpoint,
        )

    def _due(self, pos: _Position, finished_epoch: int | None) -> bool:
        """Whether a checkpoint is due: by time, or after every N steps, or (at the end of
        ``finished_epoch``) every N epochs."""
        t = self.trainer
        if t.checkpoint_every_minutes > 0 and time.monotonic() - self._last_save >= 60 * t.checkpoint_every_minutes:
            return True
        if finished_epoch is not None:
            return t.checkpoint_every_epochs > 0 and finished_epoch % t.checkpoint_every_epochs == 0
        return t.checkpoint_every_steps > 0 and pos.step % t.checkpoint_every_steps == 0

    # ------------------------------------------------------------------ the loop
    def fit(self, videos: Sequence[VideoInput]) -> None:
        method = self.method
        self.fabric = fabric = self._fabric()
        method.setup(videos)
        self.raw_model = method.model
        resume = self._load_resume()
        if resume is not None:
            self.raw_model.load_state_dict(resume["model"])
            method.load_extra_state(resume["extra"])
            self.ctx.log.restore(resume["log"])
        self.wrapped = fabric.setup_module(self.raw_model)  # moves method.model to the device in place
        with _Signals() as signals:
            self.signals = signals
            stages = method.stages()
            for si, stage in enumerate(stages):
                if resume is not None and si < resume["position"]["stage_index"]:
                    continue
                into = resume if resume is not None and si == resume["position"]["stage_index"] else None
                self._run_stage(si, stage, videos, into, last=si + 1 == len(stages))
                resume = None
        # the resume checkpoint stays until the caller has written the final model (run.train removes it)

    def _run_stage(
        self, si: int, stage: Stage, videos: Sequence[VideoInput], resume: dict[str, Any] | None, last: bool
    ) -> None:
        method, fabric = self.method, self.fabric
        p = resume["position"] if resume is not None else None
        if resume is not None:
            _set_rng_state(resume["rng"])
        if p is None or not p["started"]:
            method.on_stage_start(stage, videos)
            pos = _Position(stage_index=si, started=True)
        else:
            pos = _Position(**{**p, "sums": dict(p["sums"])})
        optimizers = method.configure_optimizers(stage)
        if not isinstance(optimizers, dict):
            optimizers = {"optimizer": optimizers}
        optimizers = {k: fabric.setup_optimizers(o) for k, o in optimizers.items()}
        if p is not None and p["started"]:
            for k, o in optimizers.items():
                o.load_state_dict(resume["optimizers"][k])
        dataset = method.train_dataset(videos, stage)
        if len(dataset) == 0:
            raise VadflowError(f"{method.name}: stage {stage.name!r} has no training samples",
                               "use longer or more training videos, or a shorter clip length")
        method.model.train()
        if stage.epochs:
            self._epochs(si, stage, dataset, optimizers, pos)
        else:
            self._iterations(si, stage, dataset, optimizers, pos)
        if not last:  # the next stage starts afresh from here (its start hook runs again on resume)
            self._save(_Position(stage_index=si + 1), optimizers)

    def _loader(self, dataset, batches: list[list[int]], *seed_parts: int):
        """A DataLoader over the given batches. Its own generator (the workers' seeds) keeps it
        from drawing on the global RNG, which the training steps' randomness uses."""
        t = self.trainer
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_sampler=batches,
            generator=torch.Generator().manual_seed(_seed_of(self.method.seed, *seed_parts)),
            num_workers=t.num_workers,
            pin_memory=self.ctx.device == "cuda",
            collate_fn=self.method.collate,
            persistent_workers=False,
        )
        return self.fabric.setup_dataloaders(loader, use_distributed_sampler=False)

    def _shard(self, batches: list[list[int]]) -> list[list[int]]:
        """Each DDP rank takes every world_size-th batch (one process: all of them)."""
        return batches[self.fabric.global_rank :: self.fabric.world_size]

    def _epochs(self, si, stage: Stage, dataset, optimizers, pos: _Position) -> None:
        n = len(dataset)
        while pos.epoch <= stage.epochs:
            if stage.shuffle:
                gen = torch.Generator().manual_seed(_seed_of(self.method.seed, si, pos.epoch))
                order = torch.randperm(n, generator=gen).tolist()
            else:
                order = list(range(n))
            batches = self._shard([order[b : b + stage.batch_size] for b in range(0, n, stage.batch_size)])
            bar = progress(
                self._loader(dataset, batches[pos.batch :], si, pos.epoch, pos.batch),
                desc=f"{self.method.name} {stage.name} epoch {pos.epoch}/{stage.epochs}",
                total=len(batches),
                initial=pos.batch,
            )
            for batch in bar:
                size = len(batches[pos.batch])
                values = self._step(batch, stage, si, pos, optimizers)
                for k, v in values.items():
                    pos.sums[k] = pos.sums.get(k, 0.0) + v * size
                pos.count += size
                pos.batch += 1
                bar.set_postfix(loss=f"{pos.sums.get('loss', 0.0) / max(pos.count, 1):.4g}", refresh=False)
                self._after_step(pos, optimizers)
            self.ctx.log.log(stage=stage.name, epoch=pos.epoch, step=pos.step,
                             **{k: v / max(pos.count, 1) for k, v in pos.sums.items()}, samples=pos.count)
            pos.epoch, pos.batch, pos.sums, pos.count = pos.epoch + 1, 0, {}, 0
            self._after_step(pos, optimizers, finished_epoch=pos.epoch - 1)

    def _iterations(self, si, stage: Stage, dataset, optimizers, pos: _Position) -> None:
        n, seed = len(dataset), self.method.seed

        def draws() -> Iterator[list[int]]:
            for step in range(pos.step, stage.iterations):
                gen = torch.Generator().manual_seed(_seed_of(seed, si, step))
                yield torch.randint(n, (stage.batch_size,), generator=gen).tolist()

        batches = self._shard(list(draws()))
        bar = progress(self._loader(dataset, batches, si, pos.step), desc=f"{self.method.name} {stage.name}",
                       total=stage.iterations, initial=pos.step)
        for batch in bar:
            values = self._step(batch, stage, si, pos, optimizers)
            for k, v in values.items():
                pos.sums[k] = pos.sums.get(k, 0.0) + v
            pos.count += 1
            if pos.step % stage.log_every == 0 or pos.step == stage.iterations:
                self.ctx.log.log(stage=stage.name, epoch="", step=pos.step,
                                 **{k: v / pos.count for k, v in pos.sums.items()})
                bar.set_postfix(loss=f"{pos.sums.get('loss', 0.0) / pos.count:.4g}", refresh=False)
                pos.sums, pos.count = {}, 0
            self._after_step(pos, optimizers)

    def _step(self, batch, stage: Stage, si: int, pos: _Position, optimizers) -> dict[str, float]:
        method = self.method
        ctx = StepContext(stage, si, pos.epoch if stage.epochs else 0, pos.step, optimizers, self.fabric, self.wrapped)
        with self.fabric.autocast():
            out = method.training_step(batch, ctx)
        if not method.manual_optimization:
            loss = out["loss"]
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{method.name}: the loss is {float(loss.detach())} at stage {stage.name!r}, step {pos.step}"
                )
            for o in optimizers.values():
                o.zero_grad(set_to_none=True)
            self.fabric.backward(loss)
            if method.grad_clip > 0:
                for o in optimizers.values():
                    self.fabric.clip_gradients(self.wrapped, o, max_norm=method.grad_clip)
            for o in optimizers.values():
                o.step()
        pos.step += 1
        values = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in out.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(f"{method.name}: {bad} not finite at stage {stage.name!r}, step {pos.step}")
        return values

    def _after_step(self, pos: _Position, optimizers, finished_epoch: int | None = None) -> None:
        """Checkpoint when due, or when a signal came (then stop)."""
        if self.signals.received:
            self._save(pos, optimizers)
            raise TrainingInterrupted(
                f"{self.method.name}: training stopped by {self.signals.received} at step {pos.step}; "
                f"checkpoint written to {self.ctx.checkpoint}",
                "run the same job again (snakemake does with --retries, or rerun the target): it resumes there",
            )
        if self._due(pos, finished_epoch):
            self._save(pos, optimizers)


__all__ = ["Engine", "Stage", "StepContext", "TorchMethod", "TrainingInterrupted"]
