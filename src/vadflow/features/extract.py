"""Extract one feature spec from one video, streaming in chunks (bounded memory), on CUDA when present.

Frame store (or a source feature store) -> feature store, written to a temporary
path and moved into place; a NaN anywhere stops the job and leaves nothing behind.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from vadflow import __version__
from vadflow.atomic import atomic_path
from vadflow.data.store import FrameStore
from vadflow.errors import ConfigError
from vadflow.features.spec import FeatureSpec
from vadflow.features.store import FeatureStore, FeatureStoreWriter
from vadflow.runtime import pick_device, prefetch, progress, set_threads


def _pool(fmap, spec: FeatureSpec):
    """(B, C, h, w) feature map -> what the spec stores per frame."""
    from vadflow.features.transforms import spatial_pyramid_max_pool

    if spec.pooling == "spp":
        return spatial_pyramid_max_pool(fmap, tuple(spec.pyramid_levels))
    if spec.pooling == "global":
        return fmap.amax(dim=(2, 3))
    return fmap


class _BackboneRunner:
    """A backbone on a device, turning uint8 frames (B, H, W, C) into pooled features (numpy)."""

    def __init__(self, spec: FeatureSpec, device: str):
        from vadflow.features.backbones import build_backbone

        self.spec = spec
        self.device = device
        self.net = build_backbone(spec.backbone, spec.weights).to(device).eval()

    def prepare(self, frames: np.ndarray):
        """CPU side: resize and normalise (runs ahead in a background thread)."""
        import torch

        from vadflow.features.backbones import preprocess

        with torch.inference_mode():
            x = preprocess(frames, self.net, self.spec.input_size)
            return x.pin_memory() if self.device == "cuda" else x

    def forward(self, x) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return _pool(self.net(x.to(self.device, non_blocking=True)), self.spec).float().cpu().numpy()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.forward(self.prepare(frames))

    def run_ahead(self, batches: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """Features of each batch, preparing batch i+1 while batch i goes through the network."""
        return (self.forward(x) for x in prefetch(map(self.prepare, batches)))

    def attrs(self) -> dict[str, Any]:
        return {
            "backbone": self.spec.backbone,
            "weights": self.net.weights_path,
            "weights_sha256": self.net.weights_sha256,
            "input_size": self.spec.input_size,
        }


def _frame_chunks(store: FrameStore, size: int) -> Iterator[np.ndarray]:
    for start in range(0, store.n_frames, size):
        yield store.read(start, start + size)


def _flow_image_chunks(flow: FeatureStore, size: int) -> Iterator[np.ndarray]:
    """Flow rows (T, h, w, 2) as uint8 images: x and y displacement, and magnitude, as channels."""
    from vadflow.features.flow import flow_image

    if "flow" not in flow.attrs:
        raise ConfigError(f"{flow.path} is not an optical-flow store", "a frame spec's source must be a flow spec")
    for start in range(0, len(flow.frame_index), size):
        yield flow_image(flow.read(start, start + size))


@functools.lru_cache(maxsize=2)
def _backbone(spec: FeatureSpec, device: str) -> "_BackboneRunner":
    """The backbone of a spec on a device, loaded once per process (a shard job runs it on many videos)."""
    return _BackboneRunner(spec, device)


@functools.lru_cache(maxsize=2)
def _i3d(stream: str, weights: str | None, device: str):
    from vadflow.features.i3d import build_i3d

    model, info = build_i3d(stream, weights)
    return model.to(device).eval(), info


def _extract_frame(
    frames: Iterator[np.ndarray], n_frames: int, spec: FeatureSpec, device: str, out: Path, desc: str
) -> dict[str, Any]:
    run = _backbone(spec, device)
    writer = None
    for rows in progress(run.run_ahead(frames), desc, total=-(-n_frames // spec.batch_size)):
        if writer is None:
            writer = FeatureStoreWriter(out, rows.shape[1:], spec.dtype, spec.batch_size, expected=n_frames)
        writer.append(rows, desc)
    writer.finish(np.arange(n_frames), None, run.attrs())
    return run.attrs()


def _extract_dynamic_images(store: FrameStore, spec: FeatureSpec, device: str, out: Path, desc: str) -> dict[str, Any]:
    from vadflow.features.transforms import dynamic_image
    from vadflow.windows import covering_windows, window_of_frame

    if spec.backbone == "none":  # the dynamic image's pixels in [0, 1] as one vector (AnomalyNet Table 7, SC2Net+MFB)
        run = None

        def encode(images: np.ndarray) -> np.ndarray:
            return _resize_height(images.astype(np.float32) / 255.0, spec.raw_size).reshape(len(images), -1)
    else:
        run = _backbone(spec, device)
        encode = run
    windows = covering_windows(store.n_frames, spec.window, spec.stride)
    writer = None
    for b in progress(range(0, len(windows), spec.batch_size), desc, total=-(-len(windows) // spec.batch_size)):
        images = np.stack([dynamic_image(store.read(s, e), sqrt=spec.sqrt) for s, e in windows[b : b + spec.batch_size]])
        rows = encode(images)
        if writer is None:
            writer = FeatureStoreWriter(out, rows.shape[1:], spec.dtype, spec.batch_size, expected=len(windows))
        writer.append(rows, desc)
    attrs = run.attrs() if run is not None else {"raw": {"size": spec.raw_size}}
    writer.finish(window_of_frame(windows, store.n_frames), windows, {**attrs, "window": spec.window})
    return attrs


def _extract_temporal_max(source: FeatureStore, spec: FeatureSpec, out: Path, desc: str) -> dict[str, Any]:
    from vadflow.features.transforms import temporal_max_pool

    reach = (spec.window - 1) * spec.interval  # rows before a chunk that its first rows pool over
    n = source.features.shape[0]
    chunk = max(256, 4 * reach)
    writer = FeatureStoreWriter(out, tuple(source.features.shape[1:]), spec.dtype, min(chunk, 256), expected=n)
    for start in range(0, n, chunk):
        lo = max(0, start - reach)
        block = source.read(lo, start + chunk).astype(np.float32)
        writer.append(temporal_max_pool(block, spec.window, spec.interval)[start - lo :], desc)
    writer.finish(source.frame_index, source.windows, {"source_attrs": source.attrs})
    return {}


def _extract_flow(store: FrameStore, spec: FeatureSpec, out: Path, desc: str) -> dict[str, Any]:
    from vadflow.features.flow import FlowParams, iter_optical_flow

    params = FlowParams(method=spec.flow_method)
    chunk = max(spec.batch_size, 16)
    writer = None
    for flow in progress(iter_optical_flow(_frame_chunks(store, chunk), params), desc, total=-(-store.n_frames // chunk)):
        if spec.flow_size and spec.flow_size != flow.shape[1]:
            resized = _resize_height(flow, spec.flow_size)
            scale = np.array([resized.shape[2] / flow.shape[2], resized.shape[1] / flow.shape[1]], np.float32)
            flow = resized * scale  # displacements in the new pixels
        if writer is None:
            writer = FeatureStoreWriter(out, flow.shape[1:], spec.dtype, chunk, expected=store.n_frames)
        writer.append(flow, desc)
    writer.finish(np.arange(store.n_frames), None, {"flow": {"method": params.method, "size": spec.flow_size}})
    return {}


def _resize_height(frames: np.ndarray, height: int | None, mode: str = "area") -> np.ndarray:
    """(T, H, W, C) float -> (T, height, W * height / H, C); unchanged when height is None or equal."""
    if not height or height == frames.shape[1]:
        return frames
    import torch
    import torch.nn.functional as F

    width = round(frames.shape[2] * height / frames.shape[1])
    t = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).permute(0, 3, 1, 2)
    return F.interpolate(t, size=(height, width), mode=mode).permute(0, 2, 3, 1).numpy()


def _extract_raw(store: FrameStore, spec: FeatureSpec, out: Path, desc: str) -> dict[str, Any]:
    chunk = max(spec.batch_size, 64)
    writer = None
    for frames in progress(_frame_chunks(store, chunk), desc, total=-(-store.n_frames // chunk)):
        rows = _resize_height(frames.astype(np.float32) / 255.0, spec.raw_size).reshape(len(frames), -1)
        if writer is None:
            writer = FeatureStoreWriter(out, rows.shape[1:], spec.dtype, chunk, expected=store.n_frames)
        writer.append(rows, desc)
    writer.finish(np.arange(store.n_frames), None, {"raw": {"size": spec.raw_size}})
    return {}


def _clip_tensor(clip: np.ndarray, size: int):
    """(T, H, W, C) -> (C, T, size, size) float in [-1, 1] (RGB uint8) or already-scaled flow."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)).permute(0, 3, 1, 2)
    t = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return t.permute(1, 0, 2, 3)


def _extract_i3d(frames_or_flow, spec: FeatureSpec, device: str, out: Path, desc: str) -> dict[str, Any]:
    import torch

    from vadflow.features.flow import flow_for_i3d
    from vadflow.windows import covering_windows, window_of_frame

    model, info = _i3d(spec.stream, spec.weights, device)
    n = frames_or_flow.n_frames if spec.stream == "rgb" else len(frames_or_flow.frame_index)
    windows = covering_windows(n, spec.window, spec.stride)
    clips_per_batch = max(1, spec.batch_size // spec.window)
    writer = FeatureStoreWriter(out, (model.out_dim,), spec.dtype, max(clips_per_batch, 16), expected=len(windows))
    for b in progress(range(0, len(windows), clips_per_batch), desc, total=-(-len(windows) // clips_per_batch)):
        clips = []
        for s, e in windows[b : b + clips_per_batch]:
            idx = np.clip(np.arange(s, s + spec.window), 0, n - 1)  # short last clip: repeat the last frame
            if spec.stream == "rgb":
                frames = frames_or_flow.read(s, e)[np.clip(idx - s, 0, e - s - 1)]
                if frames.shape[-1] == 1:
                    frames = np.repeat(frames, 3, axis=-1)
                clips.append(_clip_tensor(frames.astype(np.float32) / 127.5 - 1.0, spec.input_size))
            else:
                clips.append(_clip_tensor(flow_for_i3d(frames_or_flow.read(s, e)[np.clip(idx - s, 0, e - s - 1)]), spec.input_size))
        with torch.inference_mode():
            rows = model.extract_features(torch.stack(clips).to(device)).float().cpu().numpy()
        writer.append(rows, desc)
    writer.finish(window_of_frame(windows, n), windows, {"i3d": info, "window": spec.window})
    return {"i3d": info}


def extract_features(
    spec: FeatureSpec,
    spec_id: str,
    source: str | Path,
    out: str | Path,
    *,
    device: str = "auto",
    threads: int | None = None,
) -> dict[str, Any]:
    """Compute ``spec`` for one video. ``source`` is its frame store, or where the spec reads
    features (temporal_max, the i3d flow stream, a frame spec on flow images) the source spec's
    feature store of the same video."""
    # CPU-only kinds skip torch: their jobs are many (one per video) and short, so a torch
    # import would be most of their time
    if not spec.cpu_only:
        set_threads(threads)
    dev = "cpu" if spec.cpu_only else pick_device(device)
    source = Path(source)
    desc = f"{spec_id} {source.name}"
    t0 = time.perf_counter()
    with atomic_path(out) as tmp:
        if spec.reads_features:
            feats = FeatureStore(source)
            if spec.kind == "temporal_max":
                info = _extract_temporal_max(feats, spec, tmp, desc)
            elif spec.kind == "i3d":
                info = _extract_i3d(feats, spec, dev, tmp, desc)
            else:  # frame: the backbone on flow images
                n = len(feats.frame_index)
                info = _extract_frame(_flow_image_chunks(feats, spec.batch_size), n, spec, dev, tmp, desc)
        else:
            store = FrameStore(source)
            if spec.kind == "frame":
                info = _extract_frame(_frame_chunks(store, spec.batch_size), store.n_frames, spec, dev, tmp, desc)
            elif spec.kind == "dynamic_image":
                info = _extract_dynamic_images(store, spec, dev, tmp, desc)
            elif spec.kind == "flow":
                info = _extract_flow(store, spec, tmp, desc)
            elif spec.kind == "raw":
                info = _extract_raw(store, spec, tmp, desc)
            else:
                info = _extract_i3d(store, spec, dev, tmp, desc)
        seconds = time.perf_counter() - t0
        fs = FeatureStore(tmp)
        import zarr

        zarr.open_group(str(tmp), mode="r+").attrs.update(
            {
                "spec": spec.relevant(),
                "spec_id": spec_id,
                "source": str(source),
                "device": dev,
                "seconds": seconds,
                "vadflow_version": __version__,
                **info,
            }
        )
        print(f"{desc}: {fs.attrs['n_rows']} rows {tuple(fs.features.shape[1:])} in {seconds:.1f} s", file=sys.stderr)
    return info


def extract_shard(
    spec: FeatureSpec,
    spec_id: str,
    sources: Sequence[str | Path],
    outs: Sequence[str | Path],
    done: str | Path,
    *,
    device: str = "auto",
    threads: int | None = None,
) -> None:
    """``extract_features`` for every video of a shard (vadflow.data.shards), in one process so
    that imports and the backbone are paid once; then ``done``, the list of stores written."""
    import json

    for source, out in zip(sources, outs, strict=True):
        extract_features(spec, spec_id, source, out, device=device, threads=threads)
    with atomic_path(done) as tmp:
        tmp.write_text(json.dumps({"spec_id": spec_id, "stores": [str(o) for o in outs]}, indent=1))
