"""Which AdaDelta rate trains SC2Net: the training loss (eq. 17) of the SLSTM on a dataset's *training*
features over a few hundred batches of 210 samples, for each rate (docs/papers/anomalynet.md: the
paper's "default AdaDelta" is rate 1.0 in Zeiler / Keras, 0.001 in TF1). Uses no test data.

    .venv/bin/python benchmarks/anomalynet_adadelta_rate.py work/ped2/features/effnet_spp-<hash>/train \\
        [--atoms 1280] [--K 5] [--steps 150] [--rates 1 0.1]
"""

from __future__ import annotations

import argparse
import glob

import numpy as np
import torch

from vadflow.features.store import FeatureStore
from vadflow.methods.anomalynet import ADADELTA_EPS, ADADELTA_RHO
from vadflow.methods.nn.unrolled import make_solver, random_dictionary, sc2net_loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train_features", help="a folder of training feature stores (<spec>/train)")
    ap.add_argument("--atoms", type=int, default=0, help="0 = the feature width (square dictionary)")
    ap.add_argument("--K", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rates", type=float, nargs="+", default=[1.0, 0.1])
    args = ap.parse_args()
    stores = sorted(glob.glob(f"{args.train_features}/*.zarr"))
    rows = np.concatenate([FeatureStore(p).read()[::10] for p in stores]).astype(np.float32)
    x_all = torch.nn.functional.normalize(torch.from_numpy(rows.reshape(-1, rows.shape[-1])), dim=1)
    d = x_all.shape[1]
    for rate in args.rates:
        model = make_solver("slstm", random_dictionary(d, args.atoms or d, torch.Generator().manual_seed(0),
                                                       torch.float32), 0.1, args.K)
        opt = torch.optim.Adadelta(model.parameters(), lr=rate, rho=ADADELTA_RHO, eps=ADADELTA_EPS)
        g = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(args.steps):
            x = x_all[torch.randint(len(x_all), (210,), generator=g)]
            opt.zero_grad()
            loss = sc2net_loss(x, model(x), model.dictionary(), 0.1)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        every = max(1, args.steps // 6)
        print(f"rate {rate}: eq. 17 loss every {every} steps {[round(v, 3) for v in losses[::every]]}, last {losses[-1]:.3f}")


if __name__ == "__main__":
    main()
