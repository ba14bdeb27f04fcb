"""Feature extraction throughput and memory: the extraction job (Zarr frames -> preprocess ->
backbone -> spatial pyramid -> Zarr features) against a bare loop of the same backbone's forward
pass on the same (already preprocessed) tensors and batch size. Goal: at least 0.9.

    .venv/bin/python benchmarks/feature_throughput.py [--frames 256] [--batch 32] [--size 224]

Peak memory is measured in fresh subprocesses for a short and a 4x longer video: it must not
grow with the video's length (extraction streams in chunks). Writes benchmarks/out/feature_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_store(path: Path, frames: int) -> None:
    from vadflow.data.decode import DecodeSpec, decode_video
    from vadflow.data.encode import write_mp4
    from vadflow.data.synth import WalkwayParams, walkway_videos

    video = next(walkway_videos(WalkwayParams(height=240, width=360, n_train=1, n_test=0, frames_per_video=frames), 0))
    write_mp4(video.frames, path.with_suffix(".mp4"), fps=25)
    decode_video(path.with_suffix(".mp4"), path, DecodeSpec(240, 360, "rgb"))


def bare_loop(store_path: Path, batch: int, size: int, device: str) -> float:
    """Frames/s of the backbone's forward pass alone, on preprocessed tensors already on the device."""
    import torch

    from vadflow.data.store import FrameStore
    from vadflow.features.backbones import build_backbone, preprocess

    net = build_backbone("efficientnet_lite0").to(device).eval()
    store = FrameStore(store_path)
    batches = [preprocess(store.read(s, s + batch), net, size).to(device) for s in range(0, store.n_frames, batch)]
    with torch.inference_mode():
        net(batches[0])  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for x in batches:
            net(x)
        if device == "cuda":
            torch.cuda.synchronize()
    return store.n_frames / (time.perf_counter() - t0)


def pipeline(store_path: Path, out: Path, batch: int, size: int, device: str) -> float:
    from vadflow.features.extract import extract_features
    from vadflow.features.spec import FeatureSpec

    spec = FeatureSpec(kind="frame", input_size=size, pooling="spp", batch_size=batch)
    extract_features(spec, "bench", store_path, out, device=device)  # warm-up (and builds the net)
    t0 = time.perf_counter()
    extract_features(spec, "bench", store_path, out, device=device)
    from vadflow.data.store import FrameStore

    return FrameStore(store_path).n_frames / (time.perf_counter() - t0)


def peak_rss_mb(store_path: Path, out: Path, batch: int, size: int, device: str) -> float:
    code = (
        "import sys; from vadflow.features.extract import extract_features; from vadflow.features.spec import FeatureSpec;"
        f"extract_features(FeatureSpec(kind='frame', input_size={size}, batch_size={batch}), 'bench', sys.argv[1], sys.argv[2], device='{device}');"
        "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(store_path), str(out)], capture_output=True, text=True, check=True)
    return int(proc.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--long-factor", type=int, default=4, help="the long video has this many times more frames")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "feature_throughput.json"))
    args = ap.parse_args()
    from vadflow.runtime import pick_device

    device = pick_device(args.device)
    tmp = Path(tempfile.mkdtemp(prefix="vadflow-featbench-"))
    short, long = tmp / "short.zarr", tmp / "long.zarr"
    make_store(short, args.frames)
    make_store(long, args.long_factor * args.frames)
    bare = max(bare_loop(short, args.batch, args.size, device) for _ in range(args.repeats))
    ours = max(pipeline(short, tmp / "f.zarr", args.batch, args.size, device) for _ in range(args.repeats))
    rss_short = peak_rss_mb(short, tmp / "fs.zarr", args.batch, args.size, device)
    rss_long = peak_rss_mb(long, tmp / "fl.zarr", args.batch, args.size, device)
    result = {
        "device": device,
        "backbone": "efficientnet_lite0",
        "batch": args.batch,
        "input_size": args.size,
        "frames": args.frames,
        "bare_forward_fps": bare,
        "pipeline_fps": ours,
        "ratio": ours / bare,
        "peak_rss_mb": {f"{args.frames} frames": rss_short, f"{args.long_factor * args.frames} frames": rss_long},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
