"""The scikit-learn baselines as methods: every patch row of every training frame is one sample;
a frame's score is the largest of its patches' scores."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Sequence

import numpy as np

from vadflow.methods.api import FitContext, Method, MethodRun, VideoInput
from vadflow.methods.baselines.models import NearestSubspace, OneClassSVMBaseline
from vadflow.methods.common.feature_rows import FeatureInput
from vadflow.scores import VideoScores


class RowModelMethod(FeatureInput, Method):
    """A model with fit(rows)/score(rows)/get_state/from_state on feature rows."""

    model_class: type

    def __init__(self, run: MethodRun, device: str = "cpu"):
        super().__init__(run, device)
        self._check_features()
        self.model: Any = None

    def fit(self, videos: Sequence[VideoInput], ctx: FitContext) -> None:
        rows = [self.rows(v) for v in videos]
        self.model = self.model_class(seed=self.seed, **asdict(self.params))
        self.model.fit([r.reshape(-1, r.shape[-1]) for r in rows])
        ctx.log.log(stage="fit", epoch=1, step=1, rows=sum(r.shape[0] * r.shape[1] for r in rows))

    def score_video(self, video: VideoInput) -> VideoScores:
        rows = self.rows(video)
        t, p, c = rows.shape
        per_patch = self.model.score(rows.reshape(-1, c)).reshape(t, p)
        return VideoScores(scores=per_patch.max(axis=1))

    def state(self) -> dict[str, Any]:
        return {"model": self.model.get_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model = self.model_class.from_state(state["model"])


class NearestSubspaceMethod(RowModelMethod):
    """K-means dictionary of 1000 atoms; score = least-squares residual of the features on it."""

    model_class = NearestSubspace


class OneClassSVMMethod(RowModelMethod):
    """scikit-learn's one-class SVM on standardised features."""

    model_class = OneClassSVMBaseline
