"""The scikit-learn baselines of Luo et al.'s tables on per-frame feature vectors.

Pure numpy / scikit-learn models with no I/O, config or workflow: a registered
method (``baselines.methods``) wraps them (reads the features, flattens spatial-pyramid patches into rows
where needed, checkpoints ``get_state()`` with ``torch.save``).

Shared protocol (:class:`FeatureBaseline`):
  * ``fit(videos)``: ``videos`` is a list of per-video float arrays ``(T_i, D)`` of
    normal training data, one row per frame (or per patch); returns ``self``;
  * ``score(video)``: one ``(T, D)`` array -> ``(T,)`` float64 anomaly scores, higher =
    more anomalous;
  * ``get_state()`` -> a dict of plain values and tensors (no estimator objects, so a
    checkpoint loads with ``torch.load(weights_only=True)``); ``cls.from_state(state)``
    rebuilds a model that gives identical scores.

Models:
  * :class:`NearestSubspace`: K-means dictionary + least-squares (ridge) residual;
  * :class:`OneClassSVMBaseline`: one-class SVM on standardised features;
"""

from __future__ import annotations

import warnings
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = ["FeatureBaseline", "NearestSubspace", "OneClassSVMBaseline"]


@runtime_checkable
class FeatureBaseline(Protocol):
    """What the wrapping method relies on."""

    def fit(self, videos: Sequence[np.ndarray]) -> "FeatureBaseline": ...

    def score(self, video: np.ndarray) -> np.ndarray: ...

    def get_state(self) -> dict[str, Any]: ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "FeatureBaseline": ...


# ----------------------------------------------------------------------------- helpers


def _check_videos(videos: Sequence[np.ndarray], who: str) -> list[np.ndarray]:
    """Every video as a 2-D float32 array with one common feature size (errors name the culprit)."""
    if len(videos) == 0:
        raise ValueError(f"{who}: no training videos given")
    out = []
    for i, v in enumerate(videos):
        a = np.asarray(v, dtype=np.float32)
        if a.ndim != 2:
            raise ValueError(f"{who}: training video {i} has shape {a.shape}, expected (T, D)")
        if out and a.shape[1] != out[0].shape[1]:
            raise ValueError(f"{who}: training video {i} has D={a.shape[1]}, the first has D={out[0].shape[1]}")
        out.append(a)
    if sum(len(a) for a in out) == 0:
        raise ValueError(f"{who}: the training videos hold no rows")
    return out


def _check_video(video: np.ndarray, dim: int, who: str) -> np.ndarray:
    a = np.asarray(video, dtype=np.float32)
    if a.ndim != 2 or a.shape[1] != dim:
        raise ValueError(f"{who}: video has shape {a.shape}, expected (T, {dim})")
    return a


def _subsample_rows(rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """At most ``max_rows`` rows drawn uniformly without replacement (seeded, kept in
    their original order), so that fitting cost is bounded and reproducible."""
    if max_rows is None or len(rows) <= max_rows:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=int(max_rows), replace=False))
    return rows[keep]


# ----------------------------------------------------------------------------- nearest subspace


class NearestSubspace:
    """K-means dictionary + nearest-subspace residual.

    Training: the (at most ``max_train_rows``, seeded subsample of the) training rows are
    clustered into ``n_atoms`` centroids, the dictionary ``A`` (D x K). scikit-learn
    ``KMeans`` (k-means++ init, ``n_init=1``, ``max_iter=kmeans_max_iter``) is used up to
    ``minibatch_above`` rows, ``MiniBatchKMeans`` (``n_init=3``, ``batch_size=max(4096,
    3K)``, ``max_iter=kmeans_max_iter`` passes) above, for speed. ``n_atoms`` is capped at
    the number of rows (with a warning).

    Score: ``min_a ||y - A a||``, the residual of projecting ``y`` on the span of the
    atoms. With K >= D atoms in general position that span is all of R^D and the exact
    residual is ~0 for every input, so the score would carry no information. We
    therefore use ridge-regularised least squares,
    ``a* = argmin ||y - A a||^2 + lam ||a||^2`` and score ``||y - A a*||``, with ``lam =
    ridge * s_max^2`` (s_max: the dictionary's largest singular value, so ``ridge`` is
    scale free). In the SVD ``A = U S V^T`` the residual is
    ``y - U diag(s^2 / (s^2 + lam)) U^T y``: directions the dictionary spans strongly
    (s^2 >> lam) are explained away, directions it barely spans (s^2 << lam, e.g.
    noise) are not, and directions outside the span count fully. When K < D and
    ``ridge`` is small this is nearly the exact least-squares residual; ``ridge=0``
    gives the exact one (rank taken with the usual SVD tolerance).
    """

    def __init__(
        self,
        n_atoms: int = 1000,
        seed: int = 0,
        max_train_rows: int | None = 200_000,
        ridge: float = 1e-3,
        minibatch_above: int = 20_000,
        kmeans_max_iter: int = 100,
    ):
        if n_atoms < 1:
            raise ValueError("NearestSubspace: n_atoms must be >= 1")
        if ridge < 0:
            raise ValueError("NearestSubspace: ridge must be >= 0")
        self.n_atoms = int(n_atoms)
        self.seed = int(seed)
        self.max_train_rows = max_train_rows
        self.ridge = float(ridge)
        self.minibatch_above = int(minibatch_above)
        self.kmeans_max_iter = int(kmeans_max_iter)
        self.atoms: np.ndarray | None = None  # (K, D) float32, the K-means centroids
        self._basis: np.ndarray | None = None  # (D, r) left singular vectors of A
        self._shrink: np.ndarray | None = None  # (r,) s^2 / (s^2 + lam)

    def fit(self, videos: Sequence[np.ndarray]) -> "NearestSubspace":
        from sklearn.cluster import KMeans, MiniBatchKMeans

        rows = np.concatenate(_check_videos(videos, "NearestSubspace"))
        rows = _subsample_rows(rows, self.max_train_rows, self.seed)
        k = self.n_atoms
        if k > len(rows):
            warnings.warn(
                f"NearestSubspace: n_atoms={k} exceeds the {len(rows)} training rows; using {len(rows)} atoms",
                stacklevel=2,
            )
            k = len(rows)
        if len(rows) > self.minibatch_above:
            km = MiniBatchKMeans(
                n_clusters=k, n_init=3, max_iter=self.kmeans_max_iter, batch_size=max(4096, 3 * k),
                random_state=self.seed,
            )
        else:
            km = KMeans(n_clusters=k, n_init=1, max_iter=self.kmeans_max_iter, random_state=self.seed)
        with warnings.catch_warnings():  # duplicate rows -> fewer distinct clusters: harmless here
            warnings.filterwarnings("ignore", message=".*distinct clusters.*")
            km.fit(rows)
        self._set_atoms(km.cluster_centers_.astype(np.float32))
        return self

    def _set_atoms(self, atoms: np.ndarray) -> None:
        """Precompute the SVD of the dictionary: scoring is then two matrix products."""
        self.atoms = np.asarray(atoms, dtype=np.float32)
        u, s, _ = np.linalg.svd(self.atoms.T.astype(np.float64), full_matrices=False)
        if self.ridge > 0:
            lam = self.ridge * s[0] ** 2 if s[0] > 0 else 1.0
            shrink = s**2 / (s**2 + lam)
        else:
            tol = s[0] * max(self.atoms.shape) * np.finfo(np.float64).eps
            shrink = (s > tol).astype(np.float64)
        self._basis, self._shrink = u, shrink

    def score(self, video: np.ndarray) -> np.ndarray:
        if self.atoms is None:
            raise RuntimeError("NearestSubspace: call fit() first")
        y = _check_video(video, self.atoms.shape[1], "NearestSubspace").astype(np.float64)
        coef = (y @ self._basis) * self._shrink
        return np.linalg.norm(y - coef @ self._basis.T, axis=1)

    def get_state(self) -> dict[str, Any]:
        if self.atoms is None:
            raise RuntimeError("NearestSubspace: call fit() first")
        return {
            "n_atoms": self.n_atoms,
            "seed": self.seed,
            "max_train_rows": self.max_train_rows,
            "ridge": self.ridge,
            "minibatch_above": self.minibatch_above,
            "kmeans_max_iter": self.kmeans_max_iter,
            "atoms": _tensor(self.atoms),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "NearestSubspace":
        model = cls(**{k: v for k, v in state.items() if k != "atoms"})
        model._set_atoms(_array(state["atoms"]))
        return model


# ----------------------------------------------------------------------------- one-class SVM


class OneClassSVMBaseline:
    """scikit-learn ``OneClassSVM`` on standardised features.

    The standardisation is fitted on all training rows (cheap); the SVM, whose cost grows
    super-linearly with rows, on at most ``max_train_rows`` of them, drawn uniformly without
    replacement with ``seed`` (``None`` = use all). Score = minus the decision function
    Σ_i α_i K(s_i, x) − ρ (the signed distance to the boundary, negated so that higher = more
    anomalous), evaluated from the fitted support vectors, dual coefficients and intercept:
    the state is arrays only, so a checkpoint loads without unpickling objects.
    """

    KERNELS = ("rbf", "linear", "poly", "sigmoid")

    def __init__(
        self,
        nu: float = 0.1,
        kernel: str = "rbf",
        gamma: str | float = "scale",
        max_train_rows: int | None = 20_000,
        seed: int = 0,
    ):
        if kernel not in self.KERNELS:
            raise ValueError(f"OneClassSVMBaseline: kernel {kernel!r} is not one of {self.KERNELS}")
        self.nu = float(nu)
        self.kernel = kernel
        self.gamma = gamma
        self.max_train_rows = max_train_rows
        self.seed = int(seed)
        self.svm = None  # the fitted scikit-learn estimator (after fit only)
        self.fitted: dict[str, Any] | None = None  # mean, scale, support, dual, intercept, gamma, degree, coef0

    def fit(self, videos: Sequence[np.ndarray]) -> "OneClassSVMBaseline":
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import OneClassSVM

        rows = np.concatenate(_check_videos(videos, "OneClassSVMBaseline"))
        scaler = StandardScaler().fit(rows)
        sub = scaler.transform(_subsample_rows(rows, self.max_train_rows, self.seed))
        self.svm = OneClassSVM(nu=self.nu, kernel=self.kernel, gamma=self.gamma).fit(sub)
        self.fitted = {
            "mean": scaler.mean_.astype(np.float64),
            "scale": scaler.scale_.astype(np.float64),
            "support": self.svm.support_vectors_.astype(np.float64),
            "dual": self.svm.dual_coef_.ravel().astype(np.float64),
            "intercept": float(self.svm.intercept_[0]),
            "gamma": float(self.svm._gamma),
            "degree": int(self.svm.degree),
            "coef0": float(self.svm.coef0),
        }
        return self

    def _kernel(self, x: np.ndarray) -> np.ndarray:
        """K(x_j, s_i) for rows x (n, D) and support vectors s (m, D): (n, m), scikit-learn's kernels."""
        f = self.fitted
        sv, g = f["support"], f["gamma"]
        if self.kernel == "rbf":
            d2 = (x**2).sum(1)[:, None] + (sv**2).sum(1)[None, :] - 2.0 * x @ sv.T
            return np.exp(-g * np.maximum(d2, 0.0))
        dot = x @ sv.T
        if self.kernel == "linear":
            return dot
        if self.kernel == "poly":
            return (g * dot + f["coef0"]) ** f["degree"]
        return np.tanh(g * dot + f["coef0"])

    def score(self, video: np.ndarray) -> np.ndarray:
        if self.fitted is None:
            raise RuntimeError("OneClassSVMBaseline: call fit() first")
        f = self.fitted
        y = _check_video(video, len(f["mean"]), "OneClassSVMBaseline").astype(np.float64)
        if len(y) == 0:
            return np.zeros(0)
        decision = self._kernel((y - f["mean"]) / f["scale"]) @ f["dual"] + f["intercept"]
        return -decision

    def get_state(self) -> dict[str, Any]:
        if self.fitted is None:
            raise RuntimeError("OneClassSVMBaseline: call fit() first")
        return {
            "nu": self.nu,
            "kernel": self.kernel,
            "gamma": self.gamma,
            "max_train_rows": self.max_train_rows,
            "seed": self.seed,
            "fitted": {k: _tensor(v) if isinstance(v, np.ndarray) else v for k, v in self.fitted.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "OneClassSVMBaseline":
        model = cls(**{k: v for k, v in state.items() if k != "fitted"})
        model.fitted = {k: _array(v) if not isinstance(v, (int, float)) else v for k, v in state["fitted"].items()}
        return model


def _tensor(a: np.ndarray):
    """An array as a torch tensor, so that checkpoints load with ``weights_only=True``."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def _array(t) -> np.ndarray:
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)
