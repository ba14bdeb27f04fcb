"""The interface every method implements, and how its config is checked.

A method is a class registered by name (``@register``). It declares:
  * ``Params``: a dataclass of hyper-parameters (defaults = the paper's, where
    practical); unknown keys in config are errors;
  * ``label``, ``supervision`` (U unsupervised, W weakly, F fully) for tables;
  * ``uses_gpu`` and ``default_resources`` for the workflow's scheduler.
It implements ``fit`` (training stores -> trained state), ``state``/``from_state``
(checkpointing) and ``score_video`` (one test store -> per-frame anomaly scores,
higher = more anomalous, plus per-pixel maps where the method has them).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from vadflow.data.store import FrameStore
from vadflow.params import params_from_dict


@dataclass(frozen=True)
class InputSpec:
    """What a method reads from a frame store: size (None = the store's), colour, clip length."""

    height: int | None = None
    width: int | None = None
    color: str = "gray"
    clip_length: int = 1


@dataclass
class VideoScores:
    """A method's output for one test video."""

    scores: np.ndarray  # (T,) float, higher = more anomalous
    maps: np.ndarray | None = None  # (T, h, w) float per-pixel anomaly, where the method has them


class Method(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    supervision: ClassVar[str] = "U"
    uses_gpu: ClassVar[bool] = False
    Params: ClassVar[type]
    default_input: ClassVar[InputSpec] = InputSpec()
    default_resources: ClassVar[dict[str, int]] = {"mem_mb": 4000, "runtime": 60, "threads": 2}

    def __init__(self, params: Any, input_spec: InputSpec, device: str = "cpu", seed: int = 0):
        self.params = params
        self.input = input_spec
        self.device = device
        self.seed = seed

    @classmethod
    def params_from_dict(cls, d: dict[str, Any], where: str = "params") -> Any:
        return params_from_dict(cls.Params, d or {}, where)

    @classmethod
    def input_from_dict(cls, d: dict[str, Any], where: str = "input") -> InputSpec:
        merged = {**dataclasses.asdict(cls.default_input), **(d or {})}
        return params_from_dict(InputSpec, merged, where)

    @abstractmethod
    def fit(self, train_stores: Sequence[FrameStore], logger: "EpochLogger") -> None:
        """Train on the (normal) training videos."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything ``score_video`` needs, as tensors/arrays/plain values (saved with torch.save)."""

    @abstractmethod
    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what ``state`` returned."""

    @abstractmethod
    def score_video(self, store: FrameStore) -> VideoScores:
        """Anomaly scores of every frame of one test video."""


from vadflow.methods.training import EpochLogger  # noqa: E402  (type used in annotations only)
