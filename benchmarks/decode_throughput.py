"""Decode throughput: vadflow's decode against a plain ffmpeg decode of the same file, for gray and RGB.

    .venv/bin/python benchmarks/decode_throughput.py [--frames 1500] [--size 240x360] [--repeats 5]
    .venv/bin/python benchmarks/decode_throughput.py --source ../shared/datasets/ucsd_ped2/testing/frames/04

It encodes a synthetic walkway video (H.264 yuv420p, like the datasets; or takes --source) and
times, per colour, each repeat running the three in turn so that load from other jobs hits all alike:
  plain      ffmpeg -i f -f null -                                    (decode only)
  same-graph ffmpeg -i f -vf scale=WxH:flags=area -pix_fmt P -f null -  (our filter graph; no pipe, no store)
  vadflow    decode_video(f, store)     (graph + rawvideo pipe + Zarr write + sha256 + probe)
The headline is "ratio" = plain time / vadflow time (the issue's goal: >= 0.8), the median over
repeats of each repeat's ratio; "best" is best-of-N plain / best-of-N vadflow. CPU seconds
(ffmpeg and this process together) are shown too: on a machine short of free cores the ratio
follows the CPU ratio, since every copy and compression competes with ffmpeg's decoder.
Writes benchmarks/out/decode_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from vadflow.data.decode import DecodeSpec, _FrameInput, decode_frames, decode_video
from vadflow.data.encode import write_mp4
from vadflow.data.ffmpeg_tools import ffmpeg_exe

GOAL = 0.8


def make_video(path: Path, frames: int, height: int, width: int) -> None:
    from vadflow.data.synth import WalkwayParams, walkway_videos

    params = WalkwayParams(height=height, width=width, n_train=1, n_test=0, frames_per_video=frames)
    video = next(walkway_videos(params, seed=0))
    write_mp4(video.frames, path, fps=25)


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn) -> tuple[float, float]:
    """(wall s, CPU s) of one call."""
    c0, t0 = _cpu_s(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, _cpu_s() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1500)
    ap.add_argument("--size", default="240x360", help="HxW of the synthetic video")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--source", help="benchmark this video or frame folder instead of a synthetic video")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "decode_throughput.json"))
    args = ap.parse_args()
    h, w = (int(x) for x in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="vadflow-bench-"))
    inp = None
    try:
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
        n_frames = sum(len(c) for c in decode_frames(video, DecodeSpec(h, w, "gray", 64)))
        rows = []
        for color, pix_fmt in (("gray", "gray"), ("rgb", "rgb24")):
            runs = {
                "plain": lambda: subprocess.run([ff, "-nostdin", "-v", "error", *input_args, "-f", "null", "-"],
                                                check=True),
                "graph": lambda: subprocess.run([ff, "-nostdin", "-v", "error", *input_args, "-vf",
                                                 f"scale={w}:{h}:flags=area", "-pix_fmt", pix_fmt, "-f", "null", "-"],
                                                check=True),
                "vadflow": lambda: decode_video(video, tmp / f"{color}.zarr", DecodeSpec(h, w, color)),
            }
            t: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
            for _ in range(args.repeats):
                for name, fn in runs.items():
                    t[name].append(timed(fn))
            wall = {k: [x[0] for x in v] for k, v in t.items()}
            cpu = {k: statistics.median(x[1] for x in v) for k, v in t.items()}
            rows.append({
                "source": str(args.source or "synthetic walkway (H.264)"),
                "color": color,
                "frames": n_frames,
                "size": [h, w],
                "repeats": args.repeats,
                "plain_fps": n_frames / min(wall["plain"]),
                "same_graph_fps": n_frames / min(wall["graph"]),
                "vadflow_fps": n_frames / min(wall["vadflow"]),
                "ratio_vs_plain": statistics.median(p / v for p, v in zip(wall["plain"], wall["vadflow"])),
                "ratio_vs_plain_best": min(wall["plain"]) / min(wall["vadflow"]),
                "ratio_vs_same_graph": statistics.median(g / v for g, v in zip(wall["graph"], wall["vadflow"])),
                "cpu_s": cpu,
                "cpu_ratio_vs_plain": cpu["plain"] / cpu["vadflow"],
            })
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))
        print(f"{n_frames} frames {h}x{w}, {args.repeats} repeats:"
              " fps are best-of, ratio is the median of per-repeat ratios")
        print(f"{'color':6s} {'plain fps':>9s} {'graph fps':>9s} {'vadflow fps':>11s}"
              f" {'ratio':>6s} {'best':>5s} {'vs graph':>8s} {'cpu s plain/vadflow':>20s}  goal >= {GOAL}")
        for r in rows:
            print(f"{r['color']:6s} {r['plain_fps']:9.0f} {r['same_graph_fps']:9.0f} {r['vadflow_fps']:11.0f}"
                  f" {r['ratio_vs_plain']:6.2f} {r['ratio_vs_plain_best']:5.2f} {r['ratio_vs_same_graph']:8.2f}"
                  f" {r['cpu_s']['plain']:9.2f} / {r['cpu_s']['vadflow']:<8.2f}"
                  f"  {'met' if r['ratio_vs_plain'] >= GOAL else 'NOT met'}")
        print(f"wrote {args.out}")
    finally:
        if inp is not None:
            inp.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
