"""Decode throughput: vadflow's decode (ffmpeg graph -> pipe -> Zarr store) against a plain
`ffmpeg -i VIDEO -f null -` decode of the same file. Goal: at least 0.8 of the plain decode.

    .venv/bin/python benchmarks/decode_throughput.py [--frames 1500] [--size 240x360] [--repeats 3]
    .venv/bin/python benchmarks/decode_throughput.py --source ../shared/datasets/ucsd_ped2/testing/frames/04

It encodes a synthetic walkway video (H.264, like the datasets), then times, best of N:
  plain      ffmpeg -i f -f null -                       (decode only)
  same-graph ffmpeg -i f -vf scale=WxH -pix_fmt P -f null -  (our filter graph, no pipe, no store)
  vadflow    decode_video(f, store)                       (graph + pipe + Zarr write + sha256)
and writes benchmarks/out/decode_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from vadflow.data.decode import DecodeSpec, decode_frames, decode_video
from vadflow.data.encode import write_mp4
from vadflow.data.ffmpeg_tools import ffmpeg_exe


def make_video(path: Path, frames: int, height: int, width: int) -> None:
    from vadflow.data.synth import WalkwayParams, walkway_videos

    params = WalkwayParams(height=height, width=width, n_train=1, n_test=0, frames_per_video=frames)
    video = next(walkway_videos(params, seed=0))
    write_mp4(video.frames, path, fps=25)


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1500)
    ap.add_argument("--size", default="240x360", help="HxW of the test video")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--source", help="benchmark this video or frame folder instead of a synthetic video")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "decode_throughput.json"))
    args = ap.parse_args()
    h, w = (int(x) for x in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="vadflow-bench-"))
    try:
        from vadflow.data.decode import _FrameInput

        if args.source:
            video = Path(args.source)
        else:
            video = tmp / "walkway.mp4"
            make_video(video, args.frames, h, w)
        inp = _FrameInput(video, 10.0)  # frame folders are read through a renumbered image2 view
        info = inp.probe()
        h, w = info.height, info.width
        input_args = [a for k, v in inp.kwargs.items() for a in (f"-{k}", str(v))] + ["-i", inp.path]
        ff = ffmpeg_exe()
        args.frames = sum(len(c) for c in decode_frames(video, DecodeSpec(h, w, "gray", 64)))
        rows = []
        for color, pix_fmt in (("gray", "gray"), ("rgb", "rgb24")):
            plain = best_of(args.repeats, lambda: subprocess.run(
                [ff, "-nostdin", "-v", "error", *input_args, "-f", "null", "-"], check=True))
            graph = best_of(args.repeats, lambda: subprocess.run(
                [ff, "-nostdin", "-v", "error", *input_args, "-vf", f"scale={w}:{h}:flags=area",
                 "-pix_fmt", pix_fmt, "-f", "null", "-"], check=True))
            store = tmp / f"{color}.zarr"
            ours = best_of(args.repeats, lambda: decode_video(video, store, DecodeSpec(h, w, color)))
            rows.append({
                "source": str(args.source or "synthetic walkway (H.264)"),
                "color": color,
                "frames": args.frames,
                "size": [h, w],
                "plain_fps": args.frames / plain,
                "same_graph_fps": args.frames / graph,
                "vadflow_fps": args.frames / ours,
                "ratio_vs_plain": plain / ours,
                "ratio_vs_same_graph": graph / ours,
            })
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))
        print(f"{'color':6s} {'plain fps':>10s} {'graph fps':>10s} {'vadflow fps':>12s} {'vs plain':>9s} {'vs graph':>9s}")
        for r in rows:
            print(f"{r['color']:6s} {r['plain_fps']:10.0f} {r['same_graph_fps']:10.0f} {r['vadflow_fps']:12.0f}"
                  f" {r['ratio_vs_plain']:9.2f} {r['ratio_vs_same_graph']:9.2f}")
        print(f"wrote {args.out}")
    finally:
        inp.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
