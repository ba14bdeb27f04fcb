"""The ffmpeg binary (from imageio-ffmpeg) and a header probe that needs no ffprobe."""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vadflow.errors import DataError


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped inside the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float | None
    duration_s: float | None


_STREAM = re.compile(r"Stream #\d+:\d+.*?: Video: .*?(?P<w>\d{2,5})x(?P<h>\d{2,5})")
_FPS = re.compile(r"(?P<fps>\d+(?:\.\d+)?) (?:fps|tbr)")
_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")


def parse_ffmpeg_header(text: str) -> VideoInfo | None:
    """Read size, frame rate and duration from the banner ``ffmpeg -i`` prints."""
    for line in text.splitlines():
        m = _STREAM.search(line)
        if not m:
            continue
        fps_m = _FPS.search(line)
        dur_m = _DURATION.search(text)
        duration = None
        if dur_m:
            duration = int(dur_m["h"]) * 3600 + int(dur_m["m"]) * 60 + float(dur_m["s"])
        return VideoInfo(int(m["w"]), int(m["h"]), float(fps_m["fps"]) if fps_m else None, duration)
    return None


def probe(input_args: list[str], shown_path: str | Path) -> VideoInfo:
    """Probe a video (or an image-sequence input) with ``ffmpeg -i``; raise DataError if unreadable."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *input_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    info = parse_ffmpeg_header(proc.stderr)
    if info is None:
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise DataError(
            f"{shown_path}: not a readable video (ffmpeg found no video stream): {tail}",
            "check that the file is a complete video (re-copy or re-encode it), or remove it from the dataset",
        )
    return info
