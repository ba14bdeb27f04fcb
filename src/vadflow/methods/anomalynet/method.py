"""AnomalyNet (Zhou et al., TIFS 2019): pyramid patch features of dynamic images (MFB + FTB, computed
by the feature stage) coded by an unrolled sparse solver (SC2Net's SLSTM, or ISTA / LISTA / LFISTA for
the Table 7 ablations), trained end to end on eq. 17 with the normal training videos.

A *unit* is one row of the first feature spec in ``input.features``: a dynamic image of T frames
(``kind: dynamic_image``) or a frame (``kind: frame``, the SC2Net+FTB ablation without the MFB). Every
pyramid cell of a unit is one sample x (sec. 5.4: "1×1 + 2×2 + 4×4 = 21 samples"). Further specs add
their cells as more samples of the same unit, read at the unit's centre frame: the paper's "we could
also extract features directly from RGB images to boost up performance" (sec. 3.2, 5.4) as the same
coding block's samples, so the coding block's input dimension stays the backbone's (sec. 5.4: "fixed
as 2048"), rather than concatenated into a 4096-d input the paper never describes.

Score (sec. 5.2): l(unit) = the mean over its samples of ||x − B s||²₂ (B the learned dictionary, s the
solver's code); a frame takes the score of the unit whose centre is nearest (the feature store's
``frame_index``); eq. 21's per-video min-max normalisation is the evaluation's ``minmax_micro``
convention, so the stored scores are the raw l(t). Per-pixel maps (Tables 3-5's pixel AUC; the paper
does not say how it localises): each pixel of the finest pyramid grid gets the mean error of the cells
that contain it, over all levels and specs.

Choices the paper leaves open (each listed in docs/papers/anomalynet.md):
- samples are l2-normalised per vector (as Luo et al. do on the same kind of features), so λ = 0.1
  has the same meaning on every backbone;
- the solver starts from ISTA's weights for a random unit-norm dictionary (as in Tables 1-2);
- ``n_atoms`` 0 = d_s = d_x, the paper's square dictionary (2048 × 2048 on ResNet-50);
- ``K`` (unrolled steps, not given): 5;
- AdaDelta "default": Zeiler's ρ = 0.95, ε = 1e-6, learning rate 0.1, chosen on the training loss:
  Zeiler's / Keras' rate 1.0 diverges on the square dictionary, TF1's 0.001 barely moves it;
- ISTA (Table 7's "traditional sparse coding"): codes by K ISTA iterations, then a gradient step
  on eq. 17 for the dictionary with the codes fixed (the alternation of eq. 5-6, stochastic).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from vadflow.errors import ConfigError, DataError
from vadflow.methods.anomalynet import ADADELTA_EPS, ADADELTA_RHO
from vadflow.methods.api import MethodRun, VideoInput
from vadflow.methods.common.feature_rows import FeatureInput
from vadflow.methods.engine import Stage, StepContext, TorchMethod
from vadflow.methods.engine.data import WindowDataset
from vadflow.methods.nn.unrolled import UnrolledSolver, make_solver, random_dictionary, sc2net_loss
from vadflow.scores import VideoScores


def pyramid_levels(n_cells: int) -> tuple[int, ...] | None:
    """The levels (1, 2, 4, ...) whose cells (1 + 4 + 16 + ...) number ``n_cells``; None if none do."""
    levels, total, level = [], 0, 1
    while total < n_cells:
        levels.append(level)
        total += level * level
        level *= 2
    return tuple(levels) if total == n_cells else None


def cell_map_weights(levels: Sequence[int]) -> np.ndarray:
    """(L*L, n_cells) float32: pixel block b of the finest L x L grid averages the cells containing it,
    one per level (cells ordered level by level, row-major, as ``spatial_pyramid_max_pool``)."""
    L = levels[-1]
    n_cells = sum(level * level for level in levels)
    weights = np.zeros((L * L, n_cells), np.float32)
    for a in range(L):
        for b in range(L):
            offset = 0
            for level in levels:
                weights[a * L + b, offset + (a * level // L) * level + (b * level // L)] = 1.0 / len(levels)
                offset += level * level
    return weights


class AnomalyNetMethod(FeatureInput, TorchMethod):
    def __init__(self, run: MethodRun, device: str = "cpu"):
        super().__init__(run, device)
        self._check_features()

    # units and their samples ------------------------------------------------------------

    def units(self, video: VideoInput) -> tuple[np.ndarray, np.ndarray]:
        """(N, S, C) float32 samples of each unit (cells of every spec), and (T,) frame -> unit.
        The first spec's rows are the units; the other specs are read at each unit's centre frame."""
        keys = list(self.input.features)
        first = video.feature(keys[0])
        rows = first.read().astype(np.float32)
        if rows.ndim == 2:
            rows = rows[:, None, :]
        frame_index = first.frame_index
        windows = first.windows
        centres = (windows[:, 0] + windows[:, 1] - 1) // 2 if windows is not None else np.arange(len(rows))
        spec = first.attrs.get("spec") or {}
        window = int(spec.get("window") or 0)
        if spec.get("kind") == "dynamic_image" and window and video.n_frames < window:
            raise DataError(
                f"video {video.name} ({video.frames.path}) has {video.n_frames} frames, fewer than the dynamic-image window T = {window}"
                f" of feature {keys[0]!r}: AnomalyNet builds each dynamic image from T frames (sec. 5.2)",
                f"use a shorter window (features.{keys[0]}.window) or leave the video out",
            )
        parts = [rows]
        for key in keys[1:]:
            extra = video.feature(key).per_frame()
            if extra.ndim == 2:
                extra = extra[:, None, :]
            parts.append(extra[np.clip(centres, 0, len(extra) - 1)])
        if len({p.shape[-1] for p in parts}) > 1:
            raise ConfigError(
                f"anomalynet: features {keys} have different widths {[p.shape[-1] for p in parts]}: their cells are"
                " samples of one coding block, so they need the same backbone",
                "give every spec in input.features the same backbone",
            )
        samples = np.concatenate(parts, axis=1)
        if self.params.l2_normalise:
            samples /= np.maximum(np.linalg.norm(samples, axis=-1, keepdims=True), 1e-8)
        return np.ascontiguousarray(samples, dtype=np.float32), frame_index

    def _levels(self, video: VideoInput) -> list[tuple[int, ...] | None]:
        out = []
        for key in self.input.features:
            shape = video.feature(key).features.shape
            out.append(pyramid_levels(shape[1] if len(shape) == 3 else 1))
        return out

    # training ------------------------------------------------------------------------

    def _build(self, d_x: int, n_atoms: int) -> UnrolledSolver:
        g = torch.Generator().manual_seed(self.seed)
        B = random_dictionary(d_x, n_atoms, g, torch.float32)
        return make_solver(self.params.solver, B, self.params.lam, self.params.K, seed=self.seed)

    def setup(self, videos: Sequence[VideoInput]) -> None:
        p = self.params
        units = [self.units(v)[0][:: p.train_step] for v in videos]
        data = np.concatenate([u for u in units if len(u)])
        d_x = data.shape[-1]
        self.model = self._build(d_x, p.n_atoms or d_x)
        self.data = torch.from_numpy(data)  # (N, S, C)

    def stages(self) -> list[Stage]:
        return [Stage("fit", epochs=self.params.epochs, batch_size=self.params.batch_size)]

    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> WindowDataset:
        return WindowDataset(self.data, np.arange(len(self.data)), 1)

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        return torch.optim.Adadelta(self.model.parameters(), lr=self.params.lr, rho=ADADELTA_RHO, eps=ADADELTA_EPS)

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        x = batch.reshape(-1, batch.shape[-1])  # (B, 1, S, C) -> (B·S, C): every cell is a sample
        model = ctx.model
        if self.params.solver == "ista":  # codes fixed, dictionary step (eq. 5-6 alternated)
            with torch.no_grad():
                s = model(x)
            return {"loss": sc2net_loss(x, s, model.dictionary(), self.params.lam)}
        s = model(x)
        loss = sc2net_loss(x, s, model.dictionary(), self.params.lam)
        return {"loss": loss, "sparsity": (s.abs() > 1e-3).float().mean().detach()}

    # scoring --------------------------------------------------------------------------

    @torch.inference_mode()
    def sample_errors(self, samples: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """(N, S, C) -> (N, S) float64: ||x − B s||²₂ of every sample, and how much the codes carry:
        ``explained_energy`` = Σ||B s||² / Σ||x||² and ``active_codes`` = the mean number of coefficients
        above 1e-3 in magnitude per sample. A score whose codes explain almost nothing is ||x||² (= 1 for
        l2-normalised samples) up to noise: docs/papers/anomalynet.md (λ = 0.5 and ISTA on the walkway)."""
        self.model.eval()
        B = self.model.dictionary()
        out, explained, energy, active, count = [], 0.0, 0.0, 0.0, 0
        n, S, C = samples.shape
        step = max(1, self.params.score_batch_size)
        for b in range(0, n, step):
            x = torch.from_numpy(samples[b : b + step]).to(self.device).reshape(-1, C)
            s = self.model(x)
            recon = s @ B.T
            out.append(((x - recon) ** 2).sum(-1).reshape(-1, S).double().cpu().numpy())
            explained += float((recon.double() ** 2).sum())
            energy += float((x.double() ** 2).sum())
            active += float((s.abs() > 1e-3).sum())
            count += len(x)
        stats = {"explained_energy": explained / energy if energy else 0.0, "active_codes": active / max(count, 1)}
        return (np.concatenate(out) if out else np.zeros((0, S))), stats

    def score_video(self, video: VideoInput) -> VideoScores:
        samples, frame_index = self.units(video)
        errors, stats = self.sample_errors(samples)  # (N, S)
        unit_scores = errors.mean(axis=1)  # sec. 5.2: the average error of all patches
        maps = None
        levels = self._levels(video)
        if all(lv is not None and len(lv) > 1 for lv in levels) and len({lv[-1] for lv in levels}) == 1:
            per_spec, offset = [], 0
            for lv in levels:
                w = cell_map_weights(lv)
                per_spec.append(errors[:, offset : offset + w.shape[1]] @ w.T.astype(np.float64))
                offset += w.shape[1]
            L = levels[0][-1]
            maps = np.mean(per_spec, axis=0).reshape(-1, L, L)[frame_index]
        return VideoScores(scores=unit_scores[frame_index], maps=maps, stats=stats)

    def state(self) -> dict[str, Any]:
        return {"net": self.model.state_dict(), "d_x": self.model.d_x, "n_atoms": self.model.d_s}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model = self._build(int(state["d_x"]), int(state["n_atoms"]))
        self.model.load_state_dict(state["net"])
        self.model.to(self.device)
