"""Clips/s of the engine's clip loader (Zarr frame stores, read by time chunk with a bounded
cache) against reading the same clips from a folder of JPEG frames, one file per frame, which
is what most published VAD code does. Goal (issue 10): at least 3x on a 2-core machine.

One UCSD-Ped2-sized gray video (240x360, 16 frames per Zarr chunk, lz4 as the decode step
writes it) with a textured, moving scene; random training clips of 10 frames at temporal
strides 1-3 (Conv-AE's sampling), shuffled, read through a DataLoader in batches of 32 (the
same loop for both). Reported: the loader as the engine runs it (cache on), without its cache
(every clip decodes its chunks afresh), and the JPEG folder.

    .venv/bin/python benchmarks/clip_loader.py [--frames 600] [--clips 3000] [--workers 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from vadflow.data.store import FrameStoreWriter
from vadflow.methods.api import InputSpec
from vadflow.methods.engine.data import ClipDataset, FrameChunkCache

H, W, L = 240, 360, 10


def scene(n: int, seed: int = 0) -> np.ndarray:
    """A textured background with bright moving blobs and sensor noise (compresses like video)."""
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(0, 255, (H, W)).astype(np.uint8), (0, 0), 3)
    yy, xx = np.mgrid[0:H, 0:W]
    out = np.empty((n, H, W), np.uint8)
    for t in range(n):
        f = bg.astype(np.float32)
        for k in range(6):
            cy, cx = (40 + 30 * k + 2 * t) % H, (20 + 55 * k + 3 * t) % W
            f += 90 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 120.0)
        out[t] = np.clip(f + rng.normal(0, 3, (H, W)), 0, 255).astype(np.uint8)
    return out


class JpegClips(torch.utils.data.Dataset):
    """What published code does: read each frame of a clip from its own JPEG file."""

    def __init__(self, folder: Path, clips: list[np.ndarray]):
        self.files = sorted(folder.glob("*.jpg"))
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> torch.Tensor:
        frames = [cv2.imread(str(self.files[j]), cv2.IMREAD_GRAYSCALE) for j in self.clips[i]]
        return torch.from_numpy(np.stack(frames)[:, None])


def clips_per_second(dataset, workers: int) -> float:
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=False, num_workers=workers)
    t0 = time.perf_counter()
    n = 0
    for batch in loader:
        n += len(batch)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--clips", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    clips = []
    for _ in range(a.clips):
        stride = int(rng.integers(1, 4))
        start = int(rng.integers(0, a.frames - (L - 1) * stride))
        clips.append(start + stride * np.arange(L))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = scene(a.frames)
        jpg = tmp / "frames"
        jpg.mkdir()
        for t, f in enumerate(video):
            cv2.imwrite(str(jpg / f"{t:05d}.jpg"), f, [cv2.IMWRITE_JPEG_QUALITY, 95])
        w = FrameStoreWriter(tmp / "video.zarr", H, W, 1)
        w.append(video[..., None])
        w.close()
        w.set_attrs({"n_frames": a.frames, "fps": 10.0})
        spec = InputSpec(color="gray", clip_length=L)
        index = [(0, c) for c in clips]

        jpeg = clips_per_second(JpegClips(jpg, clips), a.workers)
        cached = clips_per_second(ClipDataset(FrameChunkCache([tmp / "video.zarr"], spec, 1024), index), a.workers)
        uncached = clips_per_second(ClipDataset(FrameChunkCache([tmp / "video.zarr"], spec, 0), index), a.workers)
        jpeg_mb = sum(p.stat().st_size for p in jpg.iterdir()) / 2**20
        zarr_mb = sum(p.stat().st_size for p in (tmp / "video.zarr").rglob("*") if p.is_file()) / 2**20

    print(f"{a.clips} random {L}-frame clips (strides 1-3) of a {a.frames}-frame {H}x{W} gray video, "
          f"DataLoader batch 32, {a.workers} workers")
    print(f"  JPEG folder (one file per frame, {jpeg_mb:.1f} MB): {jpeg:8.1f} clips/s")
    print(f"  Zarr clip loader, no cache ({zarr_mb:.1f} MB):        {uncached:8.1f} clips/s  "
          f"({uncached / jpeg:.2f}x JPEG)")
    print(f"  Zarr clip loader, as the engine runs it:      {cached:8.1f} clips/s  ({cached / jpeg:.2f}x JPEG)")
    print(f"ratio (engine loader / JPEG folder): {cached / jpeg:.2f}  (goal >= 3)")


if __name__ == "__main__":
    main()
