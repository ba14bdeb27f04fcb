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
  * several processes (``trainer.devices`` > 1, started by ``engine.launch``): every rank walks the
    same global batches and takes an equal, contiguous share of each, so a step of W ranks computes
    the gradient of the same global batch as one process (BatchNorm layers use the global batch's
    statistics, ``nn.global_batchnorm``); the logged terms, a signal and a due checkpoint are agreed
    by one all-reduce per step, so every rank stops, logs and checkpoints at the same step. Rank 0
    alone writes; the checkpoint holds every rank's RNG state.
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
import os
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
from vadflow.errors import ConfigError, VadflowError
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
    #: the method's networks (``TorchMethod.modules``) as Fabric wrapped them: call these for forward
    #: passes (DDP synchronises gradients through them; mixed precision runs inside them)
    modules: dict[str, nn.Module]
    world_size: int = 1  # processes training together; the batch is this rank's 1/world_size share

    @property
    def model(self) -> nn.Module:
        """The wrapped ``model`` (methods whose ``modules`` keep the default)."""
        return self.modules["model"]

    def backward(self, loss: torch.Tensor) -> None:
        self.fabric.backward(loss)

    def clip(self, optimizer: torch.optim.Optimizer, module: str = "model", max_norm: float = 1.0) -> None:
        _clip(self.fabric, self.modules[module], optimizer, max_norm)


def _clip(fabric: Any, module: nn.Module, optimizer: torch.optim.Optimizer, max_norm: float) -> None:
    """Clip the gradient norm; a non-finite norm stops training on every path alike."""
    try:
        fabric.clip_gradients(module, optimizer, max_norm=max_norm, error_if_nonfinite=True)
    except RuntimeError as exc:
        if "non-finite" not in str(exc):
            raise
        raise FloatingPointError(f"the gradient norm is not finite: {exc}") from None


class TorchMethod(Method):
    """A method trained by the engine. ``self.model`` holds every trained network (an
    ``nn.ModuleDict`` or a module with sub-modules where there are several); the engine moves
    it to the device. ``training_step`` runs under the precision's autocast; forward passes
    through ``ctx.modules`` (Fabric's wrappers) also keep DDP's gradient synchronisation."""

    manual_optimization: ClassVar[bool] = False
    #: clip the gradient norm to this before each step (automatic mode); 0 = off
    grad_clip: float = 0.0
    #: the params field that sets the length of the last stage (epochs or iterations): a finished run
    #: is extended to a larger value of it instead of being trained again (``FitContext.final``)
    budget: ClassVar[str] = "epochs"
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
        """A map-style dataset; its items are collated into batches by its ``collate`` method if it
        has one, else ``default_collate``. It is pickled into DataLoader workers: it must hold data,
        not the method or its model."""

    @abstractmethod
    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer | dict[str, torch.optim.Optimizer]:
        """The optimisers of a stage (a dict names them, for manual optimisation and checkpoints)."""

    @abstractmethod
    def training_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor | float]:
        """One step; return the loss (key ``loss`` in automatic mode) and any terms to log. Under
        DDP the batch is this rank's share: a loss that *sums* over samples multiplies by
        ``ctx.world_size`` so that the ranks' mean is the global batch's loss."""

    def modules(self) -> dict[str, nn.Module]:
        """The networks the engine wraps for the device and DDP, each on its own. A network called
        outside another's forward, or trained by a backward pass of its own (a GAN's discriminator,
        Chang et al.'s cluster centres), must be an entry of its own: DDP wraps one forward per
        backward. Default: ``{"model": self.model}``."""
        return {"model": self.model}

    def on_stage_start(self, stage: Stage, videos: Sequence[VideoInput]) -> None:
        """Called before a stage's first step (not when resuming into its middle)."""

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


def _rng_state(device: torch.device | None) -> dict[str, Any]:
    """Every RNG a training step may draw from, as tensors and plain values (weights_only-safe).
    CUDA: the state of this process's own device only (asking for every visible GPU's would
    open a context on each, and a resume on a node with fewer GPUs could not restore them)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached": float(cached)},
        "python": random.getstate(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device | None) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    cuda = state.get("cuda")
    if device is not None and device.type == "cuda" and isinstance(cuda, torch.Tensor):
        torch.cuda.set_rng_state(cuda, device)


class _SingleCPU:
    """What Lightning Fabric does on one CPU in 32-bit, which is nothing beyond plain torch: used
    there instead of Fabric, whose import alone costs several seconds per training job (it pulls
    in torch._dynamo and more), a large share of a short job. ``trainer.fabric: always`` uses
    Fabric on the CPU too; the tests check that both give bit-identical models."""

    global_rank, world_size, is_global_zero = 0, 1, True
    device = torch.device("cpu")

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

    def clip_gradients(self, module: nn.Module, optimizer, max_norm: float, error_if_nonfinite: bool = True):
        return nn.utils.clip_grad_norm_(module.parameters(), max_norm, error_if_nonfinite=error_if_nonfinite)


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


def uses_fabric(trainer: Any, device: str) -> bool:
    """Whether training needs Lightning Fabric: anything but one CPU process in 32-bit (unless
    ``trainer.fabric: always``)."""
    return (device == "cuda" or trainer.devices > 1 or trainer.strategy not in ("auto", "single")
            or trainer.precision not in ("32-true", "32") or trainer.fabric == "always")


def cpu_precision(precision: str) -> str:
    """The precision Fabric runs on the CPU: bf16 as asked (CPU autocast has it); fp16 needs CUDA."""
    if precision in ("16-mixed", "16-true"):
        print(f"trainer.precision {precision} needs CUDA: training in 32-bit on the CPU", file=sys.stderr)
        return "32-true"
    return precision


def _out_of_memory(run: Any, stage: Stage, exc: BaseException) -> VadflowError:
    """A CUDA out-of-memory error, said with its numbers and what to change."""
    free, total = torch.cuda.mem_get_info()
    peak = torch.cuda.max_memory_allocated() / 2**30
    return VadflowError(
        f"{run.name}: the GPU ran out of memory in stage {stage.name!r} (batch {stage.batch_size}; "
        f"{total / 2**30:.1f} GiB card, {peak:.1f} GiB peak so far): {str(exc).splitlines()[0]}",
        f"lower methods.{run.name}.params.batch_size, or set methods.{run.name}.trainer.precision: bf16-mixed, "
        "or run on a card with more memory (VADFLOW_SLURM_GPU_MODEL; docs/cluster.md)",
    )


class Engine:
    def __init__(self, method: TorchMethod, ctx: FitContext):
        self.method = method
        self.ctx = ctx
        self.trainer = method.run.trainer
        self._last_save = time.monotonic()

    # ------------------------------------------------------------------ set-up
    def _fabric(self):
        t, dev = self.trainer, self.ctx.device
        if not uses_fabric(t, dev):
            return _SingleCPU()
        from lightning.fabric import Fabric
        from lightning.fabric.plugins.environments import LightningEnvironment

        from vadflow.methods.engine.ranks import cuda_devices

        # the ranks' environment comes from our launcher (never Slurm's task count: engine.launch)
        plugins = [LightningEnvironment()]
        strategy = "ddp" if t.devices > 1 and t.strategy == "auto" else t.strategy
        if dev == "cuda":
            fabric = Fabric(accelerator="cuda", devices=cuda_devices(t.devices), strategy=strategy,
                            precision=t.precision, plugins=plugins)
        else:
            fabric = Fabric(accelerator="cpu", devices=t.devices, strategy=strategy,
                            precision=cpu_precision(t.precision), plugins=plugins)
        if t.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)  # warn where an op has no such kernel
        fabric.launch()
        if fabric.world_size != t.devices:
            raise ConfigError(
                f"{self.method.name}: trainer.devices is {t.devices} but {fabric.world_size} process(es) train",
                "start several devices through vadflow's launcher (vadflow train / the workflow do), not by hand",
            )
        if fabric.world_size > 1:
            print(f"{self.method.name}: DDP rank {fabric.global_rank} of world size {fabric.world_size} "
                  f"on {os.uname().nodename}, {fabric.device}, backend "
                  f"{torch.distributed.get_backend() if torch.distributed.is_initialized() else '?'}", file=sys.stderr)
        return fabric

    def _load_resume(self) -> dict[str, Any] | None:
        """The resume checkpoint of this run; else the finished run this one extends (the same run
        with a last stage no longer than this one's); else None."""
        say = (lambda text: print(text, file=sys.stderr)) if self.fabric.is_global_zero else (lambda text: None)
        path = self.ctx.checkpoint
        if path is not None and path.exists():
            ckpt = load_checkpoint(path)
            if ckpt.get("fingerprint") == self.ctx.fingerprint:
                p = ckpt["position"]
                say(f"resuming from {path}: stage {p['stage_index']}, epoch {p['epoch']}, step {p['step']}")
                return ckpt
            say(f"resume checkpoint {path} belongs to another configuration: not resumed")
        final = self.ctx.final
        if final is not None and final.exists() and self.ctx.extend_fingerprint:
            ckpt = load_checkpoint(final)
            if ckpt.get("extend_fingerprint") == self.ctx.extend_fingerprint and ckpt["budget"] <= self.ctx.budget:
                say(f"extending the finished run {final} from {self.method.budget} {ckpt['budget']} to "
                    f"{self.ctx.budget}")
                return ckpt
        return None

    def _rank_rng(self, saved: Any) -> dict[str, Any]:
        """This rank's RNG state from a checkpoint's (a list, one per rank; a dict from one process)."""
        return saved[self.fabric.global_rank] if isinstance(saved, list) else saved

    def _save(self, pos: _Position, optimizers: dict[str, torch.optim.Optimizer], final: bool = False) -> None:
        """Every rank calls this at the same step (the RNG states are gathered); rank 0 writes: the resume
        checkpoint, or (``final``) the finished run's, which a longer run of it extends."""
        self._last_save = time.monotonic()
        path = self.ctx.final if final else self.ctx.checkpoint
        if path is None:
            return
        rng = _rng_state(self._cuda_device())
        if self.fabric.world_size > 1:
            states: list[Any] = [None] * self.fabric.world_size
            torch.distributed.all_gather_object(states, rng)
            rng = states
        if not self.fabric.is_global_zero:
            return
        save_checkpoint(
            {
                "fingerprint": self.ctx.fingerprint,
                "extend_fingerprint": self.ctx.extend_fingerprint,
                "budget": self.ctx.budget,
                "vadflow_version": __version__,
                "position": {**pos.__dict__, "sums": dict(pos.sums)},
                "model": self.raw_model.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
                "extra": self.method.extra_state(),
                "rng": rng,
                "log": self.ctx.log.rows,
            },
            path,
        )

    def _cuda_device(self) -> torch.device | None:
        device = getattr(self.fabric, "device", None)
        return device if isinstance(device, torch.device) and device.type == "cuda" else None

    def _due(self, pos: _Position, finished_epoch: int | None, by_time: bool) -> bool:
        """Whether a checkpoint is due: by time (agreed across ranks), or after every N steps,
        or (at the end of ``finished_epoch``) every N epochs."""
        t = self.trainer
        if by_time:
            return True
        if finished_epoch is not None:
            return t.checkpoint_every_epochs > 0 and finished_epoch % t.checkpoint_every_epochs == 0
        return t.checkpoint_every_steps > 0 and pos.step % t.checkpoint_every_steps == 0

    def _time_due(self) -> bool:
        minutes = self.trainer.checkpoint_every_minutes
        return minutes > 0 and time.monotonic() - self._last_save >= 60 * minutes

    # ------------------------------------------------------------------ the loop
    def fit(self, videos: Sequence[VideoInput]) -> None:
        method = self.method
        self.fabric = fabric = self._fabric()
        self.world = fabric.world_size
        method.setup(videos)
        self.raw_model = method.model
        resume = self._load_resume()
        if resume is not None:
            self.raw_model.load_state_dict(resume["model"])
            method.load_extra_state(resume["extra"])
            self.ctx.log.restore(resume["log"])
        if self.world > 1:
            from vadflow.methods.nn.global_batchnorm import convert_batchnorm

            convert_batchnorm(self.raw_model)  # the global batch's statistics, as one process computes them
            torch.manual_seed(_seed_of(method.seed, 1, fabric.global_rank))  # each rank its own noise / dropout
            np.random.seed(_seed_of(method.seed, 2, fabric.global_rank))
            random.seed(_seed_of(method.seed, 3, fabric.global_rank))
        self.wrapped = {name: fabric.setup_module(m) for name, m in method.modules().items()}  # moved in place
        with _Signals() as signals:
            self.signals = signals
            stages = method.stages()
            for si, stage in enumerate(stages):
                if resume is not None and si < resume["position"]["stage_index"]:
                    continue
                into = resume if resume is not None and si == resume["position"]["stage_index"] else None
                pos, optimizers = self._run_stage(si, stage, videos, into, last=si + 1 == len(stages))
                resume = None
            self._save(pos, optimizers, final=True)  # what a longer run of this one continues from
        # the resume checkpoint stays until the caller has written the final model (run.train removes it)

    def _run_stage(
        self, si: int, stage: Stage, videos: Sequence[VideoInput], resume: dict[str, Any] | None, last: bool
    ) -> tuple[_Position, dict[str, torch.optim.Optimizer]]:
        method, fabric = self.method, self.fabric
        if stage.batch_size % self.world:
            raise ConfigError(
                f"{method.name}: stage {stage.name!r} takes batches of {stage.batch_size}, which "
                f"{self.world} processes cannot share equally",
                f"give the method a batch size divisible by trainer.devices ({self.world})",
            )
        p = resume["position"] if resume is not None else None
        if resume is not None:
            _set_rng_state(self._rank_rng(resume["rng"]), self._cuda_device())
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
        if len(dataset) < self.world:
            raise VadflowError(f"{method.name}: stage {stage.name!r} has {len(dataset)} training samples, "
                               f"fewer than the {self.world} processes training",
                               "use longer or more training videos, or a shorter clip length")
        method.model.train()
        if stage.epochs:
            self._epochs(si, stage, dataset, optimizers, pos)
        else:
            self._iterations(si, stage, dataset, optimizers, pos)
        if self.world > 1:
            self._check_ranks_agree(stage)
        if not last:  # the next stage starts afresh from here (its start hook runs again on resume)
            self._save(_Position(stage_index=si + 1), optimizers)
        return pos, optimizers

    def _check_ranks_agree(self, stage: Stage) -> None:
        """Every rank must hold the same model after a stage (DDP keeps them so, unless a network
        was trained outside its wrapper): compared through a float64 checksum of every weight and
        buffer, the ranks' largest and smallest."""
        total = sum(float(t.detach().double().sum()) for t in self.raw_model.state_dict().values()
                    if t.is_floating_point())
        t = torch.tensor([total, -total], dtype=torch.float64, device=self.fabric.device)
        hi, neg_lo = self.fabric.all_reduce(t, reduce_op="max").cpu().tolist()
        if hi != -neg_lo:
            raise VadflowError(f"{self.method.name}: after stage {stage.name!r} the {self.world} processes hold "
                               f"different models (weight checksums {-neg_lo!r} .. {hi!r})",
                               "a network the method trains is called outside ctx.modules: give it an entry in "
                               "TorchMethod.modules (docs/cluster.md)")
        if self.fabric.is_global_zero:
            print(f"{self.method.name}: after stage {stage.name!r} the {self.world} ranks hold identical weights "
                  f"(checksum {total!r})", file=sys.stderr)

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
            collate_fn=getattr(dataset, "collate", torch.utils.data.default_collate),
            persistent_workers=False,
        )
        return self.fabric.setup_dataloaders(loader, use_distributed_sampler=False)

    def _share(self, batches: list[list[int]]) -> list[list[int]]:
        """This rank's share of every global batch: an equal, contiguous part (one process: all of
        it). A last batch that W ranks cannot share equally is cut to a multiple of W (at most
        W − 1 samples of an epoch left out: each epoch reshuffles), and dropped if that leaves none."""
        w, r = self.world, self.fabric.global_rank
        if w == 1:
            return batches
        out = []
        for b in batches:
            k = len(b) // w
            if k:
                out.append(b[r * k : (r + 1) * k])
        return out

    def _epochs(self, si, stage: Stage, dataset, optimizers, pos: _Position) -> None:
        n = len(dataset)
        while pos.epoch <= stage.epochs:
            if stage.shuffle:
                gen = torch.Generator().manual_seed(_seed_of(self.method.seed, si, pos.epoch))
                order = torch.randperm(n, generator=gen).tolist()
            else:
                order = list(range(n))
            batches = self._share([order[b : b + stage.batch_size] for b in range(0, n, stage.batch_size)])
            bar = progress(
                self._loader(dataset, batches[pos.batch :], si, pos.epoch, pos.batch),
                desc=f"{self.method.name} {stage.name} epoch {pos.epoch}/{stage.epochs}",
                total=len(batches),
                initial=pos.batch,
                disable=not self.fabric.is_global_zero,
            )
            for batch in bar:
                size = len(batches[pos.batch]) * self.world  # the global batch's samples
                values, stop, by_time = self._step(batch, stage, si, pos, optimizers)
                for k, v in values.items():
                    pos.sums[k] = pos.sums.get(k, 0.0) + v * size
                pos.count += size
                pos.batch += 1
                bar.set_postfix(loss=f"{pos.sums.get('loss', 0.0) / max(pos.count, 1):.4g}", refresh=False)
                self._after_step(pos, optimizers, stop, by_time)
            self.ctx.log.log(stage=stage.name, epoch=pos.epoch, step=pos.step,
                             **{k: v / max(pos.count, 1) for k, v in pos.sums.items()}, samples=pos.count)
            pos.epoch, pos.batch, pos.sums, pos.count = pos.epoch + 1, 0, {}, 0
            _, stop, by_time = self._agreed({})
            self._after_step(pos, optimizers, stop, by_time, finished_epoch=pos.epoch - 1)

    def _iterations(self, si, stage: Stage, dataset, optimizers, pos: _Position) -> None:
        n, seed = len(dataset), self.method.seed

        def draws() -> Iterator[list[int]]:
            for step in range(pos.step, stage.iterations):
                gen = torch.Generator().manual_seed(_seed_of(seed, si, step))
                yield torch.randint(n, (stage.batch_size,), generator=gen).tolist()

        batches = self._share(list(draws()))
        bar = progress(self._loader(dataset, batches, si, pos.step), desc=f"{self.method.name} {stage.name}",
                       total=stage.iterations, initial=pos.step, disable=not self.fabric.is_global_zero)
        for batch in bar:
            values, stop, by_time = self._step(batch, stage, si, pos, optimizers)
            for k, v in values.items():
                pos.sums[k] = pos.sums.get(k, 0.0) + v
            pos.count += 1
            if pos.step % stage.log_every == 0 or pos.step == stage.iterations:
                self.ctx.log.log(stage=stage.name, epoch="", step=pos.step,
                                 **{k: v / pos.count for k, v in pos.sums.items()})
                bar.set_postfix(loss=f"{pos.sums.get('loss', 0.0) / pos.count:.4g}", refresh=False)
                pos.sums, pos.count = {}, 0
            self._after_step(pos, optimizers, stop, by_time)

    def _agreed(self, values: dict[str, float]) -> tuple[dict[str, float], str | None, bool]:
        """The logged terms as the ranks' mean, whether a signal came to any rank, and whether a
        checkpoint is due by time on any: one all-reduce, so every rank decides alike (one
        process: as they are)."""
        received, by_time = self.signals.received, self._time_due()
        if self.world == 1:
            return values, received, by_time
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys] + [float(received is not None), float(by_time)],
                         dtype=torch.float64, device=self.fabric.device)
        t = self.fabric.all_reduce(t, reduce_op="sum").cpu()
        mean = {k: float(t[i]) / self.world for i, k in enumerate(keys)}
        stop = (received or "a signal to another rank") if t[-2] > 0 else None
        return mean, stop, bool(t[-1] > 0)

    def _step(self, batch, stage: Stage, si: int, pos: _Position, optimizers) -> tuple[dict[str, float], str | None, bool]:
        """One optimiser step: the logged terms (the ranks' mean), a signal, a checkpoint due by time."""
        method = self.method
        ctx = StepContext(stage, si, pos.epoch if stage.epochs else 0, pos.step, optimizers, self.fabric,
                          self.wrapped, self.world)
        try:
            with self.fabric.autocast():
                out = method.training_step(batch, ctx)
            if not method.manual_optimization:
                loss = out["loss"]
                if self.world == 1 and not torch.isfinite(loss):  # DDP: the ranks' mean is checked below
                    raise FloatingPointError(
                        f"{method.name}: the loss is {float(loss.detach())} at stage {stage.name!r}, step {pos.step}"
                    )
                for o in optimizers.values():
                    o.zero_grad(set_to_none=True)
                self.fabric.backward(loss)
                if method.grad_clip > 0:
                    for o in optimizers.values():
                        for module in self.wrapped.values():
                            _clip(self.fabric, module, o, method.grad_clip)
                for o in optimizers.values():
                    o.step()
        except torch.cuda.OutOfMemoryError as exc:
            raise _out_of_memory(method.run, stage, exc) from None
        pos.step += 1
        values = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in out.items()}
        values, stop, by_time = self._agreed(values)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(f"{method.name}: {bad} not finite at stage {stage.name!r}, step {pos.step}")
        return values, stop, by_time

    def _after_step(self, pos: _Position, optimizers, stop: str | None, by_time: bool,
                    finished_epoch: int | None = None) -> None:
        """Checkpoint when due, or when a signal came (then stop). Every rank decides alike."""
        if stop:
            self._save(pos, optimizers)
            raise TrainingInterrupted(
                f"{self.method.name}: training stopped by {stop} at step {pos.step}; "
                f"checkpoint written to {self.ctx.checkpoint}",
                "run the same job again (snakemake does with --retries, or rerun the target): it resumes there",
            )
        if self._due(pos, finished_epoch, by_time):
            self._save(pos, optimizers)


__all__ = ["Engine", "Stage", "StepContext", "TorchMethod", "TrainingInterrupted", "uses_fabric"]
