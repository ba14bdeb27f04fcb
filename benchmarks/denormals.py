"""Seconds per 50 DeepMIL training steps with and without flushing subnormal floats to zero
(``vadflow.runtime.flush_denormals``, which every training and scoring job calls).

Sultani et al.'s scorer (FC 2048 -> 512 -> 32 -> 1, sigmoid) under Adagrad with weight decay,
trained as the embedded default trains it (30 + 30 bags of 32 l2-normalised segments per step,
12 random videos here): without the flush, values drift into the subnormal range and each
step gets slower (on the 2-core machine of 2026-12: 4 s for the first 50 steps, 23 s for the
sixth 50; 98 s in all against 11 s flushed).

    .venv/bin/python benchmarks/denormals.py [--steps 300]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch

from vadflow.methods.lad.model import MILScorer, mil_ranking_loss


def run(steps: int, flush: bool) -> list[float]:
    torch.set_flush_denormal(flush)
    torch.manual_seed(0)
    bags = torch.nn.functional.normalize(torch.rand(12, 32, 2048), dim=-1)
    model = MILScorer(2048)
    opt = torch.optim.Adagrad(model.parameters(), lr=1e-3, weight_decay=1e-3)
    laps, t = [], time.perf_counter()
    for step in range(steps):
        pairs = torch.stack([torch.randint(0, 6, (30,)), torch.randint(6, 12, (30,))], 1).reshape(-1)
        s = model(bags[pairs]).reshape(-1, 2, 32)
        loss = mil_ranking_loss(s[:, 0], s[:, 1], 8e-5, 8e-5)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 49:
            laps.append(time.perf_counter() - t)
            t = time.perf_counter()
    return laps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--flush", choices=["yes", "no"], help="one variant, in this process")
    a = ap.parse_args()
    if a.flush:
        laps = run(a.steps, a.flush == "yes")
        print(f"flush_denormal={a.flush}: s per 50 steps " + " ".join(f"{x:.1f}" for x in laps) + f"; total {sum(laps):.1f} s")
        return
    # each variant in a process of its own: the flag lives in each thread's floating-point control
    # register, so it must be set before torch starts its worker threads
    for flush in ("no", "yes"):
        subprocess.run([sys.executable, __file__, "--steps", str(a.steps), "--flush", flush], check=True)


if __name__ == "__main__":
    main()
