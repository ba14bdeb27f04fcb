"""The spatio-temporal dissociation auto-encoder (Chang et al.): variance attention on a hand-made
clip, eq. 10's cluster distance and its gradients, the RGB-difference target and the gradient loss,
the alternation's frozen parts, the score of eq. 13, determinism, resume across the K-means stage
boundary, and the clear behaviour on gray datasets and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import make_block_stores, method_run
from vadflow.errors import ConfigError
from vadflow.methods.dissociation import DissociationParams
from vadflow.methods.dissociation.method import DissociationAE, gradient_loss
from vadflow.methods.dissociation.model import DissociationNet, VarianceAttention, cluster_distance
from vadflow.methods.engine import Stage, StepContext
from vadflow.methods.engine.trainer import _SingleCPU
from vadflow.methods.run import score, train
from vadflow.scores import read_scores

TINY_INPUT = {"clip_length": 5, "height": 16, "width": 16, "color": "rgb"}
TINY = {"channels": [4, 4, 8], "clusters": 2, "pretrain_epochs": 1, "alternate_epochs": 2, "batch_size": 4,
        "clip_step": 2, "kmeans_clips": 6}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    return make_block_stores(tmp_path_factory.mktemp("dissociation"))


def test_variance_attention_weights_a_moving_patch_highest():
    """Four frames stacked as channels: a static background (equal in every frame, variance 0 over
    the channels) and a 2x2 patch that moves one pixel a frame; with the identity embedding the
    weights peak where the patch moves and average 1 over the map."""
    frames = torch.full((4, 8, 8), 0.5)
    for t in range(4):
        frames[t, 2:4, 1 + t : 3 + t] = 1.0
    att = VarianceAttention(4)
    with torch.no_grad():
        att.embed.weight.copy_(torch.eye(4)[:, :, None, None])
    w = att.weights(frames[None])[0, 0]
    assert w.mean().item() == pytest.approx(1.0)
    moving = torch.zeros(8, 8, dtype=torch.bool)
    moving[2:4, 1:6] = True
    assert w[moving].min() > w[~moving].max()
    assert torch.allclose(w[~moving], w[~moving][0])  # static locations share the lowest weight


def test_cluster_distance_and_its_gradients_by_hand():
    """Eq. 10 with alpha = 0 (a uniform soft assignment): r = (1, 0), centres (1, 0) and (0, 1) give
    D = (0 + 2) / 2 = 1; dD/dc_1 = (c_1 - r) = 0, dD/dc_2 = c_2 - r = (-1, 1), dD/dr = r - c_2 = (1, -1)."""
    r = torch.tensor([1.0, 0.0], requires_grad=True)
    c = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    d = cluster_distance(r.view(1, 2, 1, 1), c, alpha=0.0)
    assert d.shape == (1, 1, 1) and d.item() == pytest.approx(1.0)
    d.sum().backward()
    assert torch.allclose(c.grad, torch.tensor([[0.0, 0.0], [-1.0, 1.0]]))
    assert torch.allclose(r.grad, torch.tensor([1.0, -1.0]))
    # a large alpha: the nearest centre takes the whole weight, D -> the squared distance to it
    near = cluster_distance(torch.tensor([0.9, 0.1]).view(1, 2, 1, 1), c.detach(), alpha=200.0)
    assert near.item() == pytest.approx(0.02, rel=1e-4)
    # the full gradient (through the soft assignment too) against finite differences
    r2 = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    c2 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: cluster_distance(a, b, 2.5), (r2, c2))


def test_gradient_loss_by_hand():
    """A horizontal ramp against a flat prediction: |g_x| = 1 everywhere (loss 1), g_y = 0 (loss 0)."""
    target = torch.arange(3.0).repeat(2, 1)[None, None]  # (1, 1, 2, 3)
    assert gradient_loss(torch.zeros_like(target), target).item() == pytest.approx(1.0)
    assert gradient_loss(target + 5.0, target).item() == 0.0  # a constant offset has the same gradients


def _method(params: dict | None = None, color: str = "rgb") -> DissociationAE:
    run = method_run("dissociation_ae", {**TINY, **(params or {})}, features=(), input={**TINY_INPUT, "color": color})
    m = DissociationAE(run, device="cpu")
    p = m.params
    m.model = DissociationNet(3 if color == "rgb" else 1, 5, p.channels, p.streams, p.variance_attention, p.clusters)
    return m


def test_the_motion_target_is_the_difference_of_the_last_and_first_frames():
    m = _method()
    clip = torch.rand(2, 5, 3, 16, 16)
    exact = {"diff": clip[:, -1] - clip[:, 0]}
    assert m.reconstruction_losses(clip, exact)["motion"].item() == pytest.approx(0.0, abs=1e-12)
    one_step = {"diff": clip[:, 1] - clip[:, 0]}
    assert m.reconstruction_losses(clip, one_step)["motion"].item() > 0.01
    assert m.reconstruction_losses(clip, {"fif": clip[:, 0]})["appearance"].item() == 0.0


def _alternate_step(m: DissociationAE, batch: torch.Tensor) -> None:
    stage = Stage("alternate", epochs=1, batch_size=2)
    opts = m.configure_optimizers(stage)
    ctx = StepContext(stage, 1, 1, 0, opts, _SingleCPU(), m.modules())
    m.training_step(batch, ctx)


@pytest.mark.parametrize("frozen", ["centres", "autoencoders"])
def test_the_alternation_freezes_what_it_says(frozen):
    """One alternation step: each optimiser holds only its own part, so with the other part's lr at
    0 that part is exactly unchanged and the trained part moves."""
    params = {"centre_lr": 0.0} if frozen == "centres" else {"lr": 0.0, "lr_decayed": 0.0}
    m = _method(params)
    torch.manual_seed(0)
    with torch.no_grad():
        m.model.centres.normal_()
    batch = torch.randint(0, 256, (2, 5, 3, 16, 16), dtype=torch.uint8)
    before = {k: v.clone() for k, v in m.model.state_dict().items()}
    _alternate_step(m, batch)
    after = m.model.state_dict()
    centres_same = torch.equal(before["clusters.centres"], after["clusters.centres"])
    ae_same = all(torch.equal(before[k], after[k]) for k in before if k != "clusters.centres" and "running" not in k
                  and "num_batches" not in k)
    assert (centres_same, ae_same) == ((True, False) if frozen == "centres" else (False, True))


def test_the_score_is_minus_one_over_the_fused_error_at_the_clip_s_last_frame(stores, tmp_path):
    """Eq. 13: e = mean_p D_u(p) ||x_L - x̂_L||², stored as -1/e so that the per-video min-max is
    1 - S(t) (eq. 14); the first L - 1 frames take the first clip's score; maps are D_u times the error."""
    train_stores, test_store, short = stores
    run = method_run("dissociation_ae", TINY, features=(), input=TINY_INPUT)
    train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    score(tmp_path / "m.pt", [test_store, short], tmp_path / "s.zarr", device="cpu", threads=1)
    _, scores, maps = read_scores(tmp_path / "s.zarr")
    s, m = scores["test"], maps["test"]
    assert s.shape == (24,) and m.shape == (24, 16, 16) and (s < 0).all()
    assert np.all(s[:4] == s[4])
    np.testing.assert_allclose(s, -1.0 / m.astype(np.float64).mean(axis=(1, 2)), rtol=2e-3)
    assert scores["short"].shape == (3,)  # a video shorter than a clip: its last frame repeated


def test_trains_deterministically_and_resumes_across_the_kmeans_boundary(stores, tmp_path, monkeypatch):
    """Killed in the first step after the K-means initialisation, a rerun redoes the initialisation
    from the stage-boundary checkpoint and ends with the same model as an uninterrupted run."""
    train_stores, _, _ = stores
    run = method_run("dissociation_ae", TINY, features=(), input=TINY_INPUT)
    for name in ("full", "again"):
        train(run, train_stores, tmp_path / f"{name}.pt", tmp_path / f"{name}.csv", device="cpu", threads=1)
    original = DissociationAE.training_step

    def crash(self, batch, ctx):
        if ctx.stage.name == "alternate" and ctx.epoch == 1 and ctx.step == 0:
            raise KeyboardInterrupt
        return original(self, batch, ctx)

    monkeypatch.setattr(DissociationAE, "training_step", crash)
    with pytest.raises(KeyboardInterrupt):
        train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    resume = torch.load(tmp_path / "m.resume.pt", weights_only=True)
    assert resume["position"]["stage_index"] == 1 and not resume["position"]["started"]
    monkeypatch.setattr(DissociationAE, "training_step", original)
    train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    states = [torch.load(tmp_path / f"{n}.pt", weights_only=True)["state"]["net"] for n in ("full", "again", "m")]
    assert states[0]["clusters.centres"].abs().sum() > 0  # K-means filled them
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]) and torch.equal(states[0][k], states[2][k]), k
    log = open(tmp_path / "l.csv").read()
    assert "cluster" in log.splitlines()[0] and log.count("alternate,") == 2


def test_a_gray_store_becomes_three_equal_channels(stores):
    """Ped2 is gray: with input.color rgb its channel is repeated (the paper's RGB input)."""
    train_stores, _, _ = stores
    from vadflow.methods.api import VideoInput

    m = _method()
    video = m.video_array(VideoInput.open(train_stores[0]))
    assert video.shape[1] == 3 and (video[:, 0] == video[:, 1]).all() and (video[:, 1] == video[:, 2]).all()


def test_bad_input_is_a_clear_error(stores, tmp_path):
    train_stores, _, _ = stores
    odd = method_run("dissociation_ae", TINY, features=(), input={**TINY_INPUT, "height": 12, "width": 12})
    with pytest.raises(ConfigError, match="multiples of 8"):
        train(odd, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    long = method_run("dissociation_ae", TINY, features=(), input={**TINY_INPUT, "clip_length": 40})
    with pytest.raises(ConfigError, match="no training video has the 40 frames of one clip"):
        train(long, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    with pytest.raises(ConfigError, match="both streams"):
        DissociationParams(streams=("motion",), variance_attention=True, clusters=8)
    with pytest.raises(ConfigError, match="motion encoder"):
        DissociationParams(streams=("appearance",), clusters=0)
    with pytest.raises(ConfigError, match="multiples of 4"):
        DissociationParams(channels=(6, 8, 8))


@pytest.mark.parametrize("streams", [("appearance",), ("motion",)])
def test_single_streams_train_and_score(stores, tmp_path, streams):
    """Table 2's first two columns: one auto-encoder, no attention, no K-means."""
    train_stores, test_store, _ = stores
    params = {**TINY, "streams": list(streams), "variance_attention": False, "clusters": 0}
    run = method_run("dissociation_ae", params, features=(), input=TINY_INPUT)
    train(run, train_stores, tmp_path / "m.pt", tmp_path / "l.csv", device="cpu", threads=1)
    score(tmp_path / "m.pt", [test_store], tmp_path / "s.zarr", device="cpu", threads=1)
    _, scores, _ = read_scores(tmp_path / "s.zarr")
    s = scores["test"]
    assert np.isfinite(s).all()
    if streams == ("appearance",):
        assert np.all(s[-4:] == s[-5])  # the last L - 1 frames take the last clip's FIF score
    header = open(tmp_path / "l.csv").readline()
    assert ("appearance" in header) == (streams == ("appearance",)) and "cluster" not in header
