"""Baselines of Luo et al.'s tables on pretrained features: nearest subspace, one-class SVM, LSTM-AE.

Input: the feature specs named in ``input.features`` (e.g. ``[effnet_spp]``). With a
spatial pyramid, each frame has 21 patch vectors that share one model (Luo et al.
sec. 3.6) and a frame's score is the maximum of its patch scores; several specs are
concatenated along the feature axis (early fusion). The models themselves live in
``feature_baselines``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from vadflow.errors import ConfigError
from vadflow.methods import register
from vadflow.methods.base import InputSpec, Method, VideoInput, VideoScores
from vadflow.methods.training import EpochLogger


def patch_rows(video: VideoInput, keys: Sequence[str]) -> np.ndarray:
    """(T, P, C) float32: per frame, P patch vectors (1 without a pyramid) of the specs, concatenated."""
    parts = []
    for key in keys:
        x = video.feature(key).per_frame()
        if x.ndim == 2:
            x = x[:, None, :]
        elif x.ndim != 3:
            raise ConfigError(
                f"feature {key!r} has rows of shape {x.shape[1:]}: these methods need vectors or pyramid cells",
                "use a spec with pooling: spp or global",
            )
        parts.append(x)
    if len({p.shape[1] for p in parts}) > 1:
        raise ConfigError(f"features {list(keys)} have different numbers of patches", "fuse specs with the same pooling")
    return np.concatenate(parts, axis=-1)


class FeatureMethod(Method):
    """A model fitted on feature rows; subclasses say how (``_new_model``, ``_fit``, ``_score``)."""

    supervision = "U"
    uses_gpu = False
    default_input = InputSpec(features=())
    default_resources = {"mem_mb": 8000, "runtime": 120, "threads": 2}

    def __init__(self, params: Any, input_spec: InputSpec, device: str = "cpu", seed: int = 0):
        super().__init__(params, input_spec, device, seed)
        if not input_spec.features:
            raise ConfigError(f"{self.name} works on features", f"set input.features: [<spec>] for {self.name}")
        self.model: Any = None

    def fit(self, videos: Sequence[VideoInput], logger: EpochLogger) -> None:
        rows = [patch_rows(v, self.input.features) for v in videos]
        self.model = self._new_model(rows[0].shape[-1])
        self._fit(rows, logger)

    def score_video(self, video: VideoInput) -> VideoScores:
        rows = patch_rows(video, self.input.features)
        per_patch = self._score(rows)  # (T, P)
        return VideoScores(scores=per_patch.max(axis=1))

    def state(self) -> dict[str, Any]:
        return {"model": self.model.get_state()}

    # subclasses ---------------------------------------------------------------
    def _new_model(self, dim: int) -> Any:
        raise NotImplementedError

    def _fit(self, rows: list[np.ndarray], logger: EpochLogger) -> None:
        """Default: every patch row of every frame is one sample."""
        self.model.fit([r.reshape(-1, r.shape[-1]) for r in rows])
        logger.log(1, float("nan"), rows=sum(r.shape[0] * r.shape[1] for r in rows))

    def _score(self, rows: np.ndarray) -> np.ndarray:
        t, p, c = rows.shape
        return self.model.score(rows.reshape(-1, c)).reshape(t, p)


@dataclass
class NearestSubspaceParams:
    n_atoms: int = 1000
    ridge: float = 0.001
    max_train_rows: int = 200_000


@register
class NearestSubspaceMethod(FeatureMethod):
    """K-means dictionary of 1000 atoms; score = least-squares residual of the features on it."""

    name = "nearest_subspace"
    label = "Nearest subspace"
    Params = NearestSubspaceParams

    def _new_model(self, dim: int):
        from vadflow.methods.feature_baselines import NearestSubspace

        return NearestSubspace(seed=self.seed, **asdict(self.params))

    def load_state(self, state: dict[str, Any]) -> None:
        from vadflow.methods.feature_baselines import NearestSubspace

        self.model = NearestSubspace.from_state(state["model"])


@dataclass
class OCSVMParams:
    nu: float = 0.1
    kernel: str = "rbf"
    gamma: str = "scale"
    max_train_rows: int = 20_000


@register
class OneClassSVMMethod(FeatureMethod):
    """scikit-learn's one-class SVM on standardised features."""

    name = "ocsvm"
    label = "OC-SVM"
    Params = OCSVMParams

    def _new_model(self, dim: int):
        from vadflow.methods.feature_baselines import OneClassSVMBaseline

        return OneClassSVMBaseline(seed=self.seed, **asdict(self.params))

    def load_state(self, state: dict[str, Any]) -> None:
        from vadflow.methods.feature_baselines import OneClassSVMBaseline

        self.model = OneClassSVMBaseline.from_state(state["model"])


@dataclass
class LSTMAEParams:
    hidden: int = 512
    layers: int = 1
    seq_len: int = 10
    lr: float = 0.001
    epochs: int = 20
    batch_size: int = 64


@register
class LSTMAEMethod(FeatureMethod):
    """LSTM encoder-decoder over sequences of feature vectors; each pyramid cell is its own sequence."""

    name = "lstm_ae"
    label = "LSTM-AE"
    uses_gpu = True
    Params = LSTMAEParams
    default_resources = {"mem_mb": 8000, "runtime": 240, "threads": 2, "gpu": 1}

    def _new_model(self, dim: int):
        from vadflow.methods.feature_baselines import LSTMAutoencoder

        return LSTMAutoencoder(dim, seed=self.seed, **asdict(self.params))

    def _fit(self, rows: list[np.ndarray], logger: EpochLogger) -> None:
        sequences = [r[:, p] for r in rows for p in range(r.shape[1])]
        self.model.fit(sequences, device=self.device, log=lambda epoch, loss: logger.log(epoch, loss))

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.stack([self.model.score(rows[:, p], device=self.device) for p in range(rows.shape[1])], axis=1)

    def load_state(self, state: dict[str, Any]) -> None:
        from vadflow.methods.feature_baselines import LSTMAutoencoder

        self.model = LSTMAutoencoder.from_state(state["model"])
