"""ConvLSTM-AE's network: per-frame conv encoder, ConvLSTM over the clip, deconv decoder."""

from __future__ import annotations

import torch
from torch import nn

from vadflow.methods.convlstm_ae import ConvLSTMAEParams
from vadflow.methods.nn.convlstm import ConvLSTMCell


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
