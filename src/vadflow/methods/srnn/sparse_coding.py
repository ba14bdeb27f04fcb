"""Temporally-coherent sparse coding (TSC) and the stacked RNN auto-encoder (sRNN-AE)
of Luo et al., "Video Anomaly Detection With Sparse Coding Inspired Deep Neural
Networks" (TPAMI 2021; ICCV 2017 "A revisit of sparse coding based anomaly detection
in stacked RNN framework").

Pure torch modules, no I/O: features in, codes / reconstructions / errors out.

Objective and scaling (read this before choosing ``lam1``)
----------------------------------------------------------
The paper writes TSC as

    min_{A, α}  Σ_t ||x_t − A α_t||² + λ1 ||α_t||₁ + λ2 S_{t−1,t} ||α_t − α_{t−1}||²,
    every column of A with norm ≤ 1,

and solves the code step with SISTA (its Algorithm 1):

    α̂⁰ = α_{t−1};  z = [I − (1/γ)(AᵀA + S λ2 I)] α̂^{k−1} + (1/γ) Aᵀ x_t
    α̂^k = soft_{λ1/γ}(z + (S λ2 / γ) α_{t−1}),   soft_b(v) = max(v − b, 0).

That update is exactly a proximal-gradient step of size 1/γ on

    f_t(α) = ½ ||x_t − A α||² + λ1 ||α||₁ + (λ2/2) S_{t−1,t} ||α − α_{t−1}||²,  α ≥ 0,

i.e. on one half of the printed objective *with λ1 doubled* (the printed objective,
without the ½, would need the threshold λ1/(2γ)). We implement Algorithm 1 literally
and define every objective here (``tsc_objective``, the dictionary step) with the ½
convention above, so the code step, the dictionary step and the objective agree.
λ2 means the same thing in both conventions; λ1 here = ½ × the λ1 of the printed
objective. The authors' released code uses the same convention (threshold λ1/γ,
losses halved). γ, the step constant, must be ≥ the Lipschitz constant of the smooth
part, λ_max(AᵀA) + S λ2; by default we use λ_max(AᵀA) + λ2 max|S|.

The soft threshold is the paper's one-sided ``max(v − b, 0)``, so codes are
non-negative and ||α||₁ = Σ α.

Similarity: S_{t−1,t} = exp(−||x_t − x_{t−1}||² / δ²), δ² = 100, on the inputs. At
t = 1 there is no previous frame: α_0 = 0 (or a given code) and S_{0,1} = 0, unless
the previous frame is passed (``x_prev``) to carry state across chunks.

Defaults: ``DEFAULT_LAM1 = 0.1`` is the value in the authors' released configs (same
λ1/γ convention; their λ1 grid there is 0.1–0.4, the range Luo et al. sweep in their
λ1 study), ``DEFAULT_LAM2 = 2.0`` the paper's λ2, K = 30 for TSC and K = 3 for the
sRNN-AE, β = 0.005, RMSProp with learning rate 1e-5, clips of 10 frames, batch 4,
20,000 iterations.

sRNN-AE
-------
Unfolding K SISTA iterations gives a stacked RNN whose weights are *computed* from
θ = {A, λ1, λ2, γ, α0, Z} (plus the similarity network if learned):

    U(S) = I − (1/γ)(AᵀA + S λ2 I),  V = (1/γ) Aᵀ,  W(S) = (S λ2 / γ) I,  b = λ1/γ
    h_t^1 = soft_b((I − (1/γ) AᵀA) h_{t−1}^K + V x_t)
    h_t^k = soft_b(U(S) h_t^{k−1} + V x_t + W(S) h_{t−1}^K),   k = 2..K
    x̂_t = Z h_t^K.

Layer 1 follows Algorithm 1 (α̂⁰ = α_{t−1} makes the S-terms cancel, leaving
I − (1/γ)AᵀA); the paper's eq. (7) prints λ2/γ in that matrix (and so does the
authors' release), which we take for a typo. The unfolded network with large K
therefore reproduces ``sista_codes`` exactly.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from vadflow.methods.nn.sparse import soft_nonneg
from vadflow.methods.srnn import (
    DEFAULT_BETA,
    DEFAULT_DELTA2,
    DEFAULT_LAM1,
    DEFAULT_LAM2,
    DEFAULT_SIM_HIDDEN,
    GAMMA_MIN,
    SRNN_K,
    TSC_K,
)

ArrayLike = torch.Tensor | np.ndarray | Sequence


# ---------------------------------------------------------------------------- helpers


def _tensor(x: ArrayLike, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Tensor view of ``x``; non-float input becomes float32 so the maths is well defined."""
    t = torch.as_tensor(x)
    if dtype is not None:
        return t.to(dtype)
    return t if t.is_floating_point() else t.to(torch.float32)


def _batched(x: torch.Tensor, name: str = "x") -> tuple[torch.Tensor, bool]:
    """(B, T, D) version of a (T, D) or (B, T, D) input, and whether a batch axis was added."""
    if x.dim() == 2:
        return x.unsqueeze(0), True
    if x.dim() == 3:
        return x, False
    raise ValueError(f"{name} must be (T, D) or (B, T, D), got shape {tuple(x.shape)}")


def lipschitz_gamma(A: ArrayLike, lam2: float, s_max: float = 1.0) -> float:
    """λ_max(AᵀA) + λ2·s_max: a step constant γ for which SISTA converges (|S| ≤ 1 for both kernels)."""
    A = _tensor(A)
    top = torch.linalg.matrix_norm(A.detach().to(torch.float64), ord=2) ** 2
    return float(top) + abs(float(lam2)) * abs(float(s_max))


def gaussian_similarity(
    x: ArrayLike, delta2: float = DEFAULT_DELTA2, x_prev: ArrayLike | None = None
) -> torch.Tensor:
    """S_{t−1,t} = exp(−||x_t − x_{t−1}||²/δ²) for every t, shape (T,) or (B, T).

    Entry 0 is S_{0,1}: 0 (no previous frame) unless ``x_prev`` ((D,) or (B, D)), the
    frame before the sequence, is given, so chunks of one video can be coded in turn.
    """
    x = _tensor(x)
    xb, added = _batched(x)
    sim = torch.zeros(xb.shape[:2], dtype=xb.dtype, device=xb.device)
    if xb.shape[1] > 1:
        d2 = ((xb[:, 1:] - xb[:, :-1]) ** 2).sum(-1)
        sim[:, 1:] = torch.exp(-d2 / delta2)
    if x_prev is not None:
        prev = _tensor(x_prev, xb.dtype).reshape(-1, xb.shape[-1])
        sim[:, 0] = torch.exp(-((xb[:, 0] - prev) ** 2).sum(-1) / delta2)
    return sim[0] if added else sim


def _similarity_batched(similarity: ArrayLike | None, xb: torch.Tensor, delta2: float) -> torch.Tensor:
    if similarity is None:
        return gaussian_similarity(xb, delta2)
    s = _tensor(similarity, xb.dtype)
    if s.dim() == 1:
        s = s.unsqueeze(0)
    if s.shape[-1] != xb.shape[1]:
        raise ValueError(f"similarity has {s.shape[-1]} steps, x has {xb.shape[1]}")
    return s.expand(xb.shape[0], -1)


def _initial_code(alpha0: ArrayLike | None, batch: int, n_atoms: int, like: torch.Tensor) -> torch.Tensor:
    if alpha0 is None:
        return torch.zeros(batch, n_atoms, dtype=like.dtype, device=like.device)
    a = _tensor(alpha0, like.dtype)
    return a.reshape(-1, n_atoms).expand(batch, -1)


# ------------------------------------------------------------------------------- TSC


def sista_codes(
    x: ArrayLike,
    A: ArrayLike,
    lam1: float = DEFAULT_LAM1,
    lam2: float = DEFAULT_LAM2,
    similarity: ArrayLike | None = None,
    K: int = TSC_K,
    gamma: float | None = None,
    alpha0: ArrayLike | None = None,
    delta2: float = DEFAULT_DELTA2,
) -> torch.Tensor:
    """TSC codes by SISTA (Algorithm 1): (T, n_atoms) for x (T, D), (B, T, n_atoms) for (B, T, D).

    ``A`` is (D, n_atoms). ``similarity`` is S_{t−1,t} as (T,) or (B, T) with entry 0 =
    S_{0,1}; None computes the Gaussian kernel (S_{0,1} = 0). ``alpha0`` is α_0,
    (n_atoms,) or (B, n_atoms), zeros by default. ``gamma`` None uses the Lipschitz
    bound λ_max(AᵀA) + λ2 (|S| ≤ 1 for both kernels): a constant of the dictionary, as in
    Algorithm 1, not of the video being coded. It costs a matrix 2-norm, so callers that
    code many sequences with one A compute it once (``lipschitz_gamma``) and pass it.
    Each α_t gets K iterations started from α_{t−1}.
    """
    x = _tensor(x)
    xb, added = _batched(x)
    A = _tensor(A, xb.dtype)
    if A.shape[0] != xb.shape[-1]:
        raise ValueError(f"A is {tuple(A.shape)} but x has {xb.shape[-1]} features")
    sim = _similarity_batched(similarity, xb, delta2)
    if gamma is None:
        gamma = lipschitz_gamma(A, lam2)
    batch, steps, _ = xb.shape
    n_atoms = A.shape[1]
    gram = A.T @ A
    drive = (xb @ A) / gamma  # (1/γ) Aᵀ x_t for every t
    threshold = lam1 / gamma
    prev = _initial_code(alpha0, batch, n_atoms, xb)
    codes = []
    for t in range(steps):
        coherence = (sim[:, t : t + 1] * lam2 / gamma)  # S λ2 / γ, (B, 1)
        const = drive[:, t] + coherence * prev  # the terms that do not change with k
        a = prev
        for _ in range(K):
            a = soft_nonneg(a - (a @ gram) / gamma - coherence * a + const, threshold)
        codes.append(a)
        prev = a
    out = torch.stack(codes, 1) if codes else xb.new_zeros(batch, 0, n_atoms)
    return out[0] if added else out


def frame_errors(x: ArrayLike, x_hat: ArrayLike) -> torch.Tensor:
    """Per-frame anomaly score ||x_t − x̂_t||², shape (T,) or (B, T)."""
    x = _tensor(x)
    return ((x - _tensor(x_hat, x.dtype)) ** 2).sum(-1)


def tsc_reconstruction_error(x: ArrayLike, A: ArrayLike, codes: ArrayLike) -> torch.Tensor:
    """||x_t − A α_t||² per frame, (T,) or (B, T): the TSC anomaly score."""
    x = _tensor(x)
    A = _tensor(A, x.dtype)
    return frame_errors(x, _tensor(codes, x.dtype) @ A.T)


def tsc_objective(
    x: ArrayLike,
    A: ArrayLike,
    codes: ArrayLike,
    lam1: float = DEFAULT_LAM1,
    lam2: float = DEFAULT_LAM2,
    similarity: ArrayLike | None = None,
    alpha0: ArrayLike | None = None,
    delta2: float = DEFAULT_DELTA2,
) -> torch.Tensor:
    """Σ_t ½||x_t − Aα_t||² + λ1||α_t||₁ + (λ2/2) S_{t−1,t} ||α_t − α_{t−1}||², summed over B too.

    The ½ convention of Algorithm 1 (see the module docstring), so SISTA minimises
    exactly this per frame. α_0 and S_{0,1} as in ``sista_codes``.
    """
    x = _tensor(x)
    xb, _ = _batched(x)
    A = _tensor(A, xb.dtype)
    cb = _tensor(codes, xb.dtype).reshape(xb.shape[0], xb.shape[1], A.shape[1])
    sim = _similarity_batched(similarity, xb, delta2)
    prev = torch.cat([_initial_code(alpha0, xb.shape[0], A.shape[1], xb).unsqueeze(1), cb[:, :-1]], 1)
    recon = 0.5 * ((xb - cb @ A.T) ** 2).sum()
    sparsity = lam1 * cb.abs().sum()
    coherence = 0.5 * lam2 * (sim * ((cb - prev) ** 2).sum(-1)).sum()
    return recon + sparsity + coherence


def _project_columns(A: torch.Tensor) -> torch.Tensor:
    """Scale the columns with norm > 1 back to norm 1 (projection onto the constraint set)."""
    return A / A.norm(dim=0, keepdim=True).clamp_min(1.0)


def _group_by_length(x_sequences: ArrayLike | Iterable[ArrayLike], dtype: torch.dtype | None) -> list[torch.Tensor]:
    """Sequences stacked into (b, T, D) batches of equal length, so SISTA runs batched."""
    if isinstance(x_sequences, (torch.Tensor, np.ndarray)):
        xb, _ = _batched(_tensor(x_sequences, dtype))
        return [xb]
    groups: dict[int, list[torch.Tensor]] = defaultdict(list)
    for seq in x_sequences:
        s = _tensor(seq, dtype)
        if s.dim() != 2:
            raise ValueError(f"each sequence must be (T, D), got shape {tuple(s.shape)}")
        groups[s.shape[0]].append(s)
    if not groups:
        raise ValueError("fit_tsc needs at least one sequence")
    return [torch.stack(v) for _, v in sorted(groups.items())]


class TSCFit:
    """The dictionary learning of TSC one iteration at a time (``iterate``), so the training engine
    can run it on the GPU with its checkpoints and resume. The training sequences stay on the CPU
    in (b, T, D) groups of equal length; each iteration codes at most ``chunk`` sequences at once on
    the dictionary's device and keeps only the sums the dictionary step needs (the codes' Gram
    matrix, the residuals' correlation with the codes, the objective), so memory does not grow
    with the training set."""

    def __init__(self, groups: Sequence[torch.Tensor], lam1: float = DEFAULT_LAM1, lam2: float = DEFAULT_LAM2,
                 K: int = TSC_K, delta2: float = DEFAULT_DELTA2, chunk: int = 4096):
        self.groups = list(groups)
        self.sims = [gaussian_similarity(g, delta2) for g in self.groups]
        self.lam1, self.lam2, self.K, self.chunk = lam1, lam2, int(K), int(chunk)
        self.n_frames = sum(g.shape[0] * g.shape[1] for g in self.groups)

    def initial_dictionary(self, n_atoms: int, seed: int) -> torch.Tensor:
        """``n_atoms`` training frames drawn at random (``seed``; with replacement when there are
        fewer frames than atoms), each normalised: A (D, n_atoms)."""
        gen = torch.Generator().manual_seed(int(seed))
        frames = torch.cat([g.reshape(-1, g.shape[-1]) for g in self.groups])
        if self.n_frames >= n_atoms:
            pick = torch.randperm(self.n_frames, generator=gen)[:n_atoms]
        else:
            pick = torch.randint(self.n_frames, (n_atoms,), generator=gen)
        A = frames[pick].T.clone()
        return A / A.norm(dim=0, keepdim=True).clamp_min(torch.finfo(A.dtype).tiny)

    def _chunks(self, device: torch.device):
        for g, s in zip(self.groups, self.sims):
            for b in range(0, g.shape[0], self.chunk):
                yield g[b : b + self.chunk].to(device), s[b : b + self.chunk].to(device)

    def statistics(self, A: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        """Mean per-frame ``tsc_objective`` of (A, codes(A)), the codes' Gram matrix Σ αᵀα / n and
        the residuals' correlation Σ (x − Aα)ᵀα / n, over every training sequence."""
        gamma = lipschitz_gamma(A, self.lam2)  # once per dictionary, not per chunk
        objective, cov, corr = 0.0, None, None
        for x, s in self._chunks(A.device):
            c = sista_codes(x, A, self.lam1, self.lam2, s, self.K, gamma=gamma)
            objective += float(tsc_objective(x, A, c, self.lam1, self.lam2, s))
            cc = torch.einsum("btn,btm->nm", c, c)
            rc = torch.einsum("btd,btn->dn", x - c @ A.T, c)
            cov, corr = (cc, rc) if cov is None else (cov + cc, corr + rc)
        return objective / self.n_frames, cov / self.n_frames, corr / self.n_frames

    def iterate(self, A: torch.Tensor, lr: float | None = None, dict_steps: int = 1) -> tuple[torch.Tensor, float]:
        """One iteration: codes with A fixed (K SISTA iterations per frame), then ``dict_steps``
        projected gradient steps on the mean per-frame ½||x − Aα||² with the codes fixed (``lr`` None:
        1/L, L the exact Lipschitz constant of that step, so the step cannot increase the
        objective). Returns the new A and the objective of the A it started from; A is returned
        unchanged when every code is zero (nothing to fit)."""
        objective, cov, corr = self.statistics(A)
        lipschitz = float(torch.linalg.eigvalsh(cov.to(torch.float64))[-1])
        if lipschitz <= 0.0:
            return A, objective
        step = lr if lr is not None else 1.0 / lipschitz
        start = A
        for i in range(dict_steps):
            grad = -corr if i == 0 else -(corr - (A - start) @ cov)  # the gradient is linear in A
            A = _project_columns(A - step * grad)
        return A, objective

    def objective(self, A: torch.Tensor) -> float:
        return self.statistics(A)[0]


def fit_tsc(
    x_sequences: ArrayLike | Iterable[ArrayLike],
    n_atoms: int,
    lam1: float = DEFAULT_LAM1,
    lam2: float = DEFAULT_LAM2,
    K: int = TSC_K,
    n_iter: int = 20,
    lr: float | None = None,
    seed: int = 0,
    delta2: float = DEFAULT_DELTA2,
    dict_steps: int = 1,
    return_history: bool = False,
    dtype: torch.dtype | None = None,
) -> torch.Tensor | tuple[torch.Tensor, list[float]]:
    """Learn the TSC dictionary A (D, n_atoms) by alternating SISTA codes and projected gradient on A
    (``TSCFit``, ``n_iter`` iterations).

    ``x_sequences``: a list of (T_i, D) videos or one (B, T, D)/(T, D) array; videos of
    equal length are coded as one batch (cut features into equal clips for speed).
    A starts as ``n_atoms`` training frames drawn at random (``seed``) and normalised.
    With ``return_history`` also returns the mean per-frame ``tsc_objective`` of
    (A_i, codes(A_i)) for i = 0 (the initial A) .. n_iter.
    """
    groups = _group_by_length(x_sequences, dtype)
    fit = TSCFit(groups, lam1, lam2, K, delta2)
    A = fit.initial_dictionary(n_atoms, seed)
    history: list[float] = []
    for _ in range(n_iter):
        A, objective = fit.iterate(A, lr, dict_steps)
        history.append(objective)
    if return_history:
        history.append(fit.objective(A))
        return A.to(groups[0].dtype), history
    return A.to(groups[0].dtype)


# --------------------------------------------------------------------------- sRNN-AE


def _xavier(rows: int, cols: int, gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    bound = (6.0 / (rows + cols)) ** 0.5
    return (torch.rand(rows, cols, generator=gen, dtype=dtype) * 2 - 1) * bound


class LearnedSimilarity(nn.Module):
    """φ: ReLU layers D → hidden (no bias), l2-normalised; S = φ(x_t)ᵀφ(x_{t−1}) ∈ [−1, 1].

    The default single 512-wide layer is the authors' release (``gw``, ``n_gw = 512``);
    its ReLU output makes S ∈ [0, 1] in practice.
    """

    def __init__(self, input_dim: int, hidden: Sequence[int], gen: torch.Generator, dtype: torch.dtype):
        super().__init__()
        dims = [input_dim, *hidden]
        if len(dims) < 2:
            raise ValueError("the learned similarity needs at least one hidden layer")
        self.weights = nn.ParameterList(
            nn.Parameter(_xavier(dims[i + 1], dims[i], gen, dtype)) for i in range(len(dims) - 1)
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for w in self.weights:
            h = torch.relu(h @ w.T)
        return nn.functional.normalize(h, dim=-1)

    def forward(self, x: torch.Tensor, x_prev: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) similarities for x (B, T, D); entry 0 uses ``x_prev`` (B, D) or is 0."""
        e = self.embed(x)
        if x_prev is None:
            first = e.new_zeros(e.shape[0], 1)
        else:
            first = (e[:, 0] * self.embed(x_prev)).sum(-1, keepdim=True)
        return torch.cat([first, (e[:, 1:] * e[:, :-1]).sum(-1)], 1)


class SRNNAE(nn.Module):
    """The sRNN-AE: K unfolded SISTA layers (weights computed from θ) plus x̂_t = Z h_t^K.

    Trainable θ: ``A`` (D, n_atoms), ``Z`` (D, n_atoms, initialised as A), ``lam1``,
    ``lam2``, ``gamma`` (scalars, kept in the paper's own units), ``alpha0`` (the code
    before the first frame), and with ``similarity="learned"`` the φ network. U, V, W, b
    are recomputed from them on every forward (see the module docstring), so training
    keeps the sparse-coding structure. Positivity: forward uses max(λ1, 0),
    max(λ2, 0) and max(γ, GAMMA_MIN); the clamps only act at degenerate values and
    leave the gradient of the raw parameter intact elsewhere (and keep β||θ||² on the
    paper's parameters, which a softplus re-parametrisation would not).
    A is not renormalised during training (as in the authors' release).
    """

    def __init__(
        self,
        input_dim: int,
        n_atoms: int,
        K: int = SRNN_K,
        lam1: float = DEFAULT_LAM1,
        lam2: float = DEFAULT_LAM2,
        gamma: float | None = None,
        similarity: str = "gaussian",
        delta2: float = DEFAULT_DELTA2,
        sim_hidden: Sequence[int] = DEFAULT_SIM_HIDDEN,
        seed: int = 0,
        A: ArrayLike | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        if K < 1:
            raise ValueError("K must be at least 1")
        if similarity not in ("gaussian", "learned"):
            raise ValueError(f"similarity must be 'gaussian' or 'learned', got {similarity!r}")
        gen = torch.Generator().manual_seed(int(seed))
        if A is None:
            A = torch.randn(input_dim, n_atoms, generator=gen, dtype=dtype)
            A = A / A.norm(dim=0, keepdim=True)
        else:
            A = _tensor(A, dtype).clone()
            if tuple(A.shape) != (input_dim, n_atoms):
                raise ValueError(f"A must be ({input_dim}, {n_atoms}), got {tuple(A.shape)}")
        if gamma is None:
            gamma = lipschitz_gamma(A, lam2)
        self.K = int(K)
        self.similarity_kind = similarity
        self.delta2 = float(delta2)
        self.A = nn.Parameter(A)
        self.Z = nn.Parameter(A.clone())
        self.lam1 = nn.Parameter(torch.tensor(float(lam1), dtype=dtype))
        self.lam2 = nn.Parameter(torch.tensor(float(lam2), dtype=dtype))
        self.gamma = nn.Parameter(torch.tensor(float(gamma), dtype=dtype))
        self.alpha0 = nn.Parameter(torch.zeros(n_atoms, dtype=dtype))
        self.phi = LearnedSimilarity(input_dim, sim_hidden, gen, dtype) if similarity == "learned" else None

    @classmethod
    def from_dictionary(
        cls,
        A: ArrayLike,
        lam1: float = DEFAULT_LAM1,
        lam2: float = DEFAULT_LAM2,
        gamma: float | None = None,
        K: int = SRNN_K,
        **kwargs,
    ) -> "SRNNAE":
        """An sRNN-AE whose layers are Algorithm 1 for a (TSC) dictionary A (D, n_atoms); Z = A.

        ``dtype`` defaults to A's float dtype; ``gamma`` None uses the Lipschitz bound.
        """
        A = _tensor(A)
        kwargs.setdefault("dtype", A.dtype)
        return cls(A.shape[0], A.shape[1], K=K, lam1=lam1, lam2=lam2, gamma=gamma, A=A, **kwargs)

    @property
    def input_dim(self) -> int:
        return self.A.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.A.shape[1]

    def effective_hyper(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(λ1, λ2, γ) as used in forward, after the positivity clamps."""
        return self.lam1.clamp_min(0.0), self.lam2.clamp_min(0.0), self.gamma.clamp_min(GAMMA_MIN)

    def layer_weights(self) -> dict[str, torch.Tensor]:
        """U1 = I − AᵀA/γ (layer 1), U0 = I − AᵀA/γ and w = λ2/γ (so U(S) = U0 − S w I,
        W(S) = S w I for layers ≥ 2), V = Aᵀ/γ, b = λ1/γ: all computed from θ."""
        lam1, lam2, gamma = self.effective_hyper()
        eye = torch.eye(self.n_atoms, dtype=self.A.dtype, device=self.A.device)
        u0 = eye - (self.A.T @ self.A) / gamma
        return {"U1": u0, "U0": u0, "w": lam2 / gamma, "V": self.A.T / gamma, "b": lam1 / gamma}

    def similarity(self, x: torch.Tensor, x_prev: torch.Tensor | None = None) -> torch.Tensor:
        """S_{t−1,t} for x (B, T, D) as (B, T); S_{0,1} from ``x_prev`` (B, D) or 0."""
        if self.phi is not None:
            return self.phi(x, x_prev)
        return gaussian_similarity(x, self.delta2, x_prev)

    def forward(
        self, x: ArrayLike, h0: torch.Tensor | None = None, x_prev: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, D) or (T, D) → (x̂ same shape, codes h^K (…, T, n_atoms)).

        ``h0`` (B, n_atoms) replaces α0 and ``x_prev`` (B, D) gives S_{0,1}, to carry the
        state from the previous chunk of a video.
        """
        x = _tensor(x, self.A.dtype)
        xb, added = _batched(x)
        batch, steps, _ = xb.shape
        w = self.layer_weights()
        sim = self.similarity(xb, None if x_prev is None else _tensor(x_prev, xb.dtype).reshape(-1, xb.shape[-1]))
        drive = xb @ w["V"].T  # V x_t for every t
        start = self.alpha0 if h0 is None else _tensor(h0, xb.dtype)
        prev = start.reshape(-1, self.n_atoms).expand(batch, -1)
        codes = []
        for t in range(steps):
            coherence = sim[:, t : t + 1] * w["w"]  # S λ2 / γ
            h = soft_nonneg(prev @ w["U1"].T + drive[:, t], w["b"])
            recurrent = drive[:, t] + coherence * prev  # V x_t + W(S) h_{t−1}^K
            for _ in range(1, self.K):
                h = soft_nonneg(h @ w["U0"].T - coherence * h + recurrent, w["b"])
            codes.append(h)
            prev = h
        hk = torch.stack(codes, 1) if codes else xb.new_zeros(batch, 0, self.n_atoms)
        x_hat = hk @ self.Z.T
        return (x_hat[0], hk[0]) if added else (x_hat, hk)

    @torch.no_grad()
    def frame_errors(
        self, x: ArrayLike, h0: torch.Tensor | None = None, x_prev: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-frame anomaly score ||x_t − Z h_t^K||², (T,) or (B, T)."""
        x = _tensor(x, self.A.dtype)
        x_hat, _ = self(x, h0, x_prev)
        return frame_errors(x, x_hat)


def srnn_loss(model: SRNNAE, x: ArrayLike, beta: float = DEFAULT_BETA, batch_scale: float = 1.0) -> torch.Tensor:
    """Eq. 9: Σ_t ||X_t − Z H_t^K||²_F + β||θ||², θ = every trainable parameter.

    ``batch_scale`` multiplies the sum over the batch: W processes each holding 1/W of the batch
    pass W, so that the mean of their losses (what DDP's gradient is) is eq. 9 on the whole batch.

    X_t stacks the batch's vectors at step t, so the Frobenius norm sums the errors of every
    sequence of the batch (not their mean): with l2-normalised features a frame's error is at
    most a few units, and a mean over the 84 sequences of a batch would leave the reconstruction
    a few percent of β||θ||² (whose γ² alone is ≈ 0.005 x 140² ≈ 100), so the decay would
    shrink A and Z instead of the model learning to reconstruct."""
    x = _tensor(x, model.A.dtype)
    xb, _ = _batched(x)
    x_hat, _ = model(xb)
    recon = ((xb - x_hat) ** 2).sum()
    decay = sum((p**2).sum() for p in model.parameters() if p.requires_grad)
    return recon * batch_scale + beta * decay


__all__ = [
    "DEFAULT_LAM1",
    "DEFAULT_LAM2",
    "DEFAULT_DELTA2",
    "DEFAULT_BETA",
    "TSC_K",
    "SRNN_K",
    "soft_nonneg",
    "lipschitz_gamma",
    "gaussian_similarity",
    "sista_codes",
    "frame_errors",
    "tsc_reconstruction_error",
    "tsc_objective",
    "fit_tsc",
    "TSCFit",
    "LearnedSimilarity",
    "SRNNAE",
    "srnn_loss",
]
