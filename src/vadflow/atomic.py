"""Write-then-rename, so that a failed or interrupted step never leaves a partial output."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``final``; move it into place only if the block succeeds.

    Works for files and directories (Zarr stores). The temporary path lives in
    the same directory, so the final ``os.replace`` is atomic on one file system.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if not _is_dir(tmp) and not _is_dir(final):
        os.replace(tmp, final)  # a file replaces a file atomically, whoever else writes it
        return
    # a directory cannot replace a non-empty one: move the old one aside (atomic), put ours in
    # place, then drop the old one; a writer racing on the same path never sees an error
    for _ in range(10):
        aside = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.replace(final, aside)
        except FileNotFoundError:
            aside = None
        try:
            os.replace(tmp, final)
        except OSError:  # another writer put its own in place between our two renames: again
            if aside is not None:
                _remove(aside)
            continue
        if aside is not None:
            _remove(aside)
        return
    _remove(tmp)
    raise OSError(f"could not move a new {final} into place: other processes keep writing it")


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
