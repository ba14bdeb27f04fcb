"""The adversarial 3D convolutional auto-encoder (Sun et al.): unpooling to recorded and fixed
locations, shapes of the paper's network and its ablations, the GAN steps' directions, the noise
types, determinism and resume with both optimisers, and the clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import make_block_stores, method_run
from vadflow.errors import ConfigError
from vadflow.methods.adv3d.method import Adv3DCAE, corrupt
from vadflow.methods.adv3d.model import ConvAE3D, Discriminator3D, _Pool, _Unpool, fixed_unpool
from vadflow.methods.run import score, train
from vadflow.scores import read_scores

TINY_INPUT = {"clip_length": 8, "height": 32, "width": 32}
TINY = {"channels": [2, 2, 2, 2, 2], "disc_channels": [2, 2, 2], "epochs": 2, "batch_size": 4, "clip_step": 4}


def test_unpooling_restores_values_to_the_recorded_positions():
    x = torch.tensor([[[[[1.0, 5.0], [2.0, 0.0]], [[3.0, 4.0], [9.0, 1.0]]]]])  # (1, 1, T=2, 2, 2)
    pooled, idx = _Pool((2, 2, 2))(x)
    assert pooled.item() == 9.0
    back = _Unpool((2, 2, 2), record_locations=True)(pooled * 10, idx, x.shape[2:])
    expected = torch.zeros_like(x)
    expected[0, 0, 1, 1, 0] = 90.0  # where the maximum was
    assert torch.equal(back, expected)
    fixed = _Unpool((2, 2, 2), record_locations=False)(pooled * 10, idx, x.shape[2:])
    expected = torch.zeros_like(x)
    expected[0, 0, 0, 0, 0] = 90.0  # the window's upper-left, earliest voxel
    assert torch.equal(fixed, expected)
    assert torch.equal(fixed_unpool(torch.tensor([[[[1.0, 2.0]]]]), (2, 2)),
                       torch.tensor([[[[1.0, 0, 2.0, 0], [0, 0, 0, 0]]]]))


@pytest.mark.parametrize("kw, pools", [
    ({}, [(1, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2)]),
    ({"layers": 6}, [(1, 2, 2), (2, 2, 2)]),
    ({"temporal_pooling": False}, [(1, 2, 2)] * 4),
    ({"conv": "2d"}, [(2, 2)] * 4),
])
def test_paper_shapes_and_ablations(kw, pools):
    """16 gray frames of 224 x 224 (sec. IV-C) come back the same shape through every variant."""
    torch.manual_seed(0)
    net = ConvAE3D(16, (1, 1, 1, 1, 1), **kw)
    assert [p.kernel for p in net.pools] == pools
    with torch.no_grad():
        assert net(torch.randn(1, 16, 224, 224)).shape == (1, 16, 224, 224)
    if kw.get("conv") == "2d":  # the frames really are the channels of 2D layers
        first = net.enc[0][0][1]
        assert isinstance(first, torch.nn.Conv2d) and first.in_channels == 16
        assert net.dec[-1].layer.out_channels == 16
    else:
        assert isinstance(net.enc[1][0], torch.nn.Conv3d) and net.enc[1][0].kernel_size == (3, 3, 3)
        assert net.enc[0][0][1].kernel_size == (1, 2, 2)  # Conv1 as printed
    n_bn = sum(isinstance(m, (torch.nn.BatchNorm3d, torch.nn.BatchNorm2d)) for m in net.modules())
    assert n_bn == (9 if kw.get("layers") != 6 else 5)  # every layer but the decoder's last


def test_encoder_bottleneck_of_the_paper_network():
    net = ConvAE3D(16, (1, 1, 1, 1, 3))
    h = torch.randn(1, 1, 16, 224, 224)
    with torch.no_grad():
        for i, layer in enumerate(net.enc):
            h = layer(h)
            if i < 4:
                h, _ = net.pools[i](h)
    assert h.shape == (1, 3, 2, 14, 14)  # Conv5: C5 x 2 x 14 x 14 (reading notes, sec. 2.1)


def test_frames_that_do_not_fit_the_network_are_a_clear_error():
    net = ConvAE3D(16, (1, 1, 1, 1, 1))
    with pytest.raises(ConfigError, match="multiples of 16"):
        net.check_input(120, 180, "adv3d_cae (v.zarr)")
    with pytest.raises(ConfigError, match="clip_length to a multiple of 8"):
        ConvAE3D(12, (1, 1, 1, 1, 1)).check_input(32, 32, "x")
    ConvAE3D(16, (1, 1, 1, 1, 1)).check_input(64, 96, "x")


def test_gan_steps_move_the_way_the_objective_says():
    """A discriminator step raises D on real clips relative to reconstructions; an auto-encoder step
    on the adversarial term alone raises D on its reconstructions (the standard GAN reading of eq. 8)."""
    torch.manual_seed(0)
    ae, disc = ConvAE3D(8, (2, 2, 2, 2, 2)), Discriminator3D((2, 2, 2))
    real = torch.randn(4, 8, 32, 32)
    recon = ae(real + 0.005 * torch.randn_like(real))
    opt_d = torch.optim.SGD(disc.parameters(), lr=1e-2)  # a small step along each gradient
    before = (disc(real) - disc(recon.detach())).mean().item()
    d_loss = F.binary_cross_entropy_with_logits(disc(real), torch.ones(4)) + \
        F.binary_cross_entropy_with_logits(disc(recon.detach()), torch.zeros(4))
    d_loss.backward()
    opt_d.step()
    assert (disc(real) - disc(recon.detach())).mean().item() > before
    opt_g = torch.optim.SGD(ae.parameters(), lr=1e-2)
    with torch.no_grad():
        fooled_before = disc(ae(real)).mean().item()
    ae.zero_grad()
    F.binary_cross_entropy_with_logits(disc(ae(real)), torch.ones(4)).backward()
    opt_g.step()
    with torch.no_grad():
        assert disc(ae(real)).mean().item() > fooled_before


def test_noise_types():
    g = torch.Generator().manual_seed(0)
    x = torch.full((100, 100, 100), 0.5)
    assert torch.equal(corrupt(x, "none", 0.005, 0.05, 255, g), x)
    gauss = corrupt(x, "gaussian", 0.005, 0.05, 255, g) - x
    assert abs(gauss.std().item() - 0.005) < 1e-4 and abs(gauss.mean().item()) < 1e-4
    sp = corrupt(x, "salt_pepper", 0.005, 0.05, 255, g)
    assert abs((sp != 0.5).float().mean().item() - 0.05) < 2e-3  # "SNR 95 %"
    assert abs((sp == 0).float().mean().item() - 0.025) < 2e-3
    po = corrupt(x, "poisson", 0.005, 0.05, 255, g)
    assert abs(po.mean().item() - 0.5) < 1e-3 and abs(po.var().item() - 0.5 / 255) < 1e-4


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    return make_block_stores(tmp_path_factory.mktemp("adv3d"))


@pytest.mark.parametrize("params", [{}, {"adversarial_weight": 0.0}])
def test_trains_deterministically_with_and_without_the_gan(stores, tmp_path, params):
    train_stores, test_store, _ = stores
    run = method_run("adv3d_cae", {**TINY, **params}, features=(), input=TINY_INPUT)
    out = []
    for i in range(2):
        info = train(run, train_stores, tmp_path / f"m{i}.pt", tmp_path / f"l{i}.csv", device="cpu", threads=1)
        score(tmp_path / f"m{i}.pt", [test_store], tmp_path / f"s{i}.zarr", device="cpu", threads=1)
        _, scores, maps = read_scores(tmp_path / f"s{i}.zarr")
        out.append(scores["test"])
    np.testing.assert_array_equal(out[0], out[1])
    assert maps["test"].shape == (24, 32, 32)
    header = open(tmp_path / "l0.csv").readline()
    assert ("discriminator" in header) == ("adversarial_weight" not in params)
    state = torch.load(tmp_path / "m0.pt", map_location="cpu", weights_only=True)["state"]["net"]
    assert any(k.startswith("disc.") for k in state) == ("adversarial_weight" not in params)
    assert info["train_videos"]


def test_killed_training_resumes_with_both_optimisers(stores, tmp_path, monkeypatch):
    train_stores, _, _ = stores
    run = method_run("adv3d_cae", TINY, features=(), input=TINY_INPUT, trainer={"checkpoint_every_steps": 1})
    train(run, train_stores, tmp_path / "full.pt", tmp_path / "full.csv", device="cpu", threads=1)

    original = Adv3DCAE.training_step

    def crash(self, batch, ctx):
        if ctx.epoch == 2 and ctx.step == 6:  # mid-way through the second epoch
            raise KeyboardInterrupt
        return original(self, batch, ctx)

    monkeypatch.setattr(Adv3DCAE, "training_step", crash)
    with pytest.raises(KeyboardInterrupt):
        train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    resume = tmp_path / "m.resume.pt"
    assert resume.exists() and not (tmp_path / "m.pt").exists()
    assert set(torch.load(resume, weights_only=True)["optimizers"]) == {"autoencoder", "discriminator"}
    monkeypatch.setattr(Adv3DCAE, "training_step", original)
    train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    full = torch.load(tmp_path / "full.pt", weights_only=True)["state"]["net"]
    resumed = torch.load(tmp_path / "m.pt", weights_only=True)["state"]["net"]
    for k in full:
        assert torch.equal(full[k], resumed[k]), k


def test_a_clip_longer_than_every_training_video_is_a_clear_error(stores, tmp_path):
    train_stores, _, _ = stores
    run = method_run("adv3d_cae", TINY, features=(), input={**TINY_INPUT, "clip_length": 32})
    with pytest.raises(ConfigError, match="no training video has the 32 frames of one clip"):
        train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)


def test_frames_smaller_than_the_network_are_a_clear_error(stores, tmp_path):
    train_stores, _, _ = stores
    run = method_run("adv3d_cae", TINY, features=(), input={**TINY_INPUT, "height": 24, "width": 24})
    with pytest.raises(ConfigError, match="do not fit the auto-encoder"):
        train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)


def test_optical_flow_images_train_a_second_auto_encoder(tmp_path):
    """Table IX: the same auto-encoder on optical-flow images (the flow store's magnitude for gray)."""
    from conftest import feature_videos
    from vadflow.features.flow import flow_image
    from vadflow.features.store import FeatureStoreWriter
    from vadflow.methods.api import VideoInput

    rng = np.random.default_rng(0)
    frames, _ = feature_videos(tmp_path, {n: np.zeros((20, 1), np.float32) for n in ("a", "b", "t")})
    flows = []
    for name in ("a", "b", "t"):
        flow = rng.normal(scale=2.0, size=(20, 16, 24, 2)).astype(np.float32)
        if name == "t":
            flow[10:, 4:12, 4:12] += 15.0  # something moves fast in the second half
        w = FeatureStoreWriter(tmp_path / f"{name}.flow.zarr", flow.shape[1:], "float32", 8)
        w.append(flow, name)
        w.finish(np.arange(20), None, {"flow": {"method": "test"}})
        flows.append(tmp_path / f"{name}.flow.zarr")
    run = method_run("adv3d_cae", {**TINY, "clip_step": 2}, features=(),
                     input={"clip_length": 8, "height": 16, "width": 16, "features": ["flow"]})
    train(run, frames[:2], tmp_path / "m.pt", tmp_path / "l.csv", features={"flow": flows[:2]}, device="cpu",
          threads=1)
    score(tmp_path / "m.pt", frames[2:], tmp_path / "s.zarr", features={"flow": flows[2:]}, device="cpu", threads=1)
    _, scores, maps = read_scores(tmp_path / "s.zarr")
    assert scores["t"].shape == (20,) and maps["t"].shape == (20, 16, 16)
    # what the network saw: the magnitude channel of the flow images, resized
    m = Adv3DCAE(run)
    seen = m.video_array(VideoInput.open(frames[2], {"flow": flows[2]}))
    assert seen.shape == (20, 1, 16, 16) and seen.dtype == np.uint8
    assert seen[15].mean() > seen[5].mean()
    assert flow_image(np.zeros((1, 2, 2, 2)))[..., 2].max() == 0  # no motion: black
