"""Decode a video file or a frame folder into a Zarr frame store, streaming in bounded memory.

Resizing and colour conversion happen inside the ffmpeg filter graph (built with
ffmpeg-python); Python only moves raw frames from ffmpeg's pipe into the store.
Frame folders (JPEG/PNG/TIFF/BMP sequences) take the same path, through ffmpeg's
image2 demuxer over a naturally sorted, renumbered view of the folder.
"""

from __future__ import annotations

import hashlib
import queue
import re
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import ffmpeg
import numpy as np

from vadflow import __version__
from vadflow.atomic import atomic_path
from vadflow.data.ffmpeg_tools import VideoInfo, ffmpeg_exe, probe
from vadflow.data.store import FrameStoreWriter
from vadflow.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv")
COLOR_PIX_FMT = {"gray": ("gray", 1), "rgb": ("rgb24", 3)}


@dataclass(frozen=True)
class DecodeSpec:
    """How frames are stored: size (None keeps the source's), colour, chunking, and
    the frame rate assumed for image sequences (which carry none)."""

    height: int | None = None
    width: int | None = None
    color: str = "gray"
    chunk_frames: int = 16
    frame_folder_fps: float = 10.0

    def __post_init__(self) -> None:
        if self.color not in COLOR_PIX_FMT:
            raise DataError(f"decode color {self.color!r} is not known", "use 'gray' or 'rgb'")
        if (self.height is None) != (self.width is None):
            raise DataError("decode needs both height and width, or neither", "set both decode.height and decode.width")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "DecodeSpec":
        return cls(**(d or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def natural_key(name: str) -> list[Any]:
    """Sort '2.jpg' before '10.jpg'."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def list_frame_files(folder: Path) -> list[Path]:
    # hidden files (macOS "._001.tif" metadata, editors' backups) are never frames
    files = [
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    files.sort(key=lambda p: natural_key(p.name))
    suffixes = {p.suffix.lower() for p in files}
    if len(suffixes) > 1:
        raise DataError(
            f"frame folder {folder} mixes image types {sorted(suffixes)}",
            "keep one image format per folder",
        )
    return files


def sha256_of(source: Path) -> str:
    """Content hash of a file, or of a frame folder (names and bytes of its frames)."""
    h = hashlib.sha256()
    files = list_frame_files(source) if source.is_dir() else [source]
    for f in files:
        if source.is_dir():
            h.update(f.name.encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


class _FrameInput:
    """ffmpeg input arguments for a video file or a frame folder (a renumbered symlink view)."""

    def __init__(self, source: Path, frame_folder_fps: float):
        self.source = source
        self.tmpdir: tempfile.TemporaryDirectory | None = None
        if not source.exists():
            raise DataError(f"input {source} does not exist", "check the dataset root and the video name in the manifest")
        if source.is_dir():
            files = list_frame_files(source)
            if not files:
                raise DataError(
                    f"frame folder {source} holds no frames",
                    f"put the frames there as {'/'.join(IMAGE_EXTENSIONS)} files, or remove the folder",
                )
            self.tmpdir = tempfile.TemporaryDirectory(prefix="vadflow-frames-")
            ext = files[0].suffix.lower()
            for i, f in enumerate(files):
                (Path(self.tmpdir.name) / f"{i:07d}{ext}").symlink_to(f.resolve())
            self.n_files = len(files)
            self.path = str(Path(self.tmpdir.name) / f"%07d{ext}")
            self.kwargs: dict[str, Any] = {"f": "image2", "framerate": frame_folder_fps, "start_number": 0}
            self.fps = frame_folder_fps
        else:
            if source.stat().st_size == 0:
                raise DataError(f"video {source} is empty (0 bytes)", "re-copy the file, or remove it from the dataset")
            self.n_files = None
            self.path = str(source)
            self.kwargs = {}
            self.fps = None

    def probe(self) -> VideoInfo:
        args = []
        for k, v in self.kwargs.items():
            args += [f"-{k}", str(v)]
        info = probe(args + ["-i", self.path], self.source)
        return info

    def close(self) -> None:
        if self.tmpdir is not None:
            self.tmpdir.cleanup()


def _widen_pipe(pipe, size: int = 1 << 20) -> None:
    """Ask Linux for a 1 MiB pipe buffer (default 64 KiB): fewer context switches per frame."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError):
        pass  # not Linux, or above the system's limit: the default works, a little slower


def _stream_frames(
    inp: _FrameInput,
    out_h: int,
    out_w: int,
    color: str,
    scale_flags: str,
    chunk_frames: int,
    frame_range: tuple[int, int | None] | None = None,
):
    """Yield (n, H, W, C) uint8 chunks from ffmpeg's rawvideo pipe; raise DataError if ffmpeg fails.

    ``frame_range`` [start, end) keeps a segment of the video (Subway, UMN: train and test are
    segments of one file), cut inside the ffmpeg graph."""
    pix_fmt, channels = COLOR_PIX_FMT[color]
    stream = ffmpeg.input(inp.path, **inp.kwargs)
    if frame_range is not None:
        start, end = frame_range
        trim = {"start_frame": start} if end is None else {"start_frame": start, "end_frame": end}
        stream = stream.trim(**trim).setpts("PTS-STARTPTS")
    stream = stream.filter("scale", out_w, out_h, flags=scale_flags)
    stream = ffmpeg.output(stream, "pipe:", format="rawvideo", pix_fmt=pix_fmt)
    stream = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-xerror")
    proc = ffmpeg.run_async(stream, cmd=ffmpeg_exe(), pipe_stdout=True, pipe_stderr=True)
    _widen_pipe(proc.stdout)
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    drain.start()
    try:
        while True:
            batch = np.empty((chunk_frames, out_h, out_w, channels), np.uint8)
            view = memoryview(batch).cast("B")
            got = 0
            while got < len(view) and (n := proc.stdout.readinto(view[got:])):
                got += n
            frames = got // batch[0].nbytes
            if frames:
                yield batch[:frames]
            if got < len(view):
                break  # end of stream (a partial last frame means it was cut; ffmpeg's exit status says why)
    finally:
        proc.stdout.close()
        rc = proc.wait()
        drain.join()
    message = b"".join(errors).decode(errors="replace").strip()
    if rc != 0:
        tail = "\n".join(message.splitlines()[-4:])
        raise DataError(
            f"{inp.source}: ffmpeg could not decode it (exit {rc}): {tail}",
            "the file is corrupt or truncated: re-copy or re-encode it, or remove it from the dataset",
        )


def decode_frames(source: str | Path, spec: DecodeSpec, *, scale_flags: str = "area"):
    """Yield decoded chunks of a video or frame folder; returns nothing else. For tools and tests."""
    inp = _FrameInput(Path(source), spec.frame_folder_fps)
    try:
        info = inp.probe()
        h, w = (spec.height, spec.width) if spec.height else (info.height, info.width)
        yield from _stream_frames(inp, h, w, spec.color, scale_flags, spec.chunk_frames)
    finally:
        inp.close()


class _BackgroundWriter:
    """Writes chunks to a FrameStoreWriter from a second thread while the main thread drains
    ffmpeg's pipe, so decoding and compression overlap. The queue is bounded (memory stays bounded)."""

    def __init__(self, writer: FrameStoreWriter, max_pending: int = 4):
        self.writer = writer
        self.queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.writer.append(batch)
                except BaseException as exc:  # re-raised in the main thread
                    self.error = exc

    def put(self, chunk: np.ndarray) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        self.writer.close()

    def abort(self) -> None:
        self.queue.put(None)
        self.thread.join()


def resize_masks_nearest(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of (T, H, W) masks to the store's resolution."""
    t, h, w = masks.shape
    if (h, w) == (height, width):
        return masks.astype(bool)
    rows = np.minimum(((np.arange(height) + 0.5) * h / height).astype(int), h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * w / width).astype(int), w - 1)
    return masks[:, rows][:, :, cols].astype(bool)


def decode_video(
    source: str | Path,
    out: str | Path,
    spec: DecodeSpec = DecodeSpec(),
    *,
    labels: np.ndarray | Callable[[int], np.ndarray] | None = None,
    masks: np.ndarray | None = None,
    expected_frames: int | None = None,
    frame_range: tuple[int, int | None] | None = None,
    extra_attrs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Decode ``source`` into the frame store ``out`` (written to a temporary path, then moved).

    ``labels`` (T,) (or a function of the decoded frame count that returns them) and
    ``masks`` (T, H, W) at any resolution are checked against the decoded frame count
    and stored beside the frames, as is ``expected_frames`` where an annotation states
    the count. Returns the store's attributes.
    """
    source = Path(source)
    inp = _FrameInput(source, spec.frame_folder_fps)
    digest: list[str] = []
    hasher = threading.Thread(target=lambda: digest.append(sha256_of(source)), daemon=True)
    hasher.start()
    try:
        info = inp.probe()
        out_h, out_w = (spec.height, spec.width) if spec.height else (info.height, info.width)
        _, channels = COLOR_PIX_FMT[spec.color]
        expected = inp.n_files or (round(info.duration_s * info.fps) if info.duration_s and info.fps else 0)
        if frame_range is not None:
            expected = (frame_range[1] or expected) - frame_range[0]
        with atomic_path(out) as tmp:
            writer = FrameStoreWriter(tmp, out_h, out_w, channels, spec.chunk_frames, expected=expected)
            background = _BackgroundWriter(writer)
            try:
                frames = _stream_frames(inp, out_h, out_w, spec.color, "area", 4 * spec.chunk_frames, frame_range)
                for chunk in frames:
                    background.put(chunk)
            except BaseException:
                background.abort()
                raise
            background.finish()
            n = writer.n_frames
            if n == 0:
                raise DataError(f"{source}: decoded zero frames", "the video holds no frames: re-encode it or remove it")
            if frame_range is not None and frame_range[1] is not None and n != frame_range[1] - frame_range[0]:
                raise DataError(
                    f"{source}: frames {frame_range[0]}..{frame_range[1] - 1} were asked for but the video gave {n}",
                    "the video is shorter than the annotation says: check the annotation and the video",
                )
            if expected_frames is not None and expected_frames != n:
                raise DataError(
                    f"{source}: the annotation says {expected_frames} frames but the video has {n}",
                    "check that the annotation file matches this copy of the dataset",
                )
            if callable(labels):
                labels = labels(n)
            if labels is not None:
                labels = np.asarray(labels).reshape(-1)
                if labels.shape[0] != n:
                    raise DataError(
                        f"{source}: the labels have {labels.shape[0]} frames but the video has {n}",
                        "fix the label file so it has one value per frame of this video",
                    )
                writer.set_labels(labels)
            if masks is not None:
                if masks.ndim != 3 or masks.shape[0] != n:
                    raise DataError(
                        f"{source}: the pixel masks have shape {tuple(masks.shape)} but the video has {n} frames",
                        "give one (H, W) mask per frame of this video",
                    )
                writer.set_masks(resize_masks_nearest(masks, out_h, out_w))
            hasher.join()
            attrs = {
                "fps": float(info.fps or inp.fps or spec.frame_folder_fps),
                "source": str(source),
                "source_sha256": digest[0] if digest else None,
                "source_size": [info.height, info.width],
                "decode": spec.to_dict(),
                "n_frames": n,
                "height": out_h,
                "width": out_w,
                "channels": channels,
                "has_labels": labels is not None,
                "has_masks": masks is not None,
                "frame_range": list(frame_range) if frame_range is not None else None,
                "vadflow_version": __version__,
                **(extra_attrs or {}),
            }
            if inp.n_files is not None and inp.n_files != n and frame_range is None:
                raise DataError(
                    f"{source}: the folder holds {inp.n_files} frames but ffmpeg decoded {n}",
                    "check for unreadable images in the folder",
                )
            writer.set_attrs(attrs)
    finally:
        inp.close()
    return attrs


def decode_mask_folder(folder: str | Path, height: int | None = None, width: int | None = None) -> np.ndarray:
    """Read a folder of per-frame mask images (any value > 127 is anomalous) as (T, H, W) bool."""
    spec = DecodeSpec(height=height, width=width, color="gray", chunk_frames=64)
    inp = _FrameInput(Path(folder), spec.frame_folder_fps)
    try:
        info = inp.probe()
        h, w = (height, width) if height else (info.height, info.width)
        chunks = [c[..., 0] > 127 for c in _stream_frames(inp, h, w, "gray", "neighbor", 64)]
    finally:
        inp.close()
    return np.concatenate(chunks) if chunks else np.zeros((0, 1, 1), bool)
