"""The protocol card of a result: under which conventions its number was computed.

Numbers in this field are compared across papers that differ in label source (Avenue's published
frame labels or ones derived from its pixel masks), frame alignment (dropped leading frames, clip
methods that score clip starts only), normalisation (per-video min-max or none), pooling (micro or
macro, and which videos macro leaves out) and split. Each results file carries a card that says all
of it, so a table's reader (and the HTML report, which shows the cards) never has to guess.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, Sequence

import numpy as np

#: how each frame-AUC convention pools the test frames
CONVENTION_POOLING = {
    "minmax_micro": "micro: one ROC over all test frames",
    "raw_micro": "micro: one ROC over all test frames",
    "macro": "macro: the mean of per-video AUCs",
    "minmax_micro_full_windows": "micro: one ROC over the frames that start a full clip",
}


def convention_fields(convention: str) -> dict[str, str]:
    """The card's normalisation and pooling under a frame-AUC convention: a table that shows another
    convention than the evaluation's (e.g. Wan et al.'s raw micro) builds its cards with its own."""
    return {
        "normalisation": "per-video min-max" if convention.startswith("minmax") else "none (raw scores)"
        if convention == "raw_micro" else "none (per-video AUCs)",
        "pooling": CONVENTION_POOLING.get(convention, convention),
    }


def test_label_use(store_attrs: Sequence[dict[str, Any]], selection_on_test: bool) -> dict[str, str]:
    """Whether anything besides the evaluation used the test labels, derived from what the run knows: a
    split made from the labels (UMN's training part ends at the first anomaly: a fact of the test stores),
    a training snapshot picked on them (``selection_on_test``, measured beside the result, never the
    result). The rest — hyper-parameters from the papers or fixed before any test result — is a
    declaration of the configs, which no run can check: the card says it as one."""
    facts = sorted({str(a["split_from_labels"]) for a in store_attrs if a.get("split_from_labels")})
    used = ["the evaluation"] + [f"the split ({'; '.join(facts)})"] * bool(facts)
    if selection_on_test:
        used.append("selection_on_test (the best training snapshot on the test labels, shown beside the result;"
                    " the result is the last iteration)")
    return {
        "test_labels_used_for": "; ".join(used),
        "declared": "hyper-parameters are the papers' or were fixed before any test result (a declaration of the"
                    " configs, not checked by the run)",
    }


def labels_sha256(labels: Mapping[str, np.ndarray]) -> str:
    """A checksum of the test frame labels: videos in name order, each its name and 0/1 bytes."""
    h = hashlib.sha256()
    for name in sorted(labels):
        h.update(name.encode() + b"\0" + np.asarray(labels[name], np.uint8).tobytes() + b"\0")
    return h.hexdigest()


def protocol_card(
    *,
    dataset: str,
    store_attrs: Sequence[dict[str, Any]],
    labels: Mapping[str, np.ndarray],
    convention: str,
    frame_auc: dict[str, Any],
    clip_length: int,
    supervision: str,
    train_videos: int | None,
    split: str | None,
    selection_on_test: bool,
) -> dict[str, Any]:
    """The card of one (method, dataset) result, JSON-ready; every field a short sentence."""
    adapters = sorted({str(a.get("adapter", "?")) for a in store_attrs})
    ranges = [a["frame_range"] for a in store_attrs if a.get("frame_range")]
    n_frames = sum(int(np.asarray(v).size) for v in labels.values())
    excluded = list(frame_auc.get("macro_excluded") or [])
    return {
        "labels": f"frame labels of {len(labels)} test videos ({n_frames} frames) from the {', '.join(adapters)} adapter"
        + (" (masks give the pixel labels)" if any(a.get("has_masks") for a in store_attrs) else ""),
        "labels_sha256": labels_sha256(labels),
        "frame_alignment": "every decoded frame has a score and a label"
        + (f" ({len(ranges)} videos cut to their annotated frame range)" if ranges else "")
        + (f"; clips of {clip_length} frames (minmax_micro_full_windows leaves out each video's last"
           f" {clip_length - 1})" if clip_length > 1 else ""),
        **convention_fields(convention),
        "excluded": (f"macro leaves out {len(excluded)} single-class videos: {', '.join(excluded)}"
                     if excluded else "nothing"),
        "split": (f"{split}; " if split else "the dataset's official split; ")
        + f"trained {supervision}" + (f" on {train_videos} training videos" if train_videos else ""),
        **test_label_use(store_attrs, selection_on_test),
        "dataset": dataset,
    }
