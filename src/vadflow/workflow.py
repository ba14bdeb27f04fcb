"""Glue for the workflow's scripts: send a step's output to the rule's log."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path
from typing import Iterator

from vadflow.errors import VadflowError


@contextlib.contextmanager
def logged(log_path: str | os.PathLike | None) -> Iterator[None]:
    """Redirect stdout and stderr (Python's and child processes') to ``log_path``.

    A VadflowError is written to the log and re-raised with its message alone,
    so the user reads the file name and the fix, not a traceback.
    """
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except VadflowError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            raise
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])

