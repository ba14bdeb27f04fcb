"""Conv-AE: the fully convolutional auto-encoder of Hasan et al., CVPR 2016,
"Learning temporal regularity in video sequences".

Input: cuboids of ``clip_length`` (10) grayscale frames stacked as channels, pixels
in [0, 1] minus the training mean frame. Encoder conv(512, 11x11, stride 4) -> pool
-> conv(256, 5x5) -> pool -> conv(128, 3x3); the decoder mirrors it with
max-unpooling and transposed convolutions back to ``clip_length`` frames; tanh
activations. Loss: Euclidean reconstruction error. Training clips are sampled with
temporal strides 1, 2 and 3 (the paper's temporal data augmentation); AdaGrad,
learning rate 0.01, as in the paper.

Scoring: every window of ``clip_length`` consecutive frames (stride 1) is
reconstructed; a frame's per-pixel error map is the mean of its squared errors over
the windows that contain it, and its reconstruction error e(t) the sum of that map.
The anomaly score is e(t); the paper's regularity score s(t) = 1 - (e(t) - min e)/max e
is a decreasing function of it and gives the same ROC under per-video min-max
normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision


@dataclass
class ConvAEParams:
    channels: tuple = (512, 256, 128)
    kernels: tuple = (11, 5, 3)
    first_stride: int = 4
    first_padding: int = 5
    activation: str = "tanh"
    epochs: int = 20
    batch_size: int = 1024
    optimizer: str = "adagrad"
    lr: float = 0.01
    weight_decay: float = 0.0005
    temporal_strides: tuple = (1, 2, 3)
    clip_step: int = 1
    score_batch_size: int = 32

    def __post_init__(self) -> None:
        if len(self.channels) != 3 or len(self.kernels) != 3:
            raise ConfigError("conv_ae: channels and kernels need three entries each", "e.g. channels: [512, 256, 128]")
        if self.optimizer not in ("adagrad", "adam", "sgd"):
            raise ConfigError(f"conv_ae: optimizer {self.optimizer!r} is not known", "use adagrad, adam or sgd")
        if self.activation not in ("tanh", "relu"):
            raise ConfigError(f"conv_ae: activation {self.activation!r} is not known", "use tanh or relu")


METHODS = [
    MethodInfo(
        name="conv_ae",
        label="Conv-AE [Hasan et al. 2016]",
        Params=ConvAEParams,
        implementation="vadflow.methods.conv_ae.method:ConvAE",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(color="gray", clip_length=10),
        resources={"mem_mb": 8000, "runtime": 120, "threads": 2, "gpu": 1},
        paper="Hasan et al., Learning temporal regularity in video sequences, CVPR 2016",
    )
]
