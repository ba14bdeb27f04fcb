"""Feature-vector baselines: they rank far-off rows above normal ones, round-trip their
state exactly, and cope with too little data (few rows, short videos)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from conftest import feature_videos, method_run
from vadflow.methods.baselines.models import FeatureBaseline, NearestSubspace, OneClassSVMBaseline
from vadflow.methods.run import score, train
from vadflow.scores import read_scores

D, LATENT = 20, 3


class Synth:
    """Normal rows: an affine 3-D subspace of R^20 (clustered latent codes) plus small noise.
    Anomalous rows: normal rows pushed along a direction orthogonal to that subspace."""

    def __init__(self, dim: int = D, seed: int = 0):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        self.basis, self.off = q[:, :LATENT].T, q[:, LATENT:].T  # (3, dim), (dim-3, dim)
        self.offset = rng.normal(size=dim)
        self.centres = rng.normal(scale=2.0, size=(5, LATENT))
        self.dim, self.rng = dim, rng

    def normal(self, n: int) -> np.ndarray:
        z = self.centres[self.rng.integers(0, 5, n)] + 0.5 * self.rng.normal(size=(n, LATENT))
        return (self.offset + z @ self.basis + 0.05 * self.rng.normal(size=(n, self.dim))).astype(np.float32)

    def trajectory(self, n: int) -> np.ndarray:
        """A smooth walk in the latent space (a 'video' whose frames are correlated in time)."""
        t = np.linspace(0, 2 * np.pi, n)[:, None]
        phase = self.rng.uniform(0, 2 * np.pi, LATENT)
        z = 2.0 * np.sin(t + phase)
        return (self.offset + z @ self.basis + 0.05 * self.rng.normal(size=(n, self.dim))).astype(np.float32)

    def push(self, rows: np.ndarray, scale: float = 3.0) -> np.ndarray:
        w = self.rng.normal(size=(len(rows), self.off.shape[0]))
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        return (rows + scale * w @ self.off).astype(np.float32)


def _test_rows(s: Synth, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    normal, anomalous = s.normal(n), s.push(s.normal(n // 4))
    return np.concatenate([normal, anomalous]), np.r_[np.zeros(n), np.ones(n // 4)]


def _roundtrip(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


# ----------------------------------------------------------------------------- nearest subspace


@pytest.mark.parametrize("n_atoms", [8, 60])  # D > n_atoms (plain subspace) and n_atoms >= D (ridge matters)
def test_nearest_subspace_ranks_anomalies(n_atoms):
    s = Synth()
    model = NearestSubspace(n_atoms=n_atoms, seed=0).fit([s.normal(300), s.normal(300)])
    assert model.atoms.shape == (n_atoms, D)
    rows, labels = _test_rows(s)
    scores = model.score(rows)
    assert scores.shape == (len(rows),) and np.all(np.isfinite(scores))
    assert roc_auc_score(labels, scores) > 0.9


def test_nearest_subspace_exact_residual_vanishes_when_atoms_span_everything():
    """Why the ridge exists: with ridge=0 and n_atoms >= D every row is explained (score ~0)."""
    s = Synth()
    model = NearestSubspace(n_atoms=60, ridge=0.0).fit([s.normal(600)])
    rows, _ = _test_rows(s)
    assert np.max(model.score(rows)) < 1e-4


def test_nearest_subspace_caps_atoms_and_state_roundtrip():
    s = Synth()
    with pytest.warns(UserWarning, match="n_atoms"):
        model = NearestSubspace(n_atoms=1000).fit([s.normal(30), s.normal(20)])
    assert model.atoms.shape == (50, D)
    rows, _ = _test_rows(s, 40)
    restored = NearestSubspace.from_state(_roundtrip(model.get_state()))
    np.testing.assert_array_equal(restored.score(rows), model.score(rows))
    assert isinstance(restored, FeatureBaseline)


def test_nearest_subspace_minibatch_and_subsampling_are_deterministic():
    s = Synth()
    train = [s.normal(3000)]
    kw = dict(n_atoms=16, seed=3, max_train_rows=2500, minibatch_above=1000)
    a, b = NearestSubspace(**kw).fit(train), NearestSubspace(**kw).fit(train)
    np.testing.assert_array_equal(a.atoms, b.atoms)
    rows, labels = _test_rows(s)
    assert roc_auc_score(labels, a.score(rows)) > 0.9


def test_score_rejects_wrong_feature_size():
    s = Synth()
    model = NearestSubspace(n_atoms=4).fit([s.normal(50)])
    with pytest.raises(ValueError, match="expected"):
        model.score(np.zeros((3, D + 1), np.float32))


# ----------------------------------------------------------------------------- one-class SVM


def test_ocsvm_ranks_anomalies_and_roundtrips():
    s = Synth()
    model = OneClassSVMBaseline(nu=0.1, max_train_rows=400, seed=0).fit([s.normal(300), s.normal(300)])
    assert model.svm.support_vectors_.shape[0] <= 400
    rows, labels = _test_rows(s)
    scores = model.score(rows)
    assert scores.shape == (len(rows),)
    assert roc_auc_score(labels, scores) > 0.9
    restored = OneClassSVMBaseline.from_state(_roundtrip(model.get_state()))
    np.testing.assert_array_equal(restored.score(rows), scores)
    assert restored.score(np.zeros((0, D), np.float32)).shape == (0,)


@pytest.mark.parametrize("kernel", OneClassSVMBaseline.KERNELS)
def test_ocsvm_score_is_minus_scikit_learns_decision_function(kernel):
    """The score evaluated from the stored support vectors equals -decision_function."""
    from sklearn.preprocessing import StandardScaler

    s = Synth()
    train = [s.normal(200)]
    model = OneClassSVMBaseline(nu=0.2, kernel=kernel, max_train_rows=None).fit(train)
    rows, _ = _test_rows(s, 50)
    x = StandardScaler().fit(train[0]).transform(rows)
    np.testing.assert_allclose(model.score(rows), -model.svm.decision_function(x), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- LSTM auto-encoder


LSTM = {"hidden": 32, "seq_len": 5, "epochs": 12, "batch_size": 32, "lr": 3e-3}


def _lstm_scores(tmp_path, train_rows, test_rows, name="m", **params):
    """Train the LSTM-AE method (through the engine) on feature rows; the test videos' scores."""
    frames, feats = feature_videos(tmp_path / "data", {**{f"train{i}": r for i, r in enumerate(train_rows)},
                                                      **test_rows})
    n = len(train_rows)
    run = method_run("lstm_ae", {**LSTM, **params})
    train(run, frames[:n], tmp_path / f"{name}.pt", tmp_path / f"{name}.csv",
          features={"f": feats["f"][:n]}, device="cpu", threads=1)
    score(tmp_path / f"{name}.pt", frames[n:], tmp_path / f"{name}.zarr", features={"f": feats["f"][n:]},
          device="cpu", threads=1)
    return read_scores(tmp_path / f"{name}.zarr")[1]


def test_lstm_ae_learns_ranks_anomalies_and_is_deterministic(tmp_path):
    from conftest import train_log_losses

    s = Synth()
    train_rows = [s.trajectory(80) for _ in range(4)]
    video = s.trajectory(80)
    labels = np.zeros(80)
    labels[40:60] = 1
    video[40:60] = s.push(video[40:60])
    scores = _lstm_scores(tmp_path, train_rows, {"test": video})["test"]
    losses = train_log_losses(tmp_path / "m.csv")
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]
    assert scores.shape == (80,) and scores.dtype == np.float64
    assert roc_auc_score(labels, scores) > 0.9
    again = _lstm_scores(tmp_path, train_rows, {"test": video}, name="again")["test"]
    np.testing.assert_array_equal(again, scores)


def test_lstm_ae_short_videos_are_padded(tmp_path):
    s = Synth()
    out = _lstm_scores(tmp_path, [s.trajectory(3), s.trajectory(12)],  # one video shorter than seq_len
                       {"t2": s.trajectory(2), "t5": s.trajectory(5)}, epochs=1)
    assert out["t2"].shape == (2,) and out["t5"].shape == (5,)
