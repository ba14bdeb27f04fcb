"""Evaluation metrics shared by every method, so all results use one definition."""

from vadflow.evaluation.metrics import (
    equal_error_rate,
    evaluate_video_scores,
    frame_level_auc,
    minmax_normalise,
    pixel_level_auc,
    pixel_level_roc,
    roc_curve_micro,
)

__all__ = [
    "equal_error_rate",
    "evaluate_video_scores",
    "frame_level_auc",
    "minmax_normalise",
    "pixel_level_auc",
    "pixel_level_roc",
    "roc_curve_micro",
]
