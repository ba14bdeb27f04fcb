"""The interface every method implements, and how its config is checked.

A method is a class registered by name (``@register``). It declares:
  * ``Params``: a dataclass of hyper-parameters (defaults = the paper's, where
    practical); unknown keys in config are errors;
  * ``label``, ``supervision`` (U unsupervised, W weakly, F fully) for tables;
  * ``uses_gpu`` and ``default_resources`` for the workflow's scheduler.
It implements ``fit`` (training videos -> trained state), ``state``/``load_state``
(checkpointing) and ``score_video`` (one test video -> per-frame anomaly scores,
higher = more anomalous, plus per-pixel maps where the method has them).
A video is a ``VideoInput``: its frame store, and the feature stores of the specs
its ``input.features`` names (the workflow extracts and caches them).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from vadflow.data.store import FrameStore
from vadflow.errors import ConfigError
from vadflow.params import params_from_dict


@dataclass(frozen=True)
class InputSpec:
    """What a method reads: frames (size, None = the store's; colour; clip length) and the
    feature specs (keys under ``features:`` in config) it works on."""

    height: int | None = None
    width: int | None = None
    color: str = "gray"
    clip_length: int = 1
    features: tuple = ()


@dataclass
class VideoInput:
    """One video as a method sees it: the frame store (labels, masks, frames) and its feature stores."""

    frames: FrameStore
    features: dict[str, "FeatureStore"] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.frames.name

    @property
    def n_frames(self) -> int:
        return self.frames.n_frames

    def feature(self, key: str) -> "FeatureStore":
        try:
            return self.features[key]
        except KeyError:
            raise ConfigError(
                f"video {self.name}: feature {key!r} was not provided to the method",
                "name it in the method's input.features in config",
            ) from None

    @classmethod
    def open(cls, frame_store: str | Path, feature_stores: dict[str, str | Path] | None = None) -> "VideoInput":
        from vadflow.features.store import FeatureStore

        return cls(FrameStore(frame_store), {k: FeatureStore(p) for k, p in (feature_stores or {}).items()})


@dataclass
class VideoScores:
    """A method's output for one test video."""

    scores: np.ndarray  # (T,) float, higher = more anomalous
    maps: np.ndarray | None = None  # (T, h, w) float per-pixel anomaly, where the method has them
    stats: dict[str, float] = field(default_factory=dict)  # per-frame means a paper reports (e.g. code sparsity)


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
    def fit(self, videos: Sequence[VideoInput], logger: "EpochLogger") -> None:
        """Train on the training videos (normal ones only, unless the dataset's supervision says otherwise)."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything ``score_video`` needs, as tensors/arrays/plain values (saved with torch.save)."""

    @abstractmethod
    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what ``state`` returned."""

    @abstractmethod
    def score_video(self, video: VideoInput) -> VideoScores:
        """Anomaly scores of every frame of one test video."""


from vadflow.features.store import FeatureStore  # noqa: E402  (annotations)
from vadflow.methods.training import EpochLogger  # noqa: E402  (annotations)
