"""TSC / SISTA / sRNN-AE maths (vadflow.methods.srnn.sparse_coding): small, deterministic, CPU."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from vadflow.methods.srnn.sparse_coding import (
    SRNNAE,
    fit_tsc,
    frame_errors,
    gaussian_similarity,
    lipschitz_gamma,
    sista_codes,
    srnn_loss,
    tsc_objective,
    tsc_reconstruction_error,
)


def _dictionary(d: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, n))
    return A / np.linalg.norm(A, axis=0, keepdims=True)


def _smooth_sequence(t: int, d: int, seed: int, scale: float = 1.0) -> np.ndarray:
    """A slowly drifting sequence, so neighbouring frames are similar (S near 1)."""
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=d) * scale
    steps = rng.normal(size=(t, d)) * 0.3 * scale
    return x0 + np.cumsum(steps, axis=0)


def _qp_solution(x, A, lam1, lam2, s, alpha_prev):
    """min ½||x − Aα||² + λ1 Σα + (λ2/2) S ||α − α_prev||², α ≥ 0, by L-BFGS-B.

    The ½ convention is the one Algorithm 1 (threshold λ1/γ, step 1/γ) minimises.
    """

    def fun(a):
        r = A @ a - x
        d = a - alpha_prev
        value = 0.5 * r @ r + lam1 * a.sum() + 0.5 * lam2 * s * d @ d
        grad = A.T @ r + lam1 + lam2 * s * d
        return value, grad

    n = A.shape[1]
    res = minimize(
        fun,
        np.zeros(n),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * n,
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 20000, "maxcor": 30},
    )
    return res.x


def test_gaussian_similarity_values():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0], [0.0, 0.0]])
    s = gaussian_similarity(x)
    expected = [0.0, math.exp(-25 / 100), 1.0, math.exp(-25 / 100)]
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(gaussian_similarity(x, delta2=25.0)[1].item(), math.exp(-1.0))
    # batched, and S_{0,1} from the frame before the chunk
    xb = np.stack([x, x[::-1].copy()])
    sb = gaussian_similarity(xb, x_prev=np.zeros((2, 2)))
    assert sb.shape == (2, 4)
    np.testing.assert_allclose(sb[0].numpy(), [1.0] + expected[1:])
    np.testing.assert_allclose(sb[1, 0].item(), 1.0)


def test_sista_matches_convex_solver_per_frame():
    d, n, steps, lam1, lam2 = 6, 8, 3, 0.1, 2.0
    A = _dictionary(d, n, seed=1)
    rng = np.random.default_rng(2)
    codes_true = np.abs(rng.normal(size=(steps, n))) * (rng.random((steps, n)) < 0.4)
    x = codes_true @ A.T + 0.05 * rng.normal(size=(steps, d))
    sim = gaussian_similarity(x).numpy()
    assert sim[0] == 0.0 and np.all(sim[1:] > 0.5)

    codes = sista_codes(x, A, lam1, lam2, sim, K=3000).numpy()
    assert codes.shape == (steps, n) and codes.min() >= 0.0
    prev = np.zeros(n)
    for t in range(steps):
        reference = _qp_solution(x[t], A, lam1, lam2, sim[t], prev)
        np.testing.assert_allclose(codes[t], reference, atol=1e-4)
        prev = codes[t]


def test_sista_batched_equals_per_sequence_and_objective_is_minimised():
    A = _dictionary(5, 7, seed=3)
    xs = np.stack([_smooth_sequence(4, 5, seed) for seed in (4, 5)])
    batched = sista_codes(xs, A, 0.1, 2.0, None, K=200)
    for b in range(2):
        single = sista_codes(xs[b], A, 0.1, 2.0, None, K=200)
        torch.testing.assert_close(batched[b], single)
    # SISTA is sequential (α_t given α_{t−1}), so only the last frame's code is a minimiser of the
    # whole-sequence objective: it is no worse than small non-negative perturbations of it
    base = float(tsc_objective(xs[0], A, batched[0], 0.1, 2.0))
    rng = np.random.default_rng(6)
    for _ in range(5):
        poked = batched[0].clone()
        poked[-1] = (poked[-1] + torch.from_numpy(rng.normal(size=7) * 1e-3)).clamp_min(0)
        assert float(tsc_objective(xs[0], A, poked, 0.1, 2.0)) >= base - 1e-9


def test_unfolded_srnn_reproduces_sista():
    d, n, lam1, lam2, K = 6, 8, 0.1, 2.0, 300
    A = _dictionary(d, n, seed=7)
    gamma = lipschitz_gamma(A, lam2) * 1.1
    x = np.stack([_smooth_sequence(5, d, seed) for seed in (8, 9)])
    model = SRNNAE.from_dictionary(A, lam1=lam1, lam2=lam2, gamma=gamma, K=K)
    assert model.A.dtype == torch.float64
    with torch.no_grad():
        x_hat, h = model(torch.from_numpy(x))
    expected = sista_codes(x, A, lam1, lam2, gaussian_similarity(x), K=K, gamma=gamma)
    torch.testing.assert_close(h, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(x_hat, h @ torch.from_numpy(A).T)  # Z starts as A
    # the per-frame score agrees with the TSC reconstruction error of the same codes
    torch.testing.assert_close(model.frame_errors(x), tsc_reconstruction_error(x, A, expected), atol=1e-6, rtol=1e-6)


def test_srnn_carries_state_across_chunks():
    A = _dictionary(4, 6, seed=10)
    model = SRNNAE.from_dictionary(A, K=3)
    x = torch.from_numpy(_smooth_sequence(6, 4, seed=11)).unsqueeze(0)
    with torch.no_grad():
        _, whole = model(x)
        _, first = model(x[:, :3])
        _, second = model(x[:, 3:], h0=first[:, -1], x_prev=x[:, 2])
    torch.testing.assert_close(torch.cat([first, second], 1), whole)


@pytest.mark.parametrize("similarity", ["gaussian", "learned"])
def test_gradients_reach_theta(similarity):
    model = SRNNAE(input_dim=6, n_atoms=10, K=3, lam1=0.02, similarity=similarity, seed=0, sim_hidden=(16,))
    x = torch.from_numpy(np.stack([_smooth_sequence(5, 6, s, scale=0.5) for s in (1, 2)])).float()
    loss = srnn_loss(model, x)
    loss.backward()
    for name in ("A", "Z", "lam1", "lam2", "gamma", "alpha0"):
        grad = getattr(model, name).grad
        assert grad is not None and torch.isfinite(grad).all(), name
        if name != "alpha0":  # α0 only moves layer 1 of frame 1 and may sit below the threshold
            assert grad.abs().sum() > 0, name
    if similarity == "learned":
        g = model.phi.weights[0].grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0


def test_srnn_loss_sums_the_batch_frobenius_norm_as_eq9():
    """With Z = 0 the reconstruction is 0, so eq. 9 is Σ_b Σ_t ||x||² + β||θ||²: the batch's
    errors add up (a Frobenius norm over the stacked vectors), they are not averaged."""
    model = SRNNAE(input_dim=2, n_atoms=3, K=2, lam1=0.5, lam2=1.0, gamma=4.0, seed=0)
    with torch.no_grad():
        model.Z.zero_()
    x = torch.tensor([[[3.0, 4.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]]])  # ||x||² = 25, 1, 1, 4
    theta2 = float(model.A.pow(2).sum()) + 0.5**2 + 1.0**2 + 4.0**2  # Z = 0 and α0 = 0 add nothing
    assert float(srnn_loss(model, x, beta=0.0)) == pytest.approx(31.0)
    assert float(srnn_loss(model, x, beta=0.1)) == pytest.approx(31.0 + 0.1 * theta2, rel=1e-6)


def test_learned_similarity_range_and_shape():
    model = SRNNAE(input_dim=5, n_atoms=4, similarity="learned", seed=3, sim_hidden=(32,))
    x = torch.randn(3, 7, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        s = model.similarity(x)
        s_prev = model.similarity(x, x_prev=x[:, 0])
    assert s.shape == (3, 7)
    assert torch.all(s[:, 0] == 0)
    assert torch.all(s >= -1 - 1e-6) and torch.all(s <= 1 + 1e-6)
    # φ(x)ᵀφ(x) = 1, or 0 where ReLU zeroes φ(x)
    torch.testing.assert_close(s_prev[:, 0], torch.ones(3) * (s_prev[:, 0] > 0))
    x_hat, codes = model(x)
    assert x_hat.shape == (3, 7, 5) and codes.shape == (3, 7, 4)


def test_weights_are_computed_not_free():
    model = SRNNAE(input_dim=4, n_atoms=5, seed=0)
    names = {name for name, _ in model.named_parameters()}
    assert names == {"A", "Z", "lam1", "lam2", "gamma", "alpha0"}
    w = model.layer_weights()
    A, gamma = model.A.detach(), model.gamma.detach()
    torch.testing.assert_close(w["U1"], torch.eye(5) - A.T @ A / gamma)
    torch.testing.assert_close(w["V"], A.T / gamma)
    torch.testing.assert_close(w["b"], model.lam1 / gamma)


def _videos() -> list[np.ndarray]:
    return [_smooth_sequence(25, 8, s, scale=0.3) for s in range(3)]


def _train_losses(tmp_path, seed: int) -> list[float]:
    """sRNN-AE (learned similarity) trained through the engine; the logged losses."""
    from conftest import feature_videos, method_run, train_log_losses
    from vadflow.methods.run import train

    torch.manual_seed(seed + 123)  # differs between calls of one test: nothing may depend on it
    frames, feats = feature_videos(tmp_path / f"d{seed}", {f"v{i}": v for i, v in enumerate(_videos())})
    params = {"n_atoms": 12, "K": 3, "lam1": 0.01, "similarity": "learned", "iterations": 10, "lr": 1e-3,
              "log_every": 1, "l2_normalise": False}
    run = method_run("srnn_ae", params, seed=seed)
    out = tmp_path / f"m{seed}-{len(list(tmp_path.iterdir()))}"
    train(run, frames, out.with_suffix(".pt"), out.with_suffix(".csv"), features=feats, device="cpu", threads=1)
    return train_log_losses(out.with_suffix(".csv"))


def test_training_is_deterministic(tmp_path):
    first = _train_losses(tmp_path, 0)
    torch.manual_seed(999)
    second = _train_losses(tmp_path, 0)
    assert first == second and len(first) == 10
    assert all(math.isfinite(v) for v in first)
    assert _train_losses(tmp_path, 1) != first


def test_training_lowers_the_loss_on_a_fixed_batch():
    model = SRNNAE(input_dim=8, n_atoms=12, K=3, lam1=0.01, seed=0)
    batch = torch.from_numpy(np.stack([v[:10] for v in _videos()] + [_videos()[0][5:15]]))
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = srnn_loss(model, batch)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]


def test_fit_tsc_decreases_objective_and_respects_column_norms():
    rng = np.random.default_rng(12)
    d, n_true = 10, 6
    atoms = np.abs(rng.normal(size=(d, n_true)))
    atoms /= np.linalg.norm(atoms, axis=0)
    videos = []
    for _ in range(4):
        codes = np.abs(rng.normal(size=(12, n_true))) * (rng.random((12, n_true)) < 0.3)
        videos.append(codes @ atoms.T * 3 + 0.02 * rng.normal(size=(12, d)))
    videos.append(videos[0][:7])  # a shorter video forms its own batch
    A, history = fit_tsc(videos, n_atoms=8, lam1=0.1, lam2=2.0, K=30, n_iter=15, seed=0, return_history=True)
    assert A.shape == (d, 8)
    assert len(history) == 16
    assert history[-1] < history[0] * 0.9
    assert torch.all(A.norm(dim=0) <= 1 + 1e-9)
    # same seed, same dictionary; a fixed learning rate also works
    torch.testing.assert_close(fit_tsc(videos, 8, 0.1, 2.0, 30, 15, seed=0), A)
    A_lr = fit_tsc(np.stack(videos[:4]), 8, 0.1, 2.0, 30, 5, lr=0.05, seed=1)
    assert torch.all(A_lr.norm(dim=0) <= 1 + 1e-9)


def test_frame_errors():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    torch.testing.assert_close(frame_errors(x, x_hat), torch.tensor([4.0, 25.0]))


def test_code_sparsity_statistics():
    """Code sparsity (Fig. 8) is the fraction of zero coefficients; videos weigh by their length."""
    import numpy as np

    from vadflow.methods.srnn.cells import code_stats
    from vadflow.scores import VideoScores, frame_weighted_stats

    codes = torch.tensor([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 3.0]])
    stats = code_stats(codes)
    assert stats["code_sparsity"] == 5 / 8 and stats["code_l1"] == 3.0
    results = {"a": VideoScores(np.zeros(10), stats={"s": 1.0}), "b": VideoScores(np.zeros(30), stats={"s": 0.0})}
    assert frame_weighted_stats(results) == {"s": 0.25}
    assert frame_weighted_stats({"a": VideoScores(np.zeros(3))}) == {}
