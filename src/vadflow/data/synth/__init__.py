"""Deterministic renderers of the synthetic datasets (frames and ground truth; encoding happens elsewhere)."""

from .common import SyntheticVideo
from .moving_digits import MovingDigitsParams, moving_digits_videos
from .walkway import ANOMALY_KINDS as WALKWAY_ANOMALY_KINDS
from .walkway import WalkwayParams, walkway_videos

__all__ = [
    "SyntheticVideo",
    "WalkwayParams",
    "walkway_videos",
    "WALKWAY_ANOMALY_KINDS",
    "MovingDigitsParams",
    "moving_digits_videos",
]
