"""Supervision regimes (Wan et al., LAD, Table 2): what the training split of a manifest may use.
The regime is the method's (``MethodInfo.supervision``, or an entry's ``supervision:``): the
manifest keeps every video, and each method's training stores are chosen by its regime.

  unsupervised  training videos that are normal; no labels
  weakly        every training video, with its video-level label only
  fully         every training video, with its frame-level labels
Test videos always keep their frame labels (they are what evaluation uses).
"""

from __future__ import annotations

import dataclasses

from vadflow.data.manifest import Manifest, VideoEntry
from vadflow.errors import DataError

REGIMES = ("unsupervised", "weakly", "fully")
SHORT = {"U": "unsupervised", "W": "weakly", "F": "fully"}


def admits(regime: str, video_label: int | None) -> bool:
    """Whether a training video with this video-level label (None: unknown, taken as normal, as
    in the generic layout's train/) may be used under ``regime`` (long name or U/W/F):
    unsupervised training uses normal videos only."""
    return SHORT.get(regime, regime) != "unsupervised" or not video_label


def training_videos(manifest: Manifest, regime: str) -> list[VideoEntry]:
    """The training videos a method in ``regime`` (long name or U/W/F) trains on, in manifest order."""
    return apply_supervision(manifest, SHORT.get(regime, regime)).split("train")


def apply_supervision(manifest: Manifest, regime: str) -> Manifest:
    if regime not in REGIMES:
        raise DataError(f"supervision {regime!r} is not known", f"use one of {', '.join(REGIMES)}")
    videos = []
    for v in manifest.videos:
        if v.split != "train":
            videos.append(v)
            continue
        if not admits(regime, v.video_label):
            continue  # an anomalous training video: not for unsupervised training
        if regime == "unsupervised":
            videos.append(dataclasses.replace(v, labels=None, label_intervals=None))
        elif regime == "weakly":
            if v.video_label is None:
                raise DataError(
                    f"dataset {manifest.dataset!r}: training video {v.source} has no video-level label",
                    "weak supervision needs the dataset's video labels (or use supervision: unsupervised)",
                )
            videos.append(dataclasses.replace(v, labels=None, label_intervals=None))
        else:
            if v.video_label and v.labels is None and v.label_intervals is None and \
                    v.meta.get("frame_labels") != "video_label":
                raise DataError(
                    f"dataset {manifest.dataset!r}: anomalous training video {v.source} has no frame labels",
                    "full supervision needs frame-level labels of the training videos (UCF-Crime: "
                    "options.train_frame_labels: video labels every frame with its video's label, as Wan et al. do)",
                )
            if v.video_label == 0 and v.labels is None and v.label_intervals is None:
                v = dataclasses.replace(v, label_intervals=[])
            videos.append(v)
    if not any(v.split == "train" for v in videos):
        raise DataError(f"dataset {manifest.dataset!r}: no training video is left under supervision {regime!r}",
                        "check the dataset's training split")
    return dataclasses.replace(manifest, videos=videos)
