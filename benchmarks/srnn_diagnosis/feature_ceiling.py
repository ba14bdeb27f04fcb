"""How far simple detectors get on a feature spec (issue 13's Ped2 diagnosis): the residual off the top
8 principal directions of the training cells and the distance to the nearest training vector of the
same cell, per frame aggregation, with and without l2 normalisation. Frame AUC per-video min-max
micro and raw micro. It reads test labels: for diagnosis only, never to choose a setting.

    python feature_ceiling.py /tmp/ped2_effnet_spp.npz
"""

import sys

import numpy as np
import torch

from vadflow.evaluation.metrics import frame_level_auc

AGGREGATIONS = {
    "max21": lambda e: e.max(1), "1x1": lambda e: e[:, 0], "max2x2": lambda e: e[:, 1:5].max(1),
    "max4x4": lambda e: e[:, 5:].max(1), "release_ped2": lambda e: (e[:, 0] + e[:, 1:5].max(1) + e[:, 5:].max(1)) / 3,
    "mean21": lambda e: e.mean(1),
}


def l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def main(path: str) -> None:
    torch.set_num_threads(2)
    z = np.load(path)
    train = np.concatenate([z[k] for k in sorted(z) if k.startswith("train/")])  # (N, P, C)
    test = {k[5:]: z[k] for k in z if k.startswith("test/")}
    labels = {k[6:]: z[k] for k in z if k.startswith("label/")}
    for norm in (True, False):
        xs = l2(train) if norm else train
        flat = xs.reshape(-1, xs.shape[-1])
        mean = flat.mean(0)
        basis = np.linalg.svd(flat[::3] - mean, full_matrices=False)[2][:8]
        bank = torch.from_numpy(xs).float()
        pca, nn = {}, {}
        for name, x in test.items():
            q = l2(x) if norm else x
            r = q - mean
            pca[name] = ((r - (r @ basis.T) @ basis) ** 2).sum(-1)
            qt = torch.from_numpy(q).float()
            nn[name] = torch.stack([torch.cdist(qt[:, p], bank[:, p]).min(1).values for p in range(qt.shape[1])], 1).numpy()
        for agg, f in AGGREGATIONS.items():
            a = frame_level_auc({n: f(e) for n, e in pca.items()}, labels)
            b = frame_level_auc({n: f(e) for n, e in nn.items()}, labels)
            print(f"l2={int(norm)} {agg:13s} pca8 {100 * a['minmax_micro']:.2f} ({100 * a['raw_micro']:.2f})"
                  f"  1nn {100 * b['minmax_micro']:.2f} ({100 * b['raw_micro']:.2f})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
