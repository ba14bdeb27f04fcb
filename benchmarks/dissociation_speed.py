"""Inference speed of Chang et al.'s spatio-temporal dissociation auto-encoder (issue 16, "Measure";
the paper's sec. 4.8: 32 frames/s on a Titan Xp "thanks to RGB differences instead of optical flow"):

* frames/s of scoring, one 5-frame clip per frame (the method's ``clip_maps``: both streams, variance
  attention, the cluster distance), against Conv-AE (Hasan et al.; one 10-frame window per frame,
  its paper widths) on the same machine, same frame size, one after the other: a ratio;
* frames/s with Farneback optical flow computed for every frame on top (OpenCV, the feature stage's
  parameters), i.e. what an optical-flow motion stream would add to the same network.

    .venv/bin/python benchmarks/dissociation_speed.py [--size 256 256] [--channels 64 128 256] [--frames 64]

Writes benchmarks/out/dissociation_speed.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from vadflow.features.flow import optical_flow
from vadflow.methods.conv_ae import ConvAEParams
from vadflow.methods.conv_ae.model import ConvAENet
from vadflow.methods.dissociation.model import DissociationNet, cluster_distance
from vadflow.runtime import pick_device

from srnn_speed import timed  # benchmarks/srnn_speed.py, beside this script


def best_time(fn, device: str, repeats: int = 2) -> float:
    return min(timed(fn, device) for _ in range(repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--size", type=int, nargs=2, default=[256, 256])
    ap.add_argument("--channels", type=int, nargs=3, default=[64, 128, 256])
    ap.add_argument("--clusters", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "dissociation_speed.json"))
    args = ap.parse_args()
    device = pick_device(args.device)
    h, w = args.size
    g = torch.Generator().manual_seed(0)
    video = torch.rand(args.frames + 9, 3, h, w, generator=g)

    net = DissociationNet(3, 5, args.channels, ("appearance", "motion"), True, args.clusters).to(device).eval()
    with torch.no_grad():
        net.centres.normal_()

    def dissociation_fn():
        with torch.inference_mode():
            for s in range(0, args.frames, args.batch):
                index = torch.arange(s, min(s + args.batch, args.frames))[:, None] + torch.arange(5)
                clip = video[index].to(device)
                out = net(clip)
                err = (clip[:, -1] - out["fif"] - out["diff"]).pow(2).mean(1)
                d = cluster_distance(out["r"], net.centres, 25.0)
                (err * torch.nn.functional.interpolate(d[:, None], size=(h, w), mode="nearest")[:, 0]).mean((1, 2)).cpu()

    conv_ae = ConvAENet(10, ConvAEParams()).to(device).eval()
    gray = video.mean(1)

    def conv_ae_fn():
        with torch.inference_mode():
            for s in range(0, args.frames, args.batch):
                index = torch.arange(s, min(s + args.batch, args.frames))[:, None] + torch.arange(10)
                x = gray[index].to(device)
                (conv_ae(x) - x).pow(2).sum((1, 2, 3)).cpu()

    frames_u8 = (video[: args.frames].permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)

    def flow_fn():
        optical_flow(frames_u8)

    t_diss = best_time(dissociation_fn, device)
    t_conv = best_time(conv_ae_fn, device)
    t0 = time.perf_counter()
    flow_fn()
    t_flow = time.perf_counter() - t0
    result = {
        "device": device, "threads": torch.get_num_threads(), "frames": args.frames, "size": [h, w],
        "channels": args.channels, "clusters": args.clusters,
        "dissociation_fps": args.frames / t_diss,
        "conv_ae_fps": args.frames / t_conv,
        "ratio_dissociation_to_conv_ae": t_conv / t_diss,
        "farneback_fps": args.frames / t_flow,
        "dissociation_plus_farneback_fps": args.frames / (t_diss + t_flow),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
