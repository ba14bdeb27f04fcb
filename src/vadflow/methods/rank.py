"""One rank of a multi-process training job: ``python -m vadflow.methods.rank <spec.json>``, started by
``engine.launch`` (locally, or as a task of ``srun``). It trains as that rank through ``run.train``;
its exit status tells the launcher how it ended (``engine.ranks``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Sequence

from vadflow.errors import ConfigError, VadflowError
from vadflow.methods.engine.ranks import EXIT_ERROR, EXIT_INTERRUPTED, rank


def _slurm_rank_env() -> None:
    """Under ``srun``: this task's rank from Slurm's variables (one node)."""
    if "SLURM_PROCID" in os.environ and "LOCAL_RANK" not in os.environ:
        os.environ["RANK"] = os.environ["SLURM_PROCID"]
        os.environ["LOCAL_RANK"] = os.environ.get("SLURM_LOCALID", os.environ["SLURM_PROCID"])
        if int(os.environ.get("SLURM_NNODES", "1")) > 1:
            raise ConfigError("a training job spans several nodes", "training runs on one node: drop nodes from its resources")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(Path(args[0]).read_text())
    _slurm_rank_env()
    from vadflow.methods.engine.trainer import TrainingInterrupted
    from vadflow.methods.run import train

    try:
        train(spec["run"], spec["train_stores"], spec["model_out"], spec["log_csv"],
              features=spec["features"], device=spec["device"], threads=spec["threads"])
    except TrainingInterrupted as exc:
        print(f"rank {rank()}: {exc}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except VadflowError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        Path(f"{args[0]}.error-{rank():04d}").write_text(json.dumps({"message": exc.message, "hint": exc.hint}))
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
