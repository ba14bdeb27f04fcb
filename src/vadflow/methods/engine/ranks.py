"""Which rank this process is, for the processes ``engine.launch`` starts (``trainer.devices`` > 1):
the lowest floor of the engine, read by the loop, the launcher and the rank entry point alike."""

from __future__ import annotations

import os
from typing import Any

#: exit status of a rank stopped by a signal after a checkpoint (the job is to be rerun)
EXIT_INTERRUPTED = 75
#: exit status of a rank stopped by a VadflowError (its message is in the log and in a file beside the spec)
EXIT_ERROR = 2


def in_rank() -> bool:
    """Whether this process is one rank of a multi-process job started by ``engine.launch``."""
    return os.environ.get("VADFLOW_DDP") == "1"


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if in_rank() else 0


def cuda_devices(devices: int) -> Any:
    """Fabric's ``devices`` on CUDA: a rank of N uses ``cuda:LOCAL_RANK`` of the GPUs it was given;
    one process, the GPU ``pick_device`` claimed (the current device)."""
    import torch

    return devices if in_rank() else [torch.cuda.current_device()]
