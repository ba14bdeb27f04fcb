"""Start the processes of a multi-device training job (``trainer.devices`` > 1) and watch them.

Why our own launcher and not Lightning's: Lightning re-executes ``sys.argv`` for each extra rank,
which in a Snakemake job is the rule's script (it reopens the rule's log and redoes the job's set-up
in every rank), and under Slurm it believes the job's task count, so a job of one task trains on one
GPU while the others idle. Here the job's process is a supervisor that trains nothing itself:

* **local** (a workstation, or inside a Slurm job step): N rank processes on this node, each with
  ``LOCAL_RANK``/``WORLD_SIZE``/``MASTER_PORT`` set, one GPU each (claimed, see
  ``runtime.claim_gpus``, where the node has more GPUs than the job uses);
* **srun** (a Slurm batch step, which the cluster profile gives a job with ``trainer.devices`` > 1):
  ``srun --ntasks=N`` on the job's own allocation, so Slurm starts (and binds, and signals) the N
  tasks; each task maps ``SLURM_LOCALID`` to its rank.

Both run ``python -m vadflow.methods.rank <spec>``, which calls ``run.train`` as that rank
(one node: multi-node training is not supported). The supervisor forwards SIGTERM/SIGUSR1 (a time
limit, pre-emption) to the ranks, which agree on the step to stop at and checkpoint there; if a rank
dies, the others are stopped and the job fails with that rank's exit status, so a rerun resumes from
the last checkpoint instead of hanging in a collective until its timeout. Rank 0 alone writes the
model, the training log and the resume checkpoint; the ranks' output goes to the job's log, every
line of rank r > 0 prefixed with ``[rank r]``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

from vadflow.errors import VadflowError
from vadflow.methods.engine.ranks import EXIT_ERROR, EXIT_INTERRUPTED

#: seconds the other ranks get to stop after one failed, before they are killed
GRACE_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _use_srun() -> bool:
    """In a Slurm batch step (not inside a job step, whose resources a nested step could not get)."""
    return bool(os.environ.get("SLURM_JOB_ID")) and not os.environ.get("SLURM_STEP_ID") and \
        shutil.which("srun") is not None


class _Prefixed(threading.Thread):
    """Copy a rank's output to our stderr line by line, prefixed (rank 0's as it is)."""

    def __init__(self, stream, prefix: str):
        super().__init__(daemon=True)
        self.stream, self.prefix = stream, prefix

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            text = raw.decode(errors="replace")
            sys.stderr.write(text if not self.prefix else "".join(
                f"{self.prefix}{line}" for line in text.splitlines(keepends=True)))
            sys.stderr.flush()


def train_ranks(
    run: Any,
    train_stores: Sequence[str | Path],
    model_out: str | Path,
    log_csv: str | Path | None,
    *,
    features: Mapping[str, Sequence[str | Path]] | None,
    device: str,
    threads: int | None,
) -> dict[str, Any]:
    """Train ``run`` with ``run.trainer.devices`` processes; rank 0 writes ``model_out``."""
    from vadflow.methods.engine.log import load_checkpoint
    from vadflow.runtime import claim_gpus, pick_device

    n = int(run.trainer.devices)
    srun = _use_srun()
    dev = pick_device(device, claim=False)
    env = {**os.environ, "VADFLOW_DDP": "1", "WORLD_SIZE": str(n), "NODE_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "PYTHONUNBUFFERED": "1"}
    for var in ("LOCAL_RANK", "RANK", "GROUP_RANK"):
        env.pop(var, None)
    per_rank = max(1, (threads or n) // n)
    if dev == "cuda" and not srun:
        gpus = claim_gpus(n)
        if gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
    spec = Path(model_out).with_name(f".{Path(model_out).name}.ranks-{uuid.uuid4().hex[:8]}.json")
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps({
        "run": run.to_dict(), "train_stores": [str(s) for s in train_stores], "model_out": str(model_out),
        "log_csv": str(log_csv) if log_csv else None,
        "features": {k: [str(p) for p in v] for k, v in (features or {}).items()},
        "device": dev, "threads": per_rank,
    }))
    rank_cmd = [sys.executable, "-m", "vadflow.methods.rank", str(spec)]
    print(f"{run.name}: {n} processes ({'srun tasks of Slurm job ' + os.environ['SLURM_JOB_ID'] if srun else 'on this node'}), "
          f"device {dev}, {per_rank} thread(s) each", file=sys.stderr, flush=True)
    try:
        if srun:
            cmd = ["srun", "--nodes=1", f"--ntasks={n}", f"--cpus-per-task={per_rank}", "--kill-on-bad-exit=1",
                   "--label", *([f"--gpus={n}"] if dev == "cuda" else []), *rank_cmd]
            procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)]
        else:
            procs = [subprocess.Popen(rank_cmd, env={**env, "LOCAL_RANK": str(r), "RANK": str(r)},
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(n)]
        codes = _supervise(procs, ["" if (r == 0 or srun) else f"[rank {r}] " for r in range(len(procs))])
        reported = sorted(spec.parent.glob(f"{spec.name}.error-*"))
        first = json.loads(reported[0].read_text()) if reported else None
    finally:
        for path in [spec, *spec.parent.glob(f"{spec.name}.error-*")]:
            path.unlink(missing_ok=True)
    failed = {r: c for r, c in enumerate(codes) if c != 0}
    if failed and first is not None:  # a rank said what is wrong: say it as one process would
        raise VadflowError(first["message"], first["hint"])
    if failed:
        who = "srun" if srun else ", ".join(f"rank {r} ({_status(c)})" for r, c in failed.items())
        if all(c == EXIT_INTERRUPTED for c in failed.values()):
            from vadflow.methods.engine.trainer import TrainingInterrupted

            raise TrainingInterrupted(f"{run.name}: training stopped by a signal ({who}); checkpoint written",
                                      "run the same job again: it resumes there")
        raise VadflowError(f"{run.name}: training with {n} processes failed: {who}; the ranks' output is above",
                           "fix what the failing rank reports; a rerun resumes from the last checkpoint")
    if not Path(model_out).exists():
        raise VadflowError(f"{run.name}: the ranks finished but rank 0 wrote no {model_out}")
    return load_checkpoint(model_out)


def _status(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return {EXIT_INTERRUPTED: "stopped by a signal", EXIT_ERROR: "error"}.get(code, f"exit status {code}")


def _supervise(procs: list[subprocess.Popen], prefixes: list[str]) -> list[int]:
    """Wait for every process; forward SIGTERM/SIGUSR1; once one fails, stop the rest."""
    readers = [_Prefixed(p.stdout, prefix) for p, prefix in zip(procs, prefixes)]
    for r in readers:
        r.start()

    def forward(signum: int, frame: Any) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    saved = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
            saved[sig] = signal.signal(sig, forward)
    try:
        failed_at = None
        while any(p.poll() is None for p in procs):
            if failed_at is None and any(p.returncode not in (None, 0) for p in procs):
                failed_at = time.monotonic()
                forward(signal.SIGTERM, None)  # the others are likely blocked in a collective
            if failed_at is not None and time.monotonic() - failed_at > GRACE_SECONDS:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
            time.sleep(0.2)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        for r in readers:
            r.join(timeout=5)
    return [p.returncode for p in procs]
