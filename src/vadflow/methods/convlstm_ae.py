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

import torch
from torch import nn

from vadflow.errors import ConfigError
from vadflow.methods import register
from vadflow.methods.clip_autoencoder import ClipAutoencoder


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


class ConvLSTMCell(nn.Module):
    """One ConvLSTM layer (Shi et al. 2015, without peepholes): all four gates from one conv."""

    def __init__(self, in_channels: int, hidden: int, kernel: int):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ConvLSTMAENet(nn.Module):
    """(B, L, h, w) clip -> (B, L, h, w) reconstruction; any h, w (transposed convs get output sizes)."""

    def __init__(self, p: ConvLSTMAEParams):
        super().__init__()
        chans = (1,) + tuple(p.channels)
        self.encoder = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], k, stride=s, padding=k // 2)
            for i, (k, s) in enumerate(zip(p.kernels, p.strides))
        )
        lstm_in = (chans[-1],) + tuple(p.lstm_channels)
        self.lstm = nn.ModuleList(
            ConvLSTMCell(lstm_in[i], lstm_in[i + 1], p.lstm_kernel) for i in range(len(p.lstm_channels))
        )
        # decoder mirrors the encoder: its first layer reads the last ConvLSTM's hidden state
        dec_out = tuple(reversed(chans[1:-1])) + (1,)
        dec_in = (p.lstm_channels[-1],) + dec_out[:-1]
        self.decoder = nn.ModuleList(
            nn.ConvTranspose2d(ci, co, k, stride=s, padding=k // 2)
            for ci, co, k, s in zip(dec_in, dec_out, reversed(p.kernels), reversed(p.strides))
        )
        self.act = nn.ReLU()

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        B, L, H, W = clip.shape
        x = clip.reshape(B * L, 1, H, W)
        sizes = []  # input size of every encoder layer, for the mirrored transposed convs
        for conv in self.encoder:
            sizes.append(x.shape[-2:])
            x = self.act(conv(x))
        feats = x.reshape(B, L, *x.shape[1:])
        states = [
            (feats.new_zeros(B, cell.hidden, *feats.shape[-2:]), feats.new_zeros(B, cell.hidden, *feats.shape[-2:]))
            for cell in self.lstm
        ]
        outputs = []
        for t in range(L):  # the ConvLSTM carries the clip's history up to frame t
            inp = feats[:, t]
            for j, cell in enumerate(self.lstm):
                states[j] = cell(inp, states[j])
                inp = states[j][0]
            outputs.append(inp)
        y = torch.stack(outputs, dim=1).flatten(0, 1)
        for j, (deconv, size) in enumerate(zip(self.decoder, reversed(sizes))):
            y = deconv(y, output_size=size)
            if j < len(self.decoder) - 1:
                y = self.act(y)
        return y.reshape(B, L, H, W)


@register
class ConvLSTMAE(ClipAutoencoder):
    name = "convlstm_ae"
    label = "ConvLSTM-AE [Luo et al. 2017]"
    Params = ConvLSTMAEParams
    default_resources = {"mem_mb": 8000, "runtime": 180, "threads": 2, "gpu": 1}

    def _build_net(self) -> nn.Module:
        return ConvLSTMAENet(self.params)

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared reconstruction error over the clip."""
        return (self.net(x) - x).pow(2).mean()
