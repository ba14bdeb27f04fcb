"""What every compute step shares: device choice, seeding, threads, progress bars, prefetching.

Used by feature extraction, training and scoring alike; it imports torch lazily so that
modules which only check config stay light.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any, Iterable, Iterator

import numpy as np

from vadflow.errors import ConfigError


def pick_device(preference: str = "auto") -> str:
    """'cuda' when asked for or when auto and a GPU is present, else 'cpu'."""
    import torch

    if preference == "cpu":
        return "cpu"
    if preference == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device: cuda was requested but no CUDA device is available", "use device: auto or cpu")
        return "cuda"
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) and ask cuDNN for deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def flush_denormals() -> None:
    """Treat subnormal floats as zero on CPU. A network whose gradients or weights decay into the
    subnormal range (DeepMIL's sigmoid-saturated scorer under Adagrad and weight decay) otherwise
    slows step by step, 9x by its 300th step on this CPU (benchmarks/denormals.py); values below
    1.2e-38 change nothing a result depends on. GPUs are unaffected. The flag is per thread: call
    this before torch starts its worker threads (before ``set_threads`` and any tensor work)."""
    import torch

    torch.set_flush_denormal(True)


def set_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(int(threads))


def progress(iterable: Iterable, desc: str, total: int | None = None, initial: int = 0):
    """A tqdm bar on stderr (which the workflow sends to the rule's log)."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable, desc=desc, total=total, initial=initial, file=sys.stderr, mininterval=2.0, dynamic_ncols=True
    )


def prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Compute the next ``depth`` items of ``items`` in a background thread (bounded memory)."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def work() -> None:
        try:
            for item in items:
                q.put((item, None))
        except BaseException as exc:  # handed to the consumer
            q.put((None, exc))
        q.put((done, None))

    threading.Thread(target=work, daemon=True).start()
    while True:
        item, exc = q.get()
        if exc is not None:
            raise exc
        if item is done:
            return
        yield item


def report_gpu_peak(device: str) -> float | None:
    """Print the process's peak CUDA memory to the job's log (``peak GPU memory: N MB``, which the
    report's cost table reads) and return it in MB; None on the CPU."""
    if device != "cuda":
        return None
    import torch

    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"peak GPU memory: {peak:.0f} MB", file=sys.stderr)
    return peak

