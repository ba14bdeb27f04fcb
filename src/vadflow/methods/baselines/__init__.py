"""Baselines of Luo et al.'s tables on pretrained features: nearest subspace, one-class SVM,
LSTM auto-encoder (later DeepMIL, Sultani et al. 2018, beside the LAD network).

Input: the feature specs named in ``input.features`` (e.g. ``[effnet_spp]``). With a spatial
pyramid, each frame has 21 patch vectors that share one model (Luo et al. sec. 3.6) and a
frame's score is the maximum of its patch scores; several specs are concatenated along the
feature axis (early fusion).
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision


@dataclass
class NearestSubspaceParams:
    n_atoms: int = 1000
    ridge: float = 0.001
    max_train_rows: int = 200_000
    minibatch_above: int = 20_000
    kmeans_max_iter: int = 100


@dataclass
class OCSVMParams:
    nu: float = 0.1
    kernel: str = "rbf"
    gamma: str = "scale"
    max_train_rows: int = 20_000


@dataclass
class LSTMAEParams:
    hidden: int = 512
    layers: int = 1
    seq_len: int = 10
    lr: float = 0.001
    epochs: int = 20
    batch_size: int = 64
    train_stride: int = 1  # a training window starts every train_stride rows
    clip_grad: float = 5.0  # gradient-norm clipping (LSTMs occasionally spike); 0 = off
    score_batch_size: int = 256

    def __post_init__(self) -> None:
        if self.seq_len < 1 or self.train_stride < 1:
            raise ConfigError("lstm_ae: seq_len and train_stride must be >= 1", "e.g. seq_len: 10, train_stride: 1")


_FEATURES = InputSpec(features=())
_CPU = {"mem_mb": 8000, "runtime": 120, "threads": 2}

METHODS = [
    MethodInfo(
        name="nearest_subspace",
        label="Nearest subspace",
        Params=NearestSubspaceParams,
        implementation="vadflow.methods.baselines.methods:NearestSubspaceMethod",
        supervision=Supervision.UNSUPERVISED,
        default_input=_FEATURES,
        resources=_CPU,
        paper="Luo et al. TPAMI, Table 3 (K-means dictionary, least-squares residual)",
    ),
    MethodInfo(
        name="ocsvm",
        label="OC-SVM",
        Params=OCSVMParams,
        implementation="vadflow.methods.baselines.methods:OneClassSVMMethod",
        supervision=Supervision.UNSUPERVISED,
        default_input=_FEATURES,
        resources=_CPU,
        paper="Luo et al. TPAMI, Table 3 (one-class SVM on the CNN features)",
    ),
    MethodInfo(
        name="lstm_ae",
        label="LSTM-AE",
        Params=LSTMAEParams,
        implementation="vadflow.methods.baselines.lstm_ae:LSTMAEMethod",
        supervision=Supervision.UNSUPERVISED,
        default_input=_FEATURES,
        resources={"mem_mb": 8000, "runtime": 240, "threads": 2, "gpu": 1},
        paper="Srivastava et al. 2015, as in Luo et al. TPAMI, Table 5",
    ),
]
