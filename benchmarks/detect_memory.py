"""Peak memory of `vadflow detect` on a 1-minute and a 10-minute video: decoding, features and
scoring stream, so the peak should stay of the same order (issue 18's goal), not grow tenfold.

The videos are synthetic (a textured background with a bright square moving across, at the model's
frame size, 10 fps), written chunk by chunk. Each detect runs in a process of its own, which reports
its own peak resident memory (ru_maxrss).

    .venv/bin/python benchmarks/detect_memory.py --model work/walkway/models/conv_ae/model.pt [--minutes 1 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import json, resource, sys, time
from vadflow.detect import detect
t = time.perf_counter()
rows = detect(sys.argv[1], [sys.argv[2]], sys.argv[3], overlay=True)
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - t, "error": rows[0]["error"]}))
"""


def write_video(path: Path, frames: int, height: int, width: int, fps: float = 10.0) -> None:
    """A square moving over a fixed noisy background, encoded by the project's ffmpeg chunk by chunk."""
    import ffmpeg

    from vadflow.data.ffmpeg_tools import ffmpeg_exe

    rng = np.random.default_rng(0)
    background = rng.integers(40, 90, (height, width, 3), dtype=np.uint8)
    proc = ffmpeg.run_async(
        ffmpeg.output(ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps),
                      str(path), vcodec="libx264", pix_fmt="yuv420p", crf=20).global_args("-loglevel", "error"),
        cmd=ffmpeg_exe(), pipe_stdin=True)
    size = max(4, height // 8)
    for start in range(0, frames, 100):
        chunk = np.repeat(background[None], min(100, frames - start), axis=0)
        for i, frame in enumerate(chunk):
            x = (3 * (start + i)) % (width - size)
            frame[height // 2 - size // 2: height // 2 + size // 2, x: x + size] = 230
        proc.stdin.write(chunk.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg could not write {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    a = ap.parse_args()
    import torch

    inputs = torch.load(a.model, map_location="cpu", weights_only=True)["inputs"]
    h, w = inputs["height"] - inputs["height"] % 2, inputs["width"] - inputs["width"] % 2
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in a.minutes:
            video = Path(tmp) / f"video_{minutes:g}min.mp4"
            write_video(video, int(minutes * 600), h, w)
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, a.model, str(video), str(Path(tmp) / f"out{minutes:g}")],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{minutes:g} min ({int(minutes * 600)} frames of {h}x{w}): peak RSS {r['peak_rss_mb']:.0f} MB, "
                  f"{r['seconds']:.1f} s{' ERROR ' + r['error'] if r['error'] else ''}")


if __name__ == "__main__":
    main()
