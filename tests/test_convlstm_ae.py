"""ConvLSTM-AE: shapes for odd sizes, training lowers the loss, scores/maps, flags the unusual, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import make_block_stores, train_log_losses
from vadflow.errors import ConfigError
from vadflow.methods import get_method_class, method_info
from vadflow.methods.convlstm_ae import ConvLSTMAEParams
from vadflow.methods.convlstm_ae.model import ConvLSTMAENet
from vadflow.methods.run import score, train
from vadflow.scores import read_scores

TINY = {"channels": [8, 8, 8], "kernels": [5, 3, 3], "strides": [2, 2, 2], "lstm_channels": [8], "batch_size": 8}


@pytest.mark.parametrize("hw", [(48, 64), (33, 47), (17, 29), (225, 225)])
def test_reconstruction_has_input_shape_for_any_size(hw):
    net = ConvLSTMAENet(ConvLSTMAEParams(channels=(4, 4, 4), lstm_channels=(4, 4)))
    x = torch.zeros(2, 3, *hw)
    assert net(x).shape == x.shape


@pytest.mark.parametrize("channels,lstm", [((4, 8, 16), (16, 8)), ((16, 8, 4), (4,)), ((32, 64, 64), (64,))])
def test_decoder_mirrors_unequal_encoder_widths(channels, lstm):
    """Encoder widths that differ per layer (the paper's 128-256-512) give a decoder that mirrors them."""
    net = ConvLSTMAENet(ConvLSTMAEParams(channels=channels, lstm_channels=lstm))
    assert [m.in_channels for m in net.decoder] == [lstm[-1], *reversed(channels[:-1])]
    assert [m.out_channels for m in net.decoder] == [*reversed(channels[:-1]), 1]
    x = torch.zeros(1, 3, 32, 48)
    assert net(x).shape == x.shape


def test_paper_defaults_and_registration():
    p = ConvLSTMAEParams()
    assert p.channels[0] == 128 and p.kernels[0] == 5 and p.strides[0] == 2 and p.lstm_kernel == 3
    info = method_info("convlstm_ae")
    assert info.label == "ConvLSTM-AE [Luo et al. 2017]" and info.supervision.short == "U"
    assert info.default_input.clip_length == 10 and info.resources["gpu"] == 1
    assert get_method_class("convlstm_ae").__name__ == "ConvLSTMAE"
    with pytest.raises(ConfigError):
        ConvLSTMAEParams(channels=(8, 8), kernels=(5, 3, 3))


def _method(epochs=8, **kw):
    return {
        "name": "convlstm_ae",
        "method": "convlstm_ae",
        "label": "ConvLSTM-AE",
        "supervision": "U",
        "seed": 0,
        "input": {"height": None, "width": None, "color": "gray", "clip_length": 4},
        "params": {**TINY, "epochs": epochs, "lr": 0.003, **kw},
    }


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("clae")
    train_paths, test_path, short_path = make_block_stores(d)
    return d, train_paths, test_path, short_path


def test_train_lowers_loss_and_flags_the_block(stores):
    d, train_paths, test_path, short_path = stores
    info = train(_method(), train_paths, d / "m.pt", d / "losses.csv", device="cpu", threads=1)
    losses = train_log_losses(d / "losses.csv")
    assert len(losses) == 8 and losses[-1] < 0.5 * losses[0]
    assert info["device"] == "cpu"
    score(d / "m.pt", [test_path, short_path], d / "s.zarr", device="cpu", threads=1)
    attrs, s, maps = read_scores(d / "s.zarr")
    assert s["test"].shape == (24,) and maps["test"].shape == (24, 48, 64)
    assert s["short"].shape == (3,) and maps["short"].shape == (3, 48, 64)
    assert np.isfinite(s["test"]).all() and np.allclose(s["test"], maps["test"].sum(axis=(1, 2)), rtol=1e-2)
    assert s["test"][14:].mean() > 2 * s["test"][:10].mean()  # the block is badly reconstructed
    assert attrs["method"] == "convlstm_ae" and attrs["supervision"] == "U"


def test_deterministic_on_cpu(stores):
    d, train_paths, test_path, _ = stores
    for run in ("a", "b"):
        train(_method(epochs=2), train_paths, d / f"{run}.pt", None, device="cpu", threads=1)
        score(d / f"{run}.pt", [test_path], d / f"{run}.zarr", device="cpu", threads=1)
    assert np.array_equal(read_scores(d / "a.zarr")[1]["test"], read_scores(d / "b.zarr")[1]["test"])
