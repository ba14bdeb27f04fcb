"""Unrolled sparse solvers (vadflow.methods.nn.unrolled) and the AnomalyNet coherence protocol:
tiny problems, CPU, seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vadflow.methods.anomalynet.coherence import (
    CoherenceConfig,
    clustered_dictionary,
    coherence_row,
    low_rank_dictionary,
    sparse_codes,
)
from vadflow.methods.nn.unrolled import (
    ISTA,
    LFISTA,
    LISTA,
    SLSTM,
    double_tanh,
    fista_momentum,
    ista_weights,
    lipschitz,
    make_solver,
    mutual_coherence,
    sc2net_loss,
)


def _dictionary(d_x: int, d_s: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(d_x, d_s, generator=g, dtype=torch.float64)
    return B / B.norm(dim=0, keepdim=True)


def _x(n: int, d_x: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d_x, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ------------------------------------------------------------------------------ ISTA


def test_ista_orthogonal_dictionary_closed_form():
    # B orthogonal: ½||x − Bs||² + λ||s||₁ has the solution soft_λ(Bᵀx); L = 1, so one step gets it
    Q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    x = torch.tensor([[0.5, -0.05, 1.2, 0.0]], dtype=torch.float64)
    lam = 0.1
    expected = Q.T @ x[0]
    expected = torch.sign(expected) * torch.clamp(expected.abs() - lam, min=0)
    for K in (1, 5):
        s = ISTA(Q, lam, K)(x)
        assert torch.allclose(s[0], expected, atol=1e-12)


def test_ista_matches_sklearn_lasso():
    sklearn = pytest.importorskip("sklearn.linear_model")
    B = _dictionary(6, 10, seed=1)
    x = _x(1, 6, seed=2)
    lam = 0.05
    s = ISTA(B, lam, K=5000)(x)[0].detach().numpy()
    # Lasso minimises (1/(2n))||y − Xw||² + α||w||₁ with n = d_x rows: α = λ/d_x is ½||·||² + λ||·||₁
    ref = sklearn.Lasso(alpha=lam / 6, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(B.numpy(), x[0].numpy())
    np.testing.assert_allclose(s, ref.coef_, atol=1e-6)


def test_lipschitz_is_top_eigenvalue():
    B = _dictionary(5, 8, seed=3)
    assert lipschitz(B) == pytest.approx(float(torch.linalg.eigvalsh(B.T @ B)[-1]), rel=1e-10)


# ------------------------------------------------------------- initialised from ISTA


def test_lista_initialised_from_ista_reproduces_ista():
    B, x, lam = _dictionary(6, 12, seed=4), _x(7, 6, seed=5), 0.1
    for K in (1, 3, 10):
        assert torch.allclose(LISTA(B, lam, K)(x), ISTA(B, lam, K)(x), atol=1e-12)
    assert torch.allclose(LISTA(B, lam, 3).dictionary(), B, atol=1e-12)


def _fista(x: torch.Tensor, B: torch.Tensor, lam: float, K: int) -> torch.Tensor:
    """Textbook FISTA (Beck & Teboulle) on ½||x − Bs||² + λ||s||₁, s^0 = 0."""
    L = float(torch.linalg.eigvalsh(B.T @ B)[-1])
    s = torch.zeros(x.shape[0], B.shape[1], dtype=x.dtype)
    y, a = s, 1.0
    for _ in range(K):
        v = y - (y @ B.T - x) @ B / L
        s_new = torch.sign(v) * torch.clamp(v.abs() - lam / L, min=0)
        a_new = (1 + math.sqrt(1 + 4 * a * a)) / 2
        y = s_new + ((a - 1) / a_new) * (s_new - s)
        s, a = s_new, a_new
    return s


def test_lfista_initialised_from_ista_reproduces_fista():
    B, x, lam = _dictionary(6, 12, seed=6), _x(5, 6, seed=7), 0.1
    for K in (1, 2, 8):
        assert torch.allclose(LFISTA(B, lam, K)(x), _fista(x, B, lam, K), atol=1e-12)
    assert fista_momentum(3)[0] == 0.0


def test_slstm_one_step_by_hand():
    # zero gate weights: i = f = σ(0) = ½; s^(0) = c^(0) = 0, so c^(1) = ½ W_d x, s^(1) = h(c^(1))
    B, x, lam = _dictionary(3, 4, seed=8), _x(2, 3, seed=9), 0.1
    m = SLSTM(B, lam, K=1)
    with torch.no_grad():
        for w in (m.W_is, m.W_ix, m.W_fs, m.W_fx):
            w.zero_()
    c1 = 0.5 * x @ ista_weights(B, lam)["W_d"].T
    expected = 0.5 * (torch.tanh(c1 + m.u) + torch.tanh(c1 - m.u))
    assert torch.allclose(m(x), expected, atol=1e-12)
    # two steps: c^(2) = ½ c^(1) + ½ (W_e s^(1) + W_d x)
    m2 = SLSTM(B, lam, K=2)
    m2.load_state_dict(m.state_dict())
    w = ista_weights(B, lam)
    c2 = 0.5 * c1 + 0.5 * (expected @ w["W_e"].T + x @ w["W_d"].T)
    assert torch.allclose(m2(x), double_tanh(c2, m.D, m.u), atol=1e-12)


def test_double_tanh_shape():
    z = torch.tensor([-5.0, -1.0, 0.0, 1.0, 5.0], dtype=torch.float64)
    h = double_tanh(z, torch.tensor(0.5, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    assert h[2] == 0.0 and torch.allclose(h, -h.flip(0))  # odd, zero at 0
    assert h[4] == pytest.approx(1.0, abs=1e-3)  # saturates at ±2D


# ------------------------------------------------------------------- loss and gradients


def test_sc2net_loss_by_hand():
    x = torch.tensor([[1.0, 2.0]])
    B = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    s = torch.tensor([[0.5, -1.0, 0.0]])
    # x − Bs = (0.5, 3): ||·||² = 9.25; λ||s||₁ = 0.1 × 1.5
    assert float(sc2net_loss(x, s, B, 0.1)) == pytest.approx(9.25 + 0.15)


@pytest.mark.parametrize("name", ["ista", "lista", "lfista", "slstm"])
def test_gradients_reach_every_parameter(name):
    B, x = _dictionary(5, 8, seed=10).float(), _x(16, 5, seed=11).float() * 3
    m = make_solver(name, B, 0.05, K=4, seed=1)
    m.loss(x, 0.05).backward()
    for pname, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


def test_interface_shapes():
    B = _dictionary(5, 8, seed=12)
    x = _x(3, 5, seed=13)
    for name in ("ista", "lista", "lfista", "slstm"):
        m = make_solver(name, B, 0.1, K=2)
        assert m(x).shape == (3, 8) and m.dictionary().shape == (5, 8)
        assert m.reconstruct(x).shape == (3, 5)
    with pytest.raises(ValueError):
        make_solver("omp", B, 0.1, 2)


# ------------------------------------------------------------------------- coherence


def test_mutual_coherence_hand_example():
    # columns (1,0), (1,1), (0,2): |cos| = 1/√2, 0, 1/√2 -> μ = 1/√2; with (3,1): cos((1,1),(3,1)) = 4/√20
    B = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    assert mutual_coherence(B) == pytest.approx(1 / math.sqrt(2))
    B2 = torch.tensor([[1.0, 1.0, 3.0], [0.0, 1.0, 1.0]])
    assert mutual_coherence(B2) == pytest.approx(max(3 / math.sqrt(10), 4 / math.sqrt(20), 1 / math.sqrt(2)))
    assert mutual_coherence(torch.eye(3)) == 0.0
    assert mutual_coherence(-5 * torch.tensor([[1.0, 1.0], [0.0, 1.0]])) == pytest.approx(1 / math.sqrt(2))


def test_synthetic_protocol_shapes_and_values():
    cfg = CoherenceConfig()
    g = torch.Generator().manual_seed(0)
    s = sparse_codes(500, cfg.d_s, 6, g)
    assert ((s != 0).sum(1) == 6).all()
    nz = s[s != 0].abs()
    assert nz.min() >= 0.3 and nz.max() <= 0.7
    assert 0.4 < float((s[s != 0] > 0).float().mean()) < 0.6
    B1, B2 = low_rank_dictionary(cfg, g), clustered_dictionary(cfg, g)
    assert B1.shape == B2.shape == (20, 100)
    assert mutual_coherence(B1) > 0.95 and mutual_coherence(B2) > 0.95  # both are coherent by design


def test_coherence_row_is_deterministic():
    cfg = CoherenceConfig(n_vectors=300, epochs=1, K=3, rhos=(2,))
    torch.set_num_threads(1)
    a, b = coherence_row("table1", 2, cfg), coherence_row("table1", 2, cfg)
    assert a == b
    assert set(a) >= {"rho", "original", "lista", "lfista", "slstm"}
    assert all(0.0 <= a[k] <= 1.0 for k in ("original", "lista", "lfista", "slstm"))


def test_write_coherence_tables(tmp_path):
    from vadflow.methods.anomalynet.coherence import write_coherence_tables

    cfg = CoherenceConfig(n_vectors=200, epochs=1, K=2, rhos=(2, 8))
    write_coherence_tables(tmp_path, cfg)
    for table, slstm_rho8 in (("table1", "0.6232"), ("table2", "0.1893")):
        text = (tmp_path / f"{table}.csv").read_text().splitlines()
        assert text[0] == "rho,row,ours,published,heldout_loss"
        assert len(text) == 1 + 2 * 5
        assert any(line.startswith("8,SLSTM,") and line.split(",")[3] == slstm_rho8 for line in text)
        assert "| ρ | Original Dict | LISTA | LFISTA | SLSTM |" in (tmp_path / f"{table}.md").read_text()
