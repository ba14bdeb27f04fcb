"""`vadflow detect`: a trained model on new footage.

The checkpoint records what the model was trained on (``model_inputs``: the decode settings and the
training frames' size and colour, every feature spec with its sources), so new footage goes through
the same decoding, the same feature extraction (``vadflow.features.extract``) and the same scoring
(``vadflow.methods.run.score``) as the workflow's test videos: a video the workflow scored gets the
same scores here, bit for bit.

Scores on new footage cannot be min-max normalised per video as the benchmarks do (every video would
have its most anomalous frame at 1, even a video with nothing in it). They are calibrated on the
model's *normal training videos* instead (``calibration.json`` beside the model, made once): the
normalised score is (score - median) / (max - median) of the training frames' scores, so 1.0 is as
unusual as the most unusual frame the model saw in training. Events follow the evaluation's event rule
(``vadflow.evaluation.events``: persistent maxima, a window around each, overlapping windows merged) on
that scale, with the threshold 1.0 by default: chosen on training videos, never on test labels.

Every output of a video is written to a temporary folder and moved into place; a video that cannot
be read is reported and the others go on. Frames and features are cached under ``<out>/.cache``
(keyed by the feature spec's id, as in the workflow), so a second run reuses them.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vadflow import __version__
from vadflow.atomic import atomic_path
from vadflow.errors import CheckpointError, DataError, VadflowError
from vadflow.evaluation.events import CALIBRATED_THRESHOLD, Calibration, load_calibration
from vadflow.provenance import zarr_attrs

#: the default event threshold on the calibrated scale: above every training frame
DEFAULT_THRESHOLD = CALIBRATED_THRESHOLD


# --------------------------------------------------------------------------- #
# Calibration on the training videos
# --------------------------------------------------------------------------- #


def calibration_path(model: str | Path) -> Path:
    return Path(model).with_name("calibration.json")


def calibrate(model: str | Path, train_stores: Sequence[str | Path], features: dict[str, Sequence[str | Path]] | None,
              out: str | Path, *, device: str = "auto", threads: int | None = None) -> Calibration:
    """Score the model's normal training videos (those the workflow trained it on) and write the
    median and maximum of their frame scores to ``out`` (``calibration.json``)."""
    import tempfile

    from vadflow.data.store import FrameStore
    from vadflow.data.supervision import admits
    from vadflow.methods.run import score
    from vadflow.scores import read_scores

    keep = [i for i, p in enumerate(train_stores) if admits("unsupervised", FrameStore(p).attrs.get("video_label"))]
    if not keep:
        raise DataError(f"{model}: none of its {len(train_stores)} training videos is normal",
                        "calibrate on normal videos: the model's training set needs some")
    stores = [train_stores[i] for i in keep]
    feats = {k: [v[i] for i in keep] for k, v in (features or {}).items()}
    with tempfile.TemporaryDirectory() as tmp:
        score(model, stores, Path(tmp) / "train_scores.zarr", features=feats, device=device, threads=threads)
        _, scores, _ = read_scores(Path(tmp) / "train_scores.zarr")
    pooled = np.concatenate([np.asarray(s, np.float64) for s in scores.values()])
    cal = Calibration(float(np.median(pooled)), float(pooled.max()), int(pooled.size), len(scores))
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps({**cal.__dict__, "model": str(model), "train_videos": [str(s) for s in stores],
                                   "vadflow_version": __version__}, indent=1))
    return cal


# --------------------------------------------------------------------------- #
# Detection
# --------------------------------------------------------------------------- #


def video_files(inputs: Sequence[str | Path]) -> list[Path]:
    """The videos of files and folders (a folder's video files, sorted; a folder of images is one video)."""
    from vadflow.data.decode import VIDEO_EXTENSIONS, list_frame_files

    found: list[Path] = []
    for item in map(Path, inputs):
        if not item.exists():
            raise DataError(f"{item} does not exist", "give a video file or a folder of videos")
        if item.is_dir():
            videos = sorted(p for p in item.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
            if videos:
                found += videos
            elif list_frame_files(item):
                found.append(item)
            else:
                raise DataError(f"{item} holds no video files and no frames", f"videos end in {', '.join(VIDEO_EXTENSIONS)}")
        else:
            found.append(item)
    return found


def load_model(model: str | Path) -> dict[str, Any]:
    """The checkpoint, checked to be one ``detect`` can use."""
    from vadflow.methods import method_infos
    from vadflow.methods.engine.log import load_checkpoint

    ckpt = load_checkpoint(model)
    if not isinstance(ckpt, dict) or "config" not in ckpt or "state" not in ckpt:
        raise CheckpointError(f"{model} is not a vadflow model checkpoint", "give work/<dataset>/models/<method>/model.pt")
    method = ckpt["config"].get("method")
    if method not in method_infos():
        raise CheckpointError(f"{model}: method {method!r} is not one this vadflow ({__version__}) has",
                              "use the vadflow version that trained it, or retrain")
    if "missing" in (ckpt.get("inputs") or {}):
        raise CheckpointError(f"{model}: detect cannot rebuild its inputs: {ckpt['inputs']['missing']}",
                              "train the model in the workflow, on videos it decodes")
    if "inputs" not in ckpt:
        raise CheckpointError(
            f"{model} was written by vadflow {ckpt.get('vadflow_version', '?')} without the record of its inputs "
            "(decode settings, feature specs) that detect needs",
            "retrain it with this version (delete the model and rerun its training rule)")
    if ckpt.get("vadflow_version") != __version__:
        warnings.warn(f"{model} was trained with vadflow {ckpt.get('vadflow_version')}, this is {__version__}:"
                      " its scores may differ from the workflow's", stacklevel=2)
    return ckpt


def _feature_order(features: dict[str, dict[str, Any]]) -> list[str]:
    """Keys with every source before the specs computed from it."""
    order: list[str] = []

    def visit(key: str) -> None:
        if key in order:
            return
        source = (features[key]["spec"] or {}).get("source")
        if source:
            visit(source)
        order.append(key)

    for key in features:
        visit(key)
    return order


def _feature_spec(entry: dict[str, Any]):
    from vadflow.features.spec import FeatureSpec

    return FeatureSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry["spec"].items()})


def prepare_video(source: Path, inputs: dict[str, Any], cache: Path, *, device: str = "auto",
                  threads: int | None = None) -> tuple[Path, dict[str, Path]]:
    """Decode ``source`` as the model's training videos were (resized, with a warning, where its frame
    size differs; converted to the model's colour) and extract the model's features: the frame store
    and {key: feature store}, cached under ``cache``."""
    from vadflow.data.decode import DecodeSpec, _FrameInput, decode_video, sha256_of
    from vadflow.features.extract import extract_features

    frames = cache / "frames" / f"{source.stem}.zarr"
    digest = sha256_of(source) if source.is_file() else None
    if frames.exists() and (digest is None or zarr_attrs(frames).get("source_sha256") != digest):
        shutil.rmtree(frames)  # another file of the same name: decode it afresh
        for old in (cache / "features").glob(f"*/{source.stem}.zarr"):
            shutil.rmtree(old)
    if not frames.exists():
        inp = _FrameInput(source, inputs["fps"])
        try:
            info = inp.probe()
        finally:
            inp.close()
        decode = dict(inputs["decode"])
        size = (info.height, info.width)
        if size != (inputs["height"], inputs["width"]):
            warnings.warn(f"{source}: frames of {size[0]}x{size[1]}, the model was trained on "
                          f"{inputs['height']}x{inputs['width']}: resized", stacklevel=2)
            decode.update(height=inputs["height"], width=inputs["width"])
        decode_video(source, frames, DecodeSpec.from_dict(decode))
    stores: dict[str, Path] = {}
    for key in _feature_order(inputs["features"]):
        entry = inputs["features"][key]
        if entry["spec"] is None:
            raise CheckpointError(f"the model's feature {key!r} was not computed by vadflow's feature step"
                                  f" ({entry.get('store')}), so detect cannot compute it for new footage",
                                  "train the model in the workflow, on features it extracts")
        out = cache / "features" / entry["spec_id"] / f"{source.stem}.zarr"
        spec = _feature_spec(entry)
        if not out.exists():
            src = stores[spec.source] if spec.reads_features else frames
            extract_features(spec, entry["spec_id"], src, out, device=device, threads=threads)
        stores[key] = out
    return frames, {name: stores[key] for name, key in inputs["feature_keys"].items()}


def _timeline(name: str, normalised: np.ndarray, fps: float, threshold: float, events: list, out: Path) -> None:
    from vadflow.reporting.figures import _save, plt

    fig, ax = plt.subplots(figsize=(7.5, 2.4))
    t = np.arange(len(normalised)) / fps
    for start, end, _ in events:
        ax.axvspan(start / fps, end / fps, color="tab:red", alpha=0.15, lw=0)
    ax.plot(t, normalised, lw=1.2)
    ax.axhline(threshold, color="tab:red", lw=0.8, ls="--")
    ax.set(xlabel="time (s)", ylabel="anomaly score\n(1 = max of training)", xlim=(0, max(t[-1], 1 / fps)))
    ax.set_title(f"{name}: {len(events)} event(s) above {threshold:g} (shaded)", fontsize=9)
    _save(fig, out)


def write_overlay(frame_store: Path, maps: np.ndarray, fps: float, out: Path, chunk: int = 64) -> int:
    """The anomaly map (red, from the video's median map value to its 99.9th percentile) blended over the
    frames, H.264 through the project's ffmpeg, chunk by chunk; returns the number of frames written."""
    import ffmpeg

    from vadflow.data.ffmpeg_tools import ffmpeg_exe
    from vadflow.data.store import FrameStore
    from vadflow.evaluation.basics import resize_map

    store = FrameStore(frame_store)
    n, h, w = store.n_frames, store.attrs["height"], store.attrs["width"]
    h2, w2 = h - h % 2, w - w % 2
    # the colour scale: the video's median map value to its 99.9th percentile (a few extreme pixels would
    # otherwise wash every other region out), from at most 64 frames spread over the video
    sample = np.asarray(maps[:: max(1, len(maps) // 64)], np.float32)
    low, high = float(np.median(sample)), float(np.percentile(sample, 99.9))
    span = high - low if high > low else 1.0
    with atomic_path(out) as tmp:
        stream = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w2}x{h2}", framerate=fps)
        proc = ffmpeg.run_async(
            ffmpeg.output(stream, str(tmp), vcodec="libx264", pix_fmt="yuv420p", crf=20, f="mp4").global_args(
                "-nostdin", "-hide_banner", "-loglevel", "error"),
            cmd=ffmpeg_exe(), pipe_stdin=True, pipe_stderr=True)
        try:
            for start in range(0, n, chunk):
                frames = store.read(start, min(n, start + chunk)).astype(np.float32)
                if frames.shape[-1] == 1:
                    frames = np.repeat(frames, 3, axis=-1)
                heat = (np.stack([resize_map(np.asarray(m, np.float32), (h, w))
                                  for m in maps[start:start + len(frames)]]) - low) / span
                heat = np.clip(heat, 0, 1)[..., None]
                red = np.concatenate([255 * heat, 64 * heat, np.zeros_like(heat)], axis=-1)
                blended = (1 - 0.7 * heat) * frames + 0.7 * heat * red
                proc.stdin.write(np.clip(blended[:, :h2, :w2], 0, 255).astype(np.uint8).tobytes())
            proc.stdin.close()
            err = proc.stderr.read()
            proc.stderr.close()
            if proc.wait() != 0:
                raise DataError(f"{out}: ffmpeg could not encode: {err.decode(errors='replace')[-500:]}", "check disk space")
        except BaseException:
            proc.kill()
            raise
    return n


def detect_video(model: str | Path, ckpt: dict[str, Any], source: Path, out: Path, cal: Calibration, *,
                 threshold: float, events_params, cache: Path, device: str, threads: int | None,
                 overlay: bool) -> dict[str, Any]:
    """One video: scores.csv, events.csv, timeline.png (and overlay.mp4 for methods with maps) in
    ``out``, moved into place together."""
    from vadflow.evaluation.events import detect_events
    from vadflow.methods.run import score
    from vadflow.scores import read_scores

    inputs = ckpt["inputs"]
    frames, features = prepare_video(source, inputs, cache, device=device, threads=threads)
    fps = float(zarr_attrs(frames).get("fps") or inputs["fps"])
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        score(model, [frames], tmp / "scores.zarr", features={k: [p] for k, p in features.items()},
              device=device, threads=threads)
        _, scores, maps = read_scores(tmp / "scores.zarr")
        raw = np.asarray(next(iter(scores.values())), np.float64)
        norm = cal.normalise(raw)
        found = detect_events(norm, events_params, normalise=False)
        with open(tmp / "scores.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["frame", "time_s", "score", "normalised_score"])
            # repr: the exact float, so the file holds the very scores the workflow's store would
            w.writerows([i, f"{i / fps:.3f}", repr(float(s)), f"{z:.6g}"] for i, (s, z) in enumerate(zip(raw, norm)))
        with open(tmp / "events.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["start_frame", "end_frame", "start_s", "end_s", "peak_frame", "peak_score"])
            w.writerows([s, e, f"{s / fps:.3f}", f"{e / fps:.3f}", p, f"{norm[p]:.6g}"] for s, e, p in found)
        _timeline(source.stem, norm, fps, threshold, found, tmp / "timeline.png")
        if overlay and maps:
            write_overlay(frames, next(iter(maps.values())), fps, tmp / "overlay.mp4")
        shutil.rmtree(tmp / "scores.zarr")
        summary = {"video": str(source), "frames": int(raw.size), "fps": fps, "events": len(found),
                   "max_normalised_score": float(norm.max()), "overlay": bool(overlay and maps)}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def detect(model: str | Path, inputs: Sequence[str | Path], out: str | Path, *, threshold: float | None = None,
           calibration: str | Path | None = None, window: int = 50, persistence: float = 0.1,
           device: str = "auto", threads: int | None = None, overlay: bool = True) -> list[dict[str, Any]]:
    """Every video of ``inputs`` through the model: ``<out>/<video>/`` per video, ``<out>/detections.csv``
    listing them (and the failures, with why)."""
    from vadflow.evaluation.events import EventParams

    ckpt = load_model(model)
    cal_path = Path(calibration) if calibration else calibration_path(model)
    if not cal_path.exists():
        raise DataError(
            f"{cal_path} does not exist: detect calibrates the scores on the model's normal training videos",
            f"make it with `snakemake {cal_path}` in the workflow folder that trained the model, or pass --calibration")
    cal = load_calibration(cal_path)
    thr = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    params = EventParams(window=window, persistence=persistence, threshold=thr)
    out = Path(out)
    cache = out / ".cache"
    rows = []
    for source in video_files(inputs):
        try:
            summary = detect_video(model, ckpt, source, out / source.stem, cal, threshold=thr, events_params=params,
                                   cache=cache, device=device, threads=threads, overlay=overlay)
            rows.append({**summary, "error": ""})
            print(f"{source}: {summary['events']} event(s), {summary['frames']} frames -> {out / source.stem}",
                  file=sys.stderr)
        except VadflowError as exc:  # this video is reported; the others go on
            rows.append({"video": str(source), "frames": "", "fps": "", "events": "", "max_normalised_score": "",
                         "overlay": "", "error": str(exc)})
            print(f"{source}: skipped: {exc}", file=sys.stderr)
    with atomic_path(out / "detections.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["video"])
            w.writeheader()
            w.writerows(rows)
    return rows

