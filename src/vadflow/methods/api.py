"""The contract between the workflow and every method, without torch.

* ``MethodInfo``: what a method is (name, label, its supervision regime, ``Params``, the
  input it reads, the resources it asks the scheduler for) and where its code lives. Each
  paper's folder lists its methods' infos in ``METHODS`` in its ``__init__.py``; checking a
  config needs only these, so it never imports torch or scikit-learn.
* ``MethodRun``: one configured method entry, resolved (variant chain merged, params
  checked): the typed object the workflow, the checkpoint and the scores store carry,
  converted to and from a plain dict in one place (``to_dict`` / ``from_dict``).
* ``Supervision``: the three regimes of Wan et al. (LAD, Table 2). The regime belongs to
  the method: it decides which training videos the method gets and which labels it sees.
* ``VideoInput``: one video as a method sees it (frame store, feature stores, and the labels
  its regime allows); ``Method``: fit / state / load_state / score_video.
"""

from __future__ import annotations

import dataclasses
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

import numpy as np

from vadflow.data.store import FrameStore
from vadflow.errors import ConfigError
from vadflow.params import params_from_dict
from vadflow.scores import VideoScores

if TYPE_CHECKING:
    from vadflow.features.store import FeatureStore
    from vadflow.methods.engine.log import TrainLog


class Supervision(str, Enum):
    """What training may use (Wan et al., Table 2). Test videos always keep their labels for
    evaluation, but a method never sees them."""

    UNSUPERVISED = "unsupervised"  # normal training videos only, no labels
    WEAKLY = "weakly"  # every training video, with its video-level label
    FULLY = "fully"  # every training video, with frame-level labels and its category

    @property
    def short(self) -> str:
        """U, W or F: how tables show the regime."""
        return self.value[0].upper()

    @classmethod
    def parse(cls, value: "str | Supervision", where: str = "supervision") -> "Supervision":
        if isinstance(value, Supervision):
            return value
        for s in cls:
            if value in (s.value, s.short):
                return s
        raise ConfigError(f"{where}: {value!r} is not a supervision regime", "use unsupervised, weakly or fully (U, W, F)")


@dataclass(frozen=True)
class InputSpec:
    """What a method reads: frames (size, None = the store's; one of height/width alone keeps
    the aspect ratio; colour; clip length) and the feature specs (keys under ``features:`` in
    config) it works on."""

    height: int | None = None
    width: int | None = None
    color: str = "gray"
    clip_length: int = 1
    features: tuple = ()

    def __post_init__(self) -> None:
        if self.color not in ("gray", "rgb"):
            raise ConfigError(f"input.color {self.color!r} is not known", "use gray or rgb")
        if self.clip_length < 1:
            raise ConfigError(f"input.clip_length must be >= 1, got {self.clip_length}", "e.g. clip_length: 10")


#: trainer.strategy values: the engine's launcher starts the processes (engine.launch)
STRATEGIES = ("auto", "ddp")


@dataclass
class TrainerParams:
    """How the training engine runs a torch method (config: top-level ``trainer:``, overridden
    per entry by ``methods.<name>.trainer``). Lightning Fabric takes accelerator, devices,
    strategy and precision; the rest is the engine's own loop."""

    precision: str = "32-true"  # "bf16-mixed" / "16-mixed": mixed precision, on CUDA only
    devices: int = 1
    strategy: str = "auto"  # "ddp" for several GPUs
    deterministic: bool = False  # torch.use_deterministic_algorithms (CUDA: slower; CPU runs are deterministic anyway)
    fabric: str = "auto"  # auto: Lightning Fabric on CUDA, plain torch on one CPU (same results); always
    num_workers: int = 0  # DataLoader worker processes reading clips from Zarr
    cache_mb: int = 1024  # decoded frame chunks the clip loader keeps, per worker
    checkpoint_every_minutes: float = 10.0  # a resume checkpoint at least this often
    checkpoint_every_epochs: int = 0  # ... and every N epochs (0: only by time and at stage ends)
    checkpoint_every_steps: int = 0  # ... and every N optimiser steps (0: off)

    #: fields that change how a run is carried out, not what it computes
    CADENCE: ClassVar[tuple[str, ...]] = (
        "fabric", "num_workers", "cache_mb", "checkpoint_every_minutes", "checkpoint_every_epochs", "checkpoint_every_steps",
    )

    def __post_init__(self) -> None:
        if self.fabric not in ("auto", "always"):
            raise ConfigError(f"trainer.fabric {self.fabric!r} is not known", "use auto or always")
        known = ("32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "64-true")
        if self.precision not in known:
            raise ConfigError(f"trainer.precision {self.precision!r} is not known", f"use one of {', '.join(known)}")
        if self.devices < 1:
            raise ConfigError(f"trainer.devices must be >= 1, got {self.devices}", "e.g. devices: 2 for two GPUs")
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"trainer.strategy {self.strategy!r} is not supported",
                "use auto (one process, or DDP with devices > 1) or ddp (DDP even on one device); vadflow starts the "
                "processes itself (docs/cluster.md), so Lightning's ddp_spawn and the sharded strategies are not offered",
            )

    @property
    def full_precision(self) -> bool:
        return self.precision in ("32-true", "32", "64-true")


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: everything the config checker and the scheduler need, no torch."""

    name: str
    label: str
    Params: type
    implementation: str  # "package.module:Class", imported only to train or score
    supervision: Supervision = Supervision.UNSUPERVISED
    default_input: InputSpec = InputSpec()
    resources: Mapping[str, int] = field(default_factory=lambda: {"mem_mb": 4000, "runtime": 60, "threads": 2})
    paper: str = ""  # where the method comes from (shown by `vadflow methods`)
    #: why the method must train in 32-bit (refused at config check under another trainer.precision); "" = it need not
    fp32_only: str = ""
    #: why the method trains in one process (trainer.devices > 1 refused at config check); "" = DDP works
    single_process: str = ""
    #: whether its result depends on the seed (False: a parameter-free floor; `seeds:` skips it)
    seeded: bool = True

    def load(self) -> type["Method"]:
        module, _, cls = self.implementation.partition(":")
        return getattr(importlib.import_module(module), cls)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


@dataclass
class MethodRun:
    """A configured method entry, resolved: ``vadflow.config.resolve_method`` builds it."""

    name: str  # the config entry (e.g. srnn_ae_k5)
    method: str  # the registered method (srnn_ae), or "late_fusion"
    label: str
    supervision: Supervision
    seed: int
    input: InputSpec
    params: Any  # the method's Params dataclass
    resources: dict[str, int]
    trainer: TrainerParams = field(default_factory=TrainerParams)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (Snakemake params, JSON, checkpoints). ``supervision`` as U/W/F."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if dataclasses.is_dataclass(v):
                v = {k: _plain(x) for k, x in dataclasses.asdict(v).items()}
            out[f.name] = v.short if isinstance(v, Supervision) else _plain(v)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MethodRun":
        """The inverse of ``to_dict``; params and input are checked again on the way in."""
        if d["method"] == "late_fusion":
            from vadflow.fusion import LateFusionParams

            params_cls = LateFusionParams
        else:
            from vadflow.methods import method_info

            params_cls = method_info(d["method"]).Params
        where = f"methods.{d['name']}"
        return cls(
            name=d["name"],
            method=d["method"],
            label=d["label"],
            supervision=Supervision.parse(d["supervision"]),
            seed=int(d.get("seed", 0)),
            input=params_from_dict(InputSpec, d.get("input") or {}, f"{where}.input"),
            params=params_from_dict(params_cls, d.get("params") or {}, f"{where}.params"),
            resources=dict(d.get("resources") or {}),
            trainer=params_from_dict(TrainerParams, d.get("trainer") or {}, f"{where}.trainer"),
        )


@dataclass
class VideoInput:
    """One video as a method sees it: the frame store, its feature stores, and the labels the
    method's supervision regime allows (``supervision`` None: a test video, no labels at all)."""

    frames: FrameStore
    features: dict[str, "FeatureStore"] = field(default_factory=dict)
    supervision: Supervision | None = None

    @property
    def name(self) -> str:
        return self.frames.name

    @property
    def n_frames(self) -> int:
        return self.frames.n_frames

    @property
    def video_label(self) -> int | None:
        """1 = the video holds an anomaly; 0 for every unsupervised training video; None for test videos."""
        if self.supervision is None:
            return None
        if self.supervision is Supervision.UNSUPERVISED:
            return 0
        label = self.frames.attrs.get("video_label")
        if label is None:
            labels = self.frames.labels
            label = int(labels.any()) if labels is not None else 0  # the generic layout's train/: normal videos
        return int(label)

    @property
    def frame_labels(self) -> np.ndarray | None:
        """(T,) uint8 frame labels, under full supervision only (zeros for a normal video without labels)."""
        if self.supervision is not Supervision.FULLY:
            return None
        labels = self.frames.labels
        return labels if labels is not None else np.zeros(self.n_frames, np.uint8)

    @property
    def category(self) -> str | None:
        """The video's anomaly category ("Normal" for normal videos), under full supervision only."""
        if self.supervision is not Supervision.FULLY:
            return None
        category = self.frames.attrs.get("category")
        return category if category is not None else ("Normal" if not self.video_label else None)

    def feature(self, key: str) -> "FeatureStore":
        try:
            return self.features[key]
        except KeyError:
            raise ConfigError(
                f"video {self.name}: feature {key!r} was not provided to the method",
                "name it in the method's input.features in config",
            ) from None

    @classmethod
    def open(
        cls,
        frame_store: str | Path,
        feature_stores: Mapping[str, str | Path] | None = None,
        supervision: Supervision | None = None,
    ) -> "VideoInput":
        from vadflow.features.store import FeatureStore

        features = {k: FeatureStore(p) for k, p in (feature_stores or {}).items()}
        return cls(FrameStore(frame_store), features, supervision)


@dataclass
class FitContext:
    """What ``Method.fit`` gets besides the videos: where to log, where to keep a resume
    checkpoint, and how the engine should run."""

    log: "TrainLog"
    device: str = "cpu"
    checkpoint: Path | None = None  # the resume checkpoint (None: no resume)
    fingerprint: str = ""  # identifies the run; a checkpoint of another run is not resumed
    #: the checkpoint of the finished run, kept so that a longer run can extend it (None: not kept)
    final: Path | None = None
    #: the fingerprint without the training length: a finished run with this one and no more steps is extended
    extend_fingerprint: str = ""
    #: the training length (the value of the method's ``TorchMethod.budget`` param)
    budget: int = 0


class Method(ABC):
    """A method: built from its ``MethodRun``; ``fit`` on training videos, ``score_video`` on test ones."""

    info: ClassVar[MethodInfo]

    def __init__(self, run: MethodRun, device: str = "cpu"):
        self.run = run
        self.params = run.params
        self.input = run.input
        self.device = device
        self.seed = run.seed

    @property
    def name(self) -> str:
        return self.run.method

    @abstractmethod
    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        """Train on the training videos the method's supervision regime admits."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything ``score_video`` needs, as tensors/arrays/plain values (saved with torch.save)."""

    @abstractmethod
    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what ``state`` returned."""

    @abstractmethod
    def score_video(self, video: VideoInput) -> VideoScores:
        """Anomaly scores of every frame of one test video."""
