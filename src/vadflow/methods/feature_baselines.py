"""Baselines of Luo et al.'s sRNN-AE tables that work on per-frame feature vectors.

Pure numpy / scikit-learn / torch models with no I/O, config or workflow: a registered
method wraps them (reads the features, flattens spatial-pyramid patches into rows
where needed, checkpoints ``get_state()`` with ``torch.save``).

Shared protocol (:class:`FeatureBaseline`):
  * ``fit(videos)``: ``videos`` is a list of per-video float arrays ``(T_i, D)`` of
    normal training data, one row per frame (or per patch); returns ``self``;
  * ``score(video)``: one ``(T, D)`` array -> ``(T,)`` float64 anomaly scores, higher =
    more anomalous;
  * ``get_state()`` -> a dict of plain values / arrays / tensors (the scikit-learn
    estimators are stored as objects: pickled by ``torch.save``, so load such
    checkpoints with ``weights_only=False``); ``cls.from_state(state)`` rebuilds a
    model that gives identical scores.

Models:
  * :class:`NearestSubspace`: K-means dictionary + least-squares (ridge) residual;
  * :class:`OneClassSVMBaseline`: one-class SVM on standardised features;
  * :class:`LSTMAutoencoder`: LSTM encoder-decoder (Srivastava et al. 2015) over
    windows of consecutive feature vectors.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: the sklearn baselines do not need it
    import torch

__all__ = ["FeatureBaseline", "NearestSubspace", "OneClassSVMBaseline", "LSTMAutoencoder"]


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
            "atoms": self.atoms.copy(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "NearestSubspace":
        model = cls(**{k: v for k, v in state.items() if k != "atoms"})
        model._set_atoms(np.asarray(state["atoms"]))
        return model


# ----------------------------------------------------------------------------- one-class SVM


class OneClassSVMBaseline:
    """scikit-learn ``OneClassSVM`` on standardised features.

    The ``StandardScaler`` is fitted on all training rows (cheap); the SVM, whose cost
    grows super-linearly with rows, on at most ``max_train_rows`` of them, drawn
    uniformly without replacement with ``seed`` (``None`` = use all). Score =
    ``-decision_function`` (the signed distance to the boundary, negated so that higher
    = more anomalous).
    """

    def __init__(
        self,
        nu: float = 0.1,
        kernel: str = "rbf",
        gamma: str | float = "scale",
        max_train_rows: int | None = 20_000,
        seed: int = 0,
    ):
        self.nu = float(nu)
        self.kernel = kernel
        self.gamma = gamma
        self.max_train_rows = max_train_rows
        self.seed = int(seed)
        self.scaler = None
        self.svm = None

    def fit(self, videos: Sequence[np.ndarray]) -> "OneClassSVMBaseline":
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import OneClassSVM

        rows = np.concatenate(_check_videos(videos, "OneClassSVMBaseline"))
        self.scaler = StandardScaler().fit(rows)
        sub = self.scaler.transform(_subsample_rows(rows, self.max_train_rows, self.seed))
        self.svm = OneClassSVM(nu=self.nu, kernel=self.kernel, gamma=self.gamma).fit(sub)
        return self

    def score(self, video: np.ndarray) -> np.ndarray:
        if self.svm is None:
            raise RuntimeError("OneClassSVMBaseline: call fit() first")
        y = _check_video(video, self.scaler.n_features_in_, "OneClassSVMBaseline")
        if len(y) == 0:
            return np.zeros(0)
        return -self.svm.decision_function(self.scaler.transform(y)).astype(np.float64)

    def get_state(self) -> dict[str, Any]:
        if self.svm is None:
            raise RuntimeError("OneClassSVMBaseline: call fit() first")
        return {
            "nu": self.nu,
            "kernel": self.kernel,
            "gamma": self.gamma,
            "max_train_rows": self.max_train_rows,
            "seed": self.seed,
            "scaler": self.scaler,
            "svm": self.svm,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "OneClassSVMBaseline":
        model = cls(**{k: v for k, v in state.items() if k not in ("scaler", "svm")})
        model.scaler, model.svm = state["scaler"], state["svm"]
        return model


# ----------------------------------------------------------------------------- LSTM auto-encoder


def _pad_to(video: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last row until the video has at least ``length`` rows (one window)."""
    if len(video) >= length:
        return video
    return np.concatenate([video, np.repeat(video[-1:], length - len(video), axis=0)])


def _build_net(input_dim: int, hidden: int, layers: int):
    import torch
    from torch import nn

    class LSTMAENet(nn.Module):
        """Encoder LSTM -> (h, c) -> unconditioned decoder LSTM -> linear read-out.

        The decoder gets no inputs (a constant zero stream): everything it emits comes
        from the encoder's final state, Srivastava et al.'s "unconditioned" decoder,
        which cannot shortcut by copying its inputs. It emits the window in reverse
        order (last frame first), as in that paper, so the first targets are the most
        recently encoded frames. Feature mean/std are buffers, so they travel with
        ``state_dict``.
        """

        def __init__(self):
            super().__init__()
            self.encoder = nn.LSTM(input_dim, hidden, num_layers=layers, batch_first=True)
            self.decoder = nn.LSTM(1, hidden, num_layers=layers, batch_first=True)
            self.readout = nn.Linear(hidden, input_dim)
            self.register_buffer("feat_mean", torch.zeros(input_dim))
            self.register_buffer("feat_std", torch.ones(input_dim))

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            """(B, L, D) standardised windows -> (B, L, D) reconstruction, original order."""
            _, state = self.encoder(x)
            zeros = x.new_zeros(x.shape[0], x.shape[1], 1)
            out, _ = self.decoder(zeros, state)
            return self.readout(out).flip(1)

    return LSTMAENet()


class LSTMAutoencoder:
    """LSTM encoder-decoder auto-encoder over windows of ``seq_len`` feature vectors.

    Features are standardised with the training rows' per-dimension mean and std (std
    floored at 1e-6) so that MSE weighs dimensions comparably. Training: every window
    of ``seq_len`` consecutive rows of every training video (stride ``train_stride``),
    shuffled each epoch with a seeded generator; Adam, MSE loss, gradient norm clipped
    at ``clip_grad`` (LSTMs occasionally spike). Videos shorter than ``seq_len`` are
    padded by repeating their last row. Scoring: windows with stride 1; a row's score is
    its squared reconstruction error (mean over D) averaged over the windows that
    contain it. Weights are initialised from ``seed`` without touching torch's global
    RNG, so CPU runs are deterministic.
    """

    def __init__(
        self,
        input_dim: int,
        hidden: int = 512,
        layers: int = 1,
        seq_len: int = 10,
        lr: float = 1e-3,
        epochs: int = 20,
        batch_size: int = 64,
        seed: int = 0,
        train_stride: int = 1,
        clip_grad: float = 5.0,
        score_batch_size: int = 256,
    ):
        import torch

        if seq_len < 1 or train_stride < 1:
            raise ValueError("LSTMAutoencoder: seq_len and train_stride must be >= 1")
        self.input_dim, self.hidden, self.layers = int(input_dim), int(hidden), int(layers)
        self.seq_len, self.lr, self.epochs, self.batch_size = int(seq_len), float(lr), int(epochs), int(batch_size)
        self.seed, self.train_stride, self.clip_grad = int(seed), int(train_stride), float(clip_grad)
        self.score_batch_size = int(score_batch_size)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = _build_net(self.input_dim, self.hidden, self.layers)
        self.device = "cpu"
        self.train_losses: list[float] = []

    def _config(self) -> dict[str, Any]:
        return {
            "input_dim": self.input_dim, "hidden": self.hidden, "layers": self.layers, "seq_len": self.seq_len,
            "lr": self.lr, "epochs": self.epochs, "batch_size": self.batch_size, "seed": self.seed,
            "train_stride": self.train_stride, "clip_grad": self.clip_grad, "score_batch_size": self.score_batch_size,
        }

    def _to(self, device: str | None) -> None:
        if device is not None and device != self.device:
            self.net.to(device)
            self.device = device

    def _standardise(self, x: "torch.Tensor") -> "torch.Tensor":
        return (x - self.net.feat_mean) / self.net.feat_std

    def fit(
        self,
        videos: Sequence[np.ndarray],
        device: str = "cpu",
        log: Callable[[int, float], None] | None = None,
    ) -> "LSTMAutoencoder":
        import torch

        vids = [v for v in _check_videos(videos, "LSTMAutoencoder") if len(v)]
        if vids[0].shape[1] != self.input_dim:
            raise ValueError(f"LSTMAutoencoder: videos have D={vids[0].shape[1]}, model has input_dim={self.input_dim}")
        self._to(device)
        rows = np.concatenate(vids).astype(np.float64)
        self.net.feat_mean.copy_(torch.from_numpy(rows.mean(0)).float())
        self.net.feat_std.copy_(torch.from_numpy(np.maximum(rows.std(0), 1e-6)).float())

        L = self.seq_len
        padded = [_pad_to(v, L) for v in vids]
        offsets = np.cumsum([0] + [len(v) for v in padded[:-1]])
        starts = np.concatenate([o + np.arange(0, len(v) - L + 1, self.train_stride) for o, v in zip(offsets, padded)])
        data = self._standardise(torch.from_numpy(np.concatenate(padded)).to(device))
        window = torch.arange(L, device=device)
        starts_t = torch.from_numpy(starts).to(device)

        gen = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self.net.train()
        for epoch in range(1, self.epochs + 1):
            order = torch.randperm(len(starts), generator=gen).to(device)
            total = 0.0
            for b in range(0, len(order), self.batch_size):
                idx = starts_t[order[b : b + self.batch_size]]
                x = data[idx[:, None] + window]  # (B, L, D)
                loss = (self.net(x) - x).pow(2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.clip_grad > 0:
                    torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.clip_grad)
                opt.step()
                total += loss.item() * len(idx)
            epoch_loss = total / len(starts)
            self.train_losses.append(epoch_loss)
            if log is not None:
                log(epoch, epoch_loss)
        self.net.eval()
        return self

    def score(self, video: np.ndarray, device: str | None = None) -> np.ndarray:
        import torch

        y = _check_video(video, self.input_dim, "LSTMAutoencoder")
        T, L = len(y), self.seq_len
        if T == 0:
            return np.zeros(0)
        self._to(device)
        data = self._standardise(torch.from_numpy(_pad_to(y, L)).to(self.device))
        n = len(data)
        err_sum = torch.zeros(n, dtype=torch.float64)
        counts = torch.zeros(n, dtype=torch.float64)
        window = torch.arange(L)
        self.net.eval()
        with torch.inference_mode():
            for b in range(0, n - L + 1, self.score_batch_size):
                starts = torch.arange(b, min(b + self.score_batch_size, n - L + 1))
                idx = starts[:, None] + window  # (B, L) row indices
                x = data[idx.to(self.device)]
                err = (self.net(x) - x).pow(2).mean(-1).double().cpu()  # (B, L)
                err_sum.index_add_(0, idx.reshape(-1), err.reshape(-1))
                counts.index_add_(0, idx.reshape(-1), torch.ones(idx.numel(), dtype=torch.float64))
        return (err_sum / counts)[:T].numpy()

    def state_dict(self) -> dict[str, Any]:
        """The network's weights and feature normalisation (CPU tensors)."""
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state)
        self.net.eval()

    def get_state(self) -> dict[str, Any]:
        return {"config": self._config(), "net": self.state_dict(), "train_losses": list(self.train_losses)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "LSTMAutoencoder":
        model = cls(**state["config"])
        model.load_state_dict(state["net"])
        model.train_losses = list(state.get("train_losses", []))
        return model
