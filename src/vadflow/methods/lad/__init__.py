"""Wan et al., "Anomaly detection in video sequences: a benchmark and computational model" (IET
Image Processing 2021; issue 17): the LAD multi-task network, fully supervised, and DeepMIL
(Sultani et al., CVPR 2018) beside it, weakly supervised. Both read I3D clip features (RGB and
optical flow, one row per 16-frame clip) from the feature stage.

Files: ``clips`` (clip rows of a video, K-clip segments and which frames they cover, categories),
``model`` (the ConvLSTM + two-head network, DeepMIL's scorer, the MIL ranking loss), ``method``
(training and scoring). Ablations (Table 4's streams, Table 5's losses, Fig. 5's K, Fig. 6's λ2)
are config entries. Every choice the paper leaves open is in docs/papers/lad.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision

NORMAL_CATEGORY = "Normal"
ANOMALY_CATEGORY = "Anomaly"  # single-category mode: datasets without anomaly categories
CATEGORY_MODES = ("normal_class", "scene")


@dataclass
class LadParams:
    clips: int = 5  # K: consecutive clips per segment (sec. 4.2; Fig. 5: 5 is best)
    hidden: int = 128  # ConvLSTM channels, both layers (sec. 5.1)
    layers: int = 2
    kernel: int = 3
    grid: int = 4  # a clip's feature vector is read as (D / grid², grid, grid): 2048 = 128 x 4 x 4
    fc: tuple = (1024, 512)  # 2048 -> 1024 (shared) -> 512 (per head), sec. 4.3
    lambda_cls: float = 1.0  # λ1, the category loss (eq. 6 / eq. 8)
    lambda_score: float = 10.0  # λ2, the score loss (eq. 7; Fig. 6: 10 is best)
    lr: float = 3e-4  # Adam (sec. 5.1)
    weight_decay: float = 5e-4  # the γ||W||² of eqs. 6-7, as Adam's weight decay
    batch_size: int = 60  # segments per step: half from anomalous, half from normal videos
    iterations: int = 12000  # not in the paper; the authors' code stops at 12,000
    log_every: int = 100
    categories: str = "normal_class"  # normal videos' class: "Normal" of their own, or their scene's (LAD, C = 14)
    threshold: float = 0.5  # sec. 4.3: a frame is anomalous when its score exceeds this
    score_batch_size: int = 256

    def __post_init__(self) -> None:
        for name in ("clips", "hidden", "layers", "kernel", "grid", "batch_size", "iterations"):
            if getattr(self, name) < 1:
                raise ConfigError(f"lad_multitask: {name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2 or self.batch_size % 2:
            raise ConfigError(f"lad_multitask: batch_size {self.batch_size} must be even",
                              "half of every batch comes from anomalous videos, half from normal ones (60 in the paper)")
        if self.lambda_cls < 0 or self.lambda_score < 0 or self.lambda_cls + self.lambda_score == 0:
            raise ConfigError("lad_multitask: lambda_cls and lambda_score must be >= 0 and not both 0",
                              "Table 5 trains with one of them 0")
        if self.categories not in CATEGORY_MODES:
            raise ConfigError(f"lad_multitask: categories {self.categories!r} is not known",
                              f"use one of {', '.join(CATEGORY_MODES)}")


@dataclass
class DeepMILParams:
    segments: int = 32  # temporal segments per video (Sultani et al. sec. 3.2)
    hidden: tuple = (512, 32)  # FC 512 -> 32 -> 1, ReLU, sigmoid output (sec. 4.1)
    dropout: float = 0.6
    lambda_smooth: float = 8e-5  # λ1 of eq. 7
    lambda_sparse: float = 8e-5  # λ2 of eq. 7
    lr: float = 0.001  # Adagrad (sec. 4.1)
    weight_decay: float = 0.001  # the ||W||_F term of eq. 7
    batch_size: int = 60  # bags per step: 30 anomalous + 30 normal (sec. 4.1)
    iterations: int = 3000
    log_every: int = 100

    def __post_init__(self) -> None:
        if self.segments < 1 or self.iterations < 1:
            raise ConfigError("deepmil: segments and iterations must be >= 1")
        if self.batch_size < 2 or self.batch_size % 2:
            raise ConfigError(f"deepmil: batch_size {self.batch_size} must be even",
                              "half the bags are anomalous videos, half normal ones (60 in Sultani et al.)")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"deepmil: dropout must be in [0, 1), got {self.dropout}")


_I3D = InputSpec(features=("i3d_rgb", "i3d_flow"))

METHODS = [
    MethodInfo(
        name="lad_multitask",
        label="LAD multi-task [Wan et al.]",
        Params=LadParams,
        implementation="vadflow.methods.lad.method:LadMultitask",
        supervision=Supervision.FULLY,
        default_input=_I3D,
        resources={"mem_mb": 8000, "runtime": 240, "threads": 2, "gpu": 1},
        paper="Wan et al., IET Image Processing 2021 (I3D + ConvLSTM, score regression + category classification)",
    ),
    MethodInfo(
        name="deepmil",
        label="DeepMIL [Sultani et al.]",
        Params=DeepMILParams,
        implementation="vadflow.methods.lad.method:DeepMIL",
        supervision=Supervision.WEAKLY,
        default_input=_I3D,
        resources={"mem_mb": 4000, "runtime": 120, "threads": 2},
        paper="Sultani et al., CVPR 2018 (MIL ranking over 32 segments), on the I3D features of Wan et al.",
    ),
]
