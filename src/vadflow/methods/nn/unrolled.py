"""Unrolled sparse solvers shared by the project: ISTA, LISTA, LFISTA and the sparse LSTM (SLSTM)
of SC2Net / AnomalyNet (Zhou et al., "AnomalyNet: An anomaly detection network for video
surveillance", TIFS 2019, sec. 4; ``../shared/papers/anomalynet_zhou.txt``).

Every solver is an ``nn.Module`` with one interface:

* ``forward(x)``: x (B, d_x) -> code s (B, d_s) after ``K`` unrolled steps (s^(0) = 0);
* ``dictionary()``: the decoder B (d_x, d_s), used for the reconstruction x̂ = B s
  (``reconstruct``) and for the mutual coherence of eq. 20 (``mutual_coherence``).

Scaling. The solvers minimise ½||x − Bs||² + λ||s||₁ (step 1/L, threshold λ/L, L = λ_max(BᵀB)):
the paper's eq. 8 writes the gradient of ||x − Bs||² without its factor 2 ("absorbed into τ"),
which is this ½ convention. The *training* loss ``sc2net_loss`` is eq. 17 exactly as printed,
||x − Bs||² + λ||s||₁, averaged over the mini-batch (footnote 2).

Tied decoder. For the learned solvers (LISTA, LFISTA, SLSTM) the dictionary is the encoder's
input matrix read back, B = (1/τ) W_dᵀ (eq. 16, from W_d = τBᵀ of eq. 9): one set of weights, as
the paper trains SC2Net and, "with the same loss (eq. 17)", LISTA and LFISTA for Tables 1-2. τ is a
fixed buffer: the ISTA step 1/L of the dictionary the solver is initialised from, so that
``dictionary()`` of a freshly initialised solver is exactly that dictionary. The paper does not
enforce the column-norm constraint of eq. 4 in eq. 17, and neither do we (the coherence of eq. 20
does not depend on the column norms).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vadflow.methods.nn.sparse import soft_threshold
from vadflow.methods.srnn.sparse_coding import lipschitz_gamma


def lipschitz(B: torch.Tensor) -> float:
    """L = λ_max(BᵀB) = ||B||₂², the Lipschitz constant of ∇ ½||x − Bs||² (detached, float)."""
    return lipschitz_gamma(B, 0.0)


def mutual_coherence(B: torch.Tensor) -> float:
    """Eq. 20: μ(B) = max_{k≠j} |b_kᵀ b_j| / (||b_k||₂ ||b_j||₂) over the columns of B (d_x, d_s).

    Zero columns are left out (their angle is undefined); fewer than two columns give 0.
    """
    B = torch.as_tensor(B).detach().to(torch.float64)
    norms = B.norm(dim=0)
    B = B[:, norms > 0] / norms[norms > 0]
    if B.shape[1] < 2:
        return 0.0
    gram = (B.T @ B).abs()
    gram.fill_diagonal_(0.0)
    return float(gram.max())


def sc2net_loss(x: torch.Tensor, s: torch.Tensor, B: torch.Tensor, lam: float) -> torch.Tensor:
    """Eq. 17 as printed, ||x − B s||²₂ + λ||s||₁, averaged over the mini-batch (footnote 2).

    x (N, d_x), s (N, d_s), B (d_x, d_s) (for SC2Net B = (1/τ) W_dᵀ, eq. 16).
    """
    recon = ((x - s @ B.T) ** 2).sum(-1)
    return (recon + lam * s.abs().sum(-1)).mean()


def random_dictionary(d_x: int, d_s: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    B = torch.randn(d_x, d_s, generator=generator, dtype=dtype)
    return B / B.norm(dim=0, keepdim=True)


class UnrolledSolver(nn.Module):
    """Common interface: ``forward(x) -> s``, ``dictionary() -> B``, ``reconstruct(x) -> B s``."""

    K: int

    def dictionary(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self(x) @ self.dictionary().T

    def loss(self, x: torch.Tensor, lam: float) -> torch.Tensor:
        """Eq. 17 on a batch (``sc2net_loss`` with this solver's codes and dictionary)."""
        return sc2net_loss(x, self(x), self.dictionary(), lam)

    @property
    def d_x(self) -> int:
        return self.dictionary().shape[0]

    @property
    def d_s(self) -> int:
        return self.dictionary().shape[1]


class ISTA(UnrolledSolver):
    """K iterations of ISTA (eq. 7-9) on ½||x − Bs||² + λ||s||₁ with the dictionary B learnable:

        s^(t) = sh_{λ/L}( s^(t−1) − (1/L) Bᵀ(B s^(t−1) − x) ),   s^(0) = 0,  L = λ_max(BᵀB).

    Only B is a parameter; λ and K are fixed. L is recomputed whenever B has changed (once per
    training step; once for all of scoring, not per batch: it is a float64 SVD, slow on a GPU) and
    treated as a constant (no gradient through the spectral norm).
    """

    def __init__(self, B: torch.Tensor, lam: float, K: int):
        super().__init__()
        self.B = nn.Parameter(torch.as_tensor(B).clone())
        self.lam = float(lam)
        self.K = int(K)
        self._lipschitz: tuple[tuple[int, int, str], float] | None = None

    def dictionary(self) -> torch.Tensor:
        return self.B

    def lipschitz(self) -> float:
        """L of the current B, cached until B changes (its storage or version)."""
        key = (self.B.data_ptr(), self.B._version, str(self.B.device))
        if self._lipschitz is None or self._lipschitz[0] != key:
            self._lipschitz = (key, lipschitz(self.B))
        return self._lipschitz[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = self.B
        L = self.lipschitz()
        s = x.new_zeros(x.shape[0], B.shape[1])
        drive = (x @ B) / L  # (1/L) Bᵀx
        gram = B.T @ B
        for _ in range(self.K):
            s = soft_threshold(s - (s @ gram) / L + drive, self.lam / L)
        return s


def ista_weights(B: torch.Tensor, lam: float) -> dict[str, torch.Tensor | float]:
    """ISTA's values of the learned weights for a dictionary B (eq. 9): W_e = I − BᵀB/L,
    W_d = Bᵀ/L, θ = λ/L, and τ = 1/L (so B = W_dᵀ/τ)."""
    B = torch.as_tensor(B)
    L = lipschitz(B)
    eye = torch.eye(B.shape[1], dtype=B.dtype)
    return {"W_e": eye - B.T @ B / L, "W_d": B.T / L, "theta": lam / L, "tau": 1.0 / L}


class _TiedSolver(UnrolledSolver):
    """W_e (d_s, d_s), W_d (d_s, d_x) learned, shared over the K steps; B = W_dᵀ/τ (eq. 16)."""

    def __init__(self, B: torch.Tensor, lam: float, K: int):
        super().__init__()
        w = ista_weights(B, lam)
        self.K = int(K)
        self.W_e = nn.Parameter(w["W_e"].clone())
        self.W_d = nn.Parameter(w["W_d"].clone())
        self.register_buffer("tau", torch.tensor(w["tau"], dtype=self.W_d.dtype))

    def dictionary(self) -> torch.Tensor:
        return self.W_d.T / self.tau


class LISTA(_TiedSolver):
    """LISTA (Gregor & LeCun 2010): s^(t) = h_θ(W_e s^(t−1) + W_d x), s^(0) = 0, h_θ the two-sided
    soft threshold with one learned threshold per atom (θ ∈ R^{d_s}); W_e, W_d, θ shared across the
    K steps. Initialised with ISTA's values for B (``ista_weights``), it reproduces ``ISTA(B, λ, K)``
    exactly. Trained here unsupervised with eq. 17 and the tied decoder B = W_dᵀ/τ (the paper's
    "same loss" for Tables 1-2), not on precomputed ISTA codes as in the original LISTA.
    """

    def __init__(self, B: torch.Tensor, lam: float, K: int):
        super().__init__(B, lam, K)
        theta = ista_weights(B, lam)["theta"]
        self.theta = nn.Parameter(torch.full((self.W_e.shape[0],), float(theta), dtype=self.W_d.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        drive = x @ self.W_d.T
        s = x.new_zeros(x.shape[0], self.W_e.shape[0])
        for _ in range(self.K):
            s = soft_threshold(s @ self.W_e.T + drive, self.theta)
        return s


def fista_momentum(K: int) -> list[float]:
    """FISTA's extrapolation weights for steps t = 1..K (Beck & Teboulle 2009, with their a_1 = 1,
    a_{k+1} = (1 + √(1 + 4a_k²))/2): m_1 = 0 (y^(1) = s^(0)) and m_t = (a_{t−1} − 1)/a_t for t ≥ 2,
    so m_2 = 0 too and the first two steps are ISTA steps."""
    out, a_prev = [0.0], 1.0  # a_1
    for _ in range(1, K):
        a = (1.0 + math.sqrt(1.0 + 4.0 * a_prev * a_prev)) / 2.0
        out.append((a_prev - 1.0) / a)
        a_prev = a
    return out[:K]


class LFISTA(_TiedSolver):
    """LFISTA: FISTA (Beck & Teboulle 2009) unfolded with learned weights. The paper cites it ([52])
    but does not define it; we use the common form (reading notes, sec. 4.1):

        y^(t) = s^(t−1) + m_t (s^(t−1) − s^(t−2)),   s^(t) = h_θ(W_e y^(t) + W_d x),
        s^(0) = s^(−1) = 0,

    with W_e, W_d, θ (one threshold per atom) shared across the K steps and one learned momentum
    m_t per step, initialised with FISTA's schedule (``fista_momentum``). Initialised from ISTA's
    values for B, it reproduces K iterations of FISTA on ½||x − Bs||² + λ||s||₁ exactly.
    """

    def __init__(self, B: torch.Tensor, lam: float, K: int):
        super().__init__(B, lam, K)
        theta = ista_weights(B, lam)["theta"]
        self.theta = nn.Parameter(torch.full((self.W_e.shape[0],), float(theta), dtype=self.W_d.dtype))
        self.momentum = nn.Parameter(torch.tensor(fista_momentum(self.K), dtype=self.W_d.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        drive = x @ self.W_d.T
        s = x.new_zeros(x.shape[0], self.W_e.shape[0])
        s_prev = s
        for t in range(self.K):
            y = s + self.momentum[t] * (s - s_prev)
            s_prev, s = s, soft_threshold(y @ self.W_e.T + drive, self.theta)
        return s


def double_tanh(z: torch.Tensor, D: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """h_(D,u)(z) = D (tanh(z + u) + tanh(z − u)), D a diagonal matrix given as its diagonal (d_s,),
    u a vector (d_s,): the smooth stand-in for the shrinkage in eq. 15 (zero at 0, flat on
    [−u, u] for large u, saturating at ±2D)."""
    return D * (torch.tanh(z + u) + torch.tanh(z - u))


class SLSTM(_TiedSolver):
    """The sparse LSTM of SC2Net (paper sec. 4.1-4.3), K steps unrolled with shared weights:

        i^(t) = σ(W_is s^(t−1) + W_ix x)                 eq. 11  (input gate)
        f^(t) = σ(W_fs s^(t−1) + W_fx x)                 eq. 12  (forget gate)
        c̃^(t) = W_e s^(t−1) + W_d x                      eq. 13  (= eq. 9's ISTA pre-activation)
        c^(t) = f^(t) ⊙ c^(t−1) + i^(t) ⊙ c̃^(t)          eq. 14  (the cell state)
        s^(t) = h_(D,u)(c^(t))                           eq. 15  (double tanh, ``double_tanh``)

    No output gate; s^(0) = c^(0) = 0 (the paper does not say; so c^(1) = i^(1) ⊙ W_d x); the code
    returned is s^(K), the output of the last step (eq. 16's "output of the encoding part"). The
    decoder is B = W_dᵀ/τ (eq. 16). Reconstructions from the PDF text: eq. 11-13 come out of the
    extraction as "Wiss(t−1)", "Wfss(t−1)", "Wes(t−1)", read as W_is s^(t−1), W_fs s^(t−1),
    W_e s^(t−1) (the only readings whose shapes fit); eq. 15's threshold function is printed without
    its argument, "h(D,u) = D(tanh(x + u) + tanh(x − u))", and x there is the argument c^(t), not
    the input. The gates have no biases (none printed). eq. 10's text says the shrinkage is applied
    to c̃^(t) but the equation applies it to c^(t); we follow the equations (eq. 14-15).

    Initialisation (not in the paper): W_e, W_d from ISTA's values for B (``ista_weights``); the
    four gate matrices N(0, 0.01²) (gates ≈ ½ at the start); u = λ/L (ISTA's threshold) per atom;
    D = ½ per atom, so h has slope ≈ 1 just outside ±u like the shrinkage when u is small. Because
    σ never reaches 0 or 1 and the double tanh is not the shrinkage, no choice of these weights
    reproduces ISTA exactly.
    """

    def __init__(self, B: torch.Tensor, lam: float, K: int, generator: torch.Generator | None = None):
        super().__init__(B, lam, K)
        d_s, d_x = self.W_d.shape
        dtype = self.W_d.dtype
        g = generator if generator is not None else torch.Generator().manual_seed(0)

        def small(rows: int, cols: int) -> nn.Parameter:
            return nn.Parameter(0.01 * torch.randn(rows, cols, generator=g, dtype=dtype))

        self.W_is, self.W_ix = small(d_s, d_s), small(d_s, d_x)
        self.W_fs, self.W_fx = small(d_s, d_s), small(d_s, d_x)
        theta = ista_weights(B, lam)["theta"]
        self.u = nn.Parameter(torch.full((d_s,), float(theta), dtype=dtype))
        self.D = nn.Parameter(torch.full((d_s,), 0.5, dtype=dtype))

    def step(
        self, x: torch.Tensor, s: torch.Tensor, c: torch.Tensor, drive: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One SLSTM step (eq. 11-15): (s^(t−1), c^(t−1)) -> (s^(t), c^(t))."""
        if drive is None:
            drive = x @ self.W_d.T
        i = torch.sigmoid(s @ self.W_is.T + x @ self.W_ix.T)  # eq. 11
        f = torch.sigmoid(s @ self.W_fs.T + x @ self.W_fx.T)  # eq. 12
        c_tilde = s @ self.W_e.T + drive  # eq. 13
        c = f * c + i * c_tilde  # eq. 14
        return double_tanh(c, self.D, self.u), c  # eq. 15

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        drive = x @ self.W_d.T
        s = x.new_zeros(x.shape[0], self.W_e.shape[0])
        c = s
        for _ in range(self.K):
            s, c = self.step(x, s, c, drive)
        return s


SOLVERS = {"ista": ISTA, "lista": LISTA, "lfista": LFISTA, "slstm": SLSTM}


def make_solver(name: str, B: torch.Tensor, lam: float, K: int, seed: int = 0) -> UnrolledSolver:
    """A solver by name (ista, lista, lfista, slstm) initialised from dictionary B."""
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}: use one of {', '.join(SOLVERS)}")
    if name == "slstm":
        return SLSTM(B, lam, K, generator=torch.Generator().manual_seed(int(seed)))
    return SOLVERS[name](B, lam, K)


__all__ = [
    "ISTA",
    "LISTA",
    "LFISTA",
    "SLSTM",
    "SOLVERS",
    "UnrolledSolver",
    "double_tanh",
    "fista_momentum",
    "ista_weights",
    "lipschitz",
    "make_solver",
    "mutual_coherence",
    "sc2net_loss",
]
