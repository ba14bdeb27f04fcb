"""Conv-AE: architecture shapes, windows, training, determinism, and that it flags the unusual."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_block_stores, train_log_losses
from vadflow.windows import sliding_windows
from vadflow.methods.conv_ae import ConvAEParams
from vadflow.methods.conv_ae.model import ConvAENet
from vadflow.methods.run import score, train
from vadflow.scores import read_scores

TINY = {"channels": [8, 8, 4], "kernels": [5, 3, 3], "first_stride": 2, "first_padding": 2, "batch_size": 8}


@pytest.mark.parametrize("hw", [(227, 227), (120, 180), (48, 64), (33, 47)])
def test_paper_architecture_reconstructs_any_size(hw):
    net = ConvAENet(10, ConvAEParams(channels=(16, 8, 4), first_padding=0 if hw == (227, 227) else 5))
    x = torch.zeros(1, 10, *hw)
    assert net(x).shape == x.shape


def test_paper_sizes():
    """227x227 input: conv1 (11x11, stride 4) -> 55, pool -> 27, pool -> 13 (Hasan et al., Fig. 2)."""
    net = ConvAENet(10, ConvAEParams(first_padding=0))
    h1 = net.conv1(torch.zeros(1, 10, 227, 227))
    assert h1.shape == (1, 512, 55, 55)
    p1, _ = net.pool(h1)
    p2, _ = net.pool(net.conv2(p1))
    assert p1.shape[-1] == 27 and net.conv3(p2).shape == (1, 128, 13, 13)


def test_sliding_windows():
    assert sliding_windows(5, 3).tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert sliding_windows(7, 3, stride=2).tolist() == [[0, 2, 4], [1, 3, 5], [2, 4, 6]]
    assert sliding_windows(7, 3, step=2).tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert sliding_windows(2, 3).shape == (0, 3)


def _method(epochs=6, **kw):
    return {
        "name": "conv_ae",
        "method": "conv_ae",
        "label": "Conv-AE",
        "supervision": "U",
        "seed": 0,
        "input": {"height": None, "width": None, "color": "gray", "clip_length": 4},
        "params": {**TINY, "epochs": epochs, "optimizer": "adam", "lr": 0.003, **kw},
    }


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("cae")
    train_paths, test_path, short_path = make_block_stores(d)
    return d, train_paths, test_path


def test_train_logs_decreasing_loss_and_scores(stores):
    d, train_paths, test_path = stores
    info = train(_method(), train_paths, d / "m.pt", d / "losses.csv", device="cpu", threads=1)
    header = (d / "losses.csv").read_text().splitlines()[0]
    assert header.startswith("stage,epoch,step,loss") and header.endswith("seconds")
    losses = train_log_losses(d / "losses.csv")
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert info["device"] == "cpu"
    score(d / "m.pt", [test_path], d / "s.zarr", device="cpu", threads=1)
    attrs, s, maps = read_scores(d / "s.zarr")
    assert s["test"].shape == (24,) and maps["test"].shape == (24, 48, 64)
    assert s["test"][14:].mean() > 2 * s["test"][:10].mean()  # the block is badly reconstructed
    assert attrs["supervision"] == "U" and attrs["frames_per_second"] > 0


def test_deterministic_on_cpu(stores):
    d, train_paths, test_path = stores
    for run in ("a", "b"):
        train(_method(epochs=2), train_paths, d / f"{run}.pt", None, device="cpu", threads=1)
        score(d / f"{run}.pt", [test_path], d / f"{run}.zarr", device="cpu", threads=1)
    assert np.array_equal(read_scores(d / "a.zarr")[1]["test"], read_scores(d / "b.zarr")[1]["test"])


def test_missing_checkpoint(tmp_path: Path, stores):
    from vadflow.errors import CheckpointError

    with pytest.raises(CheckpointError, match="does not exist"):
        score(tmp_path / "none.pt", [stores[2]], tmp_path / "s.zarr")


def test_rgb_input_is_refused_with_a_clear_error(stores):
    from vadflow.errors import ConfigError

    d, train_paths, _ = stores
    m = _method()
    m["input"] = {**m["input"], "color": "rgb"}
    with pytest.raises(ConfigError, match="works on gray clips"):
        train(m, train_paths, d / "rgb.pt", None, device="cpu")
