"""Inference speed of TSC (SISTA, K = 30) against sRNN-AE (K = 3 unfolded layers) on the same
features (Luo et al., Table 10: 7 vs 152 frames/s, about 21x, on a GPU).

    .venv/bin/python benchmarks/srnn_speed.py [--frames 50] [--dim 1280] [--atoms 2048] [--cells 21]

A frame is ``cells`` feature vectors (the spatial pyramid's 21 cells by default), coded as
``cells`` parallel sequences, as the methods do. Writes benchmarks/out/srnn_speed.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from vadflow.methods.srnn.sparse_coding import SRNNAE, lipschitz_gamma, sista_codes, tsc_reconstruction_error
from vadflow.runtime import pick_device


def timed(fn, device: str) -> float:
    fn()  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--atoms", type=int, default=2048)
    ap.add_argument("--cells", type=int, default=21)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "srnn_speed.json"))
    args = ap.parse_args()
    device = pick_device(args.device)
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.rand(args.cells, args.frames, args.dim, generator=g), dim=-1).to(device)
    A = torch.nn.functional.normalize(torch.randn(args.dim, args.atoms, generator=g), dim=0).to(device)
    net = SRNNAE.from_dictionary(A.cpu(), 0.1, 2.0, None, 3).to(device).eval()

    gamma = lipschitz_gamma(A, 2.0)  # a constant of the model, computed at fit time (as methods.srnn.tsc does)

    def tsc():
        with torch.inference_mode():
            tsc_reconstruction_error(x, A, sista_codes(x, A, 0.1, 2.0, K=30, gamma=gamma))

    def srnn():
        with torch.inference_mode():
            net.frame_errors(x)

    t_tsc, t_srnn = timed(tsc, device), timed(srnn, device)
    result = {
        "device": device,
        "frames": args.frames,
        "cells_per_frame": args.cells,
        "feature_dim": args.dim,
        "atoms": args.atoms,
        "tsc_K30_fps": args.frames / t_tsc,
        "srnn_ae_K3_fps": args.frames / t_srnn,
        "speedup": t_tsc / t_srnn,
        "paper": {"tsc_fps": 7, "srnn_ae_fps": 152, "speedup": 152 / 7},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
