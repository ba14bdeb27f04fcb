"""Region- and track-based detection criteria, RBDC and TBDC (Ramachandra & Jones, "Street Scene:
A new dataset and evaluation protocol for video anomaly detection", WACV 2020, sec. 4), written
from the paper's definitions, with exact thresholds.

Definitions (the paper's, with its α = β = 0.1):
- ground-truth *regions*: in each frame, the connected components (8-connected) of the pixel mask;
  ground-truth *tracks*: regions of consecutive frames that overlap are one track (linked over
  frames, transitively);
- detected regions at a threshold θ: the connected components (8-connected) of {map >= θ};
- a ground-truth region is *detected* when some detected region has IoU >= β with it;
  a detected region is a *false positive* when its IoU with every ground-truth region of its frame
  is < β; a track is detected when at least α of its regions are detected;
- the false-positive rate is false-positive regions per frame; RBDC (TBDC) is the area under the
  curve of the region (track) detection rate against it, for rates 0 to 1.

Choices the paper leaves open (also in docs/evaluation.md): regions are pixel sets, as the masks
give them (the paper's annotations are boxes); the curve at a false-positive rate x is the best
detection rate of any threshold whose rate is <= x (its upper envelope: lowering the threshold
further merges regions into ever larger ones, so the raw sweep falls back to 0 at its end, which
would make an oracle map score 0.5); thresholds are every distinct map value, not a grid.

The sweep is exact: per frame, pixels enter in descending order and a union-find keeps each
component's size and its overlap with each ground-truth region, so every change of a region's
status is an event at the value where it happens. Numba compiles the two loops (a Python loop over
every pixel of a test set would take minutes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["RegionParams", "region_track_detection"]

_EIGHT = np.ones((3, 3), dtype=bool)


def _jit(fn):
    from numba import njit

    return njit(cache=True, nogil=True)(fn)


def _frame_events(values, order, gt, sizes, height, width, beta):  # pragma: no cover (compiled)
    """One frame's events as (threshold, Δ false positives, region (or -1), Δ detected), in
    descending threshold order. ``values`` (h*w,) float64, ``order`` its pixels by descending
    value, ``gt`` (h*w,) int: 0 or the 1-based region id within the frame; ``sizes``
    (n_regions + 1,) pixel counts."""
    n = height * width
    n_gt = sizes.shape[0] - 1
    parent = np.full(n, -1, np.int64)
    size = np.zeros(n, np.int64)
    overlap = np.zeros((n, n_gt + 1), np.int64)
    is_fp = np.zeros(n, np.bool_)
    hits = np.zeros((n, n_gt + 1), np.bool_)
    det_count = np.zeros(n_gt + 1, np.int64)
    shown = np.zeros(n_gt + 1, np.bool_)
    fp = 0
    shown_fp = 0
    # at most one false-positive event and one event per region at each distinct value
    cap = n * (n_gt + 1)
    thr = np.empty(cap)
    dfp = np.zeros(cap, np.int64)
    reg = np.full(cap, -1, np.int64)
    ddet = np.zeros(cap, np.int64)
    k = 0
    roots = np.empty(9, np.int64)

    for idx in range(n):
        p = order[idx]
        parent[p] = p
        size[p] = 1
        if gt[p] > 0:
            overlap[p, gt[p]] = 1
        roots[0] = p
        m = 1
        y, x = p // width, p % width
        for d in range(9):
            yy, xx = y + d // 3 - 1, x + d % 3 - 1
            if d != 4 and 0 <= yy < height and 0 <= xx < width:
                q = yy * width + xx
                if parent[q] == -1:
                    continue
                r = q
                while parent[r] != r:
                    parent[r] = parent[parent[r]]
                    r = parent[r]
                new = True
                for j in range(m):
                    if roots[j] == r:
                        new = False
                if new:
                    roots[m] = r
                    m += 1
        # take the old components' contributions out, merge them into the largest, put it back
        big = roots[0]
        for j in range(1, m):
            r = roots[j]
            if is_fp[r]:
                fp -= 1
            for g in range(1, n_gt + 1):
                if hits[r, g]:
                    det_count[g] -= 1
            if size[r] > size[big]:
                big = r
        for j in range(m):
            r = roots[j]
            if r != big:
                parent[r] = big
                size[big] += size[r]
                for g in range(1, n_gt + 1):
                    overlap[big, g] += overlap[r, g]
        worst = True
        for g in range(1, n_gt + 1):
            inter = overlap[big, g]
            iou = inter / (size[big] + sizes[g] - inter)
            hits[big, g] = iou >= beta
            if hits[big, g]:
                det_count[g] += 1
                worst = False
        is_fp[big] = worst
        if worst:
            fp += 1
        if idx + 1 < n and values[order[idx + 1]] == values[p]:
            continue  # a threshold sees all pixels of its value at once
        if fp != shown_fp:
            thr[k] = values[p]
            dfp[k] = fp - shown_fp
            k += 1
            shown_fp = fp
        for g in range(1, n_gt + 1):
            now = det_count[g] > 0
            if now != shown[g]:
                thr[k] = values[p]
                reg[k] = g
                ddet[k] = 1 if now else -1
                k += 1
                shown[g] = now
    return thr[:k], dfp[:k], reg[:k], ddet[:k]


def _curve(thr, dfp, reg, ddet, track_of, track_need, n_frames, n_regions, n_tracks):  # pragma: no cover
    """Events of all frames (sorted by descending threshold) -> curve points (fp rate, region
    rate, track rate), one per distinct threshold, starting at (0, 0, 0)."""
    n = thr.shape[0]
    fpr = np.zeros(n + 1)
    rr = np.zeros(n + 1)
    tr = np.zeros(n + 1)
    track_hits = np.zeros(n_tracks, np.int64)
    fp = 0
    det = 0
    tracks = 0
    k = 1
    for i in range(n):
        fp += dfp[i]
        if reg[i] >= 0:
            det += ddet[i]
            t = track_of[reg[i]]
            before = track_hits[t] >= track_need[t]
            track_hits[t] += ddet[i]
            after = track_hits[t] >= track_need[t]
            if after != before:
                tracks += 1 if after else -1
        if i + 1 < n and thr[i + 1] == thr[i]:
            continue
        fpr[k] = fp / n_frames
        rr[k] = det / n_regions if n_regions else 0.0
        tr[k] = tracks / n_tracks if n_tracks else 0.0
        k += 1
    return fpr[:k], rr[:k], tr[:k]


_compiled: dict[str, object] = {}


def _numba(name: str):
    if name not in _compiled:
        _compiled[name] = _jit(globals()[name])
    return _compiled[name]


def envelope_area(fp_rate: np.ndarray, rate: np.ndarray, max_fp: float = 1.0) -> float:
    """∫_0^max_fp of y(x) = max{rate_i : fp_rate_i <= x} dx, divided by max_fp (so 1 is perfect)."""
    order = np.argsort(fp_rate, kind="stable")
    x, y = np.asarray(fp_rate, float)[order], np.maximum.accumulate(np.asarray(rate, float)[order])
    keep = x < max_fp
    x, y = np.r_[x[keep], max_fp], y[keep]
    return float(np.sum(np.diff(x) * y) / max_fp)


@dataclass(frozen=True)
class RegionParams:
    """α (share of a track's regions) and β (IoU), both 0.1 in the paper (config: ``evaluation.regions``)."""

    alpha: float = 0.1
    beta: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.alpha <= 1 or not 0 < self.beta <= 1:
            raise ValueError(f"RBDC/TBDC need 0 < alpha, beta <= 1, got {self.alpha}, {self.beta}")


def _ground_truth(masks: Mapping[str, np.ndarray]):
    """Per video: (T, H, W) int labels of regions (global ids from 1), the track of each region."""
    labelled, region_sizes, track_parent = {}, [0], [0]
    next_id = 1

    def find(i: int) -> int:
        while track_parent[i] != i:
            track_parent[i] = track_parent[track_parent[i]]
            i = track_parent[i]
        return i

    for name, video in masks.items():
        video = np.asarray(video).astype(bool)
        lab = np.zeros(video.shape, np.int64)
        for t, frame in enumerate(video):
            comp, n = ndimage.label(frame, structure=_EIGHT)
            if n:
                lab[t] = np.where(comp > 0, comp + next_id - 1, 0)
                region_sizes += np.bincount(comp.ravel(), minlength=n + 1)[1:].tolist()
                track_parent += list(range(next_id, next_id + n))
                if t:  # regions of consecutive frames that share a pixel are one track
                    both = (lab[t - 1] > 0) & (lab[t] > 0)
                    for a, b in set(zip(lab[t - 1][both].tolist(), lab[t][both].tolist())):
                        ra, rb = find(a), find(b)
                        if ra != rb:
                            track_parent[max(ra, rb)] = min(ra, rb)
                next_id += n
        labelled[name] = lab
    roots = [find(i) for i in range(len(track_parent))]
    _, track_of = np.unique(roots[1:], return_inverse=True) if len(roots) > 1 else (None, np.zeros(0, int))
    return labelled, np.asarray(region_sizes, np.int64), np.r_[-1, track_of].astype(np.int64)


def region_track_detection(
    maps: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    params: RegionParams | None = None,
    normalise: bool = True,
) -> dict:
    """RBDC and TBDC of anomaly maps (T, h, w) against pixel masks (T, H, W), on the videos of
    ``masks``; maps are resized bilinearly to the masks (as for pixel AUC). ``normalise``: maps
    min-max normalised per video first (the tables' convention), else raw."""
    from vadflow.evaluation.basics import required_detections, resize_map

    params = params or RegionParams()
    labelled, region_sizes, track_of = _ground_truth(masks)
    n_regions = len(region_sizes) - 1
    n_tracks = int(track_of.max()) + 1 if n_regions else 0
    track_sizes = np.bincount(track_of[1:], minlength=n_tracks) if n_regions else np.zeros(0, int)
    # regions a track needs detected: the smallest k with k / size >= α, as the 40 % pixel rule counts
    track_need = np.array([required_detections(int(s), params.alpha) for s in track_sizes], np.int64)
    frame_events = _numba("_frame_events")
    parts, n_frames = [], 0
    for name, lab in labelled.items():
        video_parts, lo, hi = [], np.inf, -np.inf
        for f, frame_lab in zip(np.asarray(maps[name], np.float64), lab):
            f = resize_map(f, lab.shape[1:])
            lo, hi = min(lo, f.min()), max(hi, f.max())
            ids = np.unique(frame_lab[frame_lab > 0])
            local = np.searchsorted(ids, frame_lab) + 1  # 1-based within the frame
            local[frame_lab == 0] = 0
            sizes = np.r_[0, region_sizes[ids]].astype(np.int64)
            flat = np.ascontiguousarray(f.ravel())  # ties need no order: a value's pixels enter together
            thr, dfp, reg, ddet = frame_events(
                flat, np.argsort(-flat), local.ravel().astype(np.int64), sizes, f.shape[0], f.shape[1],
                params.beta,
            )
            reg = np.where(reg > 0, ids[np.maximum(reg, 1) - 1] if len(ids) else -1, -1)
            video_parts.append((thr, dfp, reg, ddet))
        if normalise:  # min-max is monotone: normalising the event thresholds = normalising the maps
            video_parts = [((t - lo) / (hi - lo) if hi > lo else np.zeros_like(t), *rest) for t, *rest in video_parts]
        parts += video_parts
        n_frames += len(lab)
    thr = np.concatenate([p[0] for p in parts])
    order = np.argsort(-thr, kind="stable")
    cols = [np.concatenate([p[i] for p in parts])[order] for i in range(1, 4)]
    fpr, rbdr, tbdr = _numba("_curve")(thr[order], *cols, track_of, track_need, n_frames, n_regions, n_tracks)
    return {
        "rbdc": envelope_area(fpr, rbdr) if n_regions else None,
        "tbdc": envelope_area(fpr, tbdr) if n_regions else None,
        "regions": n_regions,
        "tracks": n_tracks,
        "frames": n_frames,
        "alpha": params.alpha,
        "beta": params.beta,
        "normalised": normalise,
    }
