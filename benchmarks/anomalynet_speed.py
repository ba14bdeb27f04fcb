"""Inference speed of AnomalyNet's coding block (SC2Net, the SLSTM unrolled K = 5 steps, a square
d x d dictionary) against the sRNN-AE (K = 3 unfolded layers, 2048 atoms) on the same features
(issue 14, "Measure"): frames/s of the scoring step with the features precomputed, both models
built the way the methods build them, on this machine, one after the other.

    .venv/bin/python benchmarks/anomalynet_speed.py [--frames 200] [--dim 1280] [--cells 21] [--stride 1 4]

A frame costs the sRNN-AE ``cells`` vectors (one per pyramid cell, coded as parallel sequences).
AnomalyNet codes one unit per dynamic image: the cells of the dynamic image and of its centre frame
(2 x ``cells`` vectors), one unit every ``stride`` frames, so its frames/s grows with the stride
(the shipped default and the Ped2 config use 5 and 4; stride 1 is one dynamic image per frame).
Writes benchmarks/out/anomalynet_speed.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vadflow.methods.nn.unrolled import make_solver, random_dictionary
from vadflow.methods.srnn.sparse_coding import SRNNAE
from vadflow.runtime import pick_device

from srnn_speed import timed  # benchmarks/srnn_speed.py, beside this script


def best_time(fn, device: str, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timed runs (each after a warm-up), seconds."""
    return min(timed(fn, device) for _ in range(repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--cells", type=int, default=21)
    ap.add_argument("--srnn-atoms", type=int, default=2048)
    ap.add_argument("--anomalynet-K", type=int, default=5)
    ap.add_argument("--stride", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "anomalynet_speed.json"))
    args = ap.parse_args()
    device = pick_device(args.device)
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.rand(args.cells, args.frames, args.dim, generator=g), dim=-1).to(device)

    A = torch.nn.functional.normalize(torch.randn(args.dim, args.srnn_atoms, generator=g), dim=0)
    srnn = SRNNAE.from_dictionary(A, 0.1, 2.0, None, 3).to(device).eval()

    slstm = make_solver("slstm", random_dictionary(args.dim, args.dim, g, torch.float32), 0.1, args.anomalynet_K)
    slstm = slstm.to(device).eval()
    B = slstm.dictionary().detach()

    def srnn_fn():
        with torch.inference_mode():
            srnn.frame_errors(x)

    result = {"device": device, "threads": torch.get_num_threads(), "frames": args.frames,
              "cells_per_frame": args.cells, "feature_dim": args.dim, "srnn_ae": {"K": 3, "atoms": args.srnn_atoms},
              "anomalynet": {"K": args.anomalynet_K, "atoms": args.dim, "samples_per_unit": 2 * args.cells}}
    t_srnn = best_time(srnn_fn, device)
    result["srnn_ae_fps"] = args.frames / t_srnn
    for stride in args.stride:
        units = -(-args.frames // stride)
        samples = x[:, :units].transpose(0, 1).reshape(-1, args.dim).repeat(2, 1)  # DI cells + frame cells

        def anomalynet_fn():
            with torch.inference_mode():
                ((samples - slstm(samples) @ B.T) ** 2).sum(-1).reshape(2, units, args.cells).mean((0, 2))

        t = best_time(anomalynet_fn, device)
        result[f"anomalynet_stride{stride}_fps"] = args.frames / t
        result[f"ratio_anomalynet_stride{stride}_to_srnn_ae"] = t_srnn / t
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
