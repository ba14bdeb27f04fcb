"""Training and scoring of the LAD multi-task network (Wan et al.) and of DeepMIL (Sultani et al.).

LAD (fully supervised): every training step takes ``batch_size`` segments of K consecutive clips,
half from anomalous and half from normal training videos (the authors' code: 30 + 30 videos, one
random segment each; an anomalous video's segment is one that holds anomalous frames). The video is
drawn first, then its segment, so long videos do not dominate. Targets: the segment's m·K frame
labels and its video's category. Test (sec. 4.4): every segment of the video, stride one clip; a
frame's score is the highest sigmoid score any segment gives it; the category of a segment is the
head's argmax (kept per segment for the accuracy of Tables 5-6).

DeepMIL (weakly supervised): a video is a bag of 32 segments, each the mean of its clips' feature
rows, l2-normalised (Sultani et al. sec. 4.1); a step takes ``batch_size`` / 2 anomalous and as
many normal bags; a frame's score is the highest score of the segments its clip belongs to.

Batches are drawn by ``RandomDraws``: item i of a dataset far longer than any run is a draw made by
a generator seeded with (seed, i), so the engine's random indices give reproducible, resumable
batches of any composition. A batch's data (clip rows, targets) is gathered on the CPU by the
dataset's ``collate`` in the data loader: the engine moves the batch to the training device, and the
dataset holds only arrays (never the method or its model), as DataLoader workers need.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np
import torch

from vadflow.errors import ConfigError, DataError
from vadflow.methods.api import MethodRun, Supervision, VideoInput
from vadflow.methods.common.feature_rows import FeatureInput
from vadflow.methods.engine import Stage, StepContext, TorchMethod
from vadflow.methods.lad.clips import (
    clip_length,
    clip_rows,
    frame_max,
    mil_segments,
    pad_to_segment,
    segment_frames,
    segment_starts,
    video_categories,
)
from vadflow.methods.lad.model import LadNet, MILScorer, mil_ranking_loss, multitask_loss
from vadflow.scores import VideoScores

#: length of the virtual dataset of random draws (the engine draws indices below it)
DRAWS = 2**31 - 1


class RandomDraws(torch.utils.data.Dataset):
    """Item i = ``draw.ids(np.random.Generator seeded with (seed, i))``, the ids of one training pair;
    ``collate`` gathers a batch's data at once (``draw.gather``). ``draw`` is a picklable object
    holding the data it draws from."""

    def __init__(self, draw: Any, seed: int):
        self.draw, self.seed = draw, int(seed)

    def __len__(self) -> int:
        return DRAWS

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.draw.ids(np.random.default_rng([self.seed, int(i)]))

    def collate(self, items: list[torch.Tensor]) -> Any:
        return self.draw.gather(torch.stack(items).reshape(-1))  # anomalous, normal, anomalous, ...


class SegmentPairs:
    """LAD's draw: one segment of a random anomalous video (one showing its anomaly) and one of a
    random normal video; a batch of segment ids gathers ``{"x": (B, K, D) clip rows, "category": (B,),
    "frames": (B, m·K) frame labels}``."""

    def __init__(self, rows: torch.Tensor, first_clip: torch.Tensor, targets: torch.Tensor,
                 segment_class: torch.Tensor, anomalous: list[np.ndarray], normal: list[np.ndarray], K: int):
        self.rows, self.first_clip, self.targets, self.segment_class = rows, first_clip, targets, segment_class
        self.anomalous, self.normal, self.K = anomalous, normal, int(K)

    def ids(self, rng: np.random.Generator) -> torch.Tensor:
        a = self.anomalous[rng.integers(len(self.anomalous))]
        n = self.normal[rng.integers(len(self.normal))]
        return torch.tensor([a[rng.integers(len(a))], n[rng.integers(len(n))]])

    def gather(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.rows[self.first_clip[ids][:, None] + torch.arange(self.K)[None, :]]
        return {"x": x, "category": self.segment_class[ids], "frames": self.targets[ids]}


class BagPairs:
    """DeepMIL's draw: a random anomalous video and a random normal one; a batch of video ids gathers
    their bags, (B, S, D)."""

    def __init__(self, bags: torch.Tensor, anomalous: list[int], normal: list[int]):
        self.bags, self.anomalous, self.normal = bags, anomalous, normal

    def ids(self, rng: np.random.Generator) -> torch.Tensor:
        return torch.tensor([self.anomalous[rng.integers(len(self.anomalous))],
                             self.normal[rng.integers(len(self.normal))]])

    def gather(self, ids: torch.Tensor) -> torch.Tensor:
        return self.bags[ids]


def _split_by_label(videos: Sequence[VideoInput], name: str) -> tuple[list[int], list[int]]:
    anomalous = [i for i, v in enumerate(videos) if v.video_label]
    normal = [i for i, v in enumerate(videos) if not v.video_label]
    if not anomalous or not normal:
        raise DataError(
            f"{name} trains on anomalous and normal videos together, but the {len(videos)} training videos are "
            f"{'all normal' if not anomalous else 'all anomalous'}",
            "give the dataset anomalous training videos with labels (e.g. a split like Wan et al.'s reorganised "
            "one: datasets.<name>.split) and normal ones",
        )
    return anomalous, normal


class ClipFeatureMethod(FeatureInput, TorchMethod):
    """Methods on clip feature rows (``input.features``: I3D specs), trained for ``params.iterations``
    steps of ``batch_size`` / 2 pairs (one anomalous, one normal item) that ``draws`` makes."""

    budget = "iterations"

    def __init__(self, run: MethodRun, device: str = "cpu"):
        super().__init__(run, device)
        self._check_features()

    def clips(self, video: VideoInput) -> tuple[np.ndarray, np.ndarray]:
        return clip_rows(video, self.input.features)

    def draws(self) -> "SegmentPairs | BagPairs":
        """The picklable draw of (anomalous, normal) training pairs."""
        raise NotImplementedError

    def stages(self) -> list[Stage]:
        p = self.params
        return [Stage("fit", iterations=p.iterations, batch_size=p.batch_size // 2, log_every=p.log_every)]

    def train_dataset(self, videos: Sequence[VideoInput], stage: Stage) -> RandomDraws:
        return RandomDraws(self.draws(), self.seed)


class LadMultitask(ClipFeatureMethod):
    # training data ---------------------------------------------------------------------

    def setup(self, videos: Sequence[VideoInput]) -> None:
        p = self.params
        if self.run.supervision is not Supervision.FULLY:
            raise ConfigError(
                f"methods.{self.run.name}: lad_multitask regresses frame labels and classifies categories, so it "
                f"trains fully supervised, not {self.run.supervision.value}",
                "remove the entry's supervision: key (deepmil is the weakly supervised method)",
            )
        anomalous, normal = _split_by_label(videos, self.name)
        categories, how = video_categories(videos, p.categories)
        self.class_names = sorted(set(categories.values()))
        print(f"{self.name}: {len(self.class_names)} classes ({how}): {', '.join(self.class_names)}", file=sys.stderr)
        rows, firsts, targets, classes, segments_of = [], [], [], [], []
        offset, m = 0, None
        for v in videos:
            x, windows = self.clips(v)
            m_v = clip_length(windows)
            if m is not None and m_v != m:
                raise ConfigError(f"{self.name}: video {v.name} has clips of {m_v} frames, others of {m}",
                                  "extract every video's features with the same spec")
            m = m_v
            starts = segment_starts(len(x), p.clips, f"training video {v.name} ({v.frames.path})")
            labels = v.frame_labels
            seg_labels = np.stack([labels[segment_frames(windows, s, p.clips, m)] for s in starts])
            ids = np.arange(len(firsts), len(firsts) + len(starts))
            if v.video_label and seg_labels.any():  # an anomalous video's segments that show its anomaly
                ids = ids[seg_labels.any(axis=1)]
            segments_of.append(ids)
            rows.append(x)
            firsts.extend(offset + starts)
            targets.append(seg_labels)
            classes.extend([self.class_names.index(categories[v.name])] * len(starts))
            offset += len(x)
        self.m = int(m)
        self.pairs = SegmentPairs(
            rows=torch.from_numpy(np.concatenate(rows)),
            first_clip=torch.as_tensor(np.asarray(firsts, np.int64)),
            targets=torch.from_numpy(np.concatenate(targets).astype(np.uint8)),
            segment_class=torch.as_tensor(np.asarray(classes, np.int64)),
            anomalous=[segments_of[i] for i in anomalous], normal=[segments_of[i] for i in normal], K=p.clips,
        )
        self.in_dim = int(self.pairs.rows.shape[1])
        self.model = self._build(self.in_dim)

    def _build(self, in_dim: int) -> LadNet:
        p = self.params
        return LadNet(in_dim, len(self.class_names), self.m * p.clips, hidden=p.hidden, layers=p.layers,
                      kernel=p.kernel, grid=p.grid, fc=p.fc)

    def draws(self) -> SegmentPairs:
        return self.pairs

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.params.lr, weight_decay=self.params.weight_decay)

    def training_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        p = self.params
        # anomalous, normal, anomalous, ... (gathered by the loader, on the training device already)
        x, y, frames = batch["x"], batch["category"], batch["frames"]
        logits, scores = ctx.model(x)
        out = multitask_loss(logits, scores, y, frames, p.lambda_cls, p.lambda_score)
        out["accuracy"] = (logits.argmax(1) == y).float().mean().detach()
        return out

    # scoring ---------------------------------------------------------------------------

    @torch.inference_mode()
    def score_video(self, video: VideoInput) -> VideoScores:
        p = self.params
        x, windows = self.clips(video)
        if clip_length(windows) > self.m:
            raise ConfigError(f"{self.name}: video {video.name} has clips of {clip_length(windows)} frames, the model "
                              f"was trained on {self.m}", "score with the features the model was trained on")
        x, windows = pad_to_segment(x, windows, p.clips)  # a video shorter than one segment is one segment
        starts = segment_starts(len(x), p.clips, f"test video {video.name} ({video.frames.path})")
        self.model.eval()
        rows = torch.from_numpy(x)
        scores, labels = [], []
        for b in range(0, len(starts), p.score_batch_size):
            first = torch.as_tensor(starts[b : b + p.score_batch_size])
            seg = rows[first[:, None] + torch.arange(p.clips)[None, :]].to(self.device)
            logits, s = self.model(seg)
            scores.append(torch.sigmoid(s).double().cpu().numpy())
            labels.append(logits.argmax(1).cpu().numpy())
        frames = np.stack([segment_frames(windows, s, p.clips, self.m) for s in starts])
        per_frame = frame_max(video.n_frames, frames, np.concatenate(scores))
        return VideoScores(scores=per_frame, categories=np.concatenate(labels).astype(np.int16))

    def state(self) -> dict[str, Any]:
        return {"net": self.model.state_dict(), "in_dim": self.in_dim, "m": self.m,
                "class_names": list(self.class_names)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.m, self.class_names = int(state["m"]), list(state["class_names"])
        self.model = self._build(int(state["in_dim"]))
        self.model.load_state_dict(state["net"])
        self.model.to(self.device)


class DeepMIL(ClipFeatureMethod):
    def bag(self, video: VideoInput) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        """(S, D) l2-normalised segment features, the clips' windows, and each segment's clip range."""
        x, windows = self.clips(video)
        ranges = mil_segments(len(x), self.params.segments)
        feats = np.stack([x[a:b].mean(axis=0) for a, b in ranges])
        feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-8)
        return feats.astype(np.float32), windows, ranges

    def setup(self, videos: Sequence[VideoInput]) -> None:
        anomalous, normal = _split_by_label(videos, self.name)
        self.pairs = BagPairs(torch.from_numpy(np.stack([self.bag(v)[0] for v in videos])), anomalous, normal)  # (V, S, D)
        self.in_dim = int(self.pairs.bags.shape[-1])
        self.model = self._build(self.in_dim)

    def _build(self, in_dim: int) -> MILScorer:
        return MILScorer(in_dim, self.params.hidden, self.params.dropout)

    def draws(self) -> BagPairs:
        return self.pairs

    def configure_optimizers(self, stage: Stage) -> torch.optim.Optimizer:
        return torch.optim.Adagrad(self.model.parameters(), lr=self.params.lr, weight_decay=self.params.weight_decay)

    def training_step(self, batch: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        p = self.params
        scores = ctx.model(batch).reshape(-1, 2, p.segments)  # (B, S, D) bags, anomalous/normal pairs
        return mil_ranking_loss(scores[:, 0], scores[:, 1], p.lambda_smooth, p.lambda_sparse)

    @torch.inference_mode()
    def score_video(self, video: VideoInput) -> VideoScores:
        feats, windows, ranges = self.bag(video)
        self.model.eval()
        seg = self.model(torch.from_numpy(feats).to(self.device)).double().cpu().numpy()
        clip_score = np.full(len(windows), -np.inf)
        for (a, b), s in zip(ranges, seg):
            clip_score[a:b] = np.maximum(clip_score[a:b], s)
        frame_index = video.feature(self.input.features[0]).frame_index
        return VideoScores(scores=clip_score[frame_index])

    def state(self) -> dict[str, Any]:
        return {"net": self.model.state_dict(), "in_dim": self.in_dim}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model = self._build(int(state["in_dim"]))
        self.model.load_state_dict(state["net"])
        self.model.to(self.device)
