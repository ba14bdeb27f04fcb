"""Encode frames as H.264 MP4 through ffmpeg (used for the synthetic datasets)."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
import numpy as np

from vadflow.atomic import atomic_path
from vadflow.data.ffmpeg_tools import ffmpeg_exe
from vadflow.errors import DataError


def to_gray(frames: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of (..., 3) RGB frames, as uint8 (..., 1)."""
    luma = frames[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None]


def write_mp4(
    frames: np.ndarray, path: str | Path, fps: float, *, color: str = "rgb", crf: int = 17, lossless: bool = False
) -> None:
    """Write (T, H, W, 3) uint8 RGB frames as an H.264 MP4; ``color='gray'`` stores luma only.

    Lossy (the default): yuv420p keeps the files playable everywhere; a low CRF keeps compression
    artefacts well below the scenes' sensor noise. It needs an even frame size.
    ``lossless=True``: H.264's lossless mode (qp 0) without chroma subsampling, so any frame size and
    the exact pixel values: 8-bit 4:0:0 (pix_fmt gray) for ``gray``, libx264rgb (RGB 4:4:4) for ``rgb``.
    For content where a few pixels matter, such as the moving digits' 3x3 white box.
    """
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    t, h, w, _ = frames.shape
    if (h % 2 or w % 2) and not lossless:
        raise DataError(
            f"{path}: H.264 in yuv420p needs an even frame size, got {h}x{w}",
            "use even height and width, or lossless encoding (datasets.<name>.lossless: true)",
        )
    if color == "gray":
        frames = np.repeat(to_gray(frames), 3, axis=-1)
    if lossless:
        frames = frames[..., :1] if color == "gray" else frames
        in_fmt = "gray" if color == "gray" else "rgb24"
        codec = dict(vcodec="libx264", pix_fmt="gray") if color == "gray" else dict(vcodec="libx264rgb", pix_fmt="rgb24")
        codec["qp"] = 0
    else:
        in_fmt = "rgb24"
        codec = dict(vcodec="libx264", pix_fmt="yuv420p", crf=crf)
    stream = ffmpeg.input("pipe:", format="rawvideo", pix_fmt=in_fmt, s=f"{w}x{h}", framerate=fps)
    with atomic_path(path) as tmp:
        stream_out = ffmpeg.output(stream, str(tmp), preset="medium", f="mp4", **codec).global_args(
            "-nostdin", "-hide_banner", "-loglevel", "error"
        )
        proc = ffmpeg.run_async(stream_out, cmd=ffmpeg_exe(), pipe_stdin=True, pipe_stderr=True)
        _, err = proc.communicate(input=np.ascontiguousarray(frames).tobytes())
        if proc.returncode != 0:
            raise DataError(f"{path}: ffmpeg could not encode: {err.decode(errors='replace')[-500:]}", "check disk space")
