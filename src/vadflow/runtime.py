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


#: values of CUDA_VISIBLE_DEVICES that give a job no GPU
_NO_GPU = ("", "-1", "none", "NoDevFiles")


def allocated_gpus() -> str | None:
    """The GPUs a scheduler gave this job (``CUDA_VISIBLE_DEVICES``, Slurm's ``SLURM_JOB_GPUS`` /
    ``SLURM_STEP_GPUS``), as the variable says them; None where nothing was allocated."""
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        value = os.environ.get(var)
        if value is not None and value.strip() not in _NO_GPU:
            return f"{var}={value}"
    return None


def cuda_problem() -> str | None:
    """Why torch cannot compute on CUDA here, or None when it can (a tensor is made and used on
    the GPU: ``is_available`` alone passes on some nodes whose driver then fails)."""
    import torch

    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build"
    if not torch.cuda.is_available():
        return (f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable GPU: "
                "no device, or a driver older than that CUDA")
    try:
        (torch.ones(1, device="cuda") + 1).item()
    except Exception as exc:  # a broken driver or device says so here
        return f"a first CUDA operation failed: {str(exc).splitlines()[0]}"
    return None


def pick_device(preference: str = "auto", claim: bool = True) -> str:
    """'cuda' when asked for or when auto and a usable GPU is present, else 'cpu'.

    ``cuda`` fails at once when CUDA cannot be used; so does ``auto`` where a scheduler allocated
    GPUs to the job that torch cannot use (a CPU run there would silently take hours). With
    ``claim`` and several GPUs visible, this process takes one no other vadflow job on the node
    holds (``claim_gpus``) and makes it the current device, so local jobs spread over the GPUs."""
    if preference == "cpu":
        return "cpu"
    problem = cuda_problem()
    if preference == "cuda" and problem:
        raise ConfigError(f"device: cuda was requested but CUDA cannot be used: {problem}",
                          "use device: auto or cpu, or a torch build for this node's driver")
    if problem:
        allocated = allocated_gpus()
        if allocated:
            raise ConfigError(
                f"the job was given GPUs ({allocated}) but CUDA cannot be used: {problem}",
                "install a torch build for this node's CUDA driver, or set device: cpu to train on the CPU on purpose",
            )
        return "cpu"
    if claim:
        import torch

        gpus = claim_gpus(1)
        if gpus is not None:
            torch.cuda.set_device(gpus[0])
    return "cuda"


_CLAIMED: list[Any] = []  # lock files held for the life of the process


def claim_gpus(n: int, wait_seconds: float = 5.0) -> list[int] | None:
    """Take ``n`` of this node's visible GPUs that no other vadflow process holds (one lock file per
    GPU in the temporary folder, held until the process exits), waiting while all are taken; None
    when exactly ``n`` are visible (nothing to choose: a scheduler gave this job its own)."""
    import fcntl
    import tempfile
    import time

    import torch

    visible = torch.cuda.device_count()
    if visible < n:
        raise ConfigError(f"{n} GPU(s) are needed but {visible} are visible", "lower trainer.devices")
    if visible == n:
        return None
    folder = os.path.join(tempfile.gettempdir(), f"vadflow-gpus-{os.getuid()}")
    os.makedirs(folder, exist_ok=True)
    said = False
    while True:
        taken = []
        for i in range(visible):
            handle = open(os.path.join(folder, f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'all')}-{i}.lock"), "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            taken.append((i, handle))
            if len(taken) == n:
                _CLAIMED.extend(h for _, h in taken)
                print(f"using GPU(s) {[i for i, _ in taken]} of {visible}", file=sys.stderr)
                return [i for i, _ in taken]
        for _, handle in taken:
            handle.close()
        if not said:
            print(f"all {visible} GPUs are held by other vadflow jobs: waiting for {n}", file=sys.stderr)
            said = True
        time.sleep(wait_seconds)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch (CPU and CUDA). ``deterministic`` (``trainer.deterministic``)
    asks cuDNN for deterministic kernels; otherwise it may pick the fastest (``benchmark``), which
    matters for the 3D convolutions. CPU runs are deterministic either way."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic


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


def progress(iterable: Iterable, desc: str, total: int | None = None, initial: int = 0, disable: bool = False):
    """A tqdm bar on stderr (which the workflow sends to the rule's log)."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable, desc=desc, total=total, initial=initial, file=sys.stderr, mininterval=2.0, dynamic_ncols=True,
        disable=disable,
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

