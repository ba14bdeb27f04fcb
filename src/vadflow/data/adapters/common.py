"""What several adapters share: interval conventions, annotation files, root-relative paths, messages."""

from __future__ import annotations

from pathlib import Path

from vadflow.data.decode import natural_key
from vadflow.data.ffmpeg_tools import probe
from vadflow.errors import DataError


def listing(folder: Path, limit: int = 12) -> str:
    """A short listing of a folder's entries, for messages about unrecognised layouts."""
    names = sorted((p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()), key=natural_key)
    if not names:
        return "nothing"
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def half_open(start: int, end: int, *, one_indexed: bool, inclusive: bool, where: str) -> tuple[int, int]:
    """Convert an annotated frame interval to vadflow's 0-indexed [start, end)."""
    s = start - 1 if one_indexed else start
    e = end - (1 if one_indexed else 0) + (1 if inclusive else 0)
    if s < 0 or e <= s:
        convention = f"{'1' if one_indexed else '0'}-indexed, {'inclusive' if inclusive else 'exclusive'} end"
        raise DataError(
            f"{where}: interval {start} {end} is empty or starts before the first frame (read as {convention})",
            "write 'start end' with start <= end, or set the options one_indexed / inclusive to the file's convention",
        )
    return s, e


def read_interval_file(path: Path, *, one_indexed: bool, inclusive: bool) -> list[tuple[int, int]]:
    """Anomalous intervals from a text file of ``start end`` lines, as sorted 0-indexed [start, end)."""
    if not path.is_file():
        raise DataError(f"annotation file {path} does not exist", "give the path of your 'start end' annotation file")
    intervals = []
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        fields = line.split()
        try:
            start, end = (int(f) for f in fields)
        except ValueError:
            raise DataError(
                f"{path}:{no}: expected two frame numbers 'start end', found {raw.strip()!r}",
                "write one anomaly per line as two integers",
            ) from None
        intervals.append(half_open(start, end, one_indexed=one_indexed, inclusive=inclusive, where=f"{path}:{no}"))
    return sorted(intervals)


def probe_frame_count(video: Path, fps: float | None = None) -> tuple[float, int | None]:
    """(fps, estimated frame count) from the container header: duration x fps, so only an estimate."""
    info = probe(["-i", str(video)], video)
    fps = fps or info.fps
    if not fps:
        raise DataError(f"{video}: the frame rate cannot be read from the file", "give the option fps")
    estimate = round(info.duration_s * fps) if info.duration_s else None
    return fps, estimate


def resolve_in_root(root: Path, value: str | Path) -> Path:
    """An option path: absolute as given, else relative to the dataset root."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p
