"""ConvLSTM-AE: the convolutional-LSTM auto-encoder of Luo, Liu and Gao, ICME 2017,
"Remembering history with convolutional LSTM for anomaly detection".

What the paper specifies: every frame of a clip is encoded by a 3-layer convolutional
appearance encoder (the first layer 128 filters, 5x5, stride 2), a ConvLSTM run over
the encoded frames memorises the clip's history (motion), and a deconvolutional decoder
reconstructs each input frame from the ConvLSTM output at that step; clips of 10
frames; the reconstruction error of a frame is its anomaly score.

What we chose (configurable; marked where it is our reading rather than the paper's
text): encoder channels 128/256/512, kernels 5/3/3, strides 2/2/2 (layers 2-3 are our
reading); one ConvLSTM layer of 512 hidden channels, 3x3 kernels (hidden width is our
choice); ReLU activations and a linear output; grayscale frames in [0, 1] at the store's
size (the paper resizes; set ``input.height``/``width`` to do so). The paper's optional
future-*prediction* branch is not implemented: only the reconstruction branch, which is
the one the anomaly score uses. Loss: mean squared reconstruction error over the clip.
Optimiser: Adam, learning rate 1e-4 (a common choice for this model; we did not confirm
the paper's optimiser settings, so treat them as ours).

Scoring: every window of ``clip_length`` consecutive frames (stride 1) is
reconstructed; a frame's per-pixel error map is the mean of its squared errors over the
windows that contain it and its score the sum of that map (as in ``conv_ae``). Videos
shorter than one clip are padded by repeating their last frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision


@dataclass
class ConvLSTMAEParams:
    channels: tuple = (128, 256, 512)
    kernels: tuple = (5, 3, 3)
    strides: tuple = (2, 2, 2)
    lstm_channels: tuple = (512,)
    lstm_kernel: int = 3
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.0
    clip_step: int = 1
    score_batch_size: int = 16

    def __post_init__(self) -> None:
        n = len(self.channels)
        if n == 0 or len(self.kernels) != n or len(self.strides) != n:
            raise ConfigError(
                "convlstm_ae: channels, kernels and strides need the same (non-zero) number of entries",
                "e.g. channels: [128, 256, 512], kernels: [5, 3, 3], strides: [2, 2, 2]",
            )
        if not self.lstm_channels:
            raise ConfigError("convlstm_ae: lstm_channels needs at least one layer", "e.g. lstm_channels: [512]")
        if self.lstm_kernel % 2 != 1:
            raise ConfigError("convlstm_ae: lstm_kernel must be odd (same-size padding)", "e.g. lstm_kernel: 3")


METHODS = [
    MethodInfo(
        name="convlstm_ae",
        label="ConvLSTM-AE [Luo et al. 2017]",
        Params=ConvLSTMAEParams,
        implementation="vadflow.methods.convlstm_ae.method:ConvLSTMAE",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(color="gray", clip_length=10),
        resources={"mem_mb": 8000, "runtime": 180, "threads": 2, "gpu": 1},
        paper="Luo, Liu and Gao, Remembering history with convolutional LSTM for anomaly detection, ICME 2017",
    )
]
